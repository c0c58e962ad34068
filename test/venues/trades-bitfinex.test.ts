import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { QobError } from '../../src/core/errors.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { normalizedBitfinexSymbol } from '../../src/venues/bitfinex/connector.ts';
import { BitfinexFeedHandler } from '../../src/venues/bitfinex/index.ts';
import { fixturesDir } from './helpers.ts';

const capture = path.join(fixturesDir, 'bitfinex/cryptofeed_BITFINEX.jsonl');

function collect(): { trades: TradeEvent[]; errors: QobError[]; h: BitfinexFeedHandler } {
  const trades: TradeEvent[] = [];
  const errors: QobError[] = [];
  const h = new BitfinexFeedHandler({ onTrade: (t) => trades.push(t), onBadFrame: (e) => errors.push(e) });
  return { trades, errors, h };
}

/** A connection with SEQ_ALL and one trades channel (17) on tBTCUST. */
function subscribed(): ReturnType<typeof collect> & { seq: () => number } {
  const c = collect();
  c.h.onConnect('c', 'wss://api-pub.bitfinex.com/ws/2', 0);
  c.h.onSend('c', '{"event":"conf","flags":65536}', 0);
  c.h.onFrame('c', '{"event":"subscribed","channel":"trades","chanId":17,"symbol":"tBTCUST","pair":"BTCUST"}', 0);
  let n = 0;
  return { ...c, seq: () => ++n };
}

test('the cryptofeed Bitfinex capture yields 7 trade snapshots of 30 trades, oldest first; books and sequence unchanged', async (t) => {
  if (!existsSync(capture)) return t.skip('../shared/fixtures absent');
  const { trades, errors, h } = collect();
  for await (const r of readCapture(capture, () => assert.fail('bad line'))) {
    if (r.t === 'connect') h.onConnect(r.conn, r.addr, r.tsMs);
    else if (r.t === 'send') h.onSend(r.conn, r.data, r.tsMs);
    else if (r.t === 'recv') h.onFrame(r.conn, r.data, r.tsMs);
  }
  assert.equal(h.trades, 210);
  // Before trades: 30 unknown (7 trades snapshots among them); now only ticker frames and two unsubscribed channels.
  assert.deepEqual(h.counters, { malformed: 0, unknown: 23 });
  assert.ok(errors.every((e) => e.code === 'QOB_ERR_UNKNOWN_MESSAGE' && !e.message.includes('trades')));
  const count = new Map<string, number>();
  for (const x of trades) count.set(x.symbol, (count.get(x.symbol) ?? 0) + 1);
  assert.deepEqual([...count].sort(), [
    ['BFT-USD', 30],
    ['DOG-USD', 30],
    ['IOT-ETH', 30],
    ['MNA-BTC', 30],
    ['ODE-USD', 30],
    ['SNG-USD', 30],
    ['TESTBTC-TESTUSD', 30],
  ]);
  const pick = (x: TradeEvent | undefined) => x && [x.id, x.price, x.size, x.aggressor, x.tsEventMs];
  // The last entry of the first snapshot: [669293762,1618617842840,-393.46666667,0.071361].
  assert.deepEqual(pick(trades[0]), [
    'bitfinex|BFT-USD|trade|t669293762',
    '0.071361',
    '393.46666667',
    'sell',
    1618617842840,
  ]);
  // The first entry of the last snapshot: [670114250,1618675147631,567,0.02089].
  assert.deepEqual(pick(trades.at(-1)), ['bitfinex|ODE-USD|trade|t670114250', '0.02089', '567', 'buy', 1618675147631]);
  for (const b of h.books()) assert.equal(b.gaps, 0, b.symbol);
  assert.equal(
    [...h.books()].find((b) => b.symbol === 'tBFTUSD')?.report().hash,
    'a3674c6b13670f89a4b24d3cf2433b47060810be7c5ef2878c351deb15d836cf',
  );
});

test('a te frame is one trade (sign of AMOUNT is the side, String(n) text); the tu repeat is not emitted twice', () => {
  const { trades, errors, h, seq } = subscribed();
  h.onFrame('c', `[17,"te",[637771130,1615232733897,0.11546588,51350],${seq()}]`, 1);
  h.onFrame('c', `[17,"tu",[637771130,1615232733897,0.11546588,51350],${seq()}]`, 2);
  h.onFrame('c', `[17,"te",[637771131,1615232733900,-0.0000007,51349.5],${seq()}]`, 3);
  h.onFrame('c', `[17,"hb",${seq()}]`, 4);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    trades.map((x) => [x.symbol, x.tradeId, x.price, x.size, x.aggressor, x.tsEventMs, x.tsRecvMs]),
    [
      ['BTC-USDT', '637771130', '51350', '0.11546588', 'buy', 1615232733897, 1],
      ['BTC-USDT', '637771131', '51349.5', '0.0000007', 'sell', 1615232733900, 3],
    ],
  );
  assert.equal(h.trades, 2);
});

test('a sequence gap on a trades frame invalidates the books of the connection, as for any frame', () => {
  const { h, seq } = subscribed();
  h.onFrame('c', '{"event":"subscribed","channel":"book","chanId":18,"symbol":"tBTCUST","prec":"P0","len":"25"}', 0);
  h.onFrame('c', `[18,[[100,1,1.5],[101,1,-2]],${seq()}]`, 1);
  const book = [...h.books()][0];
  assert.equal(book?.status, 'in_sync');
  seq(); // one frame lost
  h.onFrame('c', `[17,"te",[1,1615232733897,1,100.5],${seq()}]`, 2);
  assert.equal(book?.gaps, 1);
  assert.equal(book?.status, 'stale');
});

test('bad trades are typed errors counted as malformed; nothing of the frame is emitted', () => {
  const { trades, errors, h, seq } = subscribed();
  const bad: [string, string][] = [
    [`[17,"te",[1,1615232733897,0,100],${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
    [`[17,"te",[1,1615232733897,1,-100],${seq()}]`, 'QOB_ERR_NONPOSITIVE_PRICE'],
    [`[17,"te",[1,1615232733897,"1",100],${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
    [`[17,"te",[1.5,1615232733897,1,100],${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
    [`[17,"te",[1,1615232733897,1],${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
    [`[17,"te",[1,1615232733897,1e400,100],${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
    [`[17,[[2,1615232733897,1,100],[1,1615232733897,1,0]],${seq()}]`, 'QOB_ERR_NONPOSITIVE_PRICE'],
    [`[17,"te",${seq()}]`, 'QOB_ERR_MALFORMED_MESSAGE'],
  ];
  for (const [f] of bad) h.onFrame('c', f, 1);
  assert.deepEqual(
    errors.map((e) => e.code),
    bad.map(([, code]) => code),
  );
  assert.deepEqual(trades, []);
  assert.deepEqual(h.counters, { malformed: bad.length, unknown: 0 });
});

test('Bitfinex trading symbols map back to ours', () => {
  assert.equal(normalizedBitfinexSymbol('tBTCUSD'), 'BTC-USD');
  assert.equal(normalizedBitfinexSymbol('tBTCUST'), 'BTC-USDT');
  assert.equal(normalizedBitfinexSymbol('tDOGE:USD'), 'DOGE-USD');
  assert.equal(normalizedBitfinexSymbol('tTESTBTC:TESTUSD'), 'TESTBTC-TESTUSD');
  assert.equal(normalizedBitfinexSymbol('tBTCF0:USTF0'), 'BTC-USDT-PERP');
  assert.throws(() => normalizedBitfinexSymbol('fUSD'), { code: 'QOB_ERR_INVALID_SYMBOL' });
});
