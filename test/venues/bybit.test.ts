import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplay } from '../../src/replay/replay.ts';
import { createBybitFeedHandler } from '../../src/venues/bybit/handler.ts';
import { badFrames, fixture } from './helpers.ts';

const msg = (type: string, u: number, b: string[][] = [], a: string[][] = [], depth = 50) =>
  JSON.stringify({ topic: `orderbook.${depth}.BTCUSDT`, type, ts: 1, data: { s: 'BTCUSDT', b, a, u, seq: u } });

function synced() {
  const bad = badFrames();
  const h = createBybitFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('s', 'wss://stream.bybit.com/v5/public/spot', 1);
  h.onConnect('l', 'wss://stream.bybit.com/v5/public/linear', 1);
  h.onFrame('s', msg('snapshot', 10, [['100', '1']], [['101', '1']]), 2);
  h.onFrame('l', msg('snapshot', 500, [['200', '1']], [['201', '1']]), 2);
  return { h, bad, spot: h.book('spot:orderbook.50.BTCUSDT')!, linear: h.book('linear:orderbook.50.BTCUSDT')! };
}

test('the real Bybit capture rebuilds 6 books (spot and linear apart) in sync, no gap, never crossed', async (t) => {
  const p = fixture('bybit/cryptofeed_BYBIT.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'bybit');
  assert.equal(r.malformed + r.unknown, 0);
  for (const b of r.books) {
    assert.equal(b.status, 'in_sync', b.symbol);
    assert.equal(b.gaps, 0);
    assert.equal(b.crossed, 0);
  }
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.updates, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['linear:BTCUSDT', 414, '65114.2', '65114.3', '7ef5974c61ee74f8'],
      ['linear:DOGEUSDT', 380, '0.07055', '0.07056', 'aaeb2a7b9eac94f7'],
      ['linear:ETHUSDT', 421, '1922.54', '1922.55', '95410e6b3e8692ba'],
      ['linear:SOLUSDT', 383, '77.26', '77.27', '541f861265b60920'],
      ['spot:BTCUSDT', 300, '65140.4', '65140.5', 'f5a2e64965acabe3'],
      ['spot:ETHUSDT', 250, '1923.28', '1923.29', 'cd64729cbee4bc83'],
    ],
  );
});

test('the same topic on the spot and linear sockets keeps two separate books', () => {
  const { spot, linear } = synced();
  assert.deepEqual(spot.book.bestBid(), { price: '100', size: '1' });
  assert.deepEqual(linear.book.bestBid(), { price: '200', size: '1' });
});

test('a delta with u == last u + 1 applies; a skipped u clears the book and nothing applies until a snapshot', () => {
  const { h, spot } = synced();
  h.onFrame('s', msg('delta', 11, [['100', '2']]), 3);
  assert.deepEqual(spot.book.bestBid(), { price: '100', size: '2' });
  h.onFrame('s', msg('delta', 13, [['100', '5']]), 4);
  assert.equal(spot.gaps, 1);
  assert.equal(spot.status, 'stale');
  h.onFrame('s', msg('delta', 14, [['100', '6']]), 5);
  assert.ok(spot.book.isEmpty);
  h.onFrame('s', msg('snapshot', 20, [['99', '1']], [['101', '1']]), 6);
  assert.equal(spot.status, 'in_sync');
  assert.equal(spot.resyncs, 1);
});

test('u == 1 is a service restart: the message overwrites the book', () => {
  const { h, linear } = synced();
  h.onFrame('l', msg('delta', 1, [['150', '1']], [['151', '1']]), 3);
  assert.equal(linear.gaps, 0);
  assert.deepEqual(linear.book.toJSON(), { bids: [{ price: '150', size: '1' }], asks: [{ price: '151', size: '1' }] });
});

test('depth-1 snapshots re-sent with the same u replace the book', () => {
  const h = createBybitFeedHandler();
  h.onConnect('l', 'wss://stream.bybit.com/v5/public/linear', 1);
  h.onFrame('l', msg('snapshot', 7, [['100', '1']], [['101', '1']], 1), 2);
  h.onFrame('l', msg('snapshot', 7, [['100', '2']], [['101', '1']], 1), 3);
  const tb = h.book('linear:orderbook.1.BTCUSDT')!;
  assert.equal(tb.status, 'in_sync');
  assert.deepEqual(tb.book.bestBid(), { price: '100', size: '2' });
});

test('each side is truncated to the topic depth after every message', () => {
  const h = createBybitFeedHandler();
  h.onConnect('l', 'wss://stream.bybit.com/v5/public/linear', 1);
  h.onFrame(
    'l',
    msg(
      'snapshot',
      7,
      [
        ['100', '1'],
        ['99', '1'],
      ],
      [['101', '1']],
      1,
    ),
    2,
  );
  h.onFrame('l', msg('delta', 8, [['98', '1']], [['102', '1']], 1), 3);
  const tb = h.book('linear:orderbook.1.BTCUSDT')!;
  assert.deepEqual(tb.book.toJSON(), { bids: [{ price: '100', size: '1' }], asks: [{ price: '101', size: '1' }] });
});

test('a crossed book is a desync and a locked book is accepted', () => {
  const { h, spot } = synced();
  h.onFrame('s', msg('delta', 11, [['101', '1']]), 3);
  assert.equal(spot.status, 'in_sync');
  h.onFrame('s', msg('delta', 12, [['103', '1']]), 4);
  assert.equal(spot.crossed, 1);
  assert.equal(spot.status, 'stale');
});

test('bad numbers, truncated JSON and wrong shapes are typed errors and leave the book untouched', () => {
  const { h, spot, bad } = synced();
  const before = spot.book.hash();
  h.onFrame('s', msg('delta', 11, [['abc', '1']]), 3);
  h.onFrame('s', msg('delta', 11).slice(0, 30), 3);
  h.onFrame('s', JSON.stringify({ topic: 'orderbook.50.BTCUSDT', type: 'delta', data: { s: 'BTCUSDT', u: 'x' } }), 3);
  h.onFrame('s', JSON.stringify({ topic: 'orderbook.50.BTCUSDT', type: 'weird', data: {} }), 3);
  assert.equal(h.counters.malformed, 4);
  assert.deepEqual(
    bad.errors.map((e) => e.code),
    ['QOB_ERR_INVALID_DECIMAL', 'QOB_ERR_MALFORMED_MESSAGE', 'QOB_ERR_MALFORMED_MESSAGE', 'QOB_ERR_MALFORMED_MESSAGE'],
  );
  assert.equal(spot.book.hash(), before);
  h.onFrame('s', JSON.stringify({ topic: 'publicTrade.BTCUSDT', data: [] }), 3);
  h.onFrame('s', JSON.stringify({ success: true, op: 'subscribe' }), 3);
  h.onFrame('s', JSON.stringify({ topic: 'mystery.BTCUSDT' }), 3);
  assert.equal(h.counters.unknown, 1);
});
