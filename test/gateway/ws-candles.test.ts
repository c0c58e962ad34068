/**
 * The /ws candles channel: the same intervals as the REST candles, and candles equal to the REST candles the
 * store computes from the same trades (a real embedded store, PGlite in memory), to the digit: OHLC with open
 * and close by trade time (a late trade included), volume, notional, VWAP and trade count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { QobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { trade } from '../../src/domain/index.ts';
import { HISTORY_INTERVALS, type HistoryCandle } from '../../src/gateway/history.ts';
import { buildGateway, type MarketDataSource } from '../../src/gateway/index.ts';
import { type Candle, registerWsApi, type TradeBatch, type WsTrade } from '../../src/gateway/ws/index.ts';
import { CANDLE_INTERVALS, parseChannel } from '../../src/gateway/ws/protocol.ts';
import { candleVwap, Tape } from '../../src/gateway/ws/tape.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { openStore, type SqlStore } from '../../src/store/index.ts';
import { rawClient, subscribe } from './ws-helpers.ts';

const VENUE = 'binance';
const SYMBOL = 'BTC-USDT';
/** 2025-11-25T03:59:00Z: the trades cross a 1m, 5m, 15m, 1h and 4h boundary (04:00) but stay in one day. */
const T0 = Date.UTC(2025, 10, 25, 3, 59, 0);

/**
 * Known trades in arrival order. Two share a millisecond (the later arrival closes the bucket), one arrives
 * late for an earlier second and minute (it opens them), and the sizes make VWAPs with endless expansions
 * (1/3, 1/7) that must be rounded as the store rounds them.
 */
const TRADES: { dt: number; price: string; size: string; side: 'buy' | 'sell' }[] = [
  { dt: 100, price: '100.5', size: '2', side: 'buy' },
  { dt: 900, price: '101', size: '1', side: 'sell' },
  { dt: 900, price: '100.25', size: '0.3', side: 'buy' },
  { dt: 30_000, price: '99.75', size: '3', side: 'buy' },
  { dt: 50, price: '98', size: '0.7', side: 'sell' },
  { dt: 61_000, price: '102', size: '0.5', side: 'buy' },
  { dt: 62_000, price: '101.25', size: '1.5', side: 'sell' },
  { dt: 62_500, price: '101.3', size: '0.000001', side: 'buy' },
  { dt: 3_600_000, price: '103.125', size: '7', side: 'buy' },
  { dt: 3_600_001, price: '0.1', size: '3', side: 'sell' },
];

const wsTrades = (): WsTrade[] =>
  TRADES.map((t, i) => ({ id: `t${i}`, price: t.price, size: t.size, side: t.side, tsMs: T0 + t.dt }));

/** A REST candle in the WS candle shape. */
function asWs(c: HistoryCandle): Candle {
  return {
    t: c.openTimeMs,
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    volume: c.volume,
    notional: c.notional,
    vwap: c.vwap,
    trades: c.tradeCount,
  };
}

function source(onTrades?: (listener: (batch: TradeBatch) => void) => () => void): MarketDataSource & {
  onTrades?: (listener: (batch: TradeBatch) => void) => () => void;
} {
  // The book is tracked (a candles channel needs one) but not needed in sync.
  const ref = {
    venue: VENUE,
    symbol: SYMBOL,
    venueSymbol: 'BTCUSDT',
    status: 'syncing',
    reason: null,
    inSync: false,
    book: undefined,
    updates: 0,
  };
  return {
    venues: () => [{ id: VENUE, kind: 'live', state: 'connected', reason: 'test', symbols: [SYMBOL] }],
    books: () => [ref],
    book: (v, s) => (v === VENUE && s === SYMBOL ? ref : undefined),
    status: () => ({ tsMs: T0, venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
    ...(onTrades === undefined ? {} : { onTrades }),
  };
}

describe('/ws candle intervals', () => {
  it('offers exactly the intervals the REST candles serve', () => {
    assert.deepEqual(Object.keys(CANDLE_INTERVALS), [...HISTORY_INTERVALS]);
    for (const interval of HISTORY_INTERVALS) {
      assert.deepEqual(parseChannel(`candles.sim.BTC-USDT.${interval}`), {
        kind: 'candles',
        venue: 'sim',
        symbol: 'BTC-USDT',
        interval,
      });
    }
  });

  it('buckets 15m, 4h and 1d candles on epoch-aligned boundaries', () => {
    assert.equal(CANDLE_INTERVALS['15m'], 15 * 60_000);
    assert.equal(CANDLE_INTERVALS['4h'], 4 * 3_600_000);
    assert.equal(CANDLE_INTERVALS['1d'], 86_400_000);
    const tape = new Tape();
    tape.add({ venue: VENUE, symbol: SYMBOL, trades: wsTrades() });
    const day = Date.UTC(2025, 10, 25);
    assert.deepEqual(
      tape.recentCandles(VENUE, SYMBOL, '1d').map((c) => c.t),
      [day],
    );
    assert.deepEqual(
      tape.recentCandles(VENUE, SYMBOL, '4h').map((c) => c.t),
      [day, day + 4 * 3_600_000],
    );
    assert.deepEqual(
      tape.recentCandles(VENUE, SYMBOL, '15m').map((c) => c.t),
      [T0 - 14 * 60_000, T0 + 60_000, T0 + 46 * 60_000],
    );
  });

  it('refuses an interval the REST candles do not serve, naming the ones they do', () => {
    for (const bad of ['2h', '1w', '30m', '1M']) {
      assert.throws(
        () => parseChannel(`candles.sim.BTC-USDT.${bad}`),
        (e: unknown) =>
          e instanceof QobError &&
          e.code === 'QOB_ERR_INVALID_ARGUMENT' &&
          e.message.includes('1s, 1m, 5m, 15m, 1h, 4h, 1d'),
      );
    }
  });

  it('rounds the VWAP to 18 digits half away from zero, as the store does', () => {
    assert.equal(candleVwap(Decimal.parse('1'), Decimal.parse('3')).toString(), '0.333333333333333333');
    assert.equal(candleVwap(Decimal.parse('2'), Decimal.parse('3')).toString(), '0.666666666666666667');
    // Exactly halfway at the 18th digit: away from zero (half-even would keep ...2).
    assert.equal(
      candleVwap(Decimal.parse('0.0000000000000000025'), Decimal.parse('1')).toString(),
      '0.000000000000000003',
    );
    assert.equal(
      candleVwap(Decimal.parse('-0.0000000000000000025'), Decimal.parse('1')).toString(),
      '-0.000000000000000003',
    );
    assert.equal(candleVwap(Decimal.parse('601.25'), Decimal.parse('6')).toString(), '100.208333333333333333');
  });
});

describe('/ws candles equal the REST candles of the same trades', () => {
  let store: SqlStore;
  let app: Awaited<ReturnType<typeof buildGateway>>;
  const metrics = createMetrics({ processMetrics: false });

  before(async () => {
    store = await openStore({ engine: 'embedded', dataDir: undefined, snapshots: { intervalMs: 0 } });
    app = await buildGateway({ source: source(), metrics: metrics.registry, history: store }, { wsTickMs: 0 });
    await app.ready();
    // Arrival order, one append per trade (the store folds them in batches, the tape one by one).
    TRADES.forEach((t, i) => {
      store.append(
        trade({
          venue: VENUE,
          symbol: SYMBOL,
          tsEventMs: T0 + t.dt,
          tsRecvMs: T0 + t.dt + 5,
          recvSeq: i,
          price: t.price,
          size: t.size,
          aggressor: t.side,
          tradeId: `t${i}`,
        }),
      );
    });
    await store.flush();
  });

  after(async () => {
    await app?.close();
    await store?.close();
  });

  async function rest(interval: string): Promise<Candle[]> {
    const r = await app.inject({ method: 'GET', url: `/api/v1/candles/${VENUE}/${SYMBOL}?interval=${interval}` });
    assert.equal(r.statusCode, 200, r.body);
    return (r.json() as { candles: HistoryCandle[] }).candles.map(asWs);
  }

  for (const interval of HISTORY_INTERVALS) {
    it(`${interval}: the tape's candles are the REST candles, field for field`, async () => {
      const tape = new Tape();
      // One trade per batch, as they arrive.
      for (const t of wsTrades()) tape.add({ venue: VENUE, symbol: SYMBOL, trades: [t] });
      const live = tape.recentCandles(VENUE, SYMBOL, interval);
      const stored = await rest(interval);
      assert.ok(stored.length > 0);
      assert.deepEqual(live, stored);
    });
  }

  it('the late trade opens its bucket and the later of two same-millisecond trades closes it', async () => {
    const [first] = await rest('1s');
    assert.deepEqual(first, {
      t: T0,
      open: '98',
      high: '101',
      low: '98',
      close: '100.25',
      volume: '4',
      notional: '400.675',
      vwap: '100.16875',
      trades: 4,
    });
  });

  it('a /ws subscriber to each interval gets the same candles in its snapshot and deltas', {
    timeout: 30_000,
  }, async () => {
    let push: ((batch: TradeBatch) => void) | undefined;
    const ws = Fastify({ logger: false });
    registerWsApi(
      ws,
      source((listener) => {
        push = listener;
        return () => {
          push = undefined;
        };
      }),
      { tickMs: 0, heartbeatMs: 0 },
    );
    await ws.listen({ port: 0, host: '127.0.0.1' });
    try {
      const addr = ws.server.address();
      assert.ok(addr !== null && typeof addr === 'object');
      const client = await rawClient(`ws://127.0.0.1:${addr.port}/ws`);
      const all = wsTrades();
      // Half before subscribing (they come in the snapshot), half after (they come as deltas).
      push?.({ venue: VENUE, symbol: SYMBOL, trades: all.slice(0, 5) });
      for (const interval of HISTORY_INTERVALS) {
        const channel = `candles.${VENUE}.${SYMBOL}.${interval}`;
        await subscribe(client, [channel]);
      }
      for (const t of all.slice(5)) push?.({ venue: VENUE, symbol: SYMBOL, trades: [t] });
      ws.qobWs?.tick();
      for (const interval of HISTORY_INTERVALS) {
        const channel = `candles.${VENUE}.${SYMBOL}.${interval}`;
        await client.next((f) => f.type === 'delta' && f.channel === channel);
        const held = new Map<number, Candle>();
        for (const f of client.frames) {
          if (f.channel !== channel || (f.type !== 'snapshot' && f.type !== 'delta')) continue;
          const data = f.data as { interval: string; candles: Candle[] };
          assert.equal(data.interval, interval);
          for (const c of data.candles) held.set(c.t, c);
        }
        assert.deepEqual(
          [...held.values()].sort((a, b) => a.t - b.t),
          await rest(interval),
          channel,
        );
      }
      client.ws.close();
    } finally {
      await ws.close();
    }
  });
});
