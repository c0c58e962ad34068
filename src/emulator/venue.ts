/**
 * What a venue plugs into the emulator: one module per venue under src/emulator/venues/, registered in
 * venues/index.ts. The hub (index.ts) owns the HTTP server, the sockets, the true books and the fault
 * switches; a venue speaks its wire protocol: which paths it serves, how it answers subscriptions and
 * pings, how it encodes snapshots and book changes.
 */
import type { L2StreamDelta } from '../sim/l2-stream.ts';
import type { EngineEvent } from '../sim/matching-engine.ts';
import type { L3TrueBook } from './l3-true-book.ts';
import type { SimInstrument, TrueBook } from './true-book.ts';

export interface RestReply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of one update frame. */
export interface UpdateMeta {
  /** The same frame with a wrong checksum (venues with checksums); enables the `corrupt-checksum` fault. */
  readonly corrupt?: () => string;
  /** Sent just before the close of a `rotate` fault (Bitstamp `bts:request_reconnect`). */
  readonly farewell?: string;
}

/** One WebSocket connection as a venue sees it. */
export interface EmulatorConnection {
  /** `<venue>#<n>`, unique within the emulator. */
  readonly id: string;
  readonly venue: string;
  /** The path after the venue prefix (`/stream`, `/v5/public/linear`), and the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Venue-specific subscription keys (Binance stream names, Bybit topics, OKX `channel:instId`). */
  readonly subscriptions: Set<string>;
  /** Venue-specific per-connection settings (Binance `combined`). */
  readonly settings: Map<string, unknown>;
  readonly open: boolean;
  /** Replies to requests (acks, errors): always sent, even when the connection is stalled. */
  sendReply(frame: string): void;
  /** Data that is not an update (snapshots, keep-alives): held back by `stall`, delayed by `slow-reads`. */
  sendData(frame: string): void;
  /** A book update: subject to the frame faults as well. */
  sendUpdate(frame: string, meta?: UpdateMeta): void;
  /** Answers an application-level ping, unless `suppress-pong` is on; returns whether it answered. */
  pong(frame: string): boolean;
  close(code: number, reason: string): void;
}

export interface VenueContext {
  readonly venue: string;
  /** The venue's true books, by venue symbol. */
  readonly books: ReadonlyMap<string, TrueBook>;
  /** Open connections of this venue. */
  connections(): Iterable<EmulatorConnection>;
  /** Wall-clock ms for event-time fields (`E`, `ts`); injected so tests can pin it. */
  nowMs(): number;
  /** Counts a snapshot served (REST or WebSocket). */
  snapshotServed(): void;
  /** Counts an application-level ping received. */
  pingReceived(): void;
  /**
   * The order-by-order true book of a venue symbol (matching engine + agent flow), created on first use and
   * advanced by every `step()` from then on; undefined for a symbol the venue does not serve.
   */
  l3Book(symbol: string): L3TrueBook | undefined;
}

export interface EmulatorVenue {
  /** Whether this venue accepts a WebSocket upgrade at `path` (after the venue prefix). */
  acceptsWs(path: string, query: URLSearchParams): boolean;
  onOpen(conn: EmulatorConnection): void;
  onMessage(conn: EmulatorConnection, text: string): void;
  /** Whether `path` is a book snapshot request (the target of `snapshot-429` / `snapshot-418`). */
  isSnapshotRequest(path: string): boolean;
  /** A REST GET at `path` (after the venue prefix). */
  rest(path: string, query: URLSearchParams): RestReply;
  /** The error a REST fault returns: status 429 or 418, with the venue's body. */
  restFault(status: 429 | 418, retryAfterS: number): RestReply;
  /** `book` just advanced by `delta`: push frames to its subscribers. */
  onAdvance(book: TrueBook, delta: L2StreamDelta): void;
  /** An L3 true book (see `VenueContext.l3Book`) just advanced: push its order and trade frames. */
  onAdvanceL3?(book: L3TrueBook, events: readonly EngineEvent[]): void;
}

export interface EmulatorVenueModule {
  readonly id: string;
  /** Venue symbols served when the caller names none. */
  readonly defaultSymbols: readonly string[];
  /** The updates carry a checksum (`corrupt-checksum` applies). */
  readonly hasChecksum: boolean;
  /**
   * Path appended to `ws://127.0.0.1:PORT/<venue>` in `endpoints().wsBase`, mirroring the connector's
   * `defaultEndpoints` (OKX's wsBase is the whole socket URL `.../ws/v5/public`); default none.
   */
  readonly wsBasePath?: string;
  /** The venue sends WebSocket ping frames itself (Binance: every 20 s). */
  readonly serverPings: boolean;
  instrument(symbol: string): SimInstrument;
  create(ctx: VenueContext): EmulatorVenue;
}

export function json(status: number, value: unknown, headers?: Record<string, string>): RestReply {
  return headers === undefined
    ? { status, body: JSON.stringify(value) }
    : { status, body: JSON.stringify(value), headers };
}
