/**
 * What a venue tells the generic live connector (src/ingest/) about its transport: where to connect, what
 * to send, how to keep the connection alive and how to recover a book. Pure data and pure functions: no
 * I/O here. The venue's `VenueFeedHandler` (feed-handler.ts) does the parsing and book synchronisation;
 * the connector moves bytes between the network and the handler and acts on the handler's status changes.
 *
 * Every URL is built from overridable base URLs, so tests point a connector at the local venue emulator
 * (src/emulator/) with nothing else changed.
 */
import type { Instrument } from '../domain/instrument.ts';

export interface VenueEndpoints {
  /** WebSocket base, e.g. `wss://stream.binance.com:9443` or `ws://127.0.0.1:PORT/binance`. */
  readonly wsBase: string;
  /** REST base, e.g. `https://api.binance.com` or `http://127.0.0.1:PORT/binance`. */
  readonly restBase: string;
}

/** One WebSocket connection the connector should open, with the venue symbols it carries. */
export interface ConnectionPlan {
  /** Stable id within the connector, also used as the handler's `conn` (e.g. `binance.ws.0`). */
  readonly id: string;
  readonly url: string;
  readonly symbols: readonly string[];
  /** Frames to send right after the socket opens, in order (subscriptions, `conf`, heartbeats channel). */
  readonly onOpen: readonly string[];
}

export interface AppPing {
  /** Send `frame` after this many ms without sending anything. */
  readonly intervalMs: number;
  readonly frame: string;
  /** Whether a received frame is the venue's answer to our ping (it then counts as liveness, not data). */
  readonly isPong: (frame: string) => boolean;
}

export interface RestRequest {
  readonly url: string;
  /** Request weight for the venue's rate limit (Binance counts weights), 1 when the venue counts requests. */
  readonly weight: number;
}

/** How a book that lost sync (gap, checksum mismatch, crossed book, reconnect) is brought back. */
export type RecoveryAction =
  /** Fetch a REST snapshot for the symbol and give the body to the handler's `onHttp` (Binance, Bitstamp). */
  | { readonly kind: 'rest-snapshot'; readonly request: RestRequest }
  /** Send these frames on the symbol's connection (unsubscribe + subscribe: Kraken, OKX, Bybit, Bitfinex). */
  | { readonly kind: 'resubscribe'; readonly frames: readonly string[] }
  /** Only a new connection brings the book back (Coinbase: one sequence for the whole connection). */
  | { readonly kind: 'reconnect' };

export interface VenueConnectorSpec {
  readonly venue: string;
  readonly defaultEndpoints: VenueEndpoints;
  /**
   * Our normalized symbol (`BTC-USDT`, `BTC-USDT-PERP`) spelled as `plan` expects it (`BTCUSDT`,
   * `spot:BTCUSDT`); throws QOB_ERR_INVALID_SYMBOL for a kind or pair the venue does not list this way.
   */
  readonly toVenueSymbol?: (symbol: string) => string;
  /** Split `symbols` into connections within the venue's limits (streams per connection, subscribe batch sizes). */
  plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[];
  /** Application-level ping, for venues that want one (OKX `ping`, Bybit `{"op":"ping"}`); otherwise WS pings. */
  readonly appPing?: AppPing;
  /**
   * Whether a received frame is the venue asking us to reconnect (Bitstamp `bts:request_reconnect`,
   * Bitfinex info 20051): the connection then opens a replacement socket at once, as in a rotation.
   */
  readonly isReconnectRequest?: (frame: string) => boolean;
  /** Without any frame for this long the connection is considered dead and is replaced. */
  readonly staleAfterMs: number;
  /** The venue closes connections after this long (Binance: 24 h); the connector rotates before that. */
  readonly maxConnectionMs?: number;
  /** What to do for a symbol whose book needs a (re)sync on connection `plan`; also used right after connect. */
  recovery(symbol: string, plan: ConnectionPlan, endpoints: VenueEndpoints): RecoveryAction;
  /** Whether a book needs an action right after its connection opens (REST-snapshot venues: yes). */
  readonly snapshotOnConnect: boolean;
  /** REST requests per rolling window allowed by the venue (for the connector's rate limiter). */
  readonly restLimit: { readonly weight: number; readonly windowMs: number };
  /** Instrument discovery from the venue's public REST metadata. */
  readonly instruments?: {
    readonly request: (endpoints: VenueEndpoints) => RestRequest;
    /** Parses the body into normalized instruments; throws a typed QobError on a malformed body. */
    readonly parse: (body: string) => Instrument[];
  };
}
