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

/**
 * Remembers the last `window` distinct event ids (insertion order; the oldest is forgotten first). An
 * event redelivered while its id is inside the window is dropped. The window must exceed the redelivery
 * span: on Kafka, what a consumer handled but had not committed when it stopped (at most one batch per
 * partition, since the bus commits after every batch). Memory is about 100 bytes per id.
 */
export class Deduplicator {
  readonly window: number;
  #ids = new Set<string>();
  #duplicates = 0;

  constructor(window = DEFAULT_DEDUP_WINDOW) {
    if (!Number.isSafeInteger(window) || window < 1) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the deduplication window must be a positive integer', {
        field: 'window',
        value: window,
      });
    }
    this.window = window;
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Redeliveries dropped so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers an id; returns false when it was already known. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.window) {
      const oldest = this.#ids.values().next().value as string;
      this.#ids.delete(oldest);
    }
    return true;
  }

  /** The events not seen before (nor earlier in this batch). Does not remember them: see `commit`. */
  fresh(events: readonly MarketEvent[]): MarketEvent[] {
    const out: MarketEvent[] = [];
    let local: Set<string> | undefined;
    for (const e of events) {
      if (this.#ids.has(e.id) || local?.has(e.id)) {
        this.#duplicates++;
        continue;
      }
      (local ??= new Set()).add(e.id);
      out.push(e);
    }
    return out;
  }

  /** Remembers the ids of events the handler has applied. */
  commit(events: readonly MarketEvent[]): void {
    for (const e of events) this.add(e.id);
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
