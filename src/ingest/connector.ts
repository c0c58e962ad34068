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
 */
import { isQobError, type QobError } from '../core/errors.ts';
import type { Instrument } from '../domain/instrument.ts';
import type { ConnectionPlan, RecoveryAction, VenueConnectorSpec, VenueEndpoints } from '../venues/connector-spec.ts';
import type { BookStatusChange, FeedHandlerFactory, TrackedBook, VenueFeedHandler } from '../venues/feed-handler.ts';
import { type BackoffOptions, backoffDelayMs, type Clock, type Random, type TimerHandle, TimerSet } from './clock.ts';
import { type ConnectionStatus, ManagedConnection, type SocketFactory } from './connection.ts';
import type { RawRecord, RawTap } from './raw-record.ts';
import { type FetchLike, RestClient } from './rest.ts';

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
  readonly handler: VenueFeedHandler;
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
    this.handler = options.handlerFactory({
      onStatus: (c) => this.onHandlerStatus(c),
      onBadFrame: (e, conn) => this.onBadFrame(e, conn),
    });
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
        onRecord: (r) => this.onRecord(r),
        onStatus: (s) => this.onConnectionStatus(conn, s),
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

  /** Every book the venue handler tracks (keys and symbols are the handler's). */
  books(): Iterable<TrackedBook> {
    return this.handler.books();
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
    this.handler.onHttp(res.url, res.body, res.tsRecvMs);
    return inst.parse(res.body);
  }

  /** Closes every connection, wait and request. Idempotent. */
  close(): void {
    if (this.closed && this.timers.size === 0) return;
    this.closed = true;
    if (this.abortListener !== undefined) this.o.signal?.removeEventListener('abort', this.abortListener);
    this.timers.clearAll();
    for (const t of this.tracks.values()) t.timer = undefined;
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

  private onRecord(r: RawRecord): void {
    this.tapRecord(r);
    switch (r.t) {
      case 'connect':
        this.handler.onConnect(r.conn, r.url ?? '', r.tsMs);
        return;
      case 'send':
        this.handler.onSend(r.conn, r.data ?? '', r.tsMs);
        return;
      case 'recv':
        this.handler.onFrame(r.conn, r.data ?? '', r.tsMs);
        return;
      default:
        return;
    }
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
    } else if (s.state === 'connected') this.onConnected(conn);
    else if (s.state === 'disconnected' || s.state === 'stale') this.onDisconnected(conn, s.reason);
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

  private trackedBook(symbol: string): TrackedBook | undefined {
    const u = symbol.toUpperCase();
    for (const b of this.handler.books()) if (b.symbol.toUpperCase() === u) return b;
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
      const tb = this.trackedBook(t.symbol);
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
    this.trackedBook(t.symbol)?.setStatus('failed', why, now);
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
        this.handler.onHttp(res.url, res.body, res.tsRecvMs);
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

function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Builds a connector and starts it. */
export function createConnector(options: ConnectorOptions): VenueConnector {
  return new VenueConnector(options).start();
}
