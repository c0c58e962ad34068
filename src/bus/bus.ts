/**
 * The bus contract shared by the in-process bus (`qob start`) and Kafka (the service split).
 *
 * Delivery is at-least-once: a batch is acknowledged (committed) only after the handler's promise
 * resolves, so a crash or a close between handling and commit redelivers it. Consumers are made
 * idempotent by event id with a `Deduplicator`: pass the same instance to a re-created subscription (or
 * keep its state with what the consumer applied) and a redelivered event is never handed over twice.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { MarketEvent } from '../domain/events.ts';
import { type BusTopic, checkPublish } from './topics.ts';

export interface BusHandlerContext {
  readonly topic: BusTopic;
  /** The subscription's consumer group. */
  readonly group: string;
}

/**
 * Receives a batch of events of one topic, in per-key order. The batch is committed when the returned
 * promise resolves; when it rejects, the batch (minus nothing) is retried after a growing delay.
 */
export type BusHandler = (events: readonly MarketEvent[], ctx: BusHandlerContext) => void | Promise<void>;

export interface SubscribeOptions {
  /** Closes the subscription when aborted. */
  readonly signal?: AbortSignal;
  /** Drops events whose id it has already seen; shared across restarts of the consumer. */
  readonly dedup?: Deduplicator;
  /** Most events handed to the handler at once (default 1000). */
  readonly maxBatch?: number;
  /**
   * Told about every problem that does not stop the subscription: a malformed message (counted and
   * skipped), a handler failure (retried), a lost connection (reconnected), a drop (in-process only).
   */
  readonly onError?: (
    err: QobError,
    ctx: BusHandlerContext | { readonly topic: string; readonly group: string },
  ) => void;
  /** First retry delay after a handler failure or a lost connection, doubled up to 5 s (default 100 ms). */
  readonly retryDelayMs?: number;
  /**
   * Kafka only (the in-process bus ignores it): longest time the broker holds a fetch while fewer than
   * `fetchMinBytes` are available, ms (default the bus's `maxWaitTimeMs`, 100). With the default
   * `fetchMinBytes` of 1 a fetch returns as soon as anything arrives, so this only paces idle polling.
   */
  readonly fetchMaxWaitMs?: number;
  /**
   * Kafka only: bytes the broker waits for (up to `fetchMaxWaitMs`) before answering a fetch (default the
   * bus's `fetchMinBytes`, 1: lowest latency; under load each fetch still carries everything that arrived
   * during the previous one). Raise it to trade latency for fewer, larger fetches.
   */
  readonly fetchMinBytes?: number;
}

export interface SubscriptionStats {
  /** Events handed to the handler and acknowledged. */
  delivered: number;
  /** Events dropped by the deduplicator (redeliveries). */
  duplicates: number;
  /** Messages or events that failed decoding, skipped. */
  malformed: number;
  /** Market-data events dropped because the subscriber was too slow (in-process only). */
  dropped: number;
  /** Handler calls that rejected (each retried). */
  handlerErrors: number;
  /** Times the transport was re-established after an error. */
  reconnects: number;
}

export interface Subscription {
  readonly group: string;
  readonly topics: readonly BusTopic[];
  stats(): Readonly<SubscriptionStats>;
  /** Stops delivery; waits for the handler call in progress. Uncommitted events are redelivered later. */
  close(): Promise<void>;
}

export interface Bus {
  /**
   * Publishes events, all of which must belong on `topic`. Resolves when they are durable per the
   * implementation's contract: acknowledged by all in-sync replicas (Kafka, acks=all), or queued for every
   * subscriber (in-process). Events of one key keep their order.
   */
  publish(topic: BusTopic, events: readonly MarketEvent[]): Promise<void>;
  /**
   * Subscribes a handler as a member of a consumer group: every group sees every event; within a group,
   * each key goes to one member. Resolves when the subscription is set up.
   */
  subscribe(
    topics: BusTopic | readonly BusTopic[],
    group: string,
    handler: BusHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  /** Idempotent; closes every subscription and the producer. */
  close(): Promise<void>;
}

export function emptyStats(): SubscriptionStats {
  return { delivered: 0, duplicates: 0, malformed: 0, dropped: 0, handlerErrors: 0, reconnects: 0 };
}

/** Default window of the deduplicator: distinct event ids remembered. */
export const DEFAULT_DEDUP_WINDOW = 100_000;

/** The code of each event type in a dedup slot index (`type * 2 + kind`). */
const TYPE_CODE: Readonly<Record<string, number>> = { 'book.delta': 0, 'book.snapshot': 1, trade: 2, status: 3 };
/** A trade id that reads back as the same safe integer (no sign, no leading zero). */
const NUMERIC_TRADE_ID = /^(?:0|[1-9][0-9]{0,14})$/;

/**
 * The ids of one (venue, symbol, type, id kind) remembered as numeric positions: kind 0 is the venue's own
 * numbering (`s<prev>:<first>:<last>`, `s<seq>`, `t<numeric trade id>`), kind 1 the receive ordering
 * (`r<tsRecvMs>#<recvSeq>`). The id is a function of the position (a null seq is -Infinity), so a position
 * above every remembered one is a new id. Positions are appended only in increasing order, three numbers
 * each, oldest first: a redelivery is found by binary search.
 */
interface Lane {
  /** a, b, c of each remembered position, from `head` (3 numbers per entry). */
  pos: number[];
  head: number;
  /** Highest position ever remembered. */
  hiA: number;
  hiB: number;
  hiC: number;
  /** `fresh`'s highest position of the current batch, valid while `epoch` is the batch's. */
  epoch: number;
  bA: number;
  bB: number;
  bC: number;
  /** Positions `fresh` accepted in the current batch above the remembered ones (increasing). */
  batch: number[];
  /** Positions remembered (from `head`). */
  live: number;
}

/** Scratch position of the event being looked at (no allocation per event). */
let pa = 0;
let pb = 0;
let pc = 0;

/** Sets pa/pb/pc to the event's position; returns its slot, or -1 when the id is not numeric. */
function position(e: MarketEvent): number {
  switch (e.type) {
    case 'book.delta':
      if (e.lastSeq !== null) {
        pa = e.lastSeq;
        pb = e.firstSeq ?? Number.NEGATIVE_INFINITY;
        pc = e.prevSeq ?? Number.NEGATIVE_INFINITY;
        return 0;
      }
      break;
    case 'book.snapshot':
      if (e.seq !== null) {
        pa = e.seq;
        pb = 0;
        pc = 0;
        return 2;
      }
      break;
    case 'trade':
      if (e.tradeId !== null) {
        if (!NUMERIC_TRADE_ID.test(e.tradeId)) return -1;
        pa = Number(e.tradeId);
        pb = 0;
        pc = 0;
        return 4;
      }
      break;
    case 'status':
      break;
    default:
      return -1;
  }
  pa = e.tsRecvMs;
  pb = e.recvSeq;
  pc = 0;
  return TYPE_CODE[e.type]! * 2 + 1;
}

/** Position of an id given as text (`has`/`add`), the inverse of `eventId`; -1 when not of that form. */
function parseId(id: string): { venue: string; symbol: string; slot: number } | undefined {
  const i1 = id.indexOf('|');
  const i2 = id.indexOf('|', i1 + 1);
  const i3 = id.indexOf('|', i2 + 1);
  if (i1 < 0 || i2 < 0 || i3 < 0) return undefined;
  const type = TYPE_CODE[id.slice(i2 + 1, i3)];
  if (type === undefined) return undefined;
  const part = id.slice(i3 + 1);
  const num = (s: string): number | undefined => {
    const v = Number(s);
    return s !== '' && String(v) === s ? v : undefined;
  };
  const seqOrNull = (s: string): number | undefined => (s === '' ? Number.NEGATIVE_INFINITY : num(s));
  let slot = -1;
  if (part.startsWith('r')) {
    const h = part.indexOf('#');
    const a = num(part.slice(1, h));
    const b = h < 0 ? undefined : num(part.slice(h + 1));
    if (a === undefined || b === undefined) return undefined;
    [pa, pb, pc, slot] = [a, b, 0, type * 2 + 1];
  } else if (type === 0 && part.startsWith('s')) {
    const [p, f, l, extra] = part.slice(1).split(':');
    const c = seqOrNull(p ?? 'x');
    const b = seqOrNull(f ?? 'x');
    const a = num(l ?? 'x');
    if (extra !== undefined || a === undefined || b === undefined || c === undefined) return undefined;
    [pa, pb, pc, slot] = [a, b, c, 0];
  } else if ((type === 1 && part.startsWith('s')) || (type === 2 && part.startsWith('t'))) {
    const a = num(part.slice(1));
    if (a === undefined || (type === 2 && !NUMERIC_TRADE_ID.test(part.slice(1)))) return undefined;
    [pa, pb, pc, slot] = [a, 0, 0, type * 2];
  } else {
    return undefined;
  }
  return { venue: id.slice(0, i1), symbol: id.slice(i1 + 1, i2), slot };
}

function above(a: number, b: number, c: number, l: Lane): boolean {
  return a > l.hiA || (a === l.hiA && (b > l.hiB || (b === l.hiB && c > l.hiC)));
}

/** Whether (pa, pb, pc) is among the increasing positions `arr[from..]`. */
function contains(arr: number[], from: number): boolean {
  let lo = from / 3;
  let hi = arr.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = mid * 3;
    const a = arr[k]!;
    const b = arr[k + 1]!;
    const c = arr[k + 2]!;
    if (a === pa && b === pb && c === pc) return true;
    if (a < pa || (a === pa && (b < pb || (b === pb && c < pc)))) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Remembers the last `window` distinct event ids (insertion order; the oldest is forgotten first). An
 * event redelivered while its id is inside the window is dropped. The window must exceed the redelivery
 * span: on Kafka, what a consumer handled but had not committed when it stopped (at most three batches per
 * partition: commits overlap the handling of the next batches, one in flight and one pending).
 *
 * Cost: an id is not built or hashed per event. Ids of the venue's numbering (delta and snapshot sequence
 * ids, numeric trade ids) and of the receive ordering are kept as numeric positions per (venue, symbol,
 * type): a stream's events arrive in increasing position, so each is checked against that stream's highest
 * position (O(1)) and appended; only a position at or below it (a redelivery, or an event out of order) is
 * binary-searched. Other ids (non-numeric trade ids, an id out of order) go to a string set. Memory is
 * about 30 bytes per remembered position, 100 per string id, plus about 200 bytes per stream.
 */
export class Deduplicator {
  readonly window: number;
  /** venue → symbol (`*` for none) → lanes by slot. */
  readonly #venues = new Map<string, Map<string, (Lane | undefined)[]>>();
  /** Ids that are not numeric positions, or came out of order, in insertion order. */
  readonly #ids = new Set<string>();
  /** Where each remembered id went, oldest first: a lane (its oldest position) or undefined (`#ids`). */
  #order: (Lane | undefined)[] = [];
  #orderHead = 0;
  #duplicates = 0;
  #epoch = 0;
  #lastVenue: string | undefined;
  #lastSymbol: string | null | undefined;
  #lastSlots: (Lane | undefined)[] | undefined;

  constructor(window = DEFAULT_DEDUP_WINDOW) {
    if (!Number.isSafeInteger(window) || window < 1) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the deduplication window must be a positive integer', {
        field: 'window',
        value: window,
      });
    }
    this.window = window;
  }

  /** Distinct ids remembered (at most `window`). */
  get size(): number {
    return this.#order.length - this.#orderHead;
  }

  /** Redeliveries dropped so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  #slots(venue: string, symbol: string | null, create: boolean): (Lane | undefined)[] | undefined {
    if (venue === this.#lastVenue && symbol === this.#lastSymbol && this.#lastSlots !== undefined) {
      return this.#lastSlots;
    }
    const sk = symbol ?? '*';
    let bySymbol = this.#venues.get(venue);
    let slots = bySymbol?.get(sk);
    if (slots === undefined) {
      if (!create) return undefined;
      if (bySymbol === undefined) this.#venues.set(venue, (bySymbol = new Map()));
      slots = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
      bySymbol.set(sk, slots);
    }
    this.#lastVenue = venue;
    this.#lastSymbol = symbol;
    this.#lastSlots = slots;
    return slots;
  }

  #lane(venue: string, symbol: string | null, slot: number, create: boolean): Lane | undefined {
    const slots = this.#slots(venue, symbol, create);
    if (slots === undefined) return undefined;
    let l = slots[slot];
    if (l === undefined && create) {
      const ninf = Number.NEGATIVE_INFINITY;
      l = {
        pos: [],
        head: 0,
        hiA: ninf,
        hiB: ninf,
        hiC: ninf,
        epoch: -1,
        bA: ninf,
        bB: ninf,
        bC: ninf,
        batch: [],
        live: 0,
      };
      slots[slot] = l;
    }
    return l;
  }

  /** Whether the position in pa/pb/pc is remembered in lane `l`. */
  #inLane(l: Lane | undefined): boolean {
    return l !== undefined && l.live > 0 && !above(pa, pb, pc, l) && contains(l.pos, l.head);
  }

  has(id: string): boolean {
    if (this.#ids.has(id)) return true;
    const p = parseId(id);
    return p !== undefined && this.#inLane(this.#lane(p.venue, p.symbol === '*' ? null : p.symbol, p.slot, false));
  }

  /** Remembers an id; returns false when it was already known. */
  add(id: string): boolean {
    if (this.has(id)) return false;
    const p = parseId(id);
    if (p === undefined) this.#remember(undefined, id);
    else this.#remember(this.#lane(p.venue, p.symbol === '*' ? null : p.symbol, p.slot, true), id);
    return true;
  }

  /** Remembers the id whose position is in pa/pb/pc (lane) or `id` (string set); the caller checked it is new. */
  #remember(l: Lane | undefined, id: string): void {
    if (l !== undefined && above(pa, pb, pc, l)) {
      l.pos.push(pa, pb, pc);
      l.hiA = pa;
      l.hiB = pb;
      l.hiC = pc;
      l.live++;
      this.#order.push(l);
    } else {
      this.#ids.add(id);
      this.#order.push(undefined);
    }
    if (this.size > this.window) this.#evict();
  }

  #evict(): void {
    const l = this.#order[this.#orderHead];
    this.#order[this.#orderHead++] = undefined;
    if (this.#orderHead >= 1024 && this.#orderHead * 2 >= this.#order.length) {
      this.#order = this.#order.slice(this.#orderHead);
      this.#orderHead = 0;
    }
    if (l === undefined) {
      const oldest = this.#ids.values().next().value as string;
      this.#ids.delete(oldest);
      return;
    }
    l.head += 3;
    l.live--;
    // The lane itself stays (about 200 bytes per stream): its highest position must never go down, or an
    // id remembered in the string set (out of order, below it) could look new.
    if (l.live === 0) {
      l.pos = [];
      l.head = 0;
    } else if (l.head >= 3072 && l.head * 2 >= l.pos.length) {
      l.pos = l.pos.slice(l.head);
      l.head = 0;
    }
  }

  /** The events not seen before (nor earlier in this batch). Does not remember them: see `commit`. */
  fresh(events: readonly MarketEvent[]): MarketEvent[] {
    const out: MarketEvent[] = [];
    const epoch = ++this.#epoch;
    let local: Set<string> | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as MarketEvent;
      const slot = position(e);
      const l = slot < 0 ? undefined : this.#lane(e.venue, e.symbol, slot, true);
      if (l !== undefined) {
        if (l.epoch !== epoch) {
          l.epoch = epoch;
          l.bA = l.hiA;
          l.bB = l.hiB;
          l.bC = l.hiC;
          l.batch.length = 0;
        }
        if (pa > l.bA || (pa === l.bA && (pb > l.bB || (pb === l.bB && pc > l.bC)))) {
          // Above everything remembered and everything earlier in the batch: new.
          l.bA = pa;
          l.bB = pb;
          l.bC = pc;
          l.batch.push(pa, pb, pc);
          out.push(e);
          continue;
        }
        if (this.#inLane(l) || contains(l.batch, 0)) {
          this.#duplicates++;
          continue;
        }
      }
      // Slow path: a non-numeric id, or a position at or below the highest one (out of order).
      const id = e.id;
      if (this.#ids.has(id) || local?.has(id)) {
        this.#duplicates++;
        continue;
      }
      (local ??= new Set()).add(id);
      out.push(e);
    }
    return out;
  }

  /** Remembers the ids of events the handler has applied. */
  commit(events: readonly MarketEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as MarketEvent;
      const slot = position(e);
      const l = slot < 0 ? undefined : this.#lane(e.venue, e.symbol, slot, true);
      if (l !== undefined && above(pa, pb, pc, l)) {
        this.#remember(l, '');
        continue;
      }
      if (this.#inLane(l) || this.#ids.has(e.id)) continue;
      this.#remember(undefined, e.id);
    }
  }
}

/** A delay that ends early (resolving) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function toTopics(topics: BusTopic | readonly BusTopic[]): readonly BusTopic[] {
  return Object.freeze(typeof topics === 'string' ? [topics] : [...new Set(topics)]);
}

export function checkGroup(group: unknown): string {
  if (typeof group !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(group)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a consumer group is 1 to 200 of A-Z a-z 0-9 . _ -', {
      field: 'group',
      value: String(group),
    });
  }
  return group;
}

export function nonNegativeInt(v: number | undefined, dflt: number, field: string): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${field} must be a non-negative integer`, { field, value: v });
  }
  return v;
}

export function positiveInt(v: number | undefined, dflt: number, field: string): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${field} must be a positive integer`, { field, value: v });
  }
  return v;
}

/** A handler's rejection as a typed error: its own QobError, or QOB_ERR_INTERNAL wrapping what it threw. */
export function handlerError(e: unknown, ctx: BusHandlerContext): QobError {
  if (isQobError(e)) return e;
  return qobError(
    'QOB_ERR_INTERNAL',
    `handler of group ${ctx.group} on ${ctx.topic} failed: ${String(e)}`,
    { ...ctx },
    e,
  );
}

/** What `deliverBatch` needs of a subscription, for its whole life. */
export interface Delivery {
  readonly handler: BusHandler;
  readonly options: SubscribeOptions;
  readonly stats: SubscriptionStats;
  /** Aborted when the subscription closes: ends a retry delay early. */
  readonly signal: AbortSignal;
  /** Whether the subscription has stopped (checked after each retry delay). */
  stopped(): boolean;
  /** Reports a handler failure (the subscription's `onError`). */
  report(err: QobError, ctx: BusHandlerContext): void;
}

/**
 * Hands one topic's batch to the handler: the deduplicator drops what it has seen, a rejecting handler is
 * retried after a growing delay (`retryDelayMs`, default 100 ms, doubled up to 5 s), then the ids are
 * remembered and the delivery counted. Returns false when the subscription stopped while retrying: nothing
 * of the batch is committed then, and it is redelivered later.
 */
export async function deliverBatch(d: Delivery, ctx: BusHandlerContext, all: readonly MarketEvent[]): Promise<boolean> {
  const dedup = d.options.dedup;
  const events = dedup === undefined ? all : dedup.fresh(all);
  d.stats.duplicates += all.length - events.length;
  if (events.length === 0) return true;
  let delay = d.options.retryDelayMs ?? 100;
  for (;;) {
    try {
      await d.handler(events, ctx);
      break;
    } catch (e) {
      d.stats.handlerErrors++;
      d.report(handlerError(e, ctx), ctx);
      await sleep(delay, d.signal);
      delay = Math.min(delay * 2, 5000);
      if (d.stopped()) return false;
    }
  }
  dedup?.commit(events);
  d.stats.delivered += events.length;
  return true;
}

/** Checks a `subscribe` call (the bus open, known topics, a valid group, a handler): its topics, deduplicated. */
export function checkSubscribe(
  closed: boolean,
  topics: BusTopic | readonly BusTopic[],
  group: string,
  handler: BusHandler,
): readonly BusTopic[] {
  if (closed) throw qobError('QOB_ERR_CLOSED', 'the bus is closed', { group });
  const list = toTopics(topics);
  for (const t of list) checkPublish(t, []);
  checkGroup(group);
  if (typeof handler !== 'function') {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'handler must be a function', { field: 'handler' });
  }
  return list;
}
