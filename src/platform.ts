/**
 * The platform is built by one function: `buildPlatform(config)` returns every piece (logger, metrics,
 * the venues it will run) and entry points (`qob start`, later each service) only choose and wire them.
 *
 * Venues: the built-in simulated exchange (`sim`: matching engines driven by seeded agents, src/sim/, whose
 * wire feed goes through the `sim` feed handler, src/venues/sim/, into exact tracked books, in process),
 * and the real venues through their live connectors (src/ingest/connector.ts driven by each venue's
 * `VenueConnectorSpec`). A configured venue without a connector spec (or without a symbol mapping) is
 * reported as unavailable, never an error. Time and randomness come from the entry point (`deps`).
 */
import type { QobConfig, VenueConfig } from './config/types.ts';
import { qobError } from './core/errors.ts';
import {
  bookDelta,
  bookSnapshot,
  type MarketEvent,
  type StatusEvent,
  status as statusEvent,
  type TradeEvent,
  trade,
} from './domain/index.ts';
import { buildGateway, listenGateway, type RunningGateway } from './gateway/index.ts';
import {
  type BookRef,
  type BookStatusView,
  bookStatusOfRef,
  type MarketDataSource,
  type MarketStatus,
  type VenueStatusView,
  type VenueView,
} from './gateway/source.ts';
import { onSimTrades } from './gateway/ws/sim-trades.ts';
import type { TradeBatch } from './gateway/ws/tape.ts';
import { BookEventTap, guessSymbol } from './ingest/book-events.ts';
import type { Clock, Random } from './ingest/clock.ts';
import type { SocketFactory } from './ingest/connection.ts';
import {
  type ConnectionTuning,
  type ConnectorStatus,
  createConnector,
  type RecoveryOptions,
  type VenueConnector,
} from './ingest/connector.ts';
import type { FetchLike } from './ingest/rest.ts';
import type { Logger } from './observability/logger.ts';
import { createLogger, moduleLogger } from './observability/logger.ts';
import { createMetrics, type PlatformMetrics } from './observability/metrics.ts';
import { type SimConnection, SimExchange } from './sim/exchange.ts';
import { openStore as openSqlStore, type RetentionPolicy, type SqlStore } from './store/index.ts';
import type { VenueEndpoints } from './venues/connector-spec.ts';
import type { FeedHandlerFactory, FeedHandlerOptions, TrackedBook, VenueFeedHandler } from './venues/feed-handler.ts';
import { feedRegistration, VENUES, type VenueRegistration } from './venues/index.ts';
import { createSimFeedHandler, type SimFeedHandler } from './venues/sim/index.ts';
import { parseFrame } from './venues/sim/wire.ts';

export const SIM_VENUE = 'sim';

export interface SimVenueOptions {
  readonly symbols: readonly string[];
  /** Seed of the simulated market (default 1). */
  readonly seed?: number;
  /** Simulated milliseconds per step (default 50). */
  readonly stepMs?: number;
  readonly metrics?: PlatformMetrics;
}

/** One book's status, as `qob start` prints it (sim and live venues alike). Prices are exact decimal text. */
/** One book's status line (sim and live books alike): the gateway's `BookStatusView`. */
export type BookStatus = BookStatusView;

/** A `sim` book's status: a `BookStatus` plus the trades the simulated feed carries. */
export interface SimBookStatus extends BookStatus {
  /** Price of the last trade seen on the feed, exact text. */
  readonly lastTradePrice: string | null;
  readonly lastTradeSide: 'buy' | 'sell' | null;
  readonly trades: number;
  /** Trades per second since the previous status (a statistic). */
  readonly tradesPerSec: number;
}

interface Counts {
  updates: number;
  trades: number;
}

/**
 * The built-in simulated venue, wired like a real one: a `SimExchange` (matching engines and seeded
 * agents, src/sim/) publishes wire frames on an in-process connection, and the `sim` feed handler
 * (src/venues/sim/) turns them into exact tracked books, asking for a fresh snapshot whenever a book goes
 * stale. No timers and no clock inside: the caller decides when to `step` and passes the time to
 * `status`, so runs are reproducible.
 */
export class SimVenue {
  readonly exchange: SimExchange;
  readonly handler: SimFeedHandler;
  private readonly conn: SimConnection;
  private readonly metrics: PlatformMetrics | undefined;
  private readonly last = new Map<string, Counts>();
  private readonly lastUpdateMs = new Map<string, number>();
  private readonly resync = new Set<string>();
  private readonly metricUpdates = new Map<string, number>();
  private delivering = false;
  private framesSeen = 0;
  private lastStatusMs: number | undefined;
  private closed = false;

  constructor(options: SimVenueOptions) {
    this.metrics = options.metrics;
    this.exchange = new SimExchange({
      symbols: options.symbols,
      seed: options.seed ?? 1,
      ...(options.stepMs === undefined ? {} : { stepMs: options.stepMs }),
    });
    this.handler = createSimFeedHandler({
      onStatus: (c) => {
        if (c.status === 'stale') this.resync.add(c.symbol);
      },
    });
    this.handler.onConnect('sim', 'sim://in-process', this.exchange.nowMs);
    this.conn = this.exchange.connect((text) => this.deliver(text));
    for (const s of this.exchange.symbols) this.last.set(s, { updates: 0, trades: 0 });
    this.countMetrics();
  }

  private deliver(text: string): void {
    this.framesSeen++;
    this.handler.onFrame('sim', text, this.exchange.nowMs);
    if (this.delivering || this.resync.size === 0) return;
    // Ask for snapshots after the frame that lost sync, never from inside the handler.
    this.delivering = true;
    try {
      for (const symbol of [...this.resync]) {
        this.resync.delete(symbol);
        this.conn.send(JSON.stringify({ op: 'snapshot', symbol }));
      }
    } finally {
      this.delivering = false;
    }
  }

  get symbols(): string[] {
    return this.exchange.symbols;
  }

  /** Wire frames the simulated exchange has delivered to the feed handler. */
  get frames(): number {
    return this.framesSeen;
  }

  /** Runs `n` steps of the simulated market; every frame goes through the feed handler. */
  step(n: number): void {
    if (this.closed) throw qobError('QOB_ERR_CLOSED', 'the simulated venue is closed');
    this.exchange.step(n);
    this.countMetrics();
  }

  private countMetrics(): void {
    const m = this.metrics;
    if (m === undefined) return;
    let inSync = 0;
    for (const tb of this.trackedBooks()) {
      const prev = this.metricUpdates.get(tb.symbol) ?? 0;
      if (tb.updates > prev) m.bookUpdates.inc({ venue: SIM_VENUE, symbol: tb.symbol }, tb.updates - prev);
      this.metricUpdates.set(tb.symbol, tb.updates);
      if (tb.inSync) inSync++;
    }
    m.booksInSync.set({ venue: SIM_VENUE }, inSync);
  }

  /** The status of every book; `nowMs` (from the caller's clock) gives the rates. */
  status(nowMs: number): SimBookStatus[] {
    const dtS = this.lastStatusMs === undefined ? 0 : (nowMs - this.lastStatusMs) / 1000;
    this.lastStatusMs = nowMs;
    return this.exchange.symbols.map((symbol) => {
      const t = this.handler.book(symbol);
      const tr = this.handler.trades(symbol);
      const last = this.last.get(symbol) as Counts;
      const updates = t?.updates ?? 0;
      const rate = (now: number, before: number) => (dtS > 0 ? Math.round((now - before) / dtS) : 0);
      if (updates > last.updates || (updates > 0 && !this.lastUpdateMs.has(symbol))) {
        this.lastUpdateMs.set(symbol, nowMs);
      }
      const lastUpdateMs = this.lastUpdateMs.get(symbol);
      const out: SimBookStatus = {
        venue: SIM_VENUE,
        symbol,
        venueSymbol: symbol,
        bestBid: t?.book.bestBid()?.price ?? null,
        bestAsk: t?.book.bestAsk()?.price ?? null,
        spread: t?.book.spread()?.toString() ?? null,
        mid: t?.book.mid()?.toString() ?? null,
        bidLevels: t?.book.bids.length ?? 0,
        askLevels: t?.book.asks.length ?? 0,
        updates,
        updatesPerSec: rate(updates, last.updates),
        crossed: t?.crossed ?? 0,
        gaps: t?.gaps ?? 0,
        status: t?.status ?? 'syncing',
        reason: null,
        ageMs: lastUpdateMs === undefined ? null : Math.max(0, Math.round(nowMs - lastUpdateMs)),
        lastTradePrice: tr.lastPrice,
        lastTradeSide: tr.lastSide,
        trades: tr.count,
        tradesPerSec: rate(tr.count, last.trades),
      };
      last.updates = updates;
      last.trades = tr.count;
      return out;
    });
  }

  /** The books themselves (read-only use), in symbol order. */
  trackedBooks(): TrackedBook[] {
    return this.exchange.symbols.flatMap((s) => {
      const b = this.handler.book(s);
      return b === undefined ? [] : [b];
    });
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    this.exchange.close();
    this.metrics?.booksInSync.set({ venue: SIM_VENUE }, 0);
  }
}

/** One venue's status line (sim and live venues alike): the gateway's `VenueStatusView` and its connections. */
export interface VenueStatus extends VenueStatusView {
  /** `sim`: in process; `live`: a live connector runs; `unavailable`: configured but not runnable here. */
  readonly kind: 'sim' | 'live' | 'unavailable';
  readonly connections: readonly ConnectionStatusLine[];
}

export interface ConnectionStatusLine {
  readonly id: string;
  readonly state: string;
  readonly reason: string;
  readonly epoch: number;
  readonly unreachable: boolean;
  readonly retryInMs: number | null;
  readonly tries: number;
}

export interface LiveVenueSelection {
  /** Venue ids to run (default: every enabled configured venue); `sim` is left to `createSimVenue`. */
  readonly venues?: readonly string[];
  /** Normalized symbols replacing every selected venue's configured symbols. */
  readonly symbols?: readonly string[];
}

export interface PlannedSymbol {
  readonly symbol: string;
  readonly venueSymbol: string | undefined;
  /** Why the venue cannot take this symbol. */
  readonly problem: string | undefined;
}

interface ConnState {
  state: string;
  reason: string;
  epoch: number;
  unreachable: boolean;
  retryAtMs: number | undefined;
  /** Sockets tried since the connection was last open. */
  tries: number;
  /** The latest failure since the connection was last open. */
  failure: { reason: string; unreachable: boolean } | undefined;
}

/** First clause of a connection failure: `network unreachable (ECONNREFUSED): connect ...` -> its head. */
function shortReason(reason: string, unreachable: boolean): string {
  const head = unreachable ? (reason.split(': ')[0] ?? reason) : reason;
  return head.length > 96 ? `${head.slice(0, 93)}...` : head;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${Math.max(0, Math.ceil(s * 10) / 10)}` : `${Math.ceil(s)}`;
}

/** A live venue's book event: a snapshot, a delta, or a book's status change. */
export type LiveBookEvent = Exclude<MarketEvent, TradeEvent>;

/** One handler of a live venue behind its `BookEventTap`, and whether its events go out. */
interface TapState {
  readonly tap: BookEventTap;
  /** Set while the tap looks at its books without input (`LiveVenue.rescan`). */
  readonly gate: { quiet: boolean };
  /**
   * `new`: not seen serving yet; `serving`: its events go out; `taking-over`: a replacement that now serves,
   * its fresh snapshots not sent yet (only statuses go out); `retired`: no longer served.
   */
  mode: 'new' | 'serving' | 'taking-over' | 'retired';
  /** It emitted events while not serving (a rotation's replacement syncing on its own socket). */
  withheld: boolean;
  /** Books whose status went out while taking over. */
  readonly statusSent: Set<string>;
}

/**
 * One real venue run by `qob start`: its live connector (when the venue has a connector spec and a symbol
 * mapping) and everything its status line needs. Statuses are bookkeeping only: the connector recovers on
 * its own. Each handler the connector makes sits behind a `BookEventTap` (src/ingest/book-events.ts), so
 * the served books also come out as normalized events (`onBookEvent`), as the ingestion service's do.
 */
export class LiveVenue {
  readonly venue: string;
  readonly connector: VenueConnector | undefined;
  /** Why the venue does not run here (no connector spec, no symbol mapping, no usable symbols). */
  readonly unavailable: string | undefined;
  private readonly planned: readonly PlannedSymbol[];
  private readonly conns = new Map<string, ConnState>();
  private readonly bookReasons = new Map<string, string>();
  private readonly lastUpdateMs = new Map<string, number>();
  private readonly seenUpdates = new Map<string, number>();
  private readonly lastRate = new Map<string, number>();
  private readonly metricUpdates = new Map<string, number>();
  private readonly tradeListeners = new Set<(trade: TradeEvent) => void>();
  private readonly bookListeners = new Set<(event: LiveBookEvent) => void>();
  /** The tap of every handler the connector made (held weakly: the connector owns its handlers). */
  private readonly taps = new Set<WeakRef<TapState>>();
  /** One sequence for the venue's book events, over every handler the connector makes. */
  private readonly sequence: { next: number };
  /** Venue symbol (upper case) -> the planned normalized symbol. */
  private readonly normalized = new Map<string, string>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private refreshQueued = false;
  private tradeCount = 0;
  private frames = 0;
  private lastFrames = 0;
  private lastStatusMs: number | undefined;

  constructor(
    venue: string,
    reg: VenueRegistration | undefined,
    symbols: readonly string[],
    endpoints: Partial<VenueEndpoints>,
    deps: LiveDeps,
  ) {
    this.venue = venue;
    this.clock = deps.clock;
    this.log = deps.log;
    // Numbered from the start time in microseconds, like the ingestion service: a restart moves on.
    this.sequence = { next: Math.max(0, Math.round(deps.clock.nowMs() * 1000)) };
    const spec = reg?.connector;
    const toVenue = spec?.toVenueSymbol;
    this.planned = symbols.map((symbol): PlannedSymbol => {
      if (toVenue === undefined) return { symbol, venueSymbol: undefined, problem: undefined };
      try {
        return { symbol, venueSymbol: toVenue(symbol), problem: undefined };
      } catch (e) {
        return { symbol, venueSymbol: undefined, problem: (e as Error).message };
      }
    });
    const usable = this.planned.flatMap((p) => (p.venueSymbol === undefined ? [] : [p.venueSymbol]));
    if (reg === undefined || spec === undefined) this.unavailable = `no live connector for ${venue} yet`;
    else if (toVenue === undefined) this.unavailable = `no symbol mapping in ${venue}'s connector spec yet`;
    else if (symbols.length === 0) this.unavailable = 'no symbols configured';
    else if (usable.length === 0) this.unavailable = 'none of the configured symbols is listed by this connector';
    else this.unavailable = undefined;
    if (this.unavailable !== undefined || reg === undefined || spec === undefined) {
      this.connector = undefined;
      return;
    }
    const factory = reg.createFeedHandler;
    for (const p of this.planned)
      if (p.venueSymbol !== undefined) this.normalized.set(p.venueSymbol.toUpperCase(), p.symbol);
    const handlerFactory: FeedHandlerFactory = (options) => this.tapped(factory, options);
    this.connector = createConnector({
      spec,
      handlerFactory,
      symbols: usable,
      endpoints,
      clock: deps.clock,
      random: deps.random,
      tap: (r) => {
        if (r.t === 'recv') this.frames++;
      },
      onStatus: (st) => this.onStatus(st),
      onAlert: (a) => deps.log.warn({ alert: a }, `${a.venue} ${a.symbol}: ${a.reason}`),
      // Trades come through the connector's dedup (a repeated frame, a rotation's overlap): each once.
      onTrade: (t) => this.deliverTrade(t),
      ...(deps.createSocket === undefined ? {} : { createSocket: deps.createSocket }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
      ...(deps.tuning?.connection === undefined ? {} : { connection: deps.tuning.connection }),
      ...(deps.tuning?.recovery === undefined ? {} : { recovery: deps.tuning.recovery }),
    });
  }

  /** Trades delivered so far (each once). */
  get trades(): number {
    return this.tradeCount;
  }

  /**
   * Calls `listener` with each public trade of this venue's books, once per (symbol, trade id): they come
   * from the connector's `onTrade`, never straight from a handler. Returns the function that stops it.
   */
  onTrade(listener: (trade: TradeEvent) => void): () => void {
    this.tradeListeners.add(listener);
    return () => {
      this.tradeListeners.delete(listener);
    };
  }

  private deliverTrade(t: TradeEvent): void {
    this.tradeCount++;
    for (const l of this.tradeListeners) l(t);
  }

  /**
   * Calls `listener` with every book event of this venue's served books: a `book.snapshot` when a book
   * (re)gains sync (and every 500 deltas), a `book.delta` per applied update that changed levels, a
   * `status` when it loses sync (nothing more of it until the next snapshot), each once. Returns the
   * function that stops it.
   */
  onBookEvent(listener: (event: LiveBookEvent) => void): () => void {
    this.bookListeners.add(listener);
    return () => {
      this.bookListeners.delete(listener);
    };
  }

  /** Emits a fresh snapshot of every served in-sync book now (a listener that joins late starts from it). */
  resnapshot(): void {
    const nowMs = this.clock.nowMs();
    const serving = this.servingBooks();
    for (const st of this.tapStates()) {
      if (st.mode === 'retired' || !this.serves(st, serving)) continue;
      // A tap not looked at while nobody listened holds an old copy: the snapshot renews it.
      st.mode = 'serving';
      st.withheld = false;
      st.tap.resnapshot(nowMs);
    }
  }

  /**
   * The connector's handler, behind a `BookEventTap` that turns its books into normalized events. Only a
   * serving handler's events go out: a make-before-break rotation's replacement syncs on a second socket
   * meanwhile, and its events are withheld; once it serves, its books go out as fresh snapshots.
   */
  private tapped(factory: FeedHandlerFactory, options: FeedHandlerOptions | undefined): VenueFeedHandler {
    const gate = { quiet: false };
    let st: TapState | undefined;
    let inner: VenueFeedHandler | undefined;
    const tap = new BookEventTap(this.venue, (o) => (inner = this.stamped(factory(o), gate)), {
      sequence: this.sequence,
      symbolOf: (venueSymbol) => this.bookSymbol(venueSymbol),
      // Trades come deduplicated from the connector (`onTrade`), never from a handler.
      trades: false,
      ...(options === undefined ? {} : { handlerOptions: options }),
      emit: (e) => {
        if (st !== undefined) this.onTapEvent(st, e as LiveBookEvent);
      },
      onError: (err) => this.log.warn({ err }, `${this.venue}: a book event could not be built`),
    });
    st = { tap, gate, mode: 'new', withheld: false, statusSent: new Set() };
    this.taps.add(new WeakRef(st));
    const h = inner as VenueFeedHandler;
    // Comparing every book with the tap's copy costs more than applying the frame: only while someone listens.
    return {
      venue: tap.venue,
      get counters() {
        return tap.counters;
      },
      onConnect: (conn, url, ts) => tap.onConnect(conn, url, ts),
      onSend: (conn, data, ts) => tap.onSend(conn, data, ts),
      onFrame: (conn, data, ts) => (this.bookListeners.size > 0 ? tap : h).onFrame(conn, data, ts),
      onHttp: (url, body, ts) => (this.bookListeners.size > 0 ? tap : h).onHttp(url, body, ts),
      books: () => tap.books(),
    };
  }

  /** A book's normalized symbol: the planned one whose venue spelling it is. */
  private bookSymbol(venueSymbol: string): string {
    return this.normalized.get(venueSymbol.toUpperCase()) ?? guessSymbol(venueSymbol);
  }

  private tapStates(): TapState[] {
    const out: TapState[] = [];
    for (const ref of this.taps) {
      const st = ref.deref();
      if (st === undefined) this.taps.delete(ref);
      else out.push(st);
    }
    return out;
  }

  private servingBooks(): Set<TrackedBook> {
    return new Set(this.connector?.books() ?? []);
  }

  /** Whether the connector serves this tap's books (a handler's books all serve, or none does). */
  private serves(st: TapState, serving = this.servingBooks()): boolean {
    for (const b of st.tap.books()) return serving.has(b);
    return false;
  }

  private onTapEvent(st: TapState, e: LiveBookEvent): void {
    if (st.mode === 'new') {
      if (!this.serves(st)) {
        st.withheld = true;
        return;
      }
      if (!st.withheld) st.mode = 'serving';
      else {
        // A replacement that took over: its books go out as fresh snapshots once the current frame is done.
        st.mode = 'taking-over';
        this.scheduleRefresh();
      }
    }
    if (st.mode === 'taking-over') {
      if (e.type !== 'status') return;
      if (e.symbol !== null) st.statusSent.add(e.symbol);
    } else if (st.mode === 'retired') return;
    for (const l of this.bookListeners) l(e);
  }

  private scheduleRefresh(): void {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    queueMicrotask(() => {
      this.refreshQueued = false;
      this.refresh();
    });
  }

  /**
   * Brings every tap up to date outside any frame: a serving tap looks at its books again (a disconnect
   * invalidates them without a frame, and that status must go out now), a replacement that took over
   * sends fresh snapshots, a handler no longer served sends nothing more.
   */
  private refresh(): void {
    const nowMs = this.clock.nowMs();
    const serving = this.servingBooks();
    for (const st of this.tapStates()) {
      if (st.mode === 'retired') continue;
      if (!this.serves(st, serving)) {
        if (st.mode !== 'new') st.mode = 'retired';
        continue;
      }
      if (st.mode === 'new') st.mode = st.withheld ? 'taking-over' : 'serving';
      if (this.bookListeners.size > 0) this.rescan(st, nowMs);
      if (st.mode === 'taking-over') this.takeOver(st, nowMs);
    }
  }

  /** The tap compares its books with what it last emitted, without feeding the handler anything. */
  private rescan(st: TapState, nowMs: number): void {
    st.gate.quiet = true;
    try {
      st.tap.onHttp('', '', nowMs);
    } finally {
      st.gate.quiet = false;
    }
  }

  /**
   * A rotation's replacement serves now: fresh snapshots of its in-sync books, and a status for each book
   * it has not in sync (the replaced handler's last events must not stand for it).
   */
  private takeOver(st: TapState, nowMs: number): void {
    st.mode = 'serving';
    st.tap.resnapshot(nowMs);
    for (const tb of st.tap.books()) {
      if (tb.inSync) continue;
      let symbol: string;
      try {
        symbol = this.bookSymbol(tb.symbol);
      } catch {
        continue; // the tap reported it already
      }
      if (st.statusSent.has(symbol)) continue;
      const e: StatusEvent = statusEvent({
        venue: this.venue,
        symbol,
        tsRecvMs: nowMs,
        recvSeq: this.sequence.next++,
        status: tb.status === 'failed' ? 'failed' : 'stale',
        reason: `the venue book is not in sync after a rotation (${tb.status})`,
      });
      for (const l of this.bookListeners) l(e);
    }
    st.statusSent.clear();
  }

  /** Wraps the venue's handler to note when each book last applied an update (receive time). */
  private stamped(h: VenueFeedHandler, gate: { readonly quiet: boolean }): VenueFeedHandler {
    const clock = this.clock;
    const stamp = (tsMs: number): void => {
      for (const b of h.books()) {
        const k = b.symbol.toUpperCase();
        if (this.seenUpdates.get(k) !== b.updates) {
          this.seenUpdates.set(k, b.updates);
          this.lastUpdateMs.set(k, Number.isFinite(tsMs) ? tsMs : clock.nowMs());
        }
      }
    };
    return {
      venue: h.venue,
      get counters() {
        return h.counters;
      },
      onConnect: (conn, url, ts) => h.onConnect(conn, url, ts),
      onSend: (conn, data, ts) => h.onSend(conn, data, ts),
      onFrame: (conn, data, ts) => {
        h.onFrame(conn, data, ts);
        stamp(ts);
      },
      onHttp: (url, body, ts) => {
        if (gate.quiet) return; // the tap's rescan: no input
        h.onHttp(url, body, ts);
        stamp(ts);
      },
      books: () => h.books(),
    };
  }

  private onStatus(st: ConnectorStatus): void {
    // A book invalidated on a disconnect, a rotation's replacement taking over: the taps look again.
    this.scheduleRefresh();
    if (st.scope === 'book') {
      if (st.symbol !== undefined) this.bookReasons.set(st.symbol.toUpperCase(), st.reason);
      return;
    }
    if (st.scope !== 'connection' || st.conn === undefined) return;
    const c: ConnState = this.conns.get(st.conn) ?? {
      state: st.status,
      reason: st.reason,
      epoch: 0,
      unreachable: false,
      retryAtMs: undefined,
      tries: 0,
      failure: undefined,
    };
    c.state = st.status;
    c.reason = st.reason;
    c.epoch = Math.max(c.epoch, st.epoch ?? 0); // a scheduled retry reports the last open socket's epoch
    c.retryAtMs = st.retryInMs === undefined ? undefined : st.tsMs + st.retryInMs;
    if (st.status === 'connecting') c.tries++;
    if (st.status === 'connected') {
      c.tries = 0;
      c.failure = undefined;
      c.unreachable = false;
    } else if (st.status === 'disconnected' || st.status === 'stale') {
      c.unreachable = st.unreachable ?? false;
      c.failure = { reason: st.reason, unreachable: c.unreachable };
    }
    this.conns.set(st.conn, c);
  }

  /** Normalized symbols this venue was asked to run. */
  get symbols(): string[] {
    return this.planned.map((p) => p.symbol);
  }

  /** Every planned book as it is now: its tracked book (once the connector made it) and its status. */
  bookRefs(): { planned: PlannedSymbol; key: string; tracked: TrackedBook | undefined; status: string }[] {
    const connector = this.connector;
    const tracked = new Map<string, TrackedBook>();
    const tracks = new Map<string, string | undefined>();
    if (connector !== undefined) {
      for (const b of connector.books()) tracked.set(b.symbol.toUpperCase(), b);
      for (const t of connector.bookStates()) tracks.set(t.symbol.toUpperCase(), t.status);
    }
    return this.planned.map((p) => {
      const key = p.venueSymbol?.toUpperCase() ?? '';
      const tb = tracked.get(key);
      const track = tracks.get(key);
      let status: string;
      if (p.venueSymbol === undefined || connector === undefined) status = 'unsupported';
      else if (track === undefined || track === 'connecting' || track === 'disconnected')
        status = track ?? 'connecting';
      else status = tb?.status ?? track;
      return { planned: p, key, tracked: tb, status };
    });
  }

  /** The reason of a book's latest transition (or why the venue cannot take it), as status lines give it. */
  bookReason(p: PlannedSymbol, key: string): string | null {
    return p.problem ?? (this.connector === undefined ? null : (this.bookReasons.get(key) ?? null));
  }

  /** The venue's status line and its books' lines; `nowMs` (the caller's clock) gives ages and rates. */
  status(nowMs: number, metrics?: PlatformMetrics): { venue: VenueStatus; books: BookStatus[] } {
    const dtS = this.lastStatusMs === undefined ? 0 : (nowMs - this.lastStatusMs) / 1000;
    this.lastStatusMs = nowMs;
    const rate = (now: number, before: number): number => (dtS > 0 ? Math.round((now - before) / dtS) : 0);
    const framesPerSec = rate(this.frames, this.lastFrames);
    this.lastFrames = this.frames;

    let inSync = 0;
    const books = this.bookRefs().map(({ planned: p, key, tracked: tb, status }): BookStatus => {
      if (status === 'in_sync') inSync++;
      const updates = tb?.updates ?? 0;
      const prevUpdates = this.lastRate.get(key) ?? 0;
      this.lastRate.set(key, updates);
      const lastMs = this.lastUpdateMs.get(key);
      if (metrics !== undefined && tb !== undefined) {
        const prev = this.metricUpdates.get(key) ?? 0;
        if (updates > prev) metrics.bookUpdates.inc({ venue: this.venue, symbol: p.symbol }, updates - prev);
        this.metricUpdates.set(key, updates);
      }
      return {
        venue: this.venue,
        symbol: p.symbol,
        venueSymbol: p.venueSymbol ?? p.symbol,
        bestBid: tb?.book.bestBid()?.price ?? null,
        bestAsk: tb?.book.bestAsk()?.price ?? null,
        spread: tb?.book.spread()?.toString() ?? null,
        mid: tb?.book.mid()?.toString() ?? null,
        bidLevels: tb?.book.bids.length ?? 0,
        askLevels: tb?.book.asks.length ?? 0,
        updates,
        updatesPerSec: rate(updates, prevUpdates),
        crossed: tb?.crossed ?? 0,
        gaps: tb?.gaps ?? 0,
        status,
        // A venue that does not run says why on its own line; a symbol it cannot take says why here.
        reason: this.bookReason(p, key),
        ageMs: lastMs === undefined ? null : Math.max(0, Math.round(nowMs - lastMs)),
      };
    });
    metrics?.booksInSync.set({ venue: this.venue }, inSync);
    return { venue: this.venueLine(nowMs, framesPerSec, books.length, inSync), books };
  }

  private venueLine(nowMs: number, framesPerSec: number, nBooks: number, inSync: number): VenueStatus {
    const counts = { frames: this.frames, framesPerSec, books: nBooks, booksInSync: inSync };
    const connector = this.connector;
    if (connector === undefined) {
      return {
        venue: this.venue,
        kind: 'unavailable',
        state: 'unavailable',
        reason: this.unavailable ?? 'not running',
        unreachable: false,
        retryInMs: null,
        epoch: null,
        tries: 0,
        ...counts,
        connections: [],
      };
    }
    const socks = connector.connections();
    const lines = socks.map((m): ConnectionStatusLine => {
      const c = this.conns.get(m.plan.id);
      const retry = c?.retryAtMs === undefined || m.isOpen ? null : Math.max(0, Math.round(c.retryAtMs - nowMs));
      return {
        id: m.plan.id,
        state: m.isClosed ? 'closed' : m.isOpen ? 'connected' : (c?.state ?? 'connecting'),
        reason: c?.reason ?? 'starting',
        epoch: Math.max(m.epoch, c?.epoch ?? 0),
        unreachable: !m.isOpen && (c?.unreachable ?? false),
        retryInMs: retry,
        tries: m.isOpen ? 0 : (c?.tries ?? 0),
      };
    });
    const open = socks.filter((m) => m.isOpen).length;
    const epochs = lines.map((l) => l.epoch).filter((e) => e > 0);
    const tries = lines.reduce((n, l) => n + l.tries, 0);
    const epoch = epochs.length === 0 ? null : Math.max(...epochs);
    let state: string;
    let reason: string;
    let unreachable = false;
    let retryInMs: number | null = null;
    if (socks.length > 0 && socks.every((m) => m.isClosed)) {
      state = 'closed';
      reason = 'closed';
    } else if (open === socks.length) {
      state = 'connected';
      reason = `${open} connection${open === 1 ? '' : 's'} open`;
    } else {
      // Report the first connection that is not open, with its latest failure and the next try.
      const down = socks.find((m) => !m.isOpen);
      const c = down === undefined ? undefined : this.conns.get(down.plan.id);
      const line = lines.find((l) => l.id === down?.plan.id);
      retryInMs = line?.retryInMs ?? null;
      const failure = c?.failure;
      unreachable = failure?.unreachable ?? false;
      state = failure === undefined ? 'connecting' : 'disconnected';
      const what = failure === undefined ? 'connecting' : shortReason(failure.reason, failure.unreachable);
      const next =
        failure === undefined
          ? ''
          : c?.state === 'connecting' || retryInMs === null
            ? ', retrying now'
            : `, retrying in ${seconds(retryInMs)} s`;
      const partial = open > 0 ? ` (${open} of ${socks.length} connections open)` : '';
      reason = `${what}${next}${partial}`;
    }
    return {
      venue: this.venue,
      kind: 'live',
      state,
      reason,
      unreachable,
      retryInMs,
      epoch,
      tries,
      ...counts,
      connections: lines,
    };
  }

  /** Idempotent. */
  close(): void {
    this.connector?.close();
  }
}

interface LiveDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly createSocket?: SocketFactory;
  readonly fetch?: FetchLike;
  readonly tuning?: PlatformDeps['connectorTuning'];
}

/** The real venues `qob start` runs, with one status call for all of them. */
export interface LiveVenues {
  readonly venues: readonly LiveVenue[];
  status(nowMs: number): { venues: VenueStatus[]; books: BookStatus[] };
  /** Idempotent. */
  close(): void;
}

export interface MarketDataOptions {
  readonly sim?: SimVenue | undefined;
  readonly live?: LiveVenues | undefined;
  /** Time of a status taken before the first published one. */
  readonly clock: Clock;
}

/** The platform's venues as the gateway sees them; `publish` hands it each status the entry point takes. */
export interface PlatformMarketData extends MarketDataSource {
  publish(status: MarketStatus): void;
  onTrades(listener: (batch: TradeBatch) => void): () => void;
}

const SIM_REASON = 'in process (simulated exchange, no network)';

/** Hands one live trade to a tape listener; a trade whose aggressor the venue does not say has no tape side. */
function liveTradeBatch(venue: string, t: TradeEvent, listener: (batch: TradeBatch) => void): void {
  if (t.aggressor === 'unknown') return;
  const id = t.tradeId ?? `${t.tsRecvMs}:${t.recvSeq}`;
  listener({
    venue,
    symbol: t.symbol,
    trades: [{ id, price: t.price, size: t.size, side: t.aggressor, tsMs: t.tsEventMs ?? t.tsRecvMs }],
  });
}

/**
 * The gateway's `MarketDataSource` over a sim venue and live venues. Books are read live; the status
 * (rates, ages) is the one the entry point last took and published, so the API never disturbs the rates
 * `qob start` prints. Before the first one, a status without rates or ages is built from the books.
 * Ready once the first status is published and every sim book is in sync.
 */
export function createMarketData(options: MarketDataOptions): PlatformMarketData {
  const { sim, live, clock } = options;
  let latest: MarketStatus | undefined;
  const simRefs = (): BookRef[] =>
    (sim?.symbols ?? []).map((symbol) => {
      const t = sim?.handler.book(symbol);
      const status = t?.status ?? 'syncing';
      return {
        venue: SIM_VENUE,
        symbol,
        venueSymbol: symbol,
        status,
        reason: null,
        inSync: t?.inSync ?? false,
        book: t?.book,
        updates: t?.updates ?? 0,
      };
    });
  const liveRefs = (): BookRef[] =>
    (live?.venues ?? []).flatMap((v) =>
      v.bookRefs().map(({ planned, key, tracked, status }) => ({
        venue: v.venue,
        symbol: planned.symbol,
        venueSymbol: planned.venueSymbol ?? planned.symbol,
        status,
        reason: v.bookReason(planned, key),
        inSync: status === 'in_sync' && tracked !== undefined,
        book: tracked?.book,
        updates: tracked?.updates ?? 0,
      })),
    );
  const books = (): BookRef[] => [...simRefs(), ...liveRefs()];
  const source: PlatformMarketData = {
    publish(status) {
      latest = status;
    },
    // Trades for the WebSocket trades and candles channels: the sim exchange's trade stream and the live
    // venues' trades (each once: they come through the connector's dedup).
    onTrades(listener) {
      const stops = (live?.venues ?? []).map((v) => v.onTrade((t) => liveTradeBatch(v.venue, t, listener)));
      if (sim !== undefined) stops.push(onSimTrades(sim.exchange, listener));
      return () => {
        for (const stop of stops) stop();
      };
    },
    venues() {
      const out: VenueView[] = [];
      if (sim !== undefined) {
        out.push({ id: SIM_VENUE, kind: 'sim', state: 'connected', reason: SIM_REASON, symbols: sim.symbols });
      }
      for (const v of live?.venues ?? []) {
        const line = latest?.venues.find((l) => l.venue === v.venue);
        const unavailable = v.unavailable !== undefined;
        out.push({
          id: v.venue,
          kind: unavailable ? 'unavailable' : 'live',
          state: unavailable ? 'unavailable' : (line?.state ?? 'connecting'),
          reason: v.unavailable ?? line?.reason ?? 'starting',
          symbols: v.symbols,
        });
      }
      return out;
    },
    books,
    book(venue, symbol) {
      return books().find((b) => b.venue === venue && b.symbol === symbol);
    },
    status() {
      if (latest !== undefined) return latest;
      const refs = books();
      return {
        tsMs: clock.nowMs(),
        venues: source.venues().map((v) => {
          const mine = refs.filter((b) => b.venue === v.id);
          return {
            venue: v.id,
            kind: v.kind,
            state: v.state,
            reason: v.reason,
            unreachable: false,
            retryInMs: null,
            epoch: null,
            tries: 0,
            frames: 0,
            framesPerSec: 0,
            books: mine.length,
            booksInSync: mine.filter((b) => b.inSync).length,
          };
        }),
        books: refs.map((b) => bookStatusOfRef(b, null)),
      };
    },
    readiness() {
      // Started: the entry point has taken and published its first status.
      if (latest === undefined) return { ready: false, reason: 'the platform has not reported a status yet' };
      if (sim === undefined) {
        const n = live?.venues.length ?? 0;
        return n === 0
          ? { ready: false, reason: 'no venue runs' }
          : { ready: true, reason: `${n} live venue${n === 1 ? '' : 's'} started` };
      }
      const refs = simRefs();
      const inSync = refs.filter((b) => b.inSync).length;
      return inSync === refs.length
        ? { ready: true, reason: `all ${refs.length} sim books in sync` }
        : { ready: false, reason: `${inSync} of ${refs.length} sim books in sync` };
    },
  };
  return source;
}

/** The API as `qob start` runs it. */
export interface PlatformApi extends RunningGateway {
  /** Hands the API the status the entry point just took (see `createMarketData`). */
  publish(status: MarketStatus): void;
}

export interface ApiOptions {
  readonly sim?: SimVenue | undefined;
  readonly live?: LiveVenues | undefined;
  /** Override `config.api.host` / `config.api.port` (0: any free port). */
  readonly host?: string;
  readonly port?: number;
}

export interface PlatformDeps {
  /** A logger to use instead of one built from `config.log`. */
  readonly logger?: Logger;
  /** Time for the live connectors: the entry point passes the system clock, tests a manual one. */
  readonly clock?: Clock;
  /** Randomness for the connectors' jittered backoff. */
  readonly random?: Random;
  /** The venue registry (default: src/venues/index.ts `VENUES`). */
  readonly registry?: readonly VenueRegistration[];
  /** Transport overrides for tests. */
  readonly createSocket?: SocketFactory;
  readonly fetch?: FetchLike;
  /** Connection and recovery tuning of every live connector (tests: short connection lifetimes). */
  readonly connectorTuning?: { readonly connection?: ConnectionTuning; readonly recovery?: RecoveryOptions };
}

export interface Platform {
  readonly config: QobConfig;
  readonly logger: Logger;
  readonly metrics: PlatformMetrics;
  /** The enabled `sim` venue entry, if any. */
  readonly simVenue: VenueConfig | undefined;
  /** Enabled real venues, in configuration order. */
  readonly realVenues: readonly VenueConfig[];
  /** The simulated venue over the sim venue's configured symbols (or the given ones). */
  createSimVenue(options?: Partial<SimVenueOptions>): SimVenue;
  /**
   * Starts a live connector for every selected real venue that has a connector spec (endpoints from the
   * venue's `wsBase`/`restBase` config when set); the others are reported unavailable. Needs `deps.clock`
   * and `deps.random`.
   */
  startLiveVenues(selection?: LiveVenueSelection): LiveVenues;
  /**
   * Builds the HTTP API (src/gateway/) over these venues and listens on `config.api` (or the overrides).
   * Needs `deps.clock`. `close()` stops it too; await the returned `close()` for a clean stop.
   */
  startApi(options?: ApiOptions): Promise<PlatformApi>;
  /**
   * Opens the store of `config.store` (undefined when its engine is `none`) and records into it what the
   * sim venues carry and what the live venues' books apply (snapshots, deltas, status changes) and their
   * trades, each once (venues started before and after), through the bounded writer: never waited for.
   * Runs retention every `store.retentionIntervalMs` (needs `deps.clock`). Opening it twice is an error.
   */
  openStore(options?: { readonly dataDir?: string }): Promise<PlatformStore | undefined>;
  /** Closes everything it created (the store without waiting; await `PlatformStore.close()` for that). Idempotent. */
  close(): void;
}

/** The platform's store and what was handed to it. */
export interface PlatformStore {
  readonly store: SqlStore;
  readonly engine: 'embedded' | 'postgres';
  /** The data directory (embedded) or the schema (server). */
  readonly where: string;
  /** Events the store accepted. */
  appended(): number;
  /**
   * Events the store refused (its queue full, or closed): counted, never waited for. A live book whose
   * event was refused has its deltas refused (and counted) too, until a fresh snapshot of it is stored.
   */
  overflow(): number;
  /** Flushes what was accepted and releases the engine. Idempotent. */
  close(): Promise<void>;
}

const RETENTION_TABLE_OF = {
  trades: 'trades',
  bookDeltas: 'book_deltas',
  bookSnapshots: 'book_snapshots',
  venueStatus: 'venue_status',
  candles1s: 'candles_1s',
  candles1m: 'candles_1m',
} as const;

/**
 * Hands the sim exchange's feed to `append` as market events (trades, book snapshots and deltas), on a
 * connection of its own. Returns the function that stops it.
 */
function recordSimFeed(exchange: SimExchange, append: (e: MarketEvent) => void, onBad: () => void): () => void {
  let recvSeq = 0;
  const conn = exchange.connect((text) => {
    try {
      const f = parseFrame(text);
      const tsRecvMs = exchange.nowMs;
      if (f.kind === 'trades') {
        const m = f.msg;
        for (const t of m.trades) {
          append(
            trade({
              venue: SIM_VENUE,
              symbol: m.symbol,
              tsEventMs: m.tsEventMs,
              tsRecvMs,
              recvSeq: recvSeq++,
              price: t.price,
              size: t.size,
              aggressor: t.side,
              tradeId: t.id,
            }),
          );
        }
      } else if (f.kind === 'book') {
        const m = f.msg;
        // parseFrame checked that every level is exactly [price, size] text.
        const bids = m.bids as unknown as readonly (readonly [string, string])[];
        const asks = m.asks as unknown as readonly (readonly [string, string])[];
        const base = { venue: SIM_VENUE, symbol: m.symbol, tsEventMs: m.tsEventMs, tsRecvMs, recvSeq: recvSeq++ };
        if (m.type === 'snapshot') append(bookSnapshot({ ...base, seq: m.seq, bids, asks }));
        else {
          const changes = [
            ...bids.map(([price, size]) => ({ side: 'bid' as const, price, size })),
            ...asks.map(([price, size]) => ({ side: 'ask' as const, price, size })),
          ];
          append(bookDelta({ ...base, firstSeq: m.seq, lastSeq: m.seq, prevSeq: m.seq - 1, changes }));
        }
      }
    } catch {
      onBad();
    }
  });
  return () => conn.close();
}

export function buildPlatform(config: QobConfig, deps: PlatformDeps = {}): Platform {
  const logger = deps.logger ?? createLogger(config.log);
  const metrics = createMetrics({ processMetrics: config.metrics.enabled });
  const registry = deps.registry ?? VENUES;
  const enabled = config.venues.filter((v) => v.enabled);
  const simVenue = enabled.find((v) => v.id === SIM_VENUE);
  const realVenues = enabled.filter((v) => v.id !== SIM_VENUE);
  const markets: SimVenue[] = [];
  const lives: LiveVenue[] = [];
  const apis: PlatformApi[] = [];
  let closed = false;
  const log = moduleLogger(logger, 'platform');
  let stored: PlatformStore | undefined;
  let recordSim: ((m: SimVenue) => void) | undefined;
  let recordLive: ((v: LiveVenue) => void) | undefined;

  return {
    config,
    logger,
    metrics,
    simVenue,
    realVenues,
    createSimVenue(options = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      const symbols = options.symbols ?? simVenue?.symbols ?? [];
      if (symbols.length === 0) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the sim venue is disabled or has no symbols', {
          venue: SIM_VENUE,
        });
      }
      const m = new SimVenue({ ...options, symbols, metrics });
      markets.push(m);
      recordSim?.(m);
      log.debug({ symbols }, 'simulated venue started');
      return m;
    },
    startLiveVenues(selection = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      const { clock, random } = deps;
      if (clock === undefined || random === undefined) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'live venues need a clock and a source of randomness (deps)', {});
      }
      const ids = (selection.venues ?? realVenues.map((v) => v.id)).filter((id) => id !== SIM_VENUE);
      const liveDeps: LiveDeps = {
        clock,
        random,
        log: moduleLogger(logger, 'ingest'),
        ...(deps.createSocket === undefined ? {} : { createSocket: deps.createSocket }),
        ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
        ...(deps.connectorTuning === undefined ? {} : { tuning: deps.connectorTuning }),
      };
      const started: LiveVenue[] = [];
      for (const id of [...new Set(ids)]) {
        const entry = config.venues.find((v) => v.id === id);
        const endpoints: Partial<VenueEndpoints> = {
          ...(entry?.wsBase === undefined ? {} : { wsBase: entry.wsBase }),
          ...(entry?.restBase === undefined ? {} : { restBase: entry.restBase }),
        };
        // `book: "l3"` runs the venue's order-by-order feed (registered as `<id>-l3`), served as its L2 view.
        const reg = feedRegistration(registry, id, entry?.book);
        const v = new LiveVenue(id, reg, selection.symbols ?? entry?.symbols ?? [], endpoints, liveDeps);
        started.push(v);
        lives.push(v);
        recordLive?.(v);
        log.debug({ venue: id, unavailable: v.unavailable }, 'live venue started');
      }
      let done = false;
      return {
        venues: started,
        status(nowMs) {
          const out = started.map((v) => v.status(nowMs, done ? undefined : metrics));
          return { venues: out.map((o) => o.venue), books: out.flatMap((o) => o.books) };
        },
        close() {
          if (done) return;
          done = true;
          for (const v of started) v.close();
        },
      };
    },
    async startApi(options = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      if (deps.clock === undefined) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the API needs a clock (deps)', {});
      }
      const source = createMarketData({ sim: options.sim, live: options.live, clock: deps.clock });
      const app = await buildGateway({
        source,
        metrics: metrics.registry,
        logger: moduleLogger(logger, 'gateway'),
        // History routes read the store when it was opened before the API (as `qob start` does).
        ...(stored === undefined ? {} : { history: stored.store }),
      });
      const running = await listenGateway(app, {
        host: options.host ?? config.api.host,
        port: options.port ?? config.api.port,
      });
      const api: PlatformApi = { ...running, close: () => running.close(), publish: (st) => source.publish(st) };
      apis.push(api);
      log.debug({ url: api.url }, 'API listening');
      return api;
    },
    async openStore(options = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      if (stored !== undefined) throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the store is already open', {});
      const sc = config.store;
      if (sc.engine === 'none') return undefined;
      const writer = {
        maxQueued: sc.writerQueueSize,
        onError: (e: unknown) => log.warn({ err: e }, 'store write failed; the batch stays queued'),
      };
      const snapshots = {
        intervalMs: sc.snapshotIntervalMs,
        ...(sc.snapshotDepth > 0 ? { depth: sc.snapshotDepth } : {}),
      };
      const retention: RetentionPolicy = {};
      for (const [k, table] of Object.entries(RETENTION_TABLE_OF)) {
        const days = sc.retentionDays[k as keyof typeof RETENTION_TABLE_OF];
        if (days > 0) retention[table] = days;
      }
      const dataDir = options.dataDir ?? `${config.data.dir}/pglite`;
      let store: SqlStore;
      if (sc.engine === 'embedded') {
        store = await openSqlStore({ engine: 'embedded', dataDir, writer, snapshots, retention });
      } else {
        if (sc.urlSecret === undefined) {
          throw qobError('QOB_ERR_CONFIG_INVALID', 'store.urlSecret is required for postgres', {});
        }
        store = await openSqlStore({
          engine: 'postgres',
          url: sc.urlSecret.reveal(),
          schema: sc.schema,
          writer,
          snapshots,
          retention,
        });
      }
      let appended = 0;
      let overflow = 0;
      const append = (e: MarketEvent): void => {
        if (store.append(e)) appended++;
        else overflow++;
      };
      // A live book whose snapshot or delta the store refused: its deltas are refused too (they would build a
      // wrong book) until a fresh snapshot of it is stored, asked for once the writer has drained.
      const lost = new Map<LiveVenue, Set<string>>();
      let asking = false;
      const askSnapshots = (): void => {
        if (asking || closing !== undefined) return;
        asking = true;
        const again = (): void => {
          asking = false;
          if (closing === undefined) for (const v of [...lost.keys()]) v.resnapshot();
        };
        store.flush().then(again, again);
      };
      const appendBook = (v: LiveVenue, e: LiveBookEvent): void => {
        const books = lost.get(v);
        const book = e.symbol ?? '';
        if (books?.has(book) === true && e.type === 'book.delta') {
          overflow++;
          return;
        }
        if (store.append(e)) {
          appended++;
          if (books !== undefined && e.type === 'book.snapshot' && books.delete(book) && books.size === 0) {
            lost.delete(v);
          }
          return;
        }
        overflow++;
        if (e.type === 'status') return;
        if (books === undefined) lost.set(v, new Set([book]));
        else books.add(book);
        askSnapshots();
      };
      const stops: (() => void)[] = [];
      let timer: unknown;
      const clock = deps.clock;
      const scheduleRetention = (): void => {
        if (clock === undefined || sc.retentionIntervalMs <= 0 || Object.keys(retention).length === 0) return;
        timer = clock.setTimeout(() => {
          store
            .applyRetention(clock.nowMs())
            .then((r) => log.debug({ dropped: r.dropped }, 'store retention applied'))
            .catch((e: unknown) => log.warn({ err: e }, 'store retention failed'))
            .finally(() => {
              if (timer !== undefined) scheduleRetention();
            });
        }, sc.retentionIntervalMs);
      };
      scheduleRetention();
      let closing: Promise<void> | undefined;
      const handle: PlatformStore = {
        store,
        engine: sc.engine,
        where: sc.engine === 'embedded' ? dataDir : sc.schema,
        appended: () => appended,
        overflow: () => overflow,
        close() {
          closing ??= (async () => {
            recordSim = undefined;
            recordLive = undefined;
            for (const stop of stops) stop();
            if (timer !== undefined && clock !== undefined) clock.clearTimeout(timer as never);
            timer = undefined;
            await store.close();
          })();
          return closing;
        },
      };
      recordSim = (m) => {
        stops.push(recordSimFeed(m.exchange, append, () => overflow++));
      };
      for (const m of markets) recordSim(m);
      // Live venues' trades, each once (the connector drops repeats before they get here), and their books:
      // a snapshot whenever a book (re)gains sync, its deltas, and its status when it loses sync.
      recordLive = (v) => {
        stops.push(v.onTrade(append));
        stops.push(v.onBookEvent((e) => appendBook(v, e)));
        v.resnapshot(); // a venue that ran before the store opened: its books start from a snapshot
      };
      for (const v of lives) recordLive(v);
      stored = handle;
      log.debug({ engine: sc.engine, where: handle.where }, 'store open');
      return handle;
    },
    close() {
      if (closed) return;
      closed = true;
      void stored?.close().catch((e: unknown) => log.warn({ err: e }, 'store close failed'));
      for (const a of apis) void a.close();
      for (const m of markets) m.close();
      for (const v of lives) v.close();
      metrics.close();
      log.debug('platform closed');
    },
  };
}
