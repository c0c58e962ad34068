/**
 * One managed WebSocket connection of a venue connector: connects, reconnects with jittered exponential
 * backoff, keeps the socket alive (WS protocol pings or the venue's application ping), replaces a socket
 * that went silent (stale feed) or stopped answering pings, rotates before the venue's maximum connection
 * age, and reports everything that crossed the wire as RawRecords (connect, send, recv, disconnect), each
 * with our timestamp and the socket's connection epoch.
 *
 * Invariants:
 * - At most one socket is live (the active one), plus during a planned rotation one replacement socket.
 *   Without `onCandidateRecord` the old socket is dropped the moment the new one opens. With it the
 *   rotation is make-before-break: the open replacement (the candidate) subscribes and reports its records
 *   through `onCandidateRecord` while the old socket keeps serving, until the owner calls `promote()` (its
 *   books are in sync) or the old socket dies; only then is the old socket closed. Either way `onRecord`
 *   never interleaves two sockets of the same connection.
 * - Every socket gets a new epoch (from `nextEpoch`, shared by the connector), so late answers that belong
 *   to an older socket can be recognised and discarded.
 * - `close()` is idempotent, honours the AbortSignal, and leaves no timer and no socket behind.
 * - The send queue (frames sent while no socket is open) is bounded: a full queue throws
 *   QOB_ERR_QUEUE_FULL instead of growing.
 */
import WebSocket from 'ws';
import { qobError } from '../core/errors.ts';
import type { AppPing, ConnectionPlan } from '../venues/connector-spec.ts';
import { type BackoffOptions, backoffDelayMs, type Clock, type Random, type TimerHandle, TimerSet } from './clock.ts';
import type { RawRecord } from './raw-record.ts';

/** The subset of a `ws` client socket the connection uses (tests may pass a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  send(data: string): void;
  ping(): void;
  terminate(): void;
  removeAllListeners(): unknown;
}

export type SocketFactory = (url: string, options: { readonly handshakeTimeoutMs: number }) => WebSocketLike;

export const wsSocketFactory: SocketFactory = (url, options) =>
  new WebSocket(url, { handshakeTimeout: options.handshakeTimeoutMs, perMessageDeflate: false });

export type ConnectionState = 'connecting' | 'connected' | 'stale' | 'rotating' | 'disconnected' | 'closed';

export interface ConnectionStatus {
  readonly conn: string;
  readonly state: ConnectionState;
  readonly reason: string;
  /** Epoch of the socket the status is about (0 before the first socket). */
  readonly epoch: number;
  readonly tsMs: number;
  /** Reconnect attempt number (connecting, disconnected). */
  readonly attempt?: number;
  /** When a reconnect is scheduled: the delay chosen. */
  readonly retryInMs?: number;
  /** The network could not be reached (connection refused, DNS failure, host unreachable). */
  readonly unreachable?: boolean;
}

export interface ManagedConnectionOptions {
  readonly venue: string;
  readonly plan: ConnectionPlan;
  readonly clock: Clock;
  readonly random: Random;
  /** Receives every record of this connection, in order. */
  readonly onRecord: (record: RawRecord) => void;
  /**
   * Make-before-break rotation: the open replacement socket of a planned rotation reports its records
   * here (connect, send, recv, and a disconnect if it dies before promotion) until `promote()`.
   */
  readonly onCandidateRecord?: (record: RawRecord) => void;
  readonly onStatus?: (status: ConnectionStatus) => void;
  readonly appPing?: AppPing;
  /** A received frame asking us to reconnect: a replacement socket is opened at once (a rotation). */
  readonly isReconnectRequest?: (frame: string) => boolean;
  /** Without a data frame (pongs do not count) for this long the socket is replaced. */
  readonly staleAfterMs: number;
  /** The venue closes sockets after this long; the connection rotates `rotateMarginMs` before. */
  readonly maxConnectionMs?: number;
  readonly rotateMarginMs?: number;
  /** WS protocol ping interval when the venue has no application ping (default 15 s). */
  readonly wsPingIntervalMs?: number;
  /** How long a ping may stay unanswered before the socket is replaced (default 10 s). */
  readonly pongTimeoutMs?: number;
  /** Reconnect backoff (default 250 ms doubling up to 30 s). */
  readonly backoff?: BackoffOptions;
  /** A socket open this long resets the backoff (default 30 s). */
  readonly healthyAfterMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Frames queued while no socket is open (default 1024). */
  readonly maxQueued?: number;
  /** Epoch source shared by the connector's connections (default: a counter of this connection). */
  readonly nextEpoch?: () => number;
  readonly createSocket?: SocketFactory;
  readonly signal?: AbortSignal;
}

const OPEN = 1;
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ENETDOWN',
]);

interface Slot {
  readonly ws: WebSocketLike;
  readonly epoch: number;
  openedAtMs: number;
  lastDataMs: number;
  lastSendMs: number;
  /** When an unanswered ping was sent, or undefined. */
  pingSentMs: number | undefined;
  /** When the last WS protocol ping was sent. */
  lastPingMs: number;
  error: { reason: string; unreachable: boolean } | undefined;
  staleTimer?: TimerHandle;
  pingTimer?: TimerHandle;
  pongTimer?: TimerHandle;
  rotateTimer?: TimerHandle;
  healthyTimer?: TimerHandle;
}

function frameText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return String(data);
}

function describeError(err: unknown): { reason: string; unreachable: boolean } {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  let code = typeof e?.code === 'string' ? e.code : undefined;
  // Happy-eyeballs failures arrive as an AggregateError of per-address errors.
  if (code === undefined && Array.isArray(e?.errors)) {
    const first = e.errors.find((x: { code?: unknown }) => typeof x?.code === 'string') as { code: string } | undefined;
    code = first?.code;
  }
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return { reason: `network unreachable (${code}): ${message}`, unreachable: true };
  }
  return { reason: code === undefined ? message : `${code}: ${message}`, unreachable: false };
}

export class ManagedConnection {
  readonly venue: string;
  readonly plan: ConnectionPlan;
  private readonly o: ManagedConnectionOptions;
  private readonly clock: Clock;
  private readonly timers: TimerSet;
  private readonly backoff: BackoffOptions;
  private readonly maxQueued: number;
  private readonly nextEpochFn: () => number;
  private ownEpoch = 0;
  private active: Slot | undefined;
  /** A socket being opened: the first one, a reconnect, or a rotation's replacement. */
  private opening: Slot | undefined;
  private openingIsRotation = false;
  /** Make-before-break: the open replacement waiting for `promote()`. */
  private candidate: Slot | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private attempts = 0;
  private queue: string[] = [];
  private started = false;
  private closed = false;
  private lastEpoch = 0;
  private readonly abortListener: (() => void) | undefined;

  /** Sockets opened (counted at open), for tests and metrics. */
  opens = 0;
  rotations = 0;

  constructor(options: ManagedConnectionOptions) {
    this.o = options;
    this.venue = options.venue;
    this.plan = options.plan;
    this.clock = options.clock;
    this.timers = new TimerSet(options.clock);
    this.backoff = options.backoff ?? { baseMs: 250, maxMs: 30_000 };
    this.maxQueued = options.maxQueued ?? 1024;
    this.nextEpochFn = options.nextEpoch ?? (() => ++this.ownEpoch);
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.closed = true;
      else {
        this.abortListener = () => this.close();
        options.signal.addEventListener('abort', this.abortListener, { once: true });
      }
    }
  }

  /** The epoch of the open socket, or of the last socket when none is open. */
  get epoch(): number {
    return this.active?.epoch ?? this.lastEpoch;
  }

  get isOpen(): boolean {
    return this.active !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sockets this connection holds right now (open or opening). */
  get liveSockets(): number {
    return (
      (this.active === undefined ? 0 : 1) +
      (this.opening === undefined ? 0 : 1) +
      (this.candidate === undefined ? 0 : 1)
    );
  }

  /** Epoch of the open replacement socket awaiting `promote()`, or undefined. */
  get candidateEpoch(): number | undefined {
    return this.candidate?.epoch;
  }

  /** Timers this connection holds right now. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  start(): void {
    if (this.closed) throw qobError('QOB_ERR_CLOSED', `${this.plan.id}: connection is closed`, { conn: this.plan.id });
    if (this.started) return;
    this.started = true;
    this.connect(false);
  }

  /**
   * Sends a frame on the open socket, or queues it until the next socket opens (after the plan's
   * `onOpen` frames). Throws QOB_ERR_QUEUE_FULL when the queue is full and QOB_ERR_CLOSED after close.
   */
  send(data: string): void {
    if (this.closed) throw qobError('QOB_ERR_CLOSED', `${this.plan.id}: connection is closed`, { conn: this.plan.id });
    const slot = this.active;
    if (slot !== undefined && slot.ws.readyState === OPEN) {
      this.write(slot, data);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      throw qobError('QOB_ERR_QUEUE_FULL', `${this.plan.id}: send queue full (${this.maxQueued} frames)`, {
        venue: this.venue,
        conn: this.plan.id,
        limit: this.maxQueued,
      });
    }
    this.queue.push(data);
  }

  /** Replaces the socket now (a venue that only recovers books with a new connection, or an operator). */
  reconnect(reason: string): void {
    if (this.closed || !this.started) return;
    const slot = this.active;
    if (slot === undefined) {
      if (this.opening === undefined) this.scheduleReconnect(reason, false, 0);
      return;
    }
    this.drop(slot, reason, false, 0);
  }

  /**
   * Make-before-break: the replacement socket takes over now (its books are in sync, or the owner gave up
   * waiting). The old socket is closed (a `disconnect` record with `reason`), then the replacement is the
   * active socket: status `connected` / `rotated`. No-op without a candidate.
   */
  promote(reason = 'rotation'): void {
    const cand = this.candidate;
    if (this.closed || cand === undefined) return;
    this.candidate = undefined;
    const old = this.active;
    if (old !== undefined) {
      this.detach(old);
      this.active = undefined;
      this.record({ t: 'disconnect', epoch: old.epoch, data: reason });
    }
    this.rotations++;
    this.activate(cand, 'rotated');
  }

  /** Closes the connection: no reconnects, no timers, no sockets. Idempotent. */
  close(): void {
    if (
      this.closed &&
      this.active === undefined &&
      this.opening === undefined &&
      this.candidate === undefined &&
      this.timers.size === 0
    )
      return;
    this.closed = true;
    if (this.abortListener !== undefined) this.o.signal?.removeEventListener('abort', this.abortListener);
    this.timers.clearAll();
    this.reconnectTimer = undefined;
    this.queue = [];
    if (this.opening !== undefined) {
      this.detach(this.opening);
      this.opening = undefined;
    }
    const cand = this.candidate;
    if (cand !== undefined) {
      this.candidate = undefined;
      this.detach(cand);
      this.record({ t: 'disconnect', epoch: cand.epoch, data: 'closed' }, cand);
    }
    const slot = this.active;
    if (slot !== undefined) {
      this.active = undefined;
      this.detach(slot);
      this.record({ t: 'disconnect', epoch: slot.epoch, data: 'closed' });
    }
    this.status('closed', 'closed', this.lastEpoch);
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** Records go to `onRecord`, except those of the candidate socket (`slot`), which go to `onCandidateRecord`. */
  private record(r: { t: RawRecord['t']; epoch: number; data?: string; url?: string }, slot?: Slot): void {
    const rec: RawRecord = {
      t: r.t,
      venue: this.venue,
      conn: this.plan.id,
      tsMs: this.clock.nowMs(),
      epoch: r.epoch,
      ...(r.data === undefined ? {} : { data: r.data }),
      ...(r.url === undefined ? {} : { url: r.url }),
    };
    if (slot !== undefined && (slot === this.candidate || r.t === 'disconnect') && slot !== this.active) {
      this.o.onCandidateRecord?.(rec);
      return;
    }
    this.o.onRecord(rec);
  }

  private status(
    state: ConnectionState,
    reason: string,
    epoch: number,
    extra: { attempt?: number; retryInMs?: number; unreachable?: boolean } = {},
  ): void {
    this.o.onStatus?.({ conn: this.plan.id, state, reason, epoch, tsMs: this.clock.nowMs(), ...extra });
  }

  private connect(rotation: boolean, reason = 'planned rotation'): void {
    if (this.closed) return;
    const epoch = this.nextEpochFn();
    let ws: WebSocketLike;
    const slot0 = { epoch } as Slot;
    try {
      ws = (this.o.createSocket ?? wsSocketFactory)(this.plan.url, {
        handshakeTimeoutMs: this.o.handshakeTimeoutMs ?? 10_000,
      });
    } catch (e) {
      const d = describeError(e);
      this.status('disconnected', d.reason, epoch, { unreachable: d.unreachable });
      this.scheduleReconnect(d.reason, d.unreachable);
      return;
    }
    const slot: Slot = Object.assign(slot0, {
      ws,
      openedAtMs: Number.NaN,
      lastDataMs: Number.NaN,
      lastSendMs: Number.NaN,
      pingSentMs: undefined,
      lastPingMs: Number.NaN,
      error: undefined,
    });
    this.opening = slot;
    this.openingIsRotation = rotation;
    this.status(rotation ? 'rotating' : 'connecting', rotation ? reason : 'connecting', epoch, {
      attempt: this.attempts,
    });
    ws.on('open', () => this.onOpen(slot));
    ws.on('message', (data: unknown) => this.onMessage(slot, data));
    ws.on('pong', () => this.onPong(slot));
    ws.on('error', (err: unknown) => {
      slot.error ??= describeError(err);
    });
    ws.on('close', (code: unknown, reason: unknown) => this.onClose(slot, code, reason));
  }

  private onOpen(slot: Slot): void {
    if (this.closed || slot !== this.opening) return;
    this.opening = undefined;
    const old = this.active;
    if (old !== undefined && this.o.onCandidateRecord !== undefined) {
      // Make-before-break: the replacement subscribes and syncs beside the old socket until `promote()`.
      const now = this.clock.nowMs();
      slot.openedAtMs = now;
      slot.lastDataMs = now;
      slot.lastSendMs = now;
      slot.lastPingMs = now;
      this.candidate = slot;
      this.record({ t: 'connect', epoch: slot.epoch, url: this.plan.url }, slot);
      for (const f of this.plan.onOpen) this.write(slot, f);
      return;
    }
    if (old !== undefined) {
      // Rotation: the replacement is open, so the old socket goes now (gap marker: books resync).
      this.rotations++;
      this.detach(old);
      this.active = undefined;
      this.record({ t: 'disconnect', epoch: old.epoch, data: 'rotation' });
    }
    const now = this.clock.nowMs();
    slot.openedAtMs = now;
    slot.lastDataMs = now;
    slot.lastSendMs = now;
    slot.lastPingMs = now;
    this.active = slot;
    this.lastEpoch = slot.epoch;
    this.opens++;
    this.record({ t: 'connect', epoch: slot.epoch, url: this.plan.url });
    this.status('connected', old === undefined ? 'open' : 'rotated', slot.epoch, { attempt: this.attempts });
    for (const f of this.plan.onOpen) this.write(slot, f);
    this.arm(slot);
  }

  /** A promoted candidate (already connected and subscribed) becomes the active socket. */
  private activate(slot: Slot, reason: string): void {
    this.active = slot;
    this.lastEpoch = slot.epoch;
    this.opens++;
    slot.lastDataMs = this.clock.nowMs();
    this.status('connected', reason, slot.epoch, { attempt: this.attempts });
    this.arm(slot);
  }

  /** Flushes the send queue and arms the active socket's timers. */
  private arm(slot: Slot): void {
    const queued = this.queue;
    this.queue = [];
    for (const f of queued) this.write(slot, f);
    this.armStale(slot);
    this.armPing(slot);
    this.armRotation(slot);
    slot.healthyTimer = this.timers.set(() => {
      if (this.active === slot) this.attempts = 0;
    }, this.o.healthyAfterMs ?? 30_000);
  }

  private onMessage(slot: Slot, data: unknown): void {
    if (this.closed) return;
    if (slot === this.candidate) {
      this.record({ t: 'recv', epoch: slot.epoch, data: frameText(data) }, slot);
      slot.lastDataMs = this.clock.nowMs();
      return;
    }
    if (slot !== this.active) return;
    const text = frameText(data);
    this.record({ t: 'recv', epoch: slot.epoch, data: text });
    if (this.active !== slot) return; // the record's consumer replaced the socket
    if (this.o.isReconnectRequest?.(text) === true) this.rotate(slot, 'venue requested a reconnect');
    const ping = this.o.appPing;
    if (ping?.isPong(text)) {
      slot.pingSentMs = undefined;
      this.timers.clear(slot.pongTimer);
      return;
    }
    slot.lastDataMs = this.clock.nowMs();
  }

  private onPong(slot: Slot): void {
    if (slot !== this.active || this.o.appPing !== undefined) return;
    slot.pingSentMs = undefined;
    this.timers.clear(slot.pongTimer);
  }

  private onClose(slot: Slot, code: unknown, reason: unknown): void {
    if (this.closed) return;
    const why =
      slot.error?.reason ?? `closed by peer (code ${String(code)}${frameText(reason) ? `: ${frameText(reason)}` : ''})`;
    if (slot === this.candidate) {
      // The replacement died before promotion; the old socket still serves. Try again later.
      this.candidate = undefined;
      this.detach(slot);
      this.record({ t: 'disconnect', epoch: slot.epoch, data: why }, slot);
      const active = this.active;
      if (active !== undefined) {
        const delay = backoffDelayMs(this.attempts++, this.backoff, this.o.random);
        this.status('connected', `rotation failed: ${why}`, active.epoch, { retryInMs: delay });
        active.rotateTimer = this.timers.set(() => this.rotate(active), delay);
      }
      return;
    }
    if (slot === this.opening) {
      this.opening = undefined;
      if (this.openingIsRotation && this.active !== undefined) {
        // The replacement failed; the old socket still works. Try again later.
        this.detach(slot);
        const delay = backoffDelayMs(this.attempts++, this.backoff, this.o.random);
        this.status('connected', `rotation failed: ${why}`, this.active.epoch, { retryInMs: delay });
        const active = this.active;
        active.rotateTimer = this.timers.set(() => this.rotate(active), delay);
        return;
      }
      this.detach(slot);
      this.status('disconnected', why, slot.epoch, { unreachable: slot.error?.unreachable ?? false });
      this.scheduleReconnect(why, slot.error?.unreachable ?? false);
      return;
    }
    if (slot === this.active) this.drop(slot, why, slot.error?.unreachable ?? false);
  }

  /** The active socket is gone or must go: records it, then reconnects (after `delayMs`, else backoff). */
  private drop(slot: Slot, reason: string, unreachable: boolean, delayMs?: number): void {
    this.detach(slot);
    if (this.active === slot) this.active = undefined;
    this.record({ t: 'disconnect', epoch: slot.epoch, data: reason });
    if (this.candidate !== undefined) {
      // A make-before-break replacement is open: it takes over at once (its books may still be syncing).
      const cand = this.candidate;
      this.candidate = undefined;
      this.rotations++;
      this.activate(cand, 'rotated');
      return;
    }
    if (this.opening !== undefined) {
      // A rotation was under way: its socket becomes the reconnect.
      this.openingIsRotation = false;
      this.status('disconnected', reason, slot.epoch, { unreachable });
      return;
    }
    this.scheduleReconnect(reason, unreachable, delayMs, slot.epoch);
  }

  private scheduleReconnect(reason: string, unreachable: boolean, delayMs?: number, epoch = this.lastEpoch): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = delayMs ?? backoffDelayMs(this.attempts, this.backoff, this.o.random);
    this.attempts++;
    this.status('disconnected', reason, epoch, { attempt: this.attempts, retryInMs: delay, unreachable });
    this.reconnectTimer = this.timers.set(() => {
      this.reconnectTimer = undefined;
      this.connect(false);
    }, delay);
  }

  private detach(slot: Slot): void {
    this.timers.clear(slot.staleTimer);
    this.timers.clear(slot.pingTimer);
    this.timers.clear(slot.pongTimer);
    this.timers.clear(slot.rotateTimer);
    this.timers.clear(slot.healthyTimer);
    slot.ws.removeAllListeners();
    slot.ws.on('error', () => {}); // terminate() of an opening socket emits one
    try {
      slot.ws.terminate();
    } catch {
      // already gone
    }
  }

  private write(slot: Slot, data: string): void {
    try {
      slot.ws.send(data);
    } catch (e) {
      // The socket died under us; its close event reconnects and the subscriptions are sent again.
      slot.error ??= describeError(e);
      return;
    }
    slot.lastSendMs = this.clock.nowMs();
    this.record({ t: 'send', epoch: slot.epoch, data }, slot);
  }

  private armStale(slot: Slot): void {
    const due = slot.lastDataMs + this.o.staleAfterMs - this.clock.nowMs();
    slot.staleTimer = this.timers.set(
      () => {
        if (this.active !== slot) return;
        const silent = this.clock.nowMs() - slot.lastDataMs;
        if (silent >= this.o.staleAfterMs) {
          const reason = `stale feed: no data for ${Math.round(silent)} ms`;
          this.status('stale', reason, slot.epoch);
          this.drop(slot, reason, false, 0);
        } else this.armStale(slot);
      },
      Math.max(1, due),
    );
  }

  /** App pings go out after `intervalMs` without sending; WS pings on a fixed cadence. */
  private armPing(slot: Slot): void {
    const app = this.o.appPing;
    const interval = app?.intervalMs ?? this.o.wsPingIntervalMs ?? 15_000;
    const last = () => (app === undefined ? slot.lastPingMs : slot.lastSendMs);
    const due = Math.max(1, last() + interval - this.clock.nowMs());
    slot.pingTimer = this.timers.set(() => {
      if (this.active !== slot) return;
      if (this.clock.nowMs() - last() >= interval) this.ping(slot);
      if (this.active === slot) this.armPing(slot);
    }, due);
  }

  private ping(slot: Slot): void {
    const app = this.o.appPing;
    const now = this.clock.nowMs();
    if (app !== undefined) this.write(slot, app.frame);
    else {
      slot.lastPingMs = now;
      try {
        slot.ws.ping();
      } catch {
        return;
      }
    }
    if (slot.pingSentMs !== undefined) return; // the first unanswered ping's deadline stands
    slot.pingSentMs = now;
    const timeout = this.o.pongTimeoutMs ?? 10_000;
    slot.pongTimer = this.timers.set(() => {
      if (this.active !== slot || slot.pingSentMs === undefined) return;
      const reason = `no pong within ${timeout} ms`;
      this.status('stale', reason, slot.epoch);
      this.drop(slot, reason, false, 0);
    }, timeout);
  }

  private armRotation(slot: Slot): void {
    const max = this.o.maxConnectionMs;
    if (max === undefined) return;
    const margin = this.o.rotateMarginMs ?? Math.min(10 * 60_000, max * 0.05);
    slot.rotateTimer = this.timers.set(() => this.rotate(slot), Math.max(1, max - margin));
  }

  private rotate(slot: Slot, reason?: string): void {
    if (this.closed || this.active !== slot || this.opening !== undefined || this.candidate !== undefined) return;
    this.connect(true, reason);
  }
}
