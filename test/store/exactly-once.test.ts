/**
 * A batch whose COMMIT reached the database but whose acknowledgement was lost (the connection died in
 * between) is retried by the writer; the store must not store it twice. The engine here is the embedded
 * one, wrapped so that chosen transactions commit and then report a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trade } from '../../src/domain/index.ts';
import { migrate, type SqlEngine, SqlStore } from '../../src/store/index.ts';
import { openPgliteEngine } from '../../src/store/pglite-engine.ts';

test('a batch that committed but was reported failed is not stored twice when the writer retries it', async () => {
  const inner = await openPgliteEngine(undefined);
  const report = await migrate(inner, 'plain');
  let loseAcks = 0;
  const engine: SqlEngine = {
    ...inner,
    async transaction(fn) {
      const out = await inner.transaction(fn);
      if (loseAcks > 0) {
        loseAcks--;
        throw new Error('connection lost after COMMIT');
      }
      return out;
    },
  };
  const store = new SqlStore(engine, report, { writer: { flushIntervalMs: 0, batchSize: 1000 } });
  try {
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 250; i++) {
      store.append(
        trade({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsRecvMs: t0 + i,
          recvSeq: i,
          price: '100.5',
          size: '2',
          aggressor: 'buy',
          tradeId: i,
        }),
      );
    }
    loseAcks = 1;
    await assert.rejects(store.flush(), /connection lost after COMMIT/);
    assert.equal((await store.health()).acked, 0, 'not acknowledged');
    await store.flush();
    assert.equal((await store.health()).acked, 250);
    const rows = await inner.query('select count(*)::int as n, count(distinct trade_id)::int as d from trades');
    assert.deepEqual(rows[0], { n: 250, d: 250 });
    const candles = await inner.query('select sum(trade_count)::int as n from candles_1s');
    assert.equal(candles[0]?.n, 250, 'candles counted each trade once');
  } finally {
    await store.close();
  }
});

test('with batches pipelined, a failed batch, the batch behind it and a lost acknowledgement are retried in order: each trade stored once, with seq in ingest order and candles applied in ingest order', async () => {
  const inner = await openPgliteEngine(undefined);
  const report = await migrate(inner, 'plain');
  let transactions = 0;
  // parallelism 2 makes the store pipeline its batches (as on a server); PGlite runs them one at a time.
  const engine: SqlEngine = {
    ...inner,
    parallelism: 2,
    async transaction(fn) {
      const n = ++transactions;
      if (n === 1) throw new Error('connection refused');
      const out = await inner.transaction(fn);
      if (n === 4) throw new Error('connection lost after COMMIT');
      return out;
    },
  };
  const store = new SqlStore(engine, report, { writer: { flushIntervalMs: 0, batchSize: 100 } });
  try {
    const t0 = 1_700_000_000_000;
    // Every trade in the same millisecond: the candle's open is the first applied, its close the last.
    for (let i = 0; i < 450; i++) {
      store.append(
        trade({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsRecvMs: t0,
          recvSeq: i,
          price: String(100 + i),
          size: '1',
          aggressor: 'buy',
          tradeId: i,
        }),
      );
    }
    await store.flush().catch(() => {});
    await store.flush();
    assert.equal((await store.health()).acked, 450);
    const rows = await inner.query('select recv_seq::int as r from trades order by seq');
    assert.deepEqual(
      rows.map((r) => r.r),
      Array.from({ length: 450 }, (_, i) => i),
      'seq follows ingest order, each trade once',
    );
    const candles = await inner.query('select open::text, close::text, trade_count::int as n from candles_1s');
    assert.deepEqual(candles, [{ open: '100', close: '549', n: 450 }]);
  } finally {
    await store.close();
  }
});
