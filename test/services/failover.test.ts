/**
 * An orderbook instance killed mid-stream and a new one started: with the real Kafka and Redis, over the
 * simulated exchange's stream, no book event is lost or applied twice (applications counted by event id)
 * and the books resync and end equal to the ingestion side's. Skips without the engines.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { RedisCache } from '../../src/bus/redis-cache.ts';
import { Ingestion, SimIngestion } from '../../src/services/ingestion.ts';
import { OrderbookService } from '../../src/services/orderbook.ts';
import { RedisMarketData } from '../../src/services/redis-source.ts';
import {
  appliedLog,
  assertAppliedOnce,
  engines,
  finalSeqs,
  missingEngines,
  recordingBus,
  uniquePrefix,
  until,
} from './helpers.ts';

const DEPTH = 20;
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

describe('orderbook failover', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) {
      await Promise.race([c().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  });

  it('after one instance is killed mid-stream and another started, no event is lost or applied twice and the books end equal', async (t) => {
    const missing = missingEngines('kafka', 'redis');
    if (missing !== undefined) return t.skip(missing);
    const prefix = uniquePrefix('fo');
    const brokers = (engines.kafka as string).split(',');
    const bus = async () => {
      const b = await KafkaBus.connect({ brokers, topicPrefix: prefix, partitions: 6, maxWaitTimeMs: 10 });
      closers.push(() => b.close());
      return b;
    };
    const cache = async () => {
      const c = await RedisCache.connect({ url: engines.redis as string, keyPrefix: `${prefix}:` });
      closers.push(() => c.close());
      return c;
    };
    const applied = appliedLog();
    const { onApplied } = applied;
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
      signal: kill.signal,
    });
    const b = await OrderbookService.start({ bus: await bus(), cache: await cache(), group, depth: DEPTH, onApplied });
    closers.push(
      () => a.close(),
      () => b.close(),
    );

    const rec = recordingBus(await bus());
    const ingestion = new Ingestion({ bus: rec, seqBase: 1, snapshotEvery: 20 });
    const sim = new SimIngestion(ingestion, { symbols: SYMBOLS, seed: 3 });
    closers.push(async () => sim.close());
    const run = async (steps: number) => {
      for (let i = 0; i < steps; i += 5) {
        sim.step(5);
        await ingestion.flush();
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await run(100);
    await until(() => a.stats.applied > 0 || b.stats.applied > 0, 30_000, 'the first books to be served');
    kill.abort(); // mid-stream: what A handled but had not committed goes to the others
    await run(60);
    const c = await OrderbookService.start({ bus: await bus(), cache: await cache(), group, depth: DEPTH, onApplied });
    closers.push(() => c.close());
    await run(100);

    const finals = finalSeqs(rec.published);
    assert.equal(finals.size, SYMBOLS.length);
    await until(
      () => [...finals].every(([k, seq]) => source.version('sim', k.slice('sim|'.length)) >= seq),
      90_000,
      'the gateway source to reach every final book',
    );

    assertAppliedOnce(applied, rec.published);

    for (const tb of sim.tap.handler.books()) {
      const served = source.book('sim', tb.symbol);
      assert.ok(served?.inSync, `${tb.symbol} served in sync`);
      assert.deepEqual(served.book?.toJSON(DEPTH), tb.book.toJSON(DEPTH), `${tb.symbol} top ${DEPTH} levels`);
      const owners = [b, c]
        .map((o) => o.book('sim', tb.symbol))
        .filter((sb) => sb?.seq === finals.get(`sim|${tb.symbol}`));
      assert.ok(owners.length >= 1, `a live instance holds ${tb.symbol} at its final sequence`);
      for (const sb of owners) assert.equal(sb?.book.hash(), tb.book.hash(), `${tb.symbol} full-book hash`);
    }
    t.diagnostic(
      `applied: A ${a.stats.applied}, B ${b.stats.applied}, C ${c.stats.applied}; resyncs ${[b, c]
        .flatMap((o) => o.books().map((x) => x.resyncs))
        .reduce((x, y) => x + y, 0)}`,
    );
  });
});
