/**
 * Public trades from the Binance spot / USD-M, Bybit, OKX and Coinbase handlers: golden counts and first /
 * last trades from the full real captures (their trade channels are not in the books-only files), and
 * hand-written frames for each parser, bad input included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QobError } from '../../src/core/errors.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { createBinanceSpotFeedHandler } from '../../src/venues/binance/spot.ts';
import { createBinanceUsdmFeedHandler } from '../../src/venues/binance/usdm.ts';
import { createBybitFeedHandler } from '../../src/venues/bybit/handler.ts';
import { createCoinbaseFeedHandler } from '../../src/venues/coinbase/handler.ts';
import type { FeedHandlerOptions, FrameCounters, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { createOkxFeedHandler } from '../../src/venues/okx/feed-handler.ts';
import { fixture } from './helpers.ts';

type Handler = VenueFeedHandler & { readonly trades: number };

function collect<H extends Handler>(make: (o: FeedHandlerOptions) => H) {
  const trades: TradeEvent[] = [];
  const errors: QobError[] = [];
  const h = make({ onTrade: (t) => trades.push(t), onBadFrame: (e) => errors.push(e) });
  return { h, trades, errors };
}

async function replayTrades<H extends Handler>(path: string, make: (o: FeedHandlerOptions) => H) {
  const r = collect(make);
  for await (const rec of readCapture(path, () => assert.fail('bad capture line'))) {
    if (rec.t === 'recv') r.h.onFrame(rec.conn, rec.data, rec.tsMs);
    else if (rec.t === 'http') r.h.onHttp(rec.url, rec.data, rec.tsMs);
    else if (rec.t === 'connect') r.h.onConnect(rec.conn, rec.addr, rec.tsMs);
    else if (rec.t === 'send') r.h.onSend(rec.conn, rec.data, rec.tsMs);
  }
  return r;
}

/** The fields a golden test pins: [symbol, tradeId, price, size, aggressor, tsEventMs]. */
const brief = (t: TradeEvent | undefined) =>
  t === undefined ? undefined : [t.symbol, t.tradeId, t.price, t.size, t.aggressor, t.tsEventMs];

const counts = (trades: readonly TradeEvent[]) => {
  const m: Record<string, number> = {};
  for (const t of trades) m[t.symbol] = (m[t.symbol] ?? 0) + 1;
  return m;
};

// ---- golden: real captures --------------------------------------------------------------------------------

test('the real Binance spot capture yields its 2 aggTrade events as taker buys with exact text', async (t) => {
  const p = fixture('binance/cryptofeed_BINANCE.jsonl.zst');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const { h, trades, errors } = await replayTrades(p, createBinanceSpotFeedHandler);
  assert.deepEqual(errors, []);
  assert.equal(h.trades, 2);
  assert.equal(trades.length, 2);
  assert.deepEqual(brief(trades[0]), ['NKN-USDT', 'a15683430', '0.3528', '58', 'buy', 1633998523963]);
  assert.deepEqual(brief(trades[1]), ['LRC-BTC', 'a9213679', '0.00000638', '177', 'buy', 1633998534486]);
  assert.equal(trades[0]?.id, 'binance|NKN-USDT|trade|ta15683430');
});

test('the real Binance USD-M capture yields 91 aggTrade events on perpetual symbols', async (t) => {
  const p = fixture('binance_futures/cryptofeed_BINANCE_FUTURES.jsonl.zst');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const { h, trades, errors } = await replayTrades(p, createBinanceUsdmFeedHandler);
  assert.deepEqual(errors, []);
  assert.equal(h.trades, 91);
  assert.equal(trades.length, 91);
  assert.deepEqual(Object.keys(counts(trades)).sort(), [
    'AKRO-USDT-PERP',
    'CTK-USDT-PERP',
    'KEEP-USDT-PERP',
    'SUSHI-USDT-PERP',
  ]);
  assert.deepEqual(brief(trades[0]), ['CTK-USDT-PERP', '16599292', '1.011', '10', 'buy', 1626992741421]);
  assert.deepEqual(brief(trades.at(-1)), ['CTK-USDT-PERP', '16599329', '1.012', '10', 'buy', 1626992770366]);
});

test('the real Bybit capture yields 347 publicTrade trades over 120 frames, linear as PERP and spot as pairs', async (t) => {
  const p = fixture('bybit/cryptofeed_BYBIT.jsonl.zst');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const { h, trades, errors } = await replayTrades(p, createBybitFeedHandler);
  assert.deepEqual(errors, []);
  assert.equal(h.trades, 347);
  assert.deepEqual(counts(trades), {
    'BTC-USDT-PERP': 56,
    'ETH-USDT-PERP': 23,
    'SOL-USDT-PERP': 165,
    'DOGE-USDT-PERP': 83,
    'ETH-USDT': 9,
    'BTC-USDT': 11,
  });
  assert.equal(trades.filter((x) => x.aggressor === 'sell').length, 227);
  assert.deepEqual(brief(trades[0]), [
    'BTC-USDT-PERP',
    'a9188a0a-82bc-50de-be60-03eedbe3cdd7',
    '65114.2',
    '0.004',
    'sell',
    1786310819680,
  ]);
  assert.deepEqual(brief(trades.at(-1)), [
    'BTC-USDT',
    '2290000001189048111',
    '65140.4',
    '0.000611',
    'sell',
    1786310861700,
  ]);
});

test('the real OKX capture yields 74 trades on the future, swap and spot instruments', async (t) => {
  const p = fixture('okx/cryptofeed_OKX.jsonl.zst');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const { h, trades, errors } = await replayTrades(p, createOkxFeedHandler);
  // Only the tickers channel is still unknown to the handler.
  assert.ok(errors.every((e) => e.code === 'QOB_ERR_UNKNOWN_MESSAGE' && e.message.includes('tickers')));
  assert.equal(h.counters.malformed, 0);
  assert.equal(h.trades, 74);
  assert.deepEqual(counts(trades), { 'BTC-USD-20220527': 4, 'UNI-USD-PERP': 1, 'BTC-USDT': 69 });
  assert.deepEqual(brief(trades[0]), ['BTC-USD-20220527', '7849', '30218.8', '1', 'buy', 1652459199958]);
  assert.deepEqual(brief(trades.at(-1)), ['BTC-USDT', '338476375', '30227.6', '0.00000088', 'buy', 1652459235576]);
});

test('the real Coinbase capture yields 79 market_trades updates with the taker opposite to the maker side', async (t) => {
  const p = fixture('coinbase/cryptofeed_COINBASE.jsonl.gz');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const { h, trades, errors } = await replayTrades(p, createCoinbaseFeedHandler);
  assert.deepEqual(errors, []);
  assert.equal(h.sequenceGaps, 0, 'market_trades frames still take part in the sequence_num check');
  assert.equal(h.trades, 79);
  assert.deepEqual(counts(trades), { 'BTC-USD': 47, 'ETH-USD': 32 });
  assert.equal(trades.filter((x) => x.aggressor === 'buy').length, 51);
  const first = trades[0];
  assert.deepEqual(brief(first)?.slice(0, 5), ['BTC-USD', '1068572091', '65083.67', '0.01034361', 'buy']);
  assert.ok(Math.abs((first?.tsEventMs ?? 0) - 1786309548167.634) < 0.01);
  assert.deepEqual(brief(trades.at(-1))?.slice(0, 5), ['ETH-USD', '833140810', '1919.38', '0.02066532', 'buy']);
});

// ---- hand-written frames ----------------------------------------------------------------------------------

const binanceTrade = (data: Record<string, unknown>, stream = 'btcusdt@trade') => JSON.stringify({ stream, data });
const good = { e: 'trade', E: 2, s: 'BTCUSDT', t: 12345, p: '65000.10', q: '0.00100', T: 1, m: true, M: true };

test('binance: m=true (buyer is maker) is a taker sell, m=false a taker buy; decimals are canonical text', () => {
  const { h, trades, errors } = collect(createBinanceSpotFeedHandler);
  h.onFrame('c', binanceTrade(good), 10);
  h.onFrame('c', binanceTrade({ ...good, e: 'aggTrade', a: 7, m: false }, 'btcusdt@aggTrade'), 11);
  h.onFrame('c', JSON.stringify({ ...good, t: 12346 }), 12); // raw stream: the event itself
  assert.deepEqual(errors, []);
  assert.deepEqual(
    trades.map((t) => [t.symbol, t.tradeId, t.price, t.size, t.aggressor, t.tsEventMs, t.tsRecvMs]),
    [
      ['BTC-USDT', '12345', '65000.1', '0.001', 'sell', 1, 10],
      ['BTC-USDT', 'a7', '65000.1', '0.001', 'buy', 1, 11],
      ['BTC-USDT', '12346', '65000.1', '0.001', 'sell', 1, 12],
    ],
  );
  assert.equal(h.trades, 3);
  assert.equal(h.book('BTCUSDT'), undefined, 'trades create no book');
});

test('binance USD-M aggTrade ids stay plain and dated contracts map to dated futures', () => {
  const { h, trades } = collect(createBinanceUsdmFeedHandler);
  h.onFrame('c', binanceTrade({ ...good, e: 'aggTrade', a: 9, s: 'BTCUSDT' }, 'btcusdt@aggTrade'), 1);
  h.onFrame('c', binanceTrade({ ...good, e: 'aggTrade', a: 10, s: 'ETHUSDT_250328' }, 'ethusdt_250328@aggTrade'), 1);
  assert.deepEqual(
    trades.map((t) => [t.symbol, t.tradeId]),
    [
      ['BTC-USDT-PERP', '9'],
      ['ETH-USDT-20250328', '10'],
    ],
  );
});

test('binance: bad trade numbers, sides, ids and symbols are typed malformed errors and never emitted', () => {
  const { h, trades, errors } = collect(createBinanceSpotFeedHandler);
  const bad: Record<string, unknown>[] = [
    { ...good, p: 'NaN' },
    { ...good, p: '1.2.3' },
    { ...good, q: '' },
    { ...good, q: '-1' },
    { ...good, q: '0' },
    { ...good, p: '0' },
    { ...good, p: 65000.1 },
    { ...good, m: 'true' },
    { ...good, t: -1 },
    { ...good, T: 'x' },
    { ...good, s: 'XYZ' },
  ];
  for (const d of bad) h.onFrame('c', binanceTrade(d), 1);
  h.onFrame('c', binanceTrade({ ...good, e: 'depthUpdate' }), 1); // wrong event on a trade stream
  assert.equal(trades.length, 0);
  assert.equal(h.trades, 0);
  assert.deepEqual(h.counters, { malformed: bad.length + 1, unknown: 0 } satisfies FrameCounters);
  assert.deepEqual([...new Set(errors.map((e) => e.code))].sort(), [
    'QOB_ERR_INVALID_ARGUMENT',
    'QOB_ERR_INVALID_DECIMAL',
    'QOB_ERR_INVALID_SYMBOL',
    'QOB_ERR_MALFORMED_MESSAGE',
    'QOB_ERR_NEGATIVE_SIZE',
    'QOB_ERR_NONPOSITIVE_PRICE',
  ]);
});

const bybitTrades = (data: unknown, topic = 'publicTrade.BTCUSDT') =>
  JSON.stringify({ topic, type: 'snapshot', ts: 5, data });
const bt = { T: 4, s: 'BTCUSDT', S: 'Buy', v: '0.010', p: '65000.50', L: 'PlusTick', i: 'id-1', BT: false };

test('bybit: S is the taker side, the socket category decides spot pair or PERP, and a push is all or nothing', () => {
  const { h, trades, errors } = collect(createBybitFeedHandler);
  h.onConnect('lin', 'wss://stream.bybit.com/v5/public/linear', 0);
  h.onConnect('spot', 'wss://stream.bybit.com/v5/public/spot', 0);
  h.onFrame('lin', bybitTrades([bt, { ...bt, S: 'Sell', i: 'id-2' }]), 9);
  h.onFrame('spot', bybitTrades([bt]), 9);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    trades.map((t) => [t.symbol, t.tradeId, t.price, t.size, t.aggressor, t.tsEventMs]),
    [
      ['BTC-USDT-PERP', 'id-1', '65000.5', '0.01', 'buy', 4],
      ['BTC-USDT-PERP', 'id-2', '65000.5', '0.01', 'sell', 4],
      ['BTC-USDT', 'id-1', '65000.5', '0.01', 'buy', 4],
    ],
  );
  // One bad trade in a push: nothing of that push is emitted.
  h.onFrame(
    'lin',
    bybitTrades([
      { ...bt, i: 'id-3' },
      { ...bt, v: 'Infinity' },
    ]),
    10,
  );
  for (const d of [
    [{ ...bt, S: 'buy' }],
    [{ ...bt, p: 65000.5 }],
    [{ ...bt, i: '' }],
    [{ ...bt, T: 1.5 }],
    [{ ...bt, s: 'ETHUSDT' }],
    [{ ...bt, p: '-1' }],
    { not: 'an array' },
  ]) {
    h.onFrame('lin', bybitTrades(d), 10);
  }
  assert.equal(h.trades, 3);
  assert.equal(trades.length, 3);
  assert.deepEqual(h.counters, { malformed: 8, unknown: 0 });
});

const okxPush = (data: unknown, instId = 'BTC-USDT', channel = 'trades') =>
  JSON.stringify({ arg: { channel, instId }, data });
const ot = { instId: 'BTC-USDT', tradeId: '42', px: '30000.10', sz: '0.50', side: 'sell', ts: '1652459235576' };

test('okx: side is the taker side, instIds map to spot, PERP and dated futures, ts text becomes epoch ms', () => {
  const { h, trades, errors } = collect(createOkxFeedHandler);
  h.onFrame('c', okxPush([ot]), 1);
  h.onFrame('c', okxPush([{ ...ot, instId: 'UNI-USD-SWAP', side: 'buy' }], 'UNI-USD-SWAP'), 2);
  h.onFrame('c', okxPush([{ ...ot, instId: 'BTC-USD-220527' }], 'BTC-USD-220527', 'trades-all'), 3);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    trades.map((t) => [t.symbol, t.tradeId, t.price, t.size, t.aggressor, t.tsEventMs]),
    [
      ['BTC-USDT', '42', '30000.1', '0.5', 'sell', 1652459235576],
      ['UNI-USD-PERP', '42', '30000.1', '0.5', 'buy', 1652459235576],
      ['BTC-USD-20220527', '42', '30000.1', '0.5', 'sell', 1652459235576],
    ],
  );
  assert.equal(h.trades, 3);
});

test('okx: bad trade fields are typed malformed errors and emit nothing', () => {
  const { h, trades, errors } = collect(createOkxFeedHandler);
  for (const d of [
    [{ ...ot, px: 'abc' }],
    [{ ...ot, sz: '0' }],
    [{ ...ot, side: 'BUY' }],
    [{ ...ot, ts: 1652459235576 }],
    [{ ...ot, ts: '-5' }],
    [{ ...ot, tradeId: '' }],
    [{ ...ot, instId: 'ETH-USDT' }],
    [ot, { ...ot, px: '' }],
    'nope',
  ]) {
    h.onFrame('c', okxPush(d), 1);
  }
  h.onFrame('c', okxPush([{ ...ot, instId: 'BTC-USD-220527-30000-C' }], 'BTC-USD-220527-30000-C'), 1);
  assert.equal(trades.length, 0);
  assert.equal(h.trades, 0);
  assert.deepEqual(h.counters, { malformed: 10, unknown: 0 });
  assert.ok(errors.some((e) => e.code === 'QOB_ERR_INVALID_SYMBOL'));
  assert.ok(errors.some((e) => e.code === 'QOB_ERR_INVALID_DECIMAL'));
});

const cbFrame = (events: unknown, seq = 1) =>
  JSON.stringify({ channel: 'market_trades', timestamp: 'x', sequence_num: seq, events });
const ct = {
  product_id: 'BTC-USD',
  trade_id: '100',
  price: '65083.670',
  size: '0.002186',
  time: '2026-08-09T21:05:42.514318Z',
  side: 'SELL',
};

test('coinbase: side names the maker, so SELL is a taker buy; snapshot trades are history and not emitted', () => {
  const { h, trades, errors } = collect(createCoinbaseFeedHandler);
  h.onFrame('c', cbFrame([{ type: 'snapshot', trades: [ct] }], 1), 1);
  h.onFrame('c', cbFrame([{ type: 'update', trades: [ct, { ...ct, trade_id: '101', side: 'BUY' }] }], 2), 2);
  h.onFrame(
    'c',
    JSON.stringify({ ...ct, type: 'match', trade_id: 102, side: 'buy', sequence: 9, time: '2021-04-17T16:43:00Z' }),
    3,
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(
    trades.map((t) => [t.symbol, t.tradeId, t.price, t.size, t.aggressor, t.tsEventMs]),
    [
      ['BTC-USD', '100', '65083.67', '0.002186', 'buy', Date.UTC(2026, 7, 9, 21, 5, 42) + 514.318],
      ['BTC-USD', '101', '65083.67', '0.002186', 'sell', Date.UTC(2026, 7, 9, 21, 5, 42) + 514.318],
      ['BTC-USD', '102', '65083.67', '0.002186', 'sell', Date.UTC(2021, 3, 17, 16, 43, 0)],
    ],
  );
  assert.equal(h.trades, 3);
  assert.equal(h.sequenceGaps, 0);
});

test('coinbase: bad trades are typed malformed errors, emit nothing, and their frame still counts for sequence_num', () => {
  const { h, trades } = collect(createCoinbaseFeedHandler);
  let seq = 1;
  for (const t of [
    { ...ct, price: 'NaN' },
    { ...ct, size: '-0.1' },
    { ...ct, side: 'UNKNOWN' },
    { ...ct, time: '2026-08-09 21:05:42' },
    { ...ct, trade_id: '' },
    { ...ct, product_id: 'btc-usd' },
  ]) {
    h.onFrame('c', cbFrame([{ type: 'update', trades: [t] }], seq++), 1);
  }
  h.onFrame('c', cbFrame([{ type: 'update', trades: 'x' }], seq++), 1);
  assert.equal(trades.length, 0);
  assert.equal(h.trades, 0);
  assert.deepEqual(h.counters, { malformed: 7, unknown: 0 });
  assert.equal(h.sequenceGaps, 0, 'a bad trade is not a lost frame');
});
