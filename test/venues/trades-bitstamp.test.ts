import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { QobError } from '../../src/core/errors.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { BitstampFeedHandler } from '../../src/venues/bitstamp/handler.ts';
import { splitBitstampPair } from '../../src/venues/bitstamp/wire.ts';
import { fixturesDir } from './helpers.ts';

const capture = path.join(fixturesDir, 'bitstamp/cryptofeed_BITSTAMP.jsonl.zst');

function collect(): { trades: TradeEvent[]; errors: QobError[]; h: BitstampFeedHandler } {
  const trades: TradeEvent[] = [];
  const errors: QobError[] = [];
  const h = new BitstampFeedHandler({ onTrade: (t) => trades.push(t), onBadFrame: (e) => errors.push(e) });
  return { trades, errors, h };
}

const DATA = {
  id: 216000477,
  timestamp: '1641343699',
  amount: 0.0792,
  amount_str: '0.07920000',
  price: 3805.44,
  price_str: '3805.44',
  type: 0,
  microtimestamp: '1641343699596123',
  buy_order_id: 1,
  sell_order_id: 2,
};
const frame = (data: Record<string, unknown>, pair = 'ethusd') =>
  JSON.stringify({ data, channel: `live_trades_${pair}`, event: 'trade' });

test('the full cryptofeed Bitstamp capture yields its 10 live_trades trades (all ETH-USD) and the books are unchanged', async (t) => {
  if (!existsSync(capture)) return t.skip('../shared/fixtures absent');
  const { trades, errors, h } = collect();
  for await (const r of readCapture(capture, () => assert.fail('bad line'))) {
    if (r.t === 'connect') h.onConnect(r.conn, r.addr, r.tsMs);
    else if (r.t === 'send') h.onSend(r.conn, r.data, r.tsMs);
    else if (r.t === 'recv') h.onFrame(r.conn, r.data, r.tsMs);
    else if (r.t === 'http') h.onHttp(r.url, r.data, r.tsMs);
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
  assert.equal(h.trades, 10);
  assert.deepEqual(new Set(trades.map((x) => x.symbol)), new Set(['ETH-USD']));
  const pick = (x: TradeEvent | undefined) => x && [x.id, x.price, x.size, x.aggressor, x.tsEventMs, x.tsRecvMs];
  assert.deepEqual(pick(trades[0]), [
    'bitstamp|ETH-USD|trade|t216000477',
    '3805.44',
    '0.0792',
    'buy',
    1641343699596,
    1641343699529.292,
  ]);
  assert.deepEqual(pick(trades.at(-1)), [
    'bitstamp|ETH-USD|trade|t216000506',
    '3800.8',
    '2.73248242',
    'sell',
    1641343721269,
    1641343721224.4812,
  ]);
  assert.equal(h.book('ethusd')?.report().hash.slice(0, 8), 'f474f156', 'the ETH-USD book replays as before');
});

test('a trade takes its exact text from the *_str fields, type 0/1 as buy/sell, microseconds as fractional ms', () => {
  const { trades, h } = collect();
  // amount_str differs from the float on purpose: the text wins.
  h.onFrame('c', frame({ ...DATA, amount: 0.1, amount_str: '0.12345678901234567' }), 3);
  h.onFrame('c', frame({ ...DATA, id: 9, type: 1 }, 'usdcusdt'), 4);
  assert.deepEqual(
    trades.map((x) => [x.symbol, x.price, x.size, x.aggressor, x.tradeId, x.tsEventMs]),
    [
      ['ETH-USD', '3805.44', '0.12345678901234567', 'buy', '216000477', 1641343699596.123],
      ['USDC-USDT', '3805.44', '0.0792', 'sell', '9', 1641343699596.123],
    ],
  );
});

test('pairs split on the longest known quote; an unknown quote is a typed error', () => {
  assert.deepEqual(splitBitstampPair('btcusd'), ['BTC', 'USD']);
  assert.deepEqual(splitBitstampPair('usdtusd'), ['USDT', 'USD']);
  assert.deepEqual(splitBitstampPair('batbtc'), ['BAT', 'BTC']);
  assert.deepEqual(splitBitstampPair('btcpyusd'), ['BTC', 'PYUSD']);
  assert.equal(splitBitstampPair('usd'), undefined);
  assert.equal(splitBitstampPair('abcxyz'), undefined);
});

test('bad trade input is a typed error counted as malformed and emits nothing', () => {
  const { trades, errors, h } = collect();
  const bad: [string, string][] = [
    [frame({ ...DATA, price_str: 'NaN' }), 'QOB_ERR_INVALID_DECIMAL'],
    [frame({ ...DATA, price_str: '' }), 'QOB_ERR_INVALID_DECIMAL'],
    [frame({ ...DATA, amount_str: '-1' }), 'QOB_ERR_NEGATIVE_SIZE'],
    [frame({ ...DATA, amount_str: '0.00000000' }), 'QOB_ERR_INVALID_ARGUMENT'],
    [frame({ ...DATA, price_str: 3805.44 }), 'QOB_ERR_MALFORMED_MESSAGE'],
    [frame({ ...DATA, type: 2 }), 'QOB_ERR_MALFORMED_MESSAGE'],
    [frame({ ...DATA, id: 1.5 }), 'QOB_ERR_MALFORMED_MESSAGE'],
    [frame({ ...DATA, microtimestamp: 'x' }), 'QOB_ERR_MALFORMED_MESSAGE'],
    [frame(DATA, 'abcxyz'), 'QOB_ERR_INVALID_SYMBOL'],
    ['{"data":[],"channel":"live_trades_ethusd","event":"trade"}', 'QOB_ERR_MALFORMED_MESSAGE'],
  ];
  for (const [f] of bad) h.onFrame('c', f, 1);
  assert.deepEqual(
    errors.map((e) => e.code),
    bad.map(([, code]) => code),
  );
  assert.deepEqual(trades, []);
  assert.equal(h.trades, 0);
  assert.deepEqual(h.counters, { malformed: bad.length, unknown: 0 });
});
