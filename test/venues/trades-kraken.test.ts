import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { QobError } from '../../src/core/errors.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { KrakenFeedHandler } from '../../src/venues/kraken/index.ts';
import { fixturesDir } from './helpers.ts';

const capture = path.join(fixturesDir, 'kraken/cryptofeed_KRAKEN.jsonl.zst');

function collect(): { trades: TradeEvent[]; errors: QobError[]; h: KrakenFeedHandler } {
  const trades: TradeEvent[] = [];
  const errors: QobError[] = [];
  const h = new KrakenFeedHandler({ onTrade: (t) => trades.push(t), onBadFrame: (e) => errors.push(e) });
  return { trades, errors, h };
}

const V1 = (rows: unknown[]) => JSON.stringify([993, rows, 'trade', 'XBT/USD']);
const V2 = (data: string) => `{"channel":"trade","type":"update","data":[${data}]}`;
const V2_TRADE =
  '{"symbol":"BTC/USD","side":"sell","price":64012.10,"qty":0.00050000,"ord_type":"market","trade_id":71234567,"timestamp":"2024-10-03T02:46:57.050170Z"}';

test('the full cryptofeed Kraken capture yields its 10 v1 trades (8 frames) with exact text and taker sides; ticker frames stay unknown', async (t) => {
  if (!existsSync(capture)) return t.skip('../shared/fixtures absent');
  const { trades, errors, h } = collect();
  for await (const r of readCapture(capture, () => assert.fail('bad line'))) {
    if (r.t === 'connect') h.onConnect(r.conn, r.addr, r.tsMs);
    else if (r.t === 'send') h.onSend(r.conn, r.data, r.tsMs);
    else if (r.t === 'recv') h.onFrame(r.conn, r.data, r.tsMs);
  }
  assert.equal(trades.length, 10);
  assert.equal(h.trades, 10);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 18 }, 'the 18 ticker frames of KRAKEN.ws.49');
  assert.ok(errors.every((e) => e.code === 'QOB_ERR_UNKNOWN_MESSAGE' && e.message.includes('ticker')));
  const count = new Map<string, number>();
  for (const x of trades) count.set(x.symbol, (count.get(x.symbol) ?? 0) + 1);
  assert.deepEqual(
    [...count],
    [
      ['XMR-USD', 4],
      ['SC-EUR', 6],
    ],
  );
  const pick = (x: TradeEvent | undefined) =>
    x && [x.symbol, x.price, x.size, x.aggressor, x.tradeId, x.tsEventMs, x.tsRecvMs];
  // ["354.11000000","0.89594024","1618678142.557535","s","l",""] and ["0.043040","20000.00000000",..,"b",..]
  assert.deepEqual(pick(trades[0]), [
    'XMR-USD',
    '354.11',
    '0.89594024',
    'sell',
    null,
    1618678142557.535,
    1618678142592.855,
  ]);
  assert.deepEqual(pick(trades.at(-1)), [
    'SC-EUR',
    '0.04304',
    '20000',
    'buy',
    null,
    1618678158135.041,
    1618678158165.955,
  ]);
  assert.equal(new Set(trades.map((x) => x.id)).size, 10, 'ids are unique, even for two trades in one frame');
  assert.ok(trades.every((x) => Object.isFrozen(x)));
});

test('a v1 trade frame becomes trade events in frame order, XBT normalized to BTC, b/s as the taker side', () => {
  const { trades, h } = collect();
  h.onFrame(
    'c',
    V1([
      ['27000.10000', '0.00100000', '1693415329.123456', 'b', 'l', ''],
      ['26999.9', '2', '1693415330', 's', 'm', ''],
    ]),
    5,
  );
  assert.deepEqual(
    trades.map((x) => [x.symbol, x.price, x.size, x.aggressor, x.tsEventMs, x.tsRecvMs]),
    [
      ['BTC-USD', '27000.1', '0.001', 'buy', 1693415329123.456, 5],
      ['BTC-USD', '26999.9', '2', 'sell', 1693415330000, 5],
    ],
  );
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
});

test('a v2 trade keeps the JSON number text (trailing zeros do not matter), its trade_id and microsecond time', () => {
  const { trades, h } = collect();
  h.onFrame('c', V2(V2_TRADE), 7);
  assert.equal(trades.length, 1);
  const x = trades[0] as TradeEvent;
  assert.deepEqual(
    [x.symbol, x.price, x.size, x.aggressor, x.tradeId, x.id, x.tsEventMs],
    [
      'BTC-USD',
      '64012.1',
      '0.0005',
      'sell',
      '71234567',
      'kraken|BTC-USD|trade|t71234567',
      Date.parse('2024-10-03T02:46:57Z') + 50.17,
    ],
  );
  // A number that float parsing would round survives exactly.
  h.onFrame('c', V2(V2_TRADE.replace('0.00050000', '0.12345678901234567')), 8);
  assert.equal(trades[1]?.size, '0.12345678901234567');
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
});

test('bad trade input is a typed error counted as malformed, emits nothing from the frame and never NaN', () => {
  const { trades, errors, h } = collect();
  const bad: [string, string][] = [
    [V1([['abc', '1', '1693415329.1', 'b', 'l', '']]), 'QOB_ERR_INVALID_DECIMAL'],
    [
      V1([
        ['1', '1', '1693415329.1', 'b', 'l', ''],
        ['NaN', '1', '1693415329.1', 'b', 'l', ''],
      ]),
      'QOB_ERR_INVALID_DECIMAL',
    ],
    [V1([['0', '1', '1693415329.1', 's', 'l', '']]), 'QOB_ERR_NONPOSITIVE_PRICE'],
    [V1([['1', '-1', '1693415329.1', 's', 'l', '']]), 'QOB_ERR_NEGATIVE_SIZE'],
    [V1([['1', '0', '1693415329.1', 's', 'l', '']]), 'QOB_ERR_INVALID_ARGUMENT'],
    [V1([['1', '1', 'yesterday', 's', 'l', '']]), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V1([['1', '1', '1693415329.1', 'x', 'l', '']]), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V1([[1, '1', '1693415329.1', 'b', 'l', '']]), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V2(V2_TRADE.replace('64012.10', '"Infinity"')), 'QOB_ERR_INVALID_DECIMAL'],
    [V2(V2_TRADE.replace('64012.10', '1e999x')), 'QOB_ERR_MALFORMED_MESSAGE'], // not JSON
    [V2(V2_TRADE.replace('64012.10', '1e999')), 'QOB_ERR_INVALID_DECIMAL'],
    [V2(V2_TRADE.replace('"sell"', '"up"')), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V2(V2_TRADE.replace('2024-10-03T02:46:57.050170Z', 'soon')), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V2(V2_TRADE.replace('71234567', '-1')), 'QOB_ERR_MALFORMED_MESSAGE'],
    [V2(V2_TRADE.replace('BTC/USD', 'BTCUSD')), 'QOB_ERR_MALFORMED_MESSAGE'],
  ];
  for (const [frame] of bad) h.onFrame('c', frame, 1);
  assert.deepEqual(
    errors.map((e) => e.code),
    bad.map(([, code]) => code),
  );
  assert.deepEqual(trades, []);
  assert.equal(h.trades, 0);
  assert.deepEqual(h.counters, { malformed: bad.length, unknown: 0 });
});
