/**
 * The local venue emulator: one node:http server on 127.0.0.1 that also accepts WebSocket upgrades and
 * serves each venue under a path prefix (`http://127.0.0.1:PORT/<venue>/...`, `ws://127.0.0.1:PORT/<venue>/...`),
 * speaking the venue's public wire protocol so the real connectors and feed handlers run unchanged
 * against it. Books come from a seeded, deterministic true book per (venue, symbol); `step(n)` advances
 * them (tests) or a timer does (`autoStepMs`). Fault switches (faults.ts) break the feed on purpose.
 * See docs/EMULATOR.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { qobError } from '../core/errors.ts';
import { type ConnectionHooks, EmuConnection, type SendLimits } from './connection.ts';
import {
  type ArmedFault,
  FAULT_KINDS,
  type FaultKind,
  type FaultSpec,
  isConnectionFault,
  isFrameFault,
  validateFault,
} from './faults.ts';
import { L3TrueBook } from './l3-true-book.ts';
import { seedFor, type TextBook, TrueBook } from './true-book.ts';
import type { EmulatorVenue, EmulatorVenueModule, VenueContext } from './venue.ts';
import { EMULATOR_VENUES } from './venues/index.ts';

export type { FaultKind, FaultSpec } from './faults.ts';
export type { L3TrueBook } from './l3-true-book.ts';
export type { TextBook, TextLevel } from './true-book.ts';

export interface EmulatorOptions {
  /** Seed of every true book (each (venue, symbol) derives its own); default 1. */
  readonly seed?: number;
  /** Venue ids to serve; default all registered (binance, binance-usdm, bybit, okx, kraken, coinbase, bitstamp, bitfinex). */
  readonly venues?: readonly string[];
  /** Venue symbols per venue; default the venue's own list. Bybit symbols are `spot:BTCUSDT`, `linear:BTCUSDT`. */
  readonly symbols?: Readonly<Record<string, readonly string[]>>;
  /** Advance every book once per this many ms; 0 (default) = only `step()`. */
  readonly autoStepMs?: number;
  /** Levels per side of each true book; default 50. */
  readonly levels?: number;
  /** Port to listen on; default 0 (random). */
  readonly port?: number;
  /** Event-time clock for frame timestamps; default `Date.now`. */
  readonly nowMs?: () => number;
  /** Interval of WebSocket ping frames sent by venues that do (Binance); default 0 = none. */
  readonly serverPingMs?: number;
  /** Per-connection bound of delayed frames (slow-reads); beyond it the client is disconnected. Default 10,000. */
  readonly maxQueuedFrames?: number;
  /** Per-connection bound of socket-buffered bytes; beyond it the client is disconnected. Default 8 MiB. */
  readonly maxBufferedBytes?: number;
}

export interface VenueStats {
  connectionsOpened: number;
  connectionsClosed: number;
  framesSent: number;
  snapshotsServed: number;
  restRequests: number;
  /** WebSocket ping frames and application-level pings received. */
  pingsReceived: number;
  pongsSent: number;
  faultsFired: number;
  /** Clients cut off because their send queue or socket buffer hit its bound. */
  slowClientsDisconnected: number;
}

export interface EmulatorStats {
  readonly venues: Readonly<Record<string, VenueStats>>;
  readonly faultsFired: Readonly<Record<FaultKind, number>>;
  /** Totals over all venues. */
  readonly connectionsOpened: number;
  readonly framesSent: number;
  readonly snapshotsServed: number;
}

export interface ConnectionInfo {
  readonly id: string;
  readonly venue: string;
  readonly path: string;
  readonly subscriptions: readonly string[];
  /** Frames written to this socket so far (a client has them all once it received as many). */
  readonly framesSent: number;
}

export interface Emulator {
  readonly port: number;
  /** Base URLs of a venue, in the shape of `VenueEndpoints` (src/venues/connector-spec.ts). */
  endpoints(venue: string): { wsBase: string; restBase: string };
  /** Advances every true book `n` updates (default 1) and pushes the frames to subscribers. */
  step(n?: number): void;
  /** The true book of a venue symbol, best `depth` levels per side (default all). */
  trueBook(venue: string, venueSymbol: string, depth?: number): TextBook;
  /**
   * The order-by-order true book of a venue symbol (its orders, its L2 view and every trade so far), which
   * the venue's L3 and trade channels encode. Created on first use (or first subscription).
   */
  trueL3Book(venue: string, venueSymbol: string): L3TrueBook;
  /** Arms a fault switch (faults.ts). */
  inject(venue: string, fault: FaultSpec): void;
  /** Disarms every fault of a venue (or of all venues) and lifts stalls, pong suppression and delays. */
  clearFaults(venue?: string): void;
  /** Open WebSocket connections (optionally of one venue), oldest first. */
  connections(venue?: string): ConnectionInfo[];
  readonly stats: EmulatorStats;
  /** Idempotent: terminates every socket, stops the timers and closes the server. */
  close(): Promise<void>;
}

interface VenueSlot {
  readonly module: EmulatorVenueModule;
  readonly books: Map<string, TrueBook>;
  /** Order-by-order books, created on first use. */
  readonly l3Books: Map<string, L3TrueBook>;
  ctx: VenueContext;
  readonly conns: Map<string, EmuConnection>;
  readonly stats: VenueStats;
  readonly frameFaults: ArmedFault[];
  readonly connFaults: ArmedFault[];
  readonly restFaults: ArmedFault[];
  venue: EmulatorVenue;
}

function newVenueStats(): VenueStats {
  return {
    connectionsOpened: 0,
    connectionsClosed: 0,
    framesSent: 0,
    snapshotsServed: 0,
    restRequests: 0,
    pingsReceived: 0,
    pongsSent: 0,
    faultsFired: 0,
    slowClientsDisconnected: 0,
  };
}

function positiveInt(v: number, name: string, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got ${v}`, { [name]: v });
  }
  return v;
}

class VenueEmulator implements Emulator {
  port = 0;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly slots = new Map<string, VenueSlot>();
  private readonly faultCounts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  private readonly limits: SendLimits;
  private readonly nowMs: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pendingSockets = new Set<Socket>();
  private nextConn = 0;
  private closing: Promise<void> | undefined;
  private readonly hooks: ConnectionHooks;

  constructor(o: EmulatorOptions) {
    const seed = o.seed ?? 1;
    const levels = positiveInt(o.levels ?? 50, 'levels', 2);
    this.nowMs = o.nowMs ?? Date.now;
    this.limits = {
      maxQueuedFrames: positiveInt(o.maxQueuedFrames ?? 10_000, 'maxQueuedFrames', 1),
      maxBufferedBytes: positiveInt(o.maxBufferedBytes ?? 8 * 1024 * 1024, 'maxBufferedBytes', 1),
    };
    const ids = o.venues ?? EMULATOR_VENUES.map((m) => m.id);
    for (const id of ids) {
      const module = EMULATOR_VENUES.find((m) => m.id === id);
      if (module === undefined) {
        throw qobError('QOB_ERR_UNKNOWN_VENUE', `the emulator has no venue ${JSON.stringify(id)}`, {
          venue: id,
          known: EMULATOR_VENUES.map((m) => m.id),
        });
      }
      const books = new Map<string, TrueBook>();
      for (const sym of o.symbols?.[id] ?? module.defaultSymbols) {
        const inst = module.instrument(sym);
        books.set(sym, new TrueBook(id, sym, { ...inst, seed: seedFor(seed, id, sym), levels }));
      }
      const slot: VenueSlot = {
        module,
        books,
        l3Books: new Map(),
        ctx: undefined as unknown as VenueContext,
        conns: new Map(),
        stats: newVenueStats(),
        frameFaults: [],
        connFaults: [],
        restFaults: [],
        venue: undefined as unknown as EmulatorVenue,
      };
      const ctx: VenueContext = {
        venue: id,
        books,
        connections: () => slot.conns.values(),
        nowMs: this.nowMs,
        snapshotServed: () => {
          slot.stats.snapshotsServed++;
        },
        pingReceived: () => {
          slot.stats.pingsReceived++;
        },
        l3Book: (symbol) => {
          let b = slot.l3Books.get(symbol);
          const l2 = books.get(symbol);
          if (b === undefined && l2 !== undefined) {
            b = new L3TrueBook(id, symbol, {
              ...l2.instrument,
              seed: seedFor(seed, id, symbol, 'l3'),
              nowMs: this.nowMs,
            });
            slot.l3Books.set(symbol, b);
          }
          return b;
        },
      };
      slot.ctx = ctx;
      slot.venue = module.create(ctx);
      this.slots.set(id, slot);
    }
    this.hooks = {
      frameSent: (c) => {
        this.slotOf(c.venue).stats.framesSent++;
      },
      pongSent: (c) => {
        this.slotOf(c.venue).stats.pongsSent++;
      },
      faultFired: (c, kind) => {
        const s = this.slotOf(c.venue).stats;
        if (kind === 'slow-client') {
          s.slowClientsDisconnected++;
          return;
        }
        this.fired(c.venue, kind);
      },
      takeFrameFault: (c, canCorrupt) => {
        const list = this.slotOf(c.venue).frameFaults;
        for (let i = 0; i < list.length; i++) {
          const f = list[i] as ArmedFault;
          if (f.spec.connection !== undefined && f.spec.connection !== c.id) continue;
          if (f.spec.kind === 'corrupt-checksum' && !canCorrupt) continue;
          if (--f.remaining <= 0) list.splice(i, 1);
          return f;
        }
        return undefined;
      },
    };
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 1000;
    this.wss = new WebSocketServer({ noServer: true, autoPong: false, maxPayload: 1 << 20 });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    const autoStepMs = o.autoStepMs ?? 0;
    if (autoStepMs > 0) {
      const t = setInterval(() => this.step(1), autoStepMs);
      t.unref();
      this.timers.push(t);
    }
    const pingMs = o.serverPingMs ?? 0;
    if (pingMs > 0) {
      const t = setInterval(() => {
        for (const s of this.slots.values()) {
          if (!s.module.serverPings) continue;
          for (const c of s.conns.values()) if (c.open) c.ws.ping();
        }
      }, pingMs);
      t.unref();
      this.timers.push(t);
    }
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  }

  get stats(): EmulatorStats {
    const venues: Record<string, VenueStats> = {};
    let connectionsOpened = 0;
    let framesSent = 0;
    let snapshotsServed = 0;
    for (const [id, s] of this.slots) {
      venues[id] = { ...s.stats };
      connectionsOpened += s.stats.connectionsOpened;
      framesSent += s.stats.framesSent;
      snapshotsServed += s.stats.snapshotsServed;
    }
    return { venues, faultsFired: { ...this.faultCounts }, connectionsOpened, framesSent, snapshotsServed };
  }

  endpoints(venue: string): { wsBase: string; restBase: string } {
    const path = this.slotOf(venue).module.wsBasePath ?? '';
    return {
      wsBase: `ws://127.0.0.1:${this.port}/${venue}${path}`,
      restBase: `http://127.0.0.1:${this.port}/${venue}`,
    };
  }

  step(n = 1): void {
    this.checkOpen();
    positiveInt(n, 'n', 0);
    for (let i = 0; i < n; i++) {
      for (const s of this.slots.values()) {
        for (const book of s.books.values()) s.venue.onAdvance(book, book.advance());
        for (const book of s.l3Books.values()) {
          const events = book.advance();
          s.venue.onAdvanceL3?.(book, events);
        }
      }
    }
  }

  trueBook(venue: string, venueSymbol: string, depth?: number): TextBook {
    const book = this.slotOf(venue).books.get(venueSymbol);
    if (book === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `the emulator has no ${venue} symbol ${venueSymbol}`, {
        venue,
        symbol: venueSymbol,
      });
    }
    return book.top(depth);
  }

  trueL3Book(venue: string, venueSymbol: string): L3TrueBook {
    const slot = this.slotOf(venue);
    const b = slot.ctx.l3Book(venueSymbol);
    if (b === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `the emulator has no ${venue} symbol ${venueSymbol}`, {
        venue,
        symbol: venueSymbol,
      });
    }
    return b;
  }

  inject(venue: string, fault: FaultSpec): void {
    this.checkOpen();
    const slot = this.slotOf(venue);
    const armed = validateFault(venue, fault, slot.module.hasChecksum);
    const kind = armed.spec.kind;
    if (isFrameFault(kind)) {
      slot.frameFaults.push(armed);
    } else if (isConnectionFault(kind)) {
      for (const c of slot.conns.values()) {
        if (armed.remaining <= 0) break;
        if (this.applyConnectionFault(c, armed)) armed.remaining--;
      }
      if (armed.remaining > 0) slot.connFaults.push(armed);
    } else {
      slot.restFaults.push(armed);
    }
  }

  clearFaults(venue?: string): void {
    for (const [id, s] of this.slots) {
      if (venue !== undefined && venue !== id) continue;
      s.frameFaults.length = 0;
      s.connFaults.length = 0;
      s.restFaults.length = 0;
      for (const c of s.conns.values()) {
        c.stalled = false;
        c.suppressPong = false;
        c.delayMs = 0;
      }
    }
  }

  connections(venue?: string): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const [id, s] of this.slots) {
      if (venue !== undefined && venue !== id) continue;
      for (const c of s.conns.values()) {
        out.push({
          id: c.id,
          venue: id,
          path: c.path,
          subscriptions: [...c.subscriptions],
          framesSent: c.framesSent,
        });
      }
    }
    return out;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private async doClose(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const s of this.slots.values()) {
      for (const c of s.conns.values()) c.terminate();
      s.conns.clear();
    }
    for (const sock of this.pendingSockets) sock.destroy();
    this.pendingSockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw qobError('QOB_ERR_CLOSED', 'the emulator is closed');
  }

  private slotOf(venue: string): VenueSlot {
    const s = this.slots.get(venue);
    if (s === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_VENUE', `the emulator does not serve ${JSON.stringify(venue)}`, {
        venue,
        served: [...this.slots.keys()],
      });
    }
    return s;
  }

  private fired(venue: string, kind: FaultKind): void {
    this.faultCounts[kind]++;
    this.slotOf(venue).stats.faultsFired++;
  }

  private applyConnectionFault(c: EmuConnection, f: ArmedFault): boolean {
    if (f.spec.connection !== undefined && f.spec.connection !== c.id) return false;
    switch (f.spec.kind) {
      case 'stall':
        c.stalled = true;
        break;
      case 'suppress-pong':
        c.suppressPong = true;
        break;
      case 'slow-reads':
        c.delayMs = f.spec.delayMs ?? 200;
        break;
      default:
        return false;
    }
    this.fired(c.venue, f.spec.kind);
    return true;
  }

  /** `/<venue>/rest/of/path?query` -> the venue slot and the rest, or undefined. */
  private route(rawUrl: string | undefined): { slot: VenueSlot; path: string; query: URLSearchParams } | undefined {
    let url: URL;
    try {
      url = new URL(rawUrl ?? '/', 'http://127.0.0.1');
    } catch {
      return undefined;
    }
    const m = /^\/([a-z0-9-]+)(\/.*)?$/.exec(url.pathname);
    const slot = m?.[1] === undefined ? undefined : this.slots.get(m[1]);
    if (slot === undefined) return undefined;
    return { slot, path: m?.[2] ?? '/', query: url.searchParams };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const r = this.route(req.url);
    if (r === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such venue"}');
      return;
    }
    r.slot.stats.restRequests++;
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET' }).end('{"error":"GET only"}');
      return;
    }
    let reply = undefined as ReturnType<EmulatorVenue['rest']> | undefined;
    if (r.slot.venue.isSnapshotRequest(r.path) && r.slot.restFaults.length > 0) {
      const f = r.slot.restFaults[0] as ArmedFault;
      if (--f.remaining <= 0) r.slot.restFaults.shift();
      const status = f.spec.kind === 'snapshot-418' ? 418 : 429;
      const retryAfterS = f.spec.retryAfterS ?? 1;
      reply = r.slot.venue.restFault(status, retryAfterS);
      reply = { ...reply, headers: { ...reply.headers, 'retry-after': String(retryAfterS) } };
      this.fired(r.slot.module.id, f.spec.kind);
    }
    reply ??= r.slot.venue.rest(r.path, r.query);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const r = this.closing === undefined ? this.route(req.url) : undefined;
    if (r === undefined || !r.slot.venue.acceptsWs(r.path, r.query)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.pendingSockets.add(socket);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.pendingSockets.delete(socket);
      if (this.closing !== undefined) {
        ws.terminate();
        return;
      }
      this.onConnection(r.slot, r.path, r.query, ws);
    });
  }

  private onConnection(slot: VenueSlot, path: string, query: URLSearchParams, ws: WebSocket): void {
    const id = `${slot.module.id}#${++this.nextConn}`;
    const c = new EmuConnection(id, slot.module.id, path, query, ws, this.limits, this.hooks);
    slot.conns.set(id, c);
    slot.stats.connectionsOpened++;
    for (let i = 0; i < slot.connFaults.length; i++) {
      const f = slot.connFaults[i] as ArmedFault;
      if (this.applyConnectionFault(c, f) && --f.remaining <= 0) slot.connFaults.splice(i--, 1);
    }
    ws.on('error', () => c.terminate());
    ws.on('close', () => {
      c.shutdown();
      if (slot.conns.delete(id)) slot.stats.connectionsClosed++;
    });
    ws.on('ping', (data) => {
      slot.stats.pingsReceived++;
      if (c.suppressPong || !c.open) return;
      ws.pong(data);
      slot.stats.pongsSent++;
    });
    ws.on('message', (data) => {
      if (!c.open) return;
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      try {
        slot.venue.onMessage(c, text);
      } catch {
        c.terminate(); // a venue bug must not take the server down; the client sees a dropped connection
      }
    });
    slot.venue.onOpen(c);
  }
}

/** Starts an emulator listening on 127.0.0.1 (random port unless `port` is given). */
export async function startEmulator(o: EmulatorOptions = {}): Promise<Emulator> {
  const emu = new VenueEmulator(o);
  try {
    await emu.listen(o.port ?? 0);
  } catch (e) {
    await emu.close();
    throw qobError('QOB_ERR_IO', `the emulator could not listen: ${(e as Error).message}`, { port: o.port }, e);
  }
  return emu;
}
