/** Shared by the service tests: a bus that remembers what it published, waiting, unique names, checks. */
import assert from 'node:assert/strict';
import type { Bus } from '../../src/bus/bus.ts';
import type { BusTopic } from '../../src/bus/topics.ts';
import type { MarketEvent } from '../../src/domain/events.ts';
import type { SqlStore } from '../../src/store/index.ts';

export const engines = {
  kafka: process.env.QOB_TEST_KAFKA_BROKERS,
  redis: process.env.QOB_TEST_REDIS_URL,
  pg: process.env.QOB_TEST_PG_URL,
};

export function missingEngines(...which: (keyof typeof engines)[]): string | undefined {
  const names = { kafka: 'QOB_TEST_KAFKA_BROKERS', redis: 'QOB_TEST_REDIS_URL', pg: 'QOB_TEST_PG_URL' };
  const missing = which.filter((w) => engines[w] === undefined).map((w) => names[w]);
  return missing.length === 0 ? undefined : `${missing.join(', ')} unset: run eval "$(bash scripts/stack.sh env)"`;
}

/** A unique prefix for topics, keys, groups and schemas. */
export function uniquePrefix(tag: string): string {
  return `t${tag}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Wraps a bus to remember every event it published, in publish order. */
export function recordingBus(inner: Bus): Bus & { readonly published: MarketEvent[] } {
  const published: MarketEvent[] = [];
  return {
    published,
    async publish(topic: BusTopic, events: readonly MarketEvent[]) {
      await inner.publish(topic, events);
      published.push(...events);
    },
    subscribe: (...args) => inner.subscribe(...args),
    close: () => inner.close(),
  };
}

/** Resolves once `cond()` holds (polling every 20 ms); rejects after `ms`, naming `what`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Per `venue|symbol`, the sequence of the last book event (snapshot or delta) among `events`. */
export function finalSeqs(events: readonly MarketEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'book.snapshot')
      out.set(`${e.venue}|${e.symbol}`, Math.max(out.get(`${e.venue}|${e.symbol}`) ?? -1, e.seq ?? -1));
    if (e.type === 'book.delta')
      out.set(`${e.venue}|${e.symbol}`, Math.max(out.get(`${e.venue}|${e.symbol}`) ?? -1, e.lastSeq ?? -1));
  }
  return out;
}

/** Every application of a book event by the orderbook instances, counted by event id. */
export interface AppliedLog {
  /** Pass it as `onApplied` to every orderbook instance. */
  readonly onApplied: (e: MarketEvent) => void;
  /** Applications per event id. */
  readonly count: Map<string, number>;
  /** The applied events, in order. */
  readonly events: MarketEvent[];
}

export function appliedLog(): AppliedLog {
  const count = new Map<string, number>();
  const events: MarketEvent[] = [];
  return {
    count,
    events,
    onApplied: (e) => {
      count.set(e.id, (count.get(e.id) ?? 0) + 1);
      events.push(e);
    },
  };
}

/**
 * Every book event applied once: none twice, and no delta of `published` lost (a delta that no instance
 * applied must be covered by a later snapshot of its book that one did).
 */
export function assertAppliedOnce(log: AppliedLog, published: readonly MarketEvent[]): void {
  const twice = [...log.count].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no event applied twice');
  const snapshots = log.events.filter((e) => e.type === 'book.snapshot');
  const lost = published.filter(
    (e) =>
      e.type === 'book.delta' &&
      !log.count.has(e.id) &&
      // A delta not applied must be covered by a later snapshot that was.
      !snapshots.some((s) => s.symbol === e.symbol && (s.seq ?? -1) > (e.lastSeq ?? -1)),
  );
  assert.deepEqual(
    lost.map((e) => e.id),
    [],
    'no delta lost',
  );
}

/** The bus-fed rows of a store, in one comparable shape. */
export async function storedRows(s: SqlStore) {
  return {
    trades: await s.sqlEngine.query(
      'select venue, symbol, recv_seq::text as r, price::text as p, size::text as s, aggressor, trade_id from trades order by recv_seq',
    ),
    deltas: await s.sqlEngine.query(
      'select venue, symbol, recv_seq::text as r, prev_seq::text as pv, last_seq::text as l, bids, asks from book_deltas order by recv_seq',
    ),
    snapshots: await s.sqlEngine.query(
      "select venue, symbol, recv_seq::text as r, bid_prices::text as bp, bid_sizes::text as bs, ask_prices::text as ap, ask_sizes::text as az from book_snapshots where source = 'venue' order by recv_seq",
    ),
  };
}

export async function storedCount(s: SqlStore): Promise<number> {
  const r = await s.sqlEngine.query(
    "select (select count(*) from trades) + (select count(*) from book_deltas) + (select count(*) from book_snapshots where source = 'venue') as n",
  );
  return Number(r[0]?.n);
}
