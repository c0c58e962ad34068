/**
 * The history routes over a real embedded store (PGlite, in memory) fed with known events: trades by
 * page, candles with exact OHLC/volume/VWAP, the book at a past instant equal to what the live book route
 * served at that instant, typed errors for bad input, and 503 without a store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { bookDelta, bookSnapshot, type LevelChangeInput, trade } from '../../src/domain/index.ts';
import { buildGateway, type MarketDataSource } from '../../src/gateway/index.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { openStore, type SqlStore } from '../../src/store/index.ts';

const VENUE = 'binance';
const SYMBOL = 'BTC-USDT';
/** 2025-11-25T04:00:00Z */
const T0 = Date.UTC(2025, 10, 25, 4, 0, 0);

interface ErrorJson {
  error: { code: string; message: string; context?: Record<string, unknown> };
}

function assertError(r: { statusCode: number; json(): unknown }, code: keyof typeof ERROR_CATALOGUE, field?: string) {
  const body = r.json() as ErrorJson;
  assert.equal(r.statusCode, ERROR_CATALOGUE[code].status, JSON.stringify(body));
  assert.equal(body.error.code, code, JSON.stringify(body));
  if (field !== undefined) assert.equal(body.error.context?.field, field, JSON.stringify(body));
}

/** A live-book source over one L2Book the test mutates, as the platform's books are. */
function liveSource(book: L2Book): MarketDataSource {
  const ref = {
    venue: VENUE,
    symbol: SYMBOL,
    venueSymbol: 'BTCUSDT',
    status: 'in_sync',
    reason: null,
    inSync: true,
    book,
    updates: 0,
  };
  return {
    venues: () => [{ id: VENUE, kind: 'live', state: 'connected', reason: 'test', symbols: [SYMBOL] }],
    books: () => [ref],
    book: (v, s) => (v === VENUE && s === SYMBOL ? ref : undefined),
    status: () => ({ tsMs: T0, venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
  };
}

const TRADES = [
  { dt: 1_000, price: '100.5', size: '2', aggressor: 'buy' as const },
  { dt: 2_000, price: '101', size: '1', aggressor: 'sell' as const },
  { dt: 30_000, price: '99.75', size: '3', aggressor: 'buy' as const },
  { dt: 61_000, price: '102', size: '0.5', aggressor: 'unknown' as const },
  { dt: 62_000, price: '101.25', size: '1.5', aggressor: 'sell' as const },
];

/** Book events: a snapshot at T0, then deltas; the times are receive times. */
const SNAPSHOT = {
  bids: [
    ['100', '1'],
    ['99.5', '2'],
    ['99', '3'],
  ] as [string, string][],
  asks: [
    ['100.5', '1.25'],
    ['101', '2'],
    ['102', '4'],
  ] as [string, string][],
};
const DELTAS: { dt: number; changes: LevelChangeInput[] }[] = [
  { dt: 100, changes: [{ side: 'bid', price: '100.25', size: '0.75' }] },
  {
    dt: 200,
    changes: [
      { side: 'ask', price: '100.5', size: '0' },
      { side: 'ask', price: '100.75', size: '0.5' },
    ],
  },
  { dt: 300, changes: [{ side: 'bid', price: '100.25', size: '0' }] },
  { dt: 400, changes: [{ side: 'bid', price: '99.5', size: '7.125' }] },
];

describe('history routes over an embedded store', () => {
  let store: SqlStore;
  let live: L2Book;
  let app: Awaited<ReturnType<typeof buildGateway>>;
  let bare: Awaited<ReturnType<typeof buildGateway>>;
  /** What the live book route answered right after the delta at T0 + 200 ms. */
  let liveAt200: { bids: unknown; asks: unknown };
  let recvSeq = 0;
  const metrics = createMetrics({ processMetrics: false });

  before(async () => {
    store = await openStore({ engine: 'embedded', dataDir: undefined, snapshots: { intervalMs: 0 } });
    live = new L2Book();
    app = await buildGateway({ source: liveSource(live), metrics: metrics.registry, history: store });
    bare = await buildGateway({ source: liveSource(live), metrics: metrics.registry });
    await app.ready();
    await bare.ready();

    const base = { venue: VENUE, symbol: SYMBOL };
    for (const t of TRADES) {
      store.append(
        trade({
          ...base,
          tsEventMs: T0 + t.dt,
          tsRecvMs: T0 + t.dt + 3,
          recvSeq: recvSeq++,
          price: t.price,
          size: t.size,
          aggressor: t.aggressor,
          tradeId: `t${t.dt}`,
        }),
      );
    }
    store.append(bookSnapshot({ ...base, tsEventMs: T0, tsRecvMs: T0, recvSeq: recvSeq++, seq: 1, ...SNAPSHOT }));
    live.applySnapshot(SNAPSHOT.bids, SNAPSHOT.asks);
    let seq = 1;
    for (const d of DELTAS) {
      seq++;
      store.append(
        bookDelta({
          ...base,
          tsEventMs: T0 + d.dt,
          tsRecvMs: T0 + d.dt,
          recvSeq: recvSeq++,
          firstSeq: seq,
          lastSeq: seq,
          prevSeq: seq - 1,
          changes: d.changes,
        }),
      );
      live.applyDelta(
        d.changes.filter((c) => c.side === 'bid').map((c) => [String(c.price), String(c.size)]),
        d.changes.filter((c) => c.side === 'ask').map((c) => [String(c.price), String(c.size)]),
      );
      if (d.dt === 200) {
        const r = await app.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}?depth=10` });
        assert.equal(r.statusCode, 200, r.body);
        const body = r.json() as { bids: unknown; asks: unknown };
        liveAt200 = { bids: body.bids, asks: body.asks };
      }
    }
    await store.flush();
  });

  after(async () => {
    await app?.close();
    await bare?.close();
    await store?.close();
    metrics.close();
  });

  it('serves the stored trades in a range, oldest first, with exact decimal text and both timestamps', async () => {
    const from = new Date(T0 + 2_000).toISOString();
    const r = await app.inject({
      method: 'GET',
      url: `/api/v1/trades/${VENUE}/btc-usdt?from=${from}&to=${T0 + 61_000}`,
    });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { symbol: string; count: number; nextCursor: string | null; trades: unknown[] };
    assert.equal(body.symbol, SYMBOL);
    assert.equal(body.nextCursor, null);
    assert.deepEqual(body.trades, [
      {
        tsMs: T0 + 2_000,
        tsEventMs: T0 + 2_000,
        tsRecvMs: T0 + 2_003,
        price: '101',
        size: '1',
        aggressor: 'sell',
        tradeId: 't2000',
      },
      {
        tsMs: T0 + 30_000,
        tsEventMs: T0 + 30_000,
        tsRecvMs: T0 + 30_003,
        price: '99.75',
        size: '3',
        aggressor: 'buy',
        tradeId: 't30000',
      },
    ]);
    assert.equal(body.count, 2);
  });

  it('pages through every trade with the cursor, each trade once, the last page without a cursor', async () => {
    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const r = await app.inject({ method: 'GET', url: `/api/v1/trades/${VENUE}/${SYMBOL}?limit=2${q}` });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { nextCursor: string | null; trades: { tradeId: string }[] };
      pages.push(body.trades.length);
      for (const t of body.trades) seen.push(t.tradeId);
      cursor = body.nextCursor;
    } while (cursor !== null && pages.length < 10);
    assert.deepEqual(pages, [2, 2, 1]);
    assert.deepEqual(
      seen,
      TRADES.map((t) => `t${t.dt}`),
    );
  });

  it('serves 1m and 5m candles with exact OHLC, volume, notional, VWAP and trade count', async () => {
    const r1 = await app.inject({ method: 'GET', url: `/api/v1/candles/${VENUE}/${SYMBOL}?interval=1m&from=${T0}` });
    assert.equal(r1.statusCode, 200, r1.body);
    assert.deepEqual((r1.json() as { candles: unknown }).candles, [
      {
        openTimeMs: T0,
        open: '100.5',
        high: '101',
        low: '99.75',
        close: '99.75',
        volume: '6',
        notional: '601.25',
        vwap: '100.208333333333333333',
        tradeCount: 3,
      },
      {
        openTimeMs: T0 + 60_000,
        open: '102',
        high: '102',
        low: '101.25',
        close: '101.25',
        volume: '2',
        notional: '202.875',
        vwap: '101.4375',
        tradeCount: 2,
      },
    ]);
    const r5 = await app.inject({ method: 'GET', url: `/api/v1/candles/${VENUE}/${SYMBOL}?interval=5m` });
    assert.equal(r5.statusCode, 200, r5.body);
    assert.deepEqual((r5.json() as { candles: unknown }).candles, [
      {
        openTimeMs: T0,
        open: '100.5',
        high: '102',
        low: '99.75',
        close: '101.25',
        volume: '8',
        notional: '804.125',
        vwap: '100.515625',
        tradeCount: 5,
      },
    ]);
  });

  it('rebuilds the book at a past instant equal to what the live book route served at that instant', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}/at?time=${T0 + 200}&depth=10` });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as Record<string, unknown>;
    assert.deepEqual({ bids: body.bids, asks: body.asks }, liveAt200);
    assert.equal(body.snapshotAtMs, T0);
    assert.equal(body.deltasApplied, 2);
    assert.equal(body.exact, true);

    // And now, after every delta: equal to the live book as it is.
    const at = new Date(T0 + 400).toISOString();
    const [past, now] = await Promise.all([
      app.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}/at?time=${at}&depth=2` }),
      app.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}?depth=2` }),
    ]);
    const p = past.json() as { bids: unknown; asks: unknown };
    const n = now.json() as { bids: unknown; asks: unknown };
    assert.deepEqual({ bids: p.bids, asks: p.asks }, { bids: n.bids, asks: n.asks });
    assert.deepEqual(p.bids, [
      { price: '100', size: '1' },
      { price: '99.5', size: '7.125' },
    ]);
  });

  it('answers 404 QOB_ERR_NOT_FOUND for an instant before any stored snapshot', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}/at?time=${T0 - 1}` });
    assertError(r, 'QOB_ERR_NOT_FOUND');
  });

  it('refuses a bad range, time, limit, interval or cursor with 400 and keeps serving', async () => {
    const base = `/api/v1`;
    const cases: [string, keyof typeof ERROR_CATALOGUE, string | undefined][] = [
      [`${base}/trades/${VENUE}/${SYMBOL}?from=${T0 + 10}&to=${T0}`, 'QOB_ERR_INVALID_ARGUMENT', 'from'],
      [`${base}/trades/${VENUE}/${SYMBOL}?from=yesterday`, 'QOB_ERR_INVALID_ARGUMENT', 'from'],
      [`${base}/trades/${VENUE}/${SYMBOL}?to=2025-13-40T00:00:00Z`, 'QOB_ERR_INVALID_ARGUMENT', 'to'],
      [`${base}/trades/${VENUE}/${SYMBOL}?from=2025-11-25T04:00:00`, 'QOB_ERR_INVALID_ARGUMENT', 'from'],
      [`${base}/trades/${VENUE}/${SYMBOL}?limit=0`, 'QOB_ERR_INVALID_ARGUMENT', 'limit'],
      [`${base}/trades/${VENUE}/${SYMBOL}?limit=10001`, 'QOB_ERR_INVALID_ARGUMENT', 'limit'],
      [`${base}/trades/${VENUE}/${SYMBOL}?cursor=not-a-cursor`, 'QOB_ERR_INVALID_ARGUMENT', 'cursor'],
      [`${base}/trades/${VENUE}/${SYMBOL}?side=buy`, 'QOB_ERR_INVALID_ARGUMENT', 'side'],
      [`${base}/trades/${VENUE}/BTCUSDT`, 'QOB_ERR_INVALID_SYMBOL', undefined],
      [`${base}/candles/${VENUE}/${SYMBOL}`, 'QOB_ERR_INVALID_ARGUMENT', 'interval'],
      [`${base}/candles/${VENUE}/${SYMBOL}?interval=2m`, 'QOB_ERR_INVALID_ARGUMENT', 'interval'],
      [`${base}/candles/${VENUE}/${SYMBOL}?interval=1m&from=${T0}&to=${T0 - 1}`, 'QOB_ERR_INVALID_ARGUMENT', 'from'],
      [`${base}/books/${VENUE}/${SYMBOL}/at`, 'QOB_ERR_INVALID_ARGUMENT', 'time'],
      [`${base}/books/${VENUE}/${SYMBOL}/at?time=-5`, 'QOB_ERR_INVALID_ARGUMENT', 'time'],
      [`${base}/books/${VENUE}/${SYMBOL}/at?time=${T0}&depth=0`, 'QOB_ERR_INVALID_ARGUMENT', 'depth'],
    ];
    for (const [url, code, field] of cases) {
      const r = await app.inject({ method: 'GET', url });
      assertError(r, code, field);
    }
    const ok = await app.inject({ method: 'GET', url: `${base}/trades/${VENUE}/${SYMBOL}?limit=1` });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('answers 503 QOB_ERR_STORE_DISABLED on every history route when no store is configured, and keeps serving', async () => {
    for (const url of [
      `/api/v1/trades/${VENUE}/${SYMBOL}`,
      `/api/v1/candles/${VENUE}/${SYMBOL}?interval=1m`,
      `/api/v1/books/${VENUE}/${SYMBOL}/at?time=${T0}`,
    ]) {
      const r = await bare.inject({ method: 'GET', url });
      assertError(r, 'QOB_ERR_STORE_DISABLED');
    }
    // Input is still validated first: a bad range is the client's error, whatever the storage.
    assertError(
      await bare.inject({ method: 'GET', url: `/api/v1/trades/${VENUE}/${SYMBOL}?from=2&to=1` }),
      'QOB_ERR_INVALID_ARGUMENT',
    );
    const live = await bare.inject({ method: 'GET', url: `/api/v1/books/${VENUE}/${SYMBOL}` });
    assert.equal(live.statusCode, 200, live.body);
  });

  it('documents the history routes in the OpenAPI document, each with its permission', async () => {
    const r = await app.inject({ method: 'GET', url: '/api-docs/json' });
    const doc = r.json() as { paths: Record<string, { get?: Record<string, unknown> }> };
    for (const path of [
      '/api/v1/trades/{venue}/{symbol}',
      '/api/v1/candles/{venue}/{symbol}',
      '/api/v1/books/{venue}/{symbol}/at',
    ]) {
      const op = doc.paths[path]?.get;
      assert.ok(op, `${path} is documented`);
      assert.equal(op['x-permission'], 'market:read');
      assert.ok(Array.isArray(op.parameters) && op.parameters.length > 0, `${path} documents its parameters`);
      const responses = op.responses as Record<string, unknown>;
      assert.ok(responses['200'] && responses['4XX'] && responses['5XX'], Object.keys(responses).join());
    }
  });
});
