/**
 * The storage service killed mid-stream (after a batch is durable, before it is acknowledged: the worst
 * moment) and restarted: with the real Kafka and PostgreSQL, over the simulated exchange's stream, the
 * stored rows end complete and unique, equal to the all-in-one store's. Skips without the engines.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { Ingestion, SimIngestion } from '../../src/services/ingestion.ts';
import { StorageService } from '../../src/services/storage.ts';
import { openStore } from '../../src/store/index.ts';
import { engines, missingEngines, recordingBus, storedCount, storedRows, uniquePrefix, until } from './helpers.ts';

const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

describe('storage service restart', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) {
      await Promise.race([c().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  });

  it('killed after a durable but unacknowledged batch and restarted, stores every event exactly once', async (t) => {
    const missing = missingEngines('kafka', 'pg');
    if (missing !== undefined) return t.skip(missing);
    const prefix = uniquePrefix('sr');
    const brokers = (engines.kafka as string).split(',');
    const bus = () => KafkaBus.connect({ brokers, topicPrefix: prefix, partitions: 3, maxWaitTimeMs: 10 });
    const store = await openStore({ engine: 'postgres', url: engines.pg as string, schema: prefix });
    closers.push(async () => {
      await store.sqlEngine.query(`drop schema if exists ${prefix} cascade`).catch(() => undefined);
      await store.close();
    });

    const ingestBus = await bus();
    closers.push(() => ingestBus.close());
    const rec = recordingBus(ingestBus);
    const ingestion = new Ingestion({ bus: rec, seqBase: 1, snapshotEvery: 20 });
    const sim = new SimIngestion(ingestion, { symbols: SYMBOLS, seed: 5 });
    for (let i = 0; i < 150; i += 5) {
      sim.step(5);
      await ingestion.flush();
    }
    sim.close();
    const toStore = rec.published.filter((e) => e.type !== 'status');

    const group = `${prefix}-st`;
    const busA = await bus();
    let batches = 0;
    let crashed: Promise<void> | undefined;
    const a: StorageService = await StorageService.start({
      bus: busA,
      store,
      group,
      maxBatch: 40,
      afterFlush: () => {
        // The crash: the batch is in the store, its offsets are not committed.
        if (++batches === 4) crashed = a.close();
      },
    });
    await until(() => crashed !== undefined, 60_000, 'the first storage instance to write 4 batches');
    await crashed;
    await busA.close();
    const written = await storedCount(store);
    assert.ok(written > 0 && written < toStore.length, `mid-stream: ${written} of ${toStore.length} stored`);

    const busB = await bus();
    closers.push(() => busB.close());
    const b = await StorageService.start({ bus: busB, store, group, maxBatch: 40 });
    closers.push(() => b.close());
    await until(() => a.stats.stored + b.stats.stored >= toStore.length, 60_000, 'every event to be stored');
    await b.close();
    assert.ok(b.stats.skipped > 0, 'the restarted instance was handed events already stored, and dropped them');

    const mem = await openStore({ engine: 'embedded', dataDir: undefined });
    try {
      for (const e of toStore) assert.ok(mem.append(e));
      await mem.flush();
      const [want, got] = [await storedRows(mem), await storedRows(store)];
      assert.equal(await storedCount(store), toStore.length, 'as many rows as events: none missing, none twice');
      assert.deepEqual(got, want);
    } finally {
      await mem.close();
    }
    t.diagnostic(`A stored ${a.stats.stored}; B stored ${b.stats.stored}, skipped ${b.stats.skipped}`);
  });
});
