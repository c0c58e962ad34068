/** Shared by the service tests: a bus that remembers what it published, waiting, unique names. */
import type { Bus } from '../../src/bus/bus.ts';
import type { BusTopic } from '../../src/bus/topics.ts';
import type { MarketEvent } from '../../src/domain/events.ts';

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
