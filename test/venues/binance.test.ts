import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplay } from '../../src/replay/replay.ts';
import { createBinanceSpotFeedHandler } from '../../src/venues/binance/spot.ts';
import { badFrames, bySymbol, fixture } from './helpers.ts';

const depth = (U: number, u: number, b: string[][] = [], a: string[][] = [], s = 'BTCUSDT') =>
  JSON.stringify({ stream: `${s.toLowerCase()}@depth@100ms`, data: { e: 'depthUpdate', E: 1, s, U, u, b, a } });
const snapshot = (lastUpdateId: number, bids: string[][], asks: string[][]) =>
  JSON.stringify({ lastUpdateId, bids, asks });
const URL = 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000';
const WS = 'wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms';

function synced() {
  const bad = badFrames();
  const h = createBinanceSpotFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', WS, 1000);
  h.onFrame('c1', depth(98, 100, [['99', '1']]), 1001); // u <= L: dropped
  h.onHttp(URL, snapshot(100, [['100', '1']], [['101', '2']]), 1002);
  h.onFrame('c1', depth(101, 102, [['100', '3']]), 1003); // bridges: U <= L+1 <= u
  return { h, bad, tb: h.book('BTCUSDT')! };
}

test('the real Binance spot capture rebuilds 4 books in sync with no gap (golden output)', async (t) => {
  const p = fixture('binance/cryptofeed_BINANCE.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'binance');
  assert.equal(r.malformed, 0);
  assert.equal(r.unknown, 0);
  const books = bySymbol(r.books);
  assert.deepEqual([...books.keys()], ['BLZETH', 'LRCBTC', 'NKNUSDT', 'RUNEEUR']);
  for (const b of r.books) {
    assert.equal(b.status, 'in_sync', b.symbol);
    assert.equal(b.gaps, 0);
    assert.equal(b.crossed, 0);
  }
  // 150 events for NKNUSDT, the first is before the snapshot: 1 snapshot + 149 deltas.
  assert.equal(books.get('NKNUSDT')?.updates, 150);
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['BLZETH', '0.00006547', '0.0000656', '011938ddcf966bb2'],
      ['LRCBTC', '0.00000637', '0.00000638', '297993ec73340d39'],
      ['NKNUSDT', '0.3527', '0.3531', '787bf621809dca4f'],
      ['RUNEEUR', '6.251', '6.269', 'f0f7b03dc58302a9'],
    ],
  );
});

test('events at or before the snapshot are dropped and the book is snapshot plus later deltas', () => {
  const { tb } = synced();
  assert.equal(tb.status, 'in_sync');
  assert.deepEqual(tb.book.toJSON(), { bids: [{ price: '100', size: '3' }], asks: [{ price: '101', size: '2' }] });
  assert.equal(tb.updates, 2);
});

test('a snapshot older than the first buffered event is rejected as stale and the book waits', () => {
  const bad = badFrames();
  const h = createBinanceSpotFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', WS, 1000);
  h.onFrame('c1', depth(200, 205, [['99', '1']]), 1001);
  h.onHttp(URL, snapshot(150, [['100', '1']], [['101', '2']]), 1002);
  const tb = h.book('BTCUSDT')!;
  assert.equal(h.staleSnapshots, 1);
  assert.equal(bad.errors[0]?.code, 'QOB_ERR_SNAPSHOT_STALE');
  assert.notEqual(tb.status, 'in_sync');
  assert.ok(tb.book.isEmpty);
  // A newer snapshot bridges the buffered event.
  h.onHttp(URL, snapshot(202, [['100', '1']], [['101', '2']]), 1003);
  assert.equal(tb.status, 'in_sync');
  assert.deepEqual(tb.book.levels('bid'), [
    { price: '100', size: '1' },
    { price: '99', size: '1' },
  ]);
});

test('a missing delta mid-stream clears the book, counts a gap and applies nothing across it', () => {
  const { h, tb } = synced();
  h.onFrame('c1', depth(103, 104, [['100', '4']]), 1004);
  // 105..106 lost
  h.onFrame('c1', depth(107, 108, [['100', '9']], [['101', '9']]), 1005);
  assert.equal(tb.gaps, 1);
  assert.equal(tb.status, 'stale');
  assert.ok(tb.book.isEmpty);
  h.onFrame('c1', depth(109, 110, [['100', '8']]), 1006);
  assert.ok(tb.book.isEmpty, 'nothing is applied until a new snapshot');
  h.onHttp(URL, snapshot(108, [['100', '5']], [['101', '5']]), 1007);
  assert.equal(tb.status, 'in_sync');
  assert.equal(tb.resyncs, 1);
  assert.deepEqual(tb.book.bestBid(), { price: '100', size: '8' });
});

test('a crossed book is a desync, a locked book is accepted', () => {
  const { h, tb } = synced();
  h.onFrame('c1', depth(103, 103, [['101', '1']]), 1004); // bid == ask: locked
  assert.equal(tb.status, 'in_sync');
  assert.equal(tb.crossed, 0);
  h.onFrame('c1', depth(104, 104, [['102', '1']]), 1005); // bid above ask
  assert.equal(tb.crossed, 1);
  assert.equal(tb.status, 'stale');
  assert.ok(tb.book.isEmpty);
});

test('a reconnect invalidates the book and a snapshot received before the connect is discarded', () => {
  const { h, tb, bad } = synced();
  h.onConnect('c1', WS, 2000);
  assert.equal(tb.status, 'stale');
  h.onHttp(URL, snapshot(300, [['100', '1']], [['101', '1']]), 1999);
  assert.equal(h.staleSnapshots, 1);
  assert.equal(bad.errors.at(-1)?.code, 'QOB_ERR_SNAPSHOT_STALE');
  assert.ok(tb.book.isEmpty);
});

test('malformed numbers, truncated JSON and wrong shapes are counted as typed errors and leave the book untouched', () => {
  const { h, tb, bad } = synced();
  const before = tb.book.hash();
  h.onFrame('c1', depth(103, 103, [['1e999x', '1']]), 1004);
  h.onFrame('c1', depth(103, 103, [['100', 'NaN']]), 1004);
  h.onFrame('c1', depth(103, 103, [['100', '-1']]), 1004);
  h.onFrame('c1', '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpd', 1004);
  h.onFrame(
    'c1',
    JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', s: 'BTCUSDT', U: 103 } }),
    1,
  );
  h.onFrame(
    'c1',
    JSON.stringify({
      stream: 'btcusdt@depth@100ms',
      data: { e: 'depthUpdate', s: 'BTCUSDT', U: 103, u: 103, b: [[100, 1]], a: [] },
    }),
    1,
  );
  h.onHttp(URL, '{"lastUpdateId":"x"}', 1005);
  assert.equal(h.counters.malformed, 7);
  assert.deepEqual(
    bad.errors.map((e) => e.code),
    [
      'QOB_ERR_INVALID_DECIMAL',
      'QOB_ERR_INVALID_DECIMAL',
      'QOB_ERR_NEGATIVE_SIZE',
      'QOB_ERR_MALFORMED_MESSAGE',
      'QOB_ERR_MALFORMED_MESSAGE',
      'QOB_ERR_MALFORMED_MESSAGE',
      'QOB_ERR_MALFORMED_MESSAGE',
    ],
  );
  assert.equal(tb.book.hash(), before);
  assert.equal(tb.status, 'in_sync');
});

test('known streams the book does not use are ignored and unknown frames are counted', () => {
  const { h } = synced();
  h.onFrame('c1', JSON.stringify({ stream: 'btcusdt@kline_1m', data: { e: 'kline' } }), 1);
  h.onFrame('c1', JSON.stringify({ result: null, id: 1 }), 1);
  h.onFrame('c1', JSON.stringify({ stream: 'btcusdt@somethingNew', data: {} }), 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 1 });
});

test('the buffer is bounded: when full it is dropped and the book marked stale', () => {
  const h = createBinanceSpotFeedHandler({}, { maxBuffered: 3 });
  h.onConnect('c1', WS, 1000);
  for (let i = 0; i < 4; i++) h.onFrame('c1', depth(10 + i, 10 + i), 1001);
  assert.equal(h.book('BTCUSDT')?.status, 'stale');
});
