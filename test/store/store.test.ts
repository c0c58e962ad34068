/**
 * One behaviour suite, run against the embedded engine (always, in memory or a temp dir) and against a
 * real PostgreSQL server when QOB_TEST_PG_URL is set (a fresh schema per run, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { L2Book } from '../../src/book/l2-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import {
  bookDelta,
  bookSnapshot,
  createInstrument,
  type MarketEvent,
  status,
  type TradeEvent,
  trade,
} from '../../src/domain/index.ts';
import { generateL2Stream } from '../../src/sim/l2-stream.ts';
import { backupEmbedded, openStore, restoreEmbedded, type SqlStore, type StoreOptions } from '../../src/store/index.ts';

const PG_URL = process.env.QOB_TEST_PG_URL;
const T0 = 1_700_000_000_000;
const V = 'binance';
const S = 'BTC-USDT';

function invalidArgument(e: unknown): boolean {
  return isQobError(e, 'QOB_ERR_INVALID_ARGUMENT');
}

interface Engine {
  readonly name: string;
  readonly skip: string | false;
  options(): StoreOptions;
  cleanup(): Promise<void>;
}

const schema = `qob_test_${process.pid}_${Date.now()}`;
const engines: Engine[] = [
  {
    name: 'embedded (PGlite)',
    skip: false,
    options: () => ({ engine: 'embedded', dataDir: undefined, writer: { flushIntervalMs: 0 } }),
    cleanup: async () => {},
  },
  {
    name: 'embedded TimescaleDB (the PGlite build with the extension)',
    skip: false,
    options: () => ({ engine: 'embedded', dataDir: undefined, timescale: 'on', writer: { flushIntervalMs: 0 } }),
    cleanup: async () => {},
  },
  {
    name: 'PostgreSQL server',
    skip: PG_URL === undefined ? 'QOB_TEST_PG_URL is not set (npm run stack:up starts a PostgreSQL)' : false,
    options: () => ({
      engine: 'postgres',
      url: PG_URL as string,
      schema,
      writer: { flushIntervalMs: 0 },
    }),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  },
];

for (const engine of engines) {
  describe(`store on ${engine.name}`, () => {
    let store: SqlStore;
    before(async () => {
      if (engine.skip) return;
      store = await openStore({ ...engine.options(), snapshots: { intervalMs: 250 } });
    });
    after(async () => {
      if (engine.skip) return;
      await store?.close();
      await engine.cleanup();
    });

    test('reports which engine it runs on and whether TimescaleDB is in use', { skip: engine.skip }, async () => {
      assert.equal(store.capabilities.engine, engine.name.startsWith('embedded') ? 'pglite' : 'postgres');
      assert.equal(store.capabilities.timescale, engine.name.includes('TimescaleDB'));
      assert.equal(store.capabilities.partitioning, store.capabilities.timescale ? 'hypertable' : 'declarative');
      const h = await store.health();
      assert.equal(h.ok, true);
      assert.equal(h.schemaVersion, 4);
    });

    test('trades come back exactly as appended, in time order, page by page through the cursor', {
      skip: engine.skip,
    }, async () => {
      const appended: TradeEvent[] = [];
      for (let i = 0; i < 25; i++) {
        const t = trade({
          venue: V,
          symbol: S,
          tsEventMs: T0 + 1000 + (i % 5) * 100 + Math.floor(i / 5),
          tsRecvMs: T0 + 2000 + i,
          recvSeq: i,
          price: `65000.${String(i).padStart(2, '0')}01`,
          size: i % 2 === 0 ? '0.00000001' : '123456789.123456789',
          aggressor: i % 3 === 0 ? 'sell' : 'buy',
          tradeId: i % 4 === 0 ? null : `t-${i}`,
        });
        appended.push(t);
        assert.equal(store.append(t), true);
      }
      await store.flush();
      const got: TradeEvent[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.trades({ venue: V, symbol: S, fromMs: T0, toMs: T0 + 5000, limit: 10, cursor });
        got.push(...page.trades);
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      assert.equal(pages, 3);
      const expected = [...appended].sort(
        (a, b) => (a.tsEventMs as number) - (b.tsEventMs as number) || a.recvSeq - b.recvSeq,
      );
      assert.deepEqual(got, expected);
    });

    test('candles from 1s to 1d carry exact OHLC, volume, VWAP and trade count, merged across batches', {
      skip: engine.skip,
    }, async () => {
      const base = Math.floor(T0 / 86_400_000) * 86_400_000 + 2 * 86_400_000; // a fresh day, aligned
      const prices = ['10.5', '11', '9.75', '10', '12.25', '10.1'];
      const sizes = ['1', '0.5', '2', '0.25', '1.5', '3'];
      const times = [base + 100, base + 900, base + 1200, base + 1800, base + 61_000, base + 61_500];
      for (let i = 0; i < prices.length; i++) {
        store.append(
          trade({
            venue: V,
            symbol: 'ETH-USDT',
            tsEventMs: times[i] as number,
            tsRecvMs: (times[i] as number) + 5,
            price: prices[i] as string,
            size: sizes[i] as string,
            aggressor: 'buy',
          }),
        );
        if (i === 2) await store.flush(); // the first second is split over two batches
      }
      await store.flush();
      const q = { venue: V, symbol: 'ETH-USDT', fromMs: base, toMs: base + 86_400_000 };
      const s1 = await store.candles({ ...q, interval: '1s' });
      assert.deepEqual(
        s1.map((c) => [c.openTimeMs - base, c.open, c.high, c.low, c.close, c.volume, c.tradeCount]),
        [
          [0, '10.5', '11', '10.5', '11', '1.5', 2],
          [1000, '9.75', '10', '9.75', '10', '2.25', 2],
          [61_000, '12.25', '12.25', '10.1', '10.1', '4.5', 2],
        ],
      );
      assert.equal(s1[0]?.notional, '16');
      assert.equal(s1[0]?.vwap, Decimal.parse('16').div(Decimal.parse('1.5'), 18).toString());
      const m1 = await store.candles({ ...q, interval: '1m' });
      assert.deepEqual(
        m1.map((c) => [c.openTimeMs - base, c.open, c.high, c.low, c.close, c.volume, c.tradeCount]),
        [
          [0, '10.5', '11', '9.75', '10', '3.75', 4],
          [60_000, '12.25', '12.25', '10.1', '10.1', '4.5', 2],
        ],
      );
      const d1 = await store.candles({ ...q, interval: '1d' });
      assert.equal(d1.length, 1);
      const notional = prices.reduce(
        (acc, p, i) => acc.add(Decimal.parse(p).mul(Decimal.parse(sizes[i] as string))),
        Decimal.ZERO,
      );
      assert.deepEqual([d1[0]?.open, d1[0]?.close, d1[0]?.high, d1[0]?.low], ['10.5', '10.1', '12.25', '9.75']);
      assert.equal(d1[0]?.notional, notional.normalize().toString());
      assert.equal(d1[0]?.volume, '8.25');
      assert.equal(d1[0]?.tradeCount, 6);
      const s5 = await store.candles({ ...q, interval: '5s' });
      assert.deepEqual(
        s5.map((c) => [c.openTimeMs - base, c.open, c.close, c.tradeCount]),
        [
          [0, '10.5', '10', 4],
          [60_000, '12.25', '10.1', 2],
        ],
      );
    });

    test('the book at any instant, rebuilt from the nearest snapshot plus deltas, equals the live book then', {
      skip: engine.skip,
    }, async () => {
      const stream = generateL2Stream({ seed: 11, levels: 40, deltas: 600, levelsPerDelta: 6 });
      const start = T0 + 7_200_000;
      const live = new L2Book();
      const captured = new Map<number, [string, string][][]>();
      const instants = new Set([start, start + 23, start + 130, start + 251, start + 1999, start + 4000, start + 5990]);
      const events: MarketEvent[] = [bookSnapshot({ venue: V, symbol: S, tsRecvMs: start, ...stream.snapshot })];
      live.applySnapshot(stream.snapshot.bids, stream.snapshot.asks);
      const capture = (t: number) => {
        const side = (s: 'bid' | 'ask') => live.levels(s).map((l) => [l.price, l.size] as [string, string]);
        captured.set(t, [side('bid'), side('ask')]);
      };
      capture(start);
      stream.deltas.forEach((d, i) => {
        const t = start + 10 * (i + 1) - (i % 3 === 0 ? 0 : 3); // several deltas share some milliseconds
        const changes = [
          ...d.bids.map(([price, size]) => ({ side: 'bid' as const, price, size })),
          ...d.asks.map(([price, size]) => ({ side: 'ask' as const, price, size })),
        ];
        events.push(bookDelta({ venue: V, symbol: S, tsRecvMs: t, recvSeq: i, changes }));
        live.applyDelta(d.bids, d.asks);
        const next = start + 10 * (i + 2) - ((i + 1) % 3 === 0 ? 0 : 3);
        for (const at of instants) if (at >= t && at < next) capture(at);
      });
      for (const e of events) assert.equal(store.append(e), true);
      await store.flush();
      assert.equal(captured.size, instants.size);
      let periodicUsed = 0;
      for (const [at, [bids, asks]] of captured) {
        const got = await store.bookAt({ venue: V, symbol: S, atMs: at });
        if (got.snapshotSource === 'periodic') periodicUsed++;
        assert.deepEqual(
          [got.bids.map((l) => [...l]), got.asks.map((l) => [...l])],
          [bids, asks],
          `book at +${at - start} ms (from the ${got.snapshotSource} snapshot at +${got.snapshotAtMs - start})`,
        );
      }
      assert.ok(periodicUsed >= 3, 'periodic snapshots shorten the rebuild');
      const top = await store.bookAt({ venue: V, symbol: S, atMs: start + 4000, depth: 3 });
      assert.equal(top.bids.length, 3);
      await assert.rejects(store.bookAt({ venue: V, symbol: S, atMs: start - 1 }), (e) =>
        isQobError(e, 'QOB_ERR_NOT_FOUND'),
      );
    });

    test('venue status history and instruments are stored and read back', { skip: engine.skip }, async () => {
      const at = T0 + 10_800_000;
      store.append(status({ venue: V, symbol: S, tsRecvMs: at, status: 'syncing', reason: 'snapshot\trequested' }));
      store.append(status({ venue: V, tsRecvMs: at + 1, status: 'connected', reason: '' }));
      await store.flush();
      const h = await store.venueStatus({ venue: V, fromMs: at, toMs: at + 10 });
      assert.deepEqual(
        h.map((s) => [s.symbol, s.status, s.reason]),
        [
          [S, 'syncing', 'snapshot\trequested'],
          [null, 'connected', ''],
        ],
      );
      const inst = createInstrument({
        venue: V,
        venueSymbol: 'BTCUSDT',
        base: 'BTC',
        quote: 'USDT',
        kind: 'spot',
        tickSize: '0.01',
        lotSize: '0.00001',
      });
      await store.upsertInstruments([inst]);
      await store.upsertInstruments([inst]);
      assert.deepEqual(await store.instruments(V), [inst]);
    });

    test('bad queries get QOB_ERR_INVALID_ARGUMENT and the store keeps serving', { skip: engine.skip }, async () => {
      const q = { venue: V, symbol: S };
      await assert.rejects(store.trades({ ...q, fromMs: 10, toMs: 5 }), invalidArgument);
      await assert.rejects(store.trades({ ...q, fromMs: 0, toMs: 5, limit: 0 }), invalidArgument);
      await assert.rejects(store.trades({ ...q, fromMs: 0, toMs: 5, cursor: 'not-a-cursor' }), invalidArgument);
      await assert.rejects(store.trades({ ...q, fromMs: Number.NaN, toMs: 5 }), invalidArgument);
      await assert.rejects(
        store.candles({ ...q, interval: '7m' as never, fromMs: 0, toMs: 5 }),
        (e) => invalidArgument(e) && (e as { context: { field: string } }).context.field === 'interval',
      );
      await assert.rejects(store.candles({ ...q, interval: '1m', fromMs: 9, toMs: 1 }), invalidArgument);
      await assert.rejects(store.bookAt({ ...q, atMs: Number.POSITIVE_INFINITY }), invalidArgument);
      await assert.rejects(store.applyRetention(T0, { trades: -1 }), invalidArgument);
      const page = await store.trades({ ...q, fromMs: T0, toMs: T0 + 5000, limit: 1 });
      assert.equal(page.trades.length, 1);
      assert.equal((await store.health()).ok, true);
    });

    test('retention is per table: a policy drops old rows only from the tables it lists', {
      skip: engine.skip,
    }, async () => {
      const old = T0 - 50 * 86_400_000;
      const sym = 'XRP-USDT';
      store.append(trade({ venue: V, symbol: sym, tsRecvMs: old, price: '0.5', size: '10', aggressor: 'sell' }));
      store.append(status({ venue: 'okx', tsRecvMs: old, status: 'connected', reason: 'old' }));
      await store.flush();
      const statusNow = () => store.venueStatus({ venue: 'okx', fromMs: old, toMs: old + 1 });
      const tradesNow = async () => (await store.trades({ venue: V, symbol: sym, fromMs: old, toMs: old + 1 })).trades;
      assert.equal((await statusNow()).length, 1);
      const r = await store.applyRetention(T0, { venue_status: 30 });
      assert.deepEqual(Object.keys(r.dropped), ['venue_status']);
      assert.equal((await statusNow()).length, 0, 'venue_status lost its old rows');
      assert.equal((await tradesNow()).length, 1, 'trades, not in the policy, kept theirs');
      await store.applyRetention(T0, { trades: 45 });
      assert.equal((await tradesNow()).length, 0);
    });

    test('retention drops the days older than the policy and keeps the rest', { skip: engine.skip }, async () => {
      const old = T0 - 40 * 86_400_000;
      store.append(trade({ venue: V, symbol: 'SOL-USDT', tsRecvMs: old, price: '1', size: '1', aggressor: 'buy' }));
      store.append(trade({ venue: V, symbol: 'SOL-USDT', tsRecvMs: T0, price: '2', size: '1', aggressor: 'buy' }));
      await store.flush();
      const r = await store.applyRetention(T0, { trades: 30, candles_1s: 30 });
      assert.ok((r.dropped.trades ?? 0) >= 1);
      const left = await store.trades({ venue: V, symbol: 'SOL-USDT', fromMs: 0, toMs: T0 + 1 });
      assert.deepEqual(
        left.trades.map((t) => t.price),
        ['2'],
      );
      const c = await store.candles({ venue: V, symbol: 'SOL-USDT', interval: '1s', fromMs: 0, toMs: T0 + 1 });
      assert.deepEqual(
        c.map((x) => x.open),
        ['2'],
      );
    });
  });
}

describe('embedded store on disk', () => {
  test('keeps its data across close and reopen, and a backup restores into a new data directory', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'qob-store-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const dataDir = join(dir, 'pglite');
    const a = await openStore({ engine: 'embedded', dataDir });
    const e = trade({ venue: V, symbol: S, tsRecvMs: T0, price: '1.5', size: '2', aggressor: 'sell', tradeId: 7 });
    assert.equal(a.append(e), true);
    await a.close();
    await a.close(); // idempotent
    assert.equal(a.append(e), false, 'a closed store refuses');
    const b = await openStore({ engine: 'embedded', dataDir });
    const q = { venue: V, symbol: S, fromMs: T0, toMs: T0 + 1 };
    assert.deepEqual((await b.trades(q)).trades, [e]);
    const file = join(dir, 'backup.tgz');
    assert.ok((await backupEmbedded(b, file)) > 0);
    await b.close();
    const restored = join(dir, 'restored');
    await restoreEmbedded(file, restored);
    const c = await openStore({ engine: 'embedded', dataDir: restored });
    assert.deepEqual((await c.trades(q)).trades, [e]);
    await c.close();
  });
});
