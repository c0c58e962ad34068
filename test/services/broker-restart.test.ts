/**
 * The services across a Kafka broker restart, on a single-node Kafka of their own (scripts/stack.sh
 * kafka-up in a temporary QOB_STACK_DIR, ports 28092/28093, never the shared one), with the shared Redis
 * and PostgreSQL (unique key prefix and schema): ingestion over the simulated exchange, two orderbook
 * instances, storage and a gateway source. Mid-stream one orderbook instance is killed and another started,
 * and the broker is stopped and started again. At the end no book event was lost or applied twice, the
 * gateway serves the ingestion side's books, and the stored rows are complete and unique (equal to the
 * all-in-one store's). Reuses the main stack's Kafka jars; skips without Java, the jars or the engines.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { RedisCache } from '../../src/bus/redis-cache.ts';
import type { QobError } from '../../src/core/errors.ts';
import { Ingestion, SimIngestion } from '../../src/services/ingestion.ts';
import { OrderbookService } from '../../src/services/orderbook.ts';
import { RedisMarketData } from '../../src/services/redis-source.ts';
import { StorageService } from '../../src/services/storage.ts';
import { openStore } from '../../src/store/index.ts';
import { ownKafka, ownKafkaSkipReason } from '../support/own-kafka.ts';
import {
  appliedLog,
  assertAppliedOnce,
  engines,
  finalSeqs,
  missingEngines,
  recordingBus,
  storedCount,
  storedRows,
  uniquePrefix,
  until,
} from './helpers.ts';

const PORT = 28092;
const DEPTH = 20;
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT'];

function skipReason(): string | false {
  return missingEngines('redis', 'pg') ?? ownKafkaSkipReason();
}

const SKIP = skipReason();

describe('the services across a Kafka broker restart (own single-node Kafka)', () => {
  const kafka = ownKafka(PORT, 'qob-svc-broker-');
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    // One at a time, each bounded: a close that hangs must not hold the run.
    // The timers are not unref'd: the process must live on until the broker is stopped.
    for (const c of closers.reverse()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([c().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    await kafka.dispose();
  });

  it('loses no event and applies none twice; books resync and stored rows are complete and unique', {
    skip: SKIP,
  }, async (t) => {
    await kafka.up();
    const prefix = uniquePrefix('br');
    const bus = async () => {
      const b = await KafkaBus.connect({
        brokers: [kafka.broker],
        topicPrefix: prefix,
        partitions: 3,
        maxWaitTimeMs: 10,
        timeoutMs: 5000,
        deliveryTimeoutMs: 150_000,
      });
      closers.push(() => b.close());
      return b;
    };
    const cache = async () => {
      const c = await RedisCache.connect({ url: engines.redis as string, keyPrefix: `${prefix}:` });
      closers.push(() => c.close());
      return c;
    };
    const store = await openStore({ engine: 'postgres', url: engines.pg as string, schema: prefix });
    closers.push(async () => {
      await store.sqlEngine.query(`drop schema if exists ${prefix} cascade`).catch(() => undefined);
      await store.close();
    });

    const applied = appliedLog();
    const { onApplied } = applied;
    const errors: QobError[] = [];
    const onError = (e: QobError) => errors.push(e);
    const group = `${prefix}-ob`;
    const source = await RedisMarketData.start({ cache: await cache(), refreshMs: 200 });
    closers.push(() => source.close());
    const kill = new AbortController();
    const a = await OrderbookService.start({
      bus: await bus(),
      cache: await cache(),
      group,
      depth: DEPTH,
      onApplied,
      onError,
      signal: kill.signal,
    });
    const b = await OrderbookService.start({
      bus: await bus(),
      cache: await cache(),
      group,
      depth: DEPTH,
      onApplied,
      onError,
    });
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const storage = await StorageService.start({ bus: await bus(), store, group: `${prefix}-st` });
    closers.push(() => storage.close());

    const rec = recordingBus(await bus());
    const ingestion = new Ingestion({ bus: rec, seqBase: 1, snapshotEvery: 20 });
    const sim = new SimIngestion(ingestion, { symbols: SYMBOLS, seed: 7 });
    closers.push(async () => sim.close());
    // The market never stops: the ingestion keeps stepping while the broker is down (its publishes wait).
    let steps = 0;
    let stopMarket = false;
    const market = (async () => {
      while (!stopMarket) {
        sim.step(2);
        steps += 2;
        await new Promise((r) => setTimeout(r, 15));
      }
      await ingestion.flush();
    })();
    const stepsAt = async (n: number) => until(() => steps >= n, 60_000, `${n} market steps`);

    await stepsAt(60);
    await until(() => a.stats.applied > 0 || b.stats.applied > 0, 30_000, 'the first books to be served');
    kill.abort(); // an orderbook instance dies mid-stream
    await stepsAt(100);
    const c = await OrderbookService.start({
      bus: await bus(),
      cache: await cache(),
      group,
      depth: DEPTH,
      onApplied,
      onError,
    });
    closers.push(() => c.close());
    await stepsAt(140);
    await kafka.down(); // the broker, mid-stream
    const outageAt = steps;
    await new Promise((r) => setTimeout(r, 1000));
    await kafka.up();
    await stepsAt(steps + 60);
    stopMarket = true;
    await market;
    assert.equal(ingestion.stats.lost, 0, 'every publish survived the restart');

    // Books resync from a snapshot: the periodic ones stopped with the market, so each round publishes a
    // fresh one of every book (a takeover late in the stream, after the group settles, needs one).
    let finals = finalSeqs(rec.published);
    const state = () =>
      JSON.stringify({
        finals: [...finals],
        served: [...finals.keys()].map((k) => source.version('sim', k.slice('sim|'.length))),
        mirrors: source.books().map((r) => [r.symbol, r.status, r.reason, r.inSync]),
        ob: [a, b, c].map((o) => ({
          stats: o.stats,
          sub: o.subscriptionStats(),
          books: o.books().map((x) => [x.symbol, x.status, x.seq, x.maxSeen, x.reason]),
        })),
        errors: errors.map((e) => `${e.code}: ${e.message}`).slice(0, 5),
        storage: [storage.stats, storage.subscriptionStats()],
        ingestion: ingestion.stats,
      });
    const reached = () => [...finals].every(([k, seq]) => source.version('sim', k.slice('sim|'.length)) >= seq);
    for (let round = 1; !reached(); round++) {
      if (round > 12) throw new Error(`the gateway source did not reach every final book: ${state()}`);
      sim.tap.resnapshot(Date.now());
      await ingestion.flush();
      finals = finalSeqs(rec.published);
      await until(reached, 10_000, 'the final books').catch(() => undefined);
    }
    assert.equal(finals.size, SYMBOLS.length);
    assertAppliedOnce(applied, rec.published);
    for (const tb of sim.tap.handler.books()) {
      const served = source.book('sim', tb.symbol);
      assert.ok(served?.inSync, `${tb.symbol} served in sync`);
      assert.deepEqual(served.book?.toJSON(DEPTH), tb.book.toJSON(DEPTH), `${tb.symbol} top ${DEPTH} levels`);
    }

    const toStore = rec.published.filter((e) => e.type !== 'status');
    let count = 0;
    await until(() => storage.stats.stored >= toStore.length, 120_000, 'storage to write every event');
    count = await storedCount(store);
    assert.equal(count, toStore.length, 'as many rows as events: none missing, none twice');
    const mem = await openStore({ engine: 'embedded', dataDir: undefined });
    try {
      for (const e of toStore) assert.ok(mem.append(e));
      await mem.flush();
      assert.deepEqual(await storedRows(store), await storedRows(mem));
    } finally {
      await mem.close();
    }
    t.diagnostic(
      `broker down at step ${outageAt} of ${steps}; ${rec.published.length} events; applied A ${a.stats.applied}, B ${b.stats.applied}, C ${c.stats.applied}; stored ${storage.stats.stored}`,
    );
  });
});
