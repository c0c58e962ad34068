/**
 * The in-process bus of `qob start`: the same contract as Kafka inside one process, with no durability
 * beyond the process (what is queued when it exits is gone).
 *
 * Every subscription has one bounded queue (`capacity` events, default 10,000). When it is full:
 * - market-data topics (book deltas, snapshots, trades) drop to the newest: the OLDEST queued market-data
 *   event is dropped to make room, counted in `stats().dropped` and reported through `onError`
 *   (QOB_ERR_QUEUE_FULL). A book consumer that sees a drop must resync from the next snapshot;
 * - the status topic never drops: `publish` waits until the slow subscriber has room (back-pressure).
 * Within a group each key goes to one member (a hash of `venue|symbol` over the group's members), so a
 * key's events stay in order; each group sees every event.
 */
import { qobError } from '../core/errors.ts';
import type { MarketEvent } from '../domain/events.ts';
import {
  type Bus,
  type BusHandler,
  type BusHandlerContext,
  checkSubscribe,
  type Delivery,
  deliverBatch,
  emptyStats,
  positiveInt,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
} from './bus.ts';
import { type BusTopic, checkPublish, keyOf, MARKET_DATA_TOPICS } from './topics.ts';

export interface InProcessBusOptions {
  /** Events each subscription may queue (default 10,000). */
  readonly capacity?: number;
  /** Closes the bus when aborted. */
  readonly signal?: AbortSignal;
}

interface Item {
  readonly topic: BusTopic;
  readonly event: MarketEvent;
}

/** FNV-1a, 32 bits: spreads keys over a group's members. */
function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class Member implements Subscription {
  readonly group: string;
  readonly topics: readonly BusTopic[];
  readonly #handler: BusHandler;
  readonly #options: SubscribeOptions;
  readonly #capacity: number;
  readonly #maxBatch: number;
  readonly #stats: SubscriptionStats = emptyStats();
  readonly #stop = new AbortController();
  readonly #onClose: (m: Member) => void;
  #queue: Item[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #room: (() => void)[] = [];
  #done: Promise<void>;
  #closed = false;

  constructor(
    group: string,
    topics: readonly BusTopic[],
    handler: BusHandler,
    options: SubscribeOptions,
    capacity: number,
    onClose: (m: Member) => void,
  ) {
    this.group = group;
    this.topics = topics;
    this.#handler = handler;
    this.#options = options;
    this.#capacity = capacity;
    this.#maxBatch = positiveInt(options.maxBatch, 1000, 'maxBatch');
    this.#onClose = onClose;
    this.#done = this.#run();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get #length(): number {
    return this.#queue.length - this.#head;
  }

  stats(): Readonly<SubscriptionStats> {
    return { ...this.#stats };
  }

  /** Queues an event; a market-data event may evict the oldest queued one. Returns false when full. */
  offer(item: Item): boolean {
    if (this.#closed) return true;
    if (this.#length >= this.#capacity) {
      if (!MARKET_DATA_TOPICS.has(item.topic)) return false;
      this.#dropOldestMarketData(item);
    } else {
      this.#queue.push(item);
    }
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      w();
    }
    return true;
  }

  /** Resolves when the queue has room (or the member is closed). */
  room(): Promise<void> {
    if (this.#closed || this.#length < this.#capacity) return Promise.resolve();
    return new Promise((resolve) => this.#room.push(resolve));
  }

  #dropOldestMarketData(item: Item): void {
    let victim: Item = item;
    const head = this.#queue[this.#head] as Item;
    if (MARKET_DATA_TOPICS.has(head.topic)) {
      // The common case: the oldest item is market data.
      victim = head;
      this.#head++;
      this.#queue.push(item);
    } else
      for (let i = this.#head + 1; i < this.#queue.length; i++) {
        const q = this.#queue[i] as Item;
        if (MARKET_DATA_TOPICS.has(q.topic)) {
          victim = q;
          this.#queue.splice(i, 1);
          this.#queue.push(item);
          break;
        }
      }
    this.#stats.dropped++;
    this.#options.onError?.(
      qobError('QOB_ERR_QUEUE_FULL', `subscriber too slow: dropped the oldest ${victim.topic} event`, {
        group: this.group,
        topic: victim.topic,
        id: victim.event.id,
        dropped: this.#stats.dropped,
      }),
      { topic: victim.topic, group: this.group },
    );
  }

  #take(): { topic: BusTopic; events: MarketEvent[] } {
    const first = this.#queue[this.#head] as Item;
    const events: MarketEvent[] = [];
    while (this.#length > 0 && events.length < this.#maxBatch) {
      const it = this.#queue[this.#head] as Item;
      if (it.topic !== first.topic) break;
      events.push(it.event);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const waiting = this.#room;
    if (waiting.length > 0) {
      this.#room = [];
      for (const r of waiting) r();
    }
    return { topic: first.topic, events };
  }

  async #run(): Promise<void> {
    // Start on a later tick, so `subscribe` returns before the first delivery.
    await Promise.resolve();
    const delivery: Delivery = {
      handler: this.#handler,
      options: this.#options,
      stats: this.#stats,
      signal: this.#stop.signal,
      stopped: () => this.#closed,
      report: (err, ctx) => this.#options.onError?.(err, ctx),
    };
    while (!this.#closed) {
      if (this.#length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      const batch = this.#take();
      const ctx: BusHandlerContext = { topic: batch.topic, group: this.group };
      if (!(await deliverBatch(delivery, ctx, batch.events))) return;
    }
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#onClose(this);
      this.#stop.abort();
      this.#wake?.();
      this.#wake = undefined;
      for (const r of this.#room) r();
      this.#room = [];
    }
    await this.#done;
  }
}

/** The in-process `Bus`: see the file comment for what it does when a subscriber is slow. */
export class InProcessBus implements Bus {
  readonly #capacity: number;
  /** topic -> group -> members subscribed to that topic. */
  readonly #routes = new Map<BusTopic, Map<string, Member[]>>();
  readonly #members = new Set<Member>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: InProcessBusOptions = {}) {
    this.#capacity = positiveInt(options.capacity, 10_000, 'capacity');
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  async publish(topic: BusTopic, events: readonly MarketEvent[]): Promise<void> {
    if (this.#closed) throw qobError('QOB_ERR_CLOSED', 'the bus is closed', { topic });
    checkPublish(topic, events);
    const groups = this.#routes.get(topic);
    if (groups === undefined || groups.size === 0) return;
    for (const e of events) {
      const key = keyOf(e);
      const item: Item = { topic, event: e };
      for (const members of groups.values()) {
        if (members.length === 0) continue;
        const m = members[members.length === 1 ? 0 : hashKey(key) % members.length] as Member;
        // Market data never waits; status waits for room (back-pressure), re-checking after each wake.
        while (!m.offer(item)) await m.room();
      }
    }
  }

  async subscribe(
    topics: BusTopic | readonly BusTopic[],
    group: string,
    handler: BusHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const list = checkSubscribe(this.#closed, topics, group, handler);
    const m = new Member(group, list, handler, options, this.#capacity, (x) => this.#remove(x));
    this.#members.add(m);
    for (const t of list) {
      let groups = this.#routes.get(t);
      if (groups === undefined) this.#routes.set(t, (groups = new Map()));
      const members = groups.get(group);
      if (members === undefined) groups.set(group, [m]);
      else members.push(m);
    }
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) await m.close();
      else signal.addEventListener('abort', () => void m.close(), { once: true });
    }
    return m;
  }

  #remove(m: Member): void {
    this.#members.delete(m);
    for (const t of m.topics) {
      const members = this.#routes.get(t)?.get(m.group);
      if (members === undefined) continue;
      const i = members.indexOf(m);
      if (i >= 0) members.splice(i, 1);
      if (members.length === 0) this.#routes.get(t)?.delete(m.group);
    }
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = Promise.all([...this.#members].map((m) => m.close())).then(() => undefined);
    }
    return this.#closing;
  }
}
