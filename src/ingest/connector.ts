/**
 * The generic live connector: opens the connections a venue's `VenueConnectorSpec` plans, feeds every
 * raw record to the venue's `VenueFeedHandler` (and to an optional tap, e.g. a recorder), and runs the
 * per-book SYNC/RECOVERY state machine on the handler's status changes:
 *
 *   connecting -> syncing -> in_sync -> (gap, checksum, crossed) stale -> recovery -> in_sync ...
 *                     \-> recovery tries exhausted -> failed (+ alert) -> cooldown -> recovery again
 *   any -> disconnected (socket lost: books are invalidated) -> connecting (new epoch) -> syncing ...
 *
 * Recovery is the spec's action for the symbol: a REST snapshot (fetched right after every connect when
 * `snapshotOnConnect`), resubscribe frames, or a new connection. Every try has a deadline; a book not in
 * sync by then (or whose snapshot the handler rejected) is tried again after a jittered backoff, at most
 * `maxTries` times. A snapshot whose request began in an older connection epoch is discarded: it never
 * reaches the handler nor the tap, so a recording replays exactly as the live book was built.
 *
 * Each connection has its own handler instance (all from `handlerFactory`). Planned rotations (the venue's
 * maximum connection age, a venue's reconnect request) are make-before-break: the replacement socket gets
 * a fresh handler (the candidate), subscribes and syncs its books (REST snapshots included) while the old
 * socket keeps serving; when every book of the connection is in sync in the candidate (or after the
 * recovery timeout, or if the old socket dies first) the connection is promoted: the candidate handler
 * serves, the old socket closes, and books that were in sync stay in sync (no gap, no status change).
 * The tap receives the candidate's records at promotion, after the old socket's `disconnect`, so a
 * recording still never interleaves two sockets of one connection and replays to the same books.
 */
import { isQobError, type QobError } from '../core/errors.ts';
import type { TradeEvent } from '../domain/events.ts';
import type { Instrument } from '../domain/instrument.ts';
import type { ConnectionPlan, RecoveryAction, VenueConnectorSpec, VenueEndpoints } from '../venues/connector-spec.ts';
import type { BookStatusChange, FeedHandlerFactory, TrackedBook, VenueFeedHandler } from '../venues/feed-handler.ts';
import { type BackoffOptions, backoffDelayMs, type Clock, type Random, type TimerHandle, TimerSet } from './clock.ts';
import { type ConnectionStatus, ManagedConnection, type SocketFactory } from './connection.ts';
import type { RawRecord, RawTap } from './raw-record.ts';
import { type FetchLike, RestClient } from './rest.ts';
import { TradeDedup } from './trade-dedup.ts';

export type ConnectorState =
  | 'connecting'
  | 'connected'
  | 'rotating'
  | 'syncing'
  | 'in_sync'
  | 'stale'
  | 'failed'
  | 'disconnected'
  | 'closed';

export interface ConnectorStatus {
  readonly scope: 'venue' | 'connection' | 'book';
  readonly venue: string;
  readonly status: ConnectorState;
  readonly reason: string;
  readonly tsMs: number;
  /** Connection id (connection and book scopes). */
  readonly conn?: string;
  /** Book scope: the symbol as planned (the handler's `TrackedBook.symbol`). */
  readonly symbol?: string;
  readonly epoch?: number;
  /** The network could not be reached; the connector keeps retrying with backoff. */
  readonly unreachable?: boolean;
  /** Connection scope: a reconnect is scheduled after this many ms (from `tsMs`). */
  readonly retryInMs?: number;
}

export interface ConnectorAlert {
  readonly kind: 'book_failed';
  readonly venue: string;
  readonly symbol: string;
  readonly conn: string;
  readonly reason: string;
  readonly tries: number;
  readonly tsMs: number;
}

export interface RecoveryOptions {
  /** Recovery tries per book before it is marked failed (default 5). */
  readonly maxTries?: number;
  /** Backoff between tries (default 1 s doubling up to 30 s). */
  readonly backoff?: BackoffOptions;
  /** A book not in sync this long after a try needs another try (default 15 s). */
  readonly timeoutMs?: number;
  /** A failed book is tried again after this long (default 60 s). */
  readonly failedCooldownMs?: number;
  /** REST-snapshot venues: wait this long after connect before the first snapshot, so events buffer (default 500 ms). */
  readonly snapshotDelayMs?: number;
}

export interface ConnectionTuning {
  readonly backoff?: BackoffOptions;
  readonly pongTimeoutMs?: number;
  readonly wsPingIntervalMs?: number;
  readonly healthyAfterMs?: number;
  readonly rotateMarginMs?: number;
  readonly maxQueued?: number;
  readonly handshakeTimeoutMs?: number;
  /** Overrides the spec's stale timeout and maximum connection age (tests). */
  readonly staleAfterMs?: number;
  readonly maxConnectionMs?: number;
}

export interface ConnectorOptions {
  readonly spec: VenueConnectorSpec;
  readonly handlerFactory: FeedHandlerFactory;
  /** Venue symbols, spelled as the handler's `TrackedBook.symbol` (see docs/ADD_A_VENUE.md). */
  readonly symbols: readonly string[];
  readonly endpoints?: Partial<VenueEndpoints>;
  readonly clock: Clock;
  readonly random: Random;
  readonly tap?: RawTap;
  readonly onStatus?: (status: ConnectorStatus) => void;
  readonly onAlert?: (alert: ConnectorAlert) => void;
  readonly onBadFrame?: (error: QobError, conn: string) => void;
  readonly signal?: AbortSignal;
  readonly recovery?: RecoveryOptions;
  readonly connection?: ConnectionTuning;
  readonly rest?: { readonly timeoutMs?: number; readonly maxTries?: number; readonly maxRetryAfterMs?: number };
  readonly fetch?: FetchLike;
  readonly createSocket?: SocketFactory;
  /** Planned rotations open, subscribe and sync the new socket before closing the old one (default true). */
  readonly makeBeforeBreak?: boolean;
  /**
   * Public trades of every book, in the venue's order, each delivered once: a repeat (same symbol and
   * trade id among the newest `tradeDedupWindow` of its symbol, see trade-dedup.ts) is dropped, whether
   * the venue sent the frame twice or two sockets overlap in a make-before-break rotation. While both
   * sockets stream, the serving one's trades are delivered and the replacement's are held; at the switch
   * the held trades the old socket never delivered follow. Trades without an id cannot be matched and are
   * delivered as they come.
   */
  readonly onTrade?: (trade: TradeEvent) => void;
  /** Trade ids remembered per symbol to drop repeats (default `TRADE_DEDUP_WINDOW`, 4096). */
  readonly tradeDedupWindow?: number;
}

/** Records of a candidate socket held back from the tap until promotion; beyond this it is promoted at once. */
const MAX_CANDIDATE_RECORDS = 100_000;

/** A rotation's replacement socket and the handler syncing its books, until promotion. */
interface Candidate {
  readonly epoch: number;
  readonly handler: VenueFeedHandler;
  readonly pending: RawRecord[];
  readonly timers: TimerHandle[];
  /** Snapshot tries per symbol (REST-snapshot venues). */
  readonly tries: Map<string, number>;
  /** Trades of the replacement socket, held until the switch. */
  readonly trades: TradeEvent[];
}

interface Track {
  readonly symbol: string;
  readonly conn: ManagedConnection;
  readonly plan: ConnectionPlan;
  /** The epoch this track's state belongs to; handler events of another epoch start nothing. */
  epoch: number;
  status: ConnectorState | undefined;
  tries: number;
  recovering: boolean;
  inflight: boolean;
  /** Id of the latest snapshot request; an older request settling does not touch `inflight`. */
  requestSeq: number;
  failed: boolean;
  timer: TimerHandle | undefined;
  lastReason: string;
}

export interface ConnectorCounters {
  /** Snapshots whose request began in an older connection epoch (discarded, never applied). */
  discardedSnapshots: number;
  snapshotRequests: number;
  resubscribes: number;
  reconnectRequests: number;
  tapErrors: number;
}

export class VenueConnector {
  readonly venue: string;
  readonly spec: VenueConnectorSpec;
  readonly endpoints: VenueEndpoints;
  readonly rest: RestClient;
  readonly counters: ConnectorCounters = {
    discardedSnapshots: 0,
    snapshotRequests: 0,
    resubscribes: 0,
    reconnectRequests: 0,
    tapErrors: 0,
  };
  private readonly o: ConnectorOptions;
  private readonly clock: Clock;
  private readonly timers: TimerSet;
  private readonly conns: ManagedConnection[] = [];
  private readonly tracks = new Map<string, Track>();
  private readonly connStates = new Map<string, ConnectionStatus>();
  /** The handler serving each connection's books. */
  private readonly handlers = new Map<ManagedConnection, VenueFeedHandler>();
  private readonly candidates = new Map<ManagedConnection, Candidate>();
  /** Instrument responses, fed to every handler created later. */
  private readonly metaHttp: { url: string; body: string; tsRecvMs: number }[] = [];
  private readonly spareHandler: VenueFeedHandler;
  /** The trades delivered lately, per symbol (bounded), to drop repeats. */
  readonly tradeDedup: TradeDedup;
  private venueState: ConnectorState | undefined;
  private epochCounter = 0;
  private started = false;
  private closed = false;
  private readonly abortListener: (() => void) | undefined;

  constructor(options: ConnectorOptions) {
    this.o = options;
    this.spec = options.spec;
    this.venue = options.spec.venue;
    this.clock = options.clock;
    this.timers = new TimerSet(options.clock);
    this.endpoints = { ...options.spec.defaultEndpoints, ...options.endpoints };
    this.tradeDedup = new TradeDedup(options.tradeDedupWindow);
    this.spareHandler = options.handlerFactory({ onBadFrame: (e, conn) => this.o.onBadFrame?.(e, conn) });
    this.rest = new RestClient({
      venue: this.venue,
      clock: options.clock,
      random: options.random,
      limit: options.spec.restLimit,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...options.rest,
    });
    const c = options.connection ?? {};
    for (const plan of options.spec.plan(options.symbols, this.endpoints)) {
      const conn = new ManagedConnection({
        venue: this.venue,
        plan,
        clock: options.clock,
        random: options.random,
        onRecord: (r) => this.onRecord(conn, r),
        onStatus: (s) => this.onConnectionStatus(conn, s),
        ...(options.makeBeforeBreak === false
          ? {}
          : { onCandidateRecord: (r: RawRecord) => this.onCandidateRecord(conn, r) }),
        ...(options.spec.appPing === undefined ? {} : { appPing: options.spec.appPing }),
        ...(options.spec.isReconnectRequest === undefined
          ? {}
          : { isReconnectRequest: options.spec.isReconnectRequest }),
        staleAfterMs: c.staleAfterMs ?? options.spec.staleAfterMs,
        ...((c.maxConnectionMs ?? options.spec.maxConnectionMs) !== undefined
          ? { maxConnectionMs: c.maxConnectionMs ?? options.spec.maxConnectionMs }
          : {}),
        ...stripUndefined({
          backoff: c.backoff,
          pongTimeoutMs: c.pongTimeoutMs,
          wsPingIntervalMs: c.wsPingIntervalMs,
          healthyAfterMs: c.healthyAfterMs,
          rotateMarginMs: c.rotateMarginMs,
          maxQueued: c.maxQueued,
          handshakeTimeoutMs: c.handshakeTimeoutMs,
          createSocket: options.createSocket,
        }),
        nextEpoch: () => ++this.epochCounter,
      });
      this.conns.push(conn);
      this.handlers.set(conn, this.newHandler(conn));
      for (const symbol of plan.symbols) {
        this.tracks.set(symbol.toUpperCase(), {
          symbol,
          conn,
          plan,
          epoch: -1,
          status: undefined,
          tries: 0,
          recovering: false,
          inflight: false,
          requestSeq: 0,
          failed: false,
          timer: undefined,
          lastReason: '',
        });
      }
    }
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.closed = true;
      else {
        this.abortListener = () => this.close();
        options.signal.addEventListener('abort', this.abortListener, { once: true });
      }
    }
  }

  /** Opens every planned connection. Idempotent. */
  start(): this {
    if (this.closed || this.started) return this;
    this.started = true;
    for (const t of this.tracks.values()) this.setBook(t, 'connecting', 'starting');
    for (const c of this.conns) c.start();
    return this;
  }

  /** The handler of the first connection (each connection has its own; see `books()` for all books). */
  get handler(): VenueFeedHandler {
    const first = this.conns[0];
    return (first === undefined ? undefined : this.handlers.get(first)) ?? this.spareHandler;
  }

  /** Every book the serving handlers track (keys and symbols are the handler's). */
  books(): Iterable<TrackedBook> {
    const out: TrackedBook[] = [];
    for (const h of this.handlers.values()) for (const b of h.books()) out.push(b);
    return out;
  }

  /** The connector's view of each planned book. */
  bookStates(): { symbol: string; conn: string; status: ConnectorState | undefined; tries: number }[] {
    return [...this.tracks.values()].map((t) => ({
      symbol: t.symbol,
      conn: t.plan.id,
      status: t.status,
      tries: t.tries,
    }));
  }

  connections(): readonly ManagedConnection[] {
    return this.conns;
  }

  /** Timers held by the connector itself (its connections and REST client hold their own). */
  get pendingTimers(): number {
    return this.timers.size + this.rest.pendingTimers + this.conns.reduce((n, c) => n + c.pendingTimers, 0);
  }

  get liveSockets(): number {
    return this.conns.reduce((n, c) => n + c.liveSockets, 0);
  }

  /** Fetches and parses the venue's instrument list (spec.instruments). */
  async instruments(signal?: AbortSignal): Promise<Instrument[]> {
    const inst = this.spec.instruments;
    if (inst === undefined) return [];
    const res = await this.rest.get(inst.request(this.endpoints), signal);
    this.tapRecord({
      t: 'http',
      venue: this.venue,
      conn: `${this.venue}.http`,
      tsMs: res.tsRecvMs,
      url: res.url,
      data: res.body,
    });
    this.metaHttp.push({ url: res.url, body: res.body, tsRecvMs: res.tsRecvMs });
    for (const h of this.handlers.values()) h.onHttp(res.url, res.body, res.tsRecvMs);
    for (const c of this.candidates.values()) c.handler.onHttp(res.url, res.body, res.tsRecvMs);
    return inst.parse(res.body);
  }

  /** Closes every connection, wait and request. Idempotent. */
  close(): void {
    if (this.closed && this.timers.size === 0) return;
    this.closed = true;
    if (this.abortListener !== undefined) this.o.signal?.removeEventListener('abort', this.abortListener);
    this.timers.clearAll();
    for (const t of this.tracks.values()) t.timer = undefined;
    this.candidates.clear();
    for (const c of this.conns) c.close();
    this.rest.close();
    this.setVenue('closed', 'closed');
  }

  // ---- records and statuses ------------------------------------------------------------------------------

  private tapRecord(r: RawRecord): void {
    const tap = this.o.tap;
    if (tap === undefined) return;
    try {
      tap(r);
    } catch {
      this.counters.tapErrors++;
    }
  }

  /** A handler for `conn`'s books; its events count only while it serves (or syncs a candidate) there. */
  private newHandler(conn: ManagedConnection, candidate = false): VenueFeedHandler {
    const onTrade = this.o.onTrade;
    const h: VenueFeedHandler = this.o.handlerFactory({
      ...(onTrade === undefined
        ? {}
        : {
            onTrade: (t: TradeEvent) => {
              if (this.handlers.get(conn) === h) this.deliverTrade(t);
              else if (candidate) {
                const cand = this.candidates.get(conn);
                if (cand?.handler === h && cand.trades.length < MAX_CANDIDATE_RECORDS) cand.trades.push(t);
              }
            },
          }),
      onStatus: (c) => {
        if (this.handlers.get(conn) === h) this.onHandlerStatus(c);
        else if (candidate && this.candidates.get(conn)?.handler === h) this.onCandidateStatus(conn, c);
      },
      onBadFrame: (e, id) => {
        if (this.handlers.get(conn) === h) this.onBadFrame(e, id);
        else if (candidate && this.candidates.get(conn)?.handler === h) this.onCandidateBadFrame(conn, e, id);
      },
    });
    for (const m of this.metaHttp) h.onHttp(m.url, m.body, m.tsRecvMs);
    return h;
  }

  /** Delivers a trade unless the same (symbol, trade id) was delivered lately (a repeated frame, a rotation's overlap). */
  private deliverTrade(t: TradeEvent): void {
    if (this.tradeDedup.accept(t)) this.o.onTrade?.(t);
  }

  private handlerOf(conn: ManagedConnection): VenueFeedHandler {
    return this.handlers.get(conn) ?? this.spareHandler;
  }

  private onRecord(conn: ManagedConnection, r: RawRecord): void {
    this.tapRecord(r);
    feed(this.handlerOf(conn), r);
  }

  // ---- make-before-break rotation ------------------------------------------------------------------------

  private onCandidateRecord(conn: ManagedConnection, r: RawRecord): void {
    if (this.closed) return;
    if (r.t === 'connect') {
      this.dropCandidate(conn);
      const cand: Candidate = {
        epoch: r.epoch ?? conn.candidateEpoch ?? -1,
        handler: this.newHandler(conn, true),
        pending: [r],
        timers: [],
        tries: new Map(),
        trades: [],
      };
      this.candidates.set(conn, cand);
      feed(cand.handler, r);
      // Not in sync by the recovery deadline: promote anyway; the books then resync as after a reconnect.
      const timeout = this.o.recovery?.timeoutMs ?? 15_000;
      cand.timers.push(
        this.timers.set(() => this.promote(conn, cand, 'rotation (replacement not in sync in time)'), timeout),
      );
      if (this.spec.snapshotOnConnect) {
        const delay = this.o.recovery?.snapshotDelayMs ?? 500;
        for (const t of this.tracksOf(conn)) this.candidateSnapshot(conn, cand, t, delay);
      }
      return;
    }
    const cand = this.candidates.get(conn);
    if (cand === undefined || r.epoch !== cand.epoch) return;
    if (r.t === 'disconnect') {
      // The replacement died before promotion: the old socket still serves; the connection retries later.
      this.dropCandidate(conn);
      return;
    }
    cand.pending.push(r);
    feed(cand.handler, r);
    if (cand.pending.length >= MAX_CANDIDATE_RECORDS) this.promote(conn, cand, 'rotation (replacement buffer full)');
  }

  private dropCandidate(conn: ManagedConnection): void {
    const cand = this.candidates.get(conn);
    if (cand === undefined) return;
    for (const tm of cand.timers) this.timers.clear(tm);
    this.candidates.delete(conn);
  }

  private candidateBook(cand: Candidate, symbol: string): TrackedBook | undefined {
    const u = symbol.toUpperCase();
    for (const b of cand.handler.books()) if (b.symbol.toUpperCase() === u) return b;
    return undefined;
  }

  private onCandidateStatus(conn: ManagedConnection, c: BookStatusChange): void {
    const cand = this.candidates.get(conn);
    if (cand === undefined || this.closed) return;
    if (c.status === 'in_sync') {
      const ready = this.tracksOf(conn).every((t) => this.candidateBook(cand, t.symbol)?.status === 'in_sync');
      if (ready) this.promote(conn, cand, 'rotation');
      return;
    }
    if (c.status === 'stale' && this.spec.snapshotOnConnect) {
      const t = this.tracks.get(c.symbol.toUpperCase());
      if (t !== undefined && t.conn === conn) this.candidateSnapshot(conn, cand, t, 0);
    }
  }

  private onCandidateBadFrame(conn: ManagedConnection, e: QobError, _id: string): void {
    const cand = this.candidates.get(conn);
    if (cand === undefined || this.closed || !isQobError(e, 'QOB_ERR_SNAPSHOT_STALE')) return;
    const sym = e.context.symbol;
    const t = typeof sym === 'string' ? this.tracks.get(sym.toUpperCase()) : undefined;
    if (t !== undefined && t.conn === conn) this.candidateSnapshot(conn, cand, t, 0);
  }

  /** A REST snapshot for the candidate's book of `t` (bounded by the recovery tries). */
  private candidateSnapshot(conn: ManagedConnection, cand: Candidate, t: Track, delayMs: number): void {
    const tries = cand.tries.get(t.symbol) ?? 0;
    if (tries >= (this.o.recovery?.maxTries ?? 5)) return;
    cand.tries.set(t.symbol, tries + 1);
    const backoff = this.o.recovery?.backoff ?? { baseMs: 1000, maxMs: 30_000 };
    const delay = tries === 0 ? delayMs : Math.max(delayMs, backoffDelayMs(tries - 1, backoff, this.o.random));
    cand.timers.push(
      this.timers.set(() => {
        if (this.candidates.get(conn) !== cand) return;
        const action = this.spec.recovery(t.symbol, t.plan, this.endpoints);
        if (action.kind !== 'rest-snapshot') return;
        this.counters.snapshotRequests++;
        this.rest.get({ url: action.request.url, weight: action.request.weight }).then(
          (res) => {
            if (this.closed || this.candidates.get(conn) !== cand) {
              this.counters.discardedSnapshots++;
              return;
            }
            const rec: RawRecord = {
              t: 'http',
              venue: this.venue,
              conn: `${this.venue}.http`,
              tsMs: res.tsRecvMs,
              url: res.url,
              data: res.body,
              epoch: cand.epoch,
            };
            cand.pending.push(rec);
            cand.handler.onHttp(res.url, res.body, res.tsRecvMs);
          },
          () => {
            if (!this.closed && this.candidates.get(conn) === cand) this.candidateSnapshot(conn, cand, t, 0);
          },
        );
      }, delay),
    );
  }

  /** The candidate takes over: the tap gets its records, its handler serves, the old socket closes. */
  private promote(conn: ManagedConnection, cand: Candidate, reason: string): void {
    if (this.candidates.get(conn) !== cand || conn.candidateEpoch !== cand.epoch) return;
    conn.promote(reason); // records the old socket's disconnect, then reports `connected` / `rotated`
  }

  /** `connected` / `rotated`: swap in the candidate's handler and carry the tracks over. */
  private onRotated(conn: ManagedConnection): boolean {
    const cand = this.candidates.get(conn);
    if (cand === undefined || conn.epoch !== cand.epoch) return false;
    this.dropCandidate(conn);
    for (const r of cand.pending) this.tapRecord(r);
    this.handlers.set(conn, cand.handler);
    for (const t of cand.trades) this.deliverTrade(t); // the ones the old socket never delivered
    for (const t of this.tracksOf(conn)) {
      this.resetTrack(t);
      t.epoch = conn.epoch;
      const tb = this.candidateBook(cand, t.symbol);
      if (tb?.status === 'in_sync') {
        this.setBook(t, 'in_sync', 'rotated');
        continue;
      }
      this.setBook(t, 'syncing', 'rotated');
      if (this.spec.snapshotOnConnect || tb?.status === 'stale') this.beginRecovery(t, 0);
      else this.armDeadline(t);
    }
    return true;
  }

  private emit(s: ConnectorStatus): void {
    this.o.onStatus?.(s);
  }

  private setBook(t: Track, status: ConnectorState, reason: string): void {
    if (t.status === status) return;
    t.status = status;
    this.emit({
      scope: 'book',
      venue: this.venue,
      symbol: t.symbol,
      conn: t.plan.id,
      status,
      reason,
      tsMs: this.clock.nowMs(),
      epoch: t.conn.epoch,
    });
  }

  private setVenue(status: ConnectorState, reason: string, unreachable?: boolean): void {
    if (this.venueState === status) return;
    this.venueState = status;
    this.emit({
      scope: 'venue',
      venue: this.venue,
      status,
      reason,
      tsMs: this.clock.nowMs(),
      ...(unreachable === undefined ? {} : { unreachable }),
    });
  }

  private onConnectionStatus(conn: ManagedConnection, s: ConnectionStatus): void {
    this.connStates.set(s.conn, s);
    this.emit({
      scope: 'connection',
      venue: this.venue,
      conn: s.conn,
      status: s.state,
      reason: s.reason,
      tsMs: s.tsMs,
      epoch: s.epoch,
      ...(s.unreachable === undefined ? {} : { unreachable: s.unreachable }),
      ...(s.retryInMs === undefined ? {} : { retryInMs: s.retryInMs }),
    });
    if (s.state === 'connected' && conn.isOpen && s.reason !== 'open' && s.reason !== 'rotated') {
      // Status of a failed rotation attempt: the old socket still serves.
    } else if (s.state === 'connected') {
      if (s.reason !== 'rotated' || !this.onRotated(conn)) this.onConnected(conn);
    } else if (s.state === 'disconnected' || s.state === 'stale') this.onDisconnected(conn, s.reason);
    if (this.closed) return;
    const states = this.conns.map((c) => c.isOpen);
    if (states.every(Boolean)) this.setVenue('connected', 'all connections open');
    else if (s.state === 'disconnected' || s.state === 'stale') {
      this.setVenue('disconnected', `${s.conn}: ${s.reason}`, s.unreachable ?? false);
    } else if (s.state === 'connecting' && !states.some(Boolean)) this.setVenue('connecting', `${s.conn}: connecting`);
  }

  private tracksOf(conn: ManagedConnection): Track[] {
    return [...this.tracks.values()].filter((t) => t.conn === conn);
  }

  private trackedBook(t: Track): TrackedBook | undefined {
    const u = t.symbol.toUpperCase();
    for (const b of this.handlerOf(t.conn).books()) if (b.symbol.toUpperCase() === u) return b;
    return undefined;
  }

  private onConnected(conn: ManagedConnection): void {
    const delay = this.o.recovery?.snapshotDelayMs ?? 500;
    for (const t of this.tracksOf(conn)) {
      this.resetTrack(t);
      t.epoch = conn.epoch;
      this.setBook(t, 'syncing', 'connected');
      if (this.spec.snapshotOnConnect) this.beginRecovery(t, delay);
      else this.armDeadline(t); // the subscription's own snapshot must arrive in time
    }
  }

  private onDisconnected(conn: ManagedConnection, reason: string): void {
    for (const t of this.tracksOf(conn)) {
      this.resetTrack(t);
      const tb = this.trackedBook(t);
      // The socket is gone: the book cannot be kept true, so it is cleared until the next epoch resyncs it.
      if (tb !== undefined && tb.status !== 'stale') tb.invalidate(`disconnected: ${reason}`, this.clock.nowMs());
      this.setBook(t, 'disconnected', reason);
    }
  }

  private resetTrack(t: Track): void {
    this.timers.clear(t.timer);
    t.timer = undefined;
    t.tries = 0;
    t.recovering = false;
    t.failed = false;
    t.inflight = false;
    t.requestSeq++;
  }

  private onHandlerStatus(c: BookStatusChange): void {
    const t = this.tracks.get(c.symbol.toUpperCase());
    if (t === undefined) {
      this.emit({
        scope: 'book',
        venue: this.venue,
        symbol: c.symbol,
        status: c.status,
        reason: c.reason,
        tsMs: c.tsRecvMs,
      });
      return;
    }
    if (this.closed) return;
    const live = t.conn.isOpen && t.epoch === t.conn.epoch;
    if (!live) {
      // Between sockets (a drop, or a rotation's new socket before its books are re-armed): report the
      // change, which is the book-level gap marker, but recover nothing on a dead or not yet armed socket.
      this.setBook(t, c.status, c.reason);
      return;
    }
    switch (c.status) {
      case 'in_sync':
        this.resetTrack(t);
        this.setBook(t, 'in_sync', c.reason);
        return;
      case 'syncing':
        this.setBook(t, 'syncing', c.reason);
        return;
      case 'stale':
        this.setBook(t, 'stale', c.reason);
        t.lastReason = c.reason;
        if (!t.failed) this.beginRecovery(t, 0);
        return;
      case 'failed':
        this.setBook(t, 'failed', c.reason);
        return;
    }
  }

  private onBadFrame(e: QobError, conn: string): void {
    this.o.onBadFrame?.(e, conn);
    if (this.closed || !isQobError(e, 'QOB_ERR_SNAPSHOT_STALE')) return;
    const sym = e.context.symbol;
    const t = typeof sym === 'string' ? this.tracks.get(sym.toUpperCase()) : undefined;
    if (t === undefined || !t.conn.isOpen || t.epoch !== t.conn.epoch || t.failed) return;
    // The snapshot did not overlap the stream: that try failed.
    t.lastReason = e.message;
    if (!t.recovering) this.beginRecovery(t, 0);
    else if (!t.inflight) this.retry(t, e.message);
  }

  // ---- recovery ------------------------------------------------------------------------------------------

  private beginRecovery(t: Track, delayMs: number): void {
    if (t.recovering || this.closed) return;
    t.recovering = true;
    this.schedule(t, delayMs);
  }

  private schedule(t: Track, delayMs: number): void {
    this.timers.clear(t.timer);
    t.timer = this.timers.set(() => {
      t.timer = undefined;
      this.attempt(t);
    }, delayMs);
  }

  private armDeadline(t: Track): void {
    this.timers.clear(t.timer);
    const timeout = this.o.recovery?.timeoutMs ?? 15_000;
    t.timer = this.timers.set(() => {
      t.timer = undefined;
      if (t.status === 'in_sync' || !t.conn.isOpen || t.epoch !== t.conn.epoch) return;
      if (t.inflight) {
        this.armDeadline(t); // the request has its own timeout
        return;
      }
      if (!t.recovering) {
        t.recovering = true;
        this.attempt(t);
        return;
      }
      this.retry(t, `not in sync ${timeout} ms after try ${t.tries}${t.lastReason ? ` (${t.lastReason})` : ''}`);
    }, timeout);
  }

  private retry(t: Track, reason: string): void {
    t.lastReason = reason;
    const max = this.o.recovery?.maxTries ?? 5;
    if (t.tries >= max) {
      this.fail(t, reason);
      return;
    }
    const backoff = this.o.recovery?.backoff ?? { baseMs: 1000, maxMs: 30_000 };
    this.schedule(t, backoffDelayMs(t.tries - 1, backoff, this.o.random));
  }

  private fail(t: Track, reason: string): void {
    this.timers.clear(t.timer);
    t.failed = true;
    t.recovering = false;
    const now = this.clock.nowMs();
    const tries = t.tries;
    const why = `gave up after ${tries} recovery tries: ${reason}`;
    this.trackedBook(t)?.setStatus('failed', why, now);
    this.setBook(t, 'failed', why);
    this.o.onAlert?.({
      kind: 'book_failed',
      venue: this.venue,
      symbol: t.symbol,
      conn: t.plan.id,
      reason: why,
      tries,
      tsMs: now,
    });
    t.timer = this.timers.set(() => {
      t.timer = undefined;
      if (!t.conn.isOpen || t.epoch !== t.conn.epoch) return;
      t.failed = false;
      t.tries = 0;
      t.recovering = true;
      this.attempt(t);
    }, this.o.recovery?.failedCooldownMs ?? 60_000);
  }

  private attempt(t: Track): void {
    if (this.closed) return;
    if (!t.conn.isOpen || t.epoch !== t.conn.epoch) {
      t.recovering = false;
      return;
    }
    const max = this.o.recovery?.maxTries ?? 5;
    if (t.tries >= max) {
      this.fail(t, t.lastReason || 'not in sync');
      return;
    }
    t.tries++;
    const action: RecoveryAction = this.spec.recovery(t.symbol, t.plan, this.endpoints);
    switch (action.kind) {
      case 'rest-snapshot':
        this.fetchSnapshot(t, action.request.url, action.request.weight);
        break;
      case 'resubscribe':
        this.counters.resubscribes++;
        try {
          for (const f of action.frames) t.conn.send(f);
        } catch (e) {
          t.lastReason = (e as Error).message;
        }
        break;
      case 'reconnect': {
        this.counters.reconnectRequests++;
        // One reconnect serves every book of the connection; the new epoch resets their tracks.
        t.conn.reconnect(`resync ${t.symbol}`);
        return;
      }
    }
    this.armDeadline(t);
  }

  private fetchSnapshot(t: Track, url: string, weight: number): void {
    const epoch = t.conn.epoch;
    const id = ++t.requestSeq;
    t.inflight = true;
    this.counters.snapshotRequests++;
    this.rest.get({ url, weight }).then(
      (res) => {
        if (t.requestSeq === id) t.inflight = false;
        if (this.closed) return;
        if (!t.conn.isOpen || t.conn.epoch !== epoch || t.epoch !== epoch) {
          this.counters.discardedSnapshots++;
          return;
        }
        this.tapRecord({
          t: 'http',
          venue: this.venue,
          conn: `${this.venue}.http`,
          tsMs: res.tsRecvMs,
          url: res.url,
          data: res.body,
          epoch,
        });
        this.handlerOf(t.conn).onHttp(res.url, res.body, res.tsRecvMs);
      },
      (e: unknown) => {
        if (t.requestSeq === id) t.inflight = false;
        if (this.closed || isQobError(e, 'QOB_ERR_CLOSED') || isQobError(e, 'QOB_ERR_ABORTED')) return;
        if (!t.conn.isOpen || t.conn.epoch !== epoch || t.epoch !== epoch) return;
        const reason = `snapshot request failed: ${(e as Error).message}`;
        this.setBook(t, 'stale', reason);
        this.retry(t, reason);
      },
    );
  }
}

/** Feeds one raw record to a handler (http records are fed by their fetcher). */
function feed(h: VenueFeedHandler, r: RawRecord): void {
  switch (r.t) {
    case 'connect':
      h.onConnect(r.conn, r.url ?? '', r.tsMs);
      return;
    case 'send':
      h.onSend(r.conn, r.data ?? '', r.tsMs);
      return;
    case 'recv':
      h.onFrame(r.conn, r.data ?? '', r.tsMs);
      return;
    default:
      return;
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Builds a connector and starts it. */
export function createConnector(options: ConnectorOptions): VenueConnector {
  return new VenueConnector(options).start();
}
