import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplay } from '../../src/replay/replay.ts';
import { createBinanceUsdmFeedHandler } from '../../src/venues/binance/usdm.ts';
import { badFrames, fixture } from './helpers.ts';

const depth = (U: number, u: number, pu: number, b: string[][] = [], a: string[][] = []) =>
  JSON.stringify({
    stream: 'btcusdt@depth@100ms',
    data: { e: 'depthUpdate', E: 1, T: 1, s: 'BTCUSDT', U, u, pu, b, a },
  });
const URL = 'https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000';
const WS = 'wss://fstream.binance.com/stream?streams=btcusdt@depth@100ms';

function synced() {
  const bad = badFrames();
  const h = createBinanceUsdmFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', WS, 1000);
  h.onFrame('c1', depth(90, 99, 80, [['99', '1']]), 1001); // u < L: dropped
  h.onHttp(URL, JSON.stringify({ lastUpdateId: 100, bids: [['100', '1']], asks: [['101', '2']] }), 1002);
  h.onFrame('c1', depth(95, 110, 99, [['100', '3']]), 1003); // U <= L <= u
  return { h, bad, tb: h.book('BTCUSDT')! };
}

test('the real Binance USD-M capture rebuilds 4 books in sync with no gap (golden output)', async (t) => {
  const p = fixture('binance_futures/cryptofeed_BINANCE_FUTURES.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'binance-usdm');
  assert.equal(r.malformed + r.unknown, 0);
  for (const b of r.books) {
    assert.equal(b.status, 'in_sync', b.symbol);
    assert.equal(b.gaps, 0);
    assert.equal(b.crossed, 0);
  }
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.updates, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['AKROUSDT', 189, '0.01734', '0.01735', 'd3b2534fdb2bc1b8'],
      ['CTKUSDT', 181, '1.011', '1.012', '5f895b2dd79eab5f'],
      ['KEEPUSDT', 133, '0.2463', '0.2467', '6ebfcf7723631163'],
      ['SUSHIUSDT', 253, '7.612', '7.616', 'da096999f643b80b'],
    ],
  );
});

test('futures events chain on pu == previous u, never on U == previous u + 1', () => {
  const { h, tb } = synced();
  h.onFrame('c1', depth(115, 120, 110, [['100', '4']]), 1004); // U jumps, pu chains
  assert.equal(tb.status, 'in_sync');
  assert.equal(tb.gaps, 0);
  assert.deepEqual(tb.book.bestBid(), { price: '100', size: '4' });
});

test('stale deltas are dropped and the book is snapshot plus later deltas', () => {
  const { tb } = synced();
  assert.deepEqual(tb.book.toJSON(), { bids: [{ price: '100', size: '3' }], asks: [{ price: '101', size: '2' }] });
});

test('a snapshot with no overlap is rejected as stale', () => {
  const bad = badFrames();
  const h = createBinanceUsdmFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', WS, 1000);
  h.onFrame('c1', depth(200, 210, 190), 1001);
  h.onHttp(URL, JSON.stringify({ lastUpdateId: 150, bids: [['100', '1']], asks: [] }), 1002);
  assert.equal(h.staleSnapshots, 1);
  assert.equal(bad.errors[0]?.code, 'QOB_ERR_SNAPSHOT_STALE');
  assert.notEqual(h.book('BTCUSDT')?.status, 'in_sync');
});

test('a broken pu chain is a gap: book cleared, stale, nothing applied across it', () => {
  const { h, tb } = synced();
  h.onFrame('c1', depth(121, 130, 115, [['100', '9']]), 1004);
  assert.equal(tb.gaps, 1);
  assert.equal(tb.status, 'stale');
  assert.ok(tb.book.isEmpty);
});

test('a truncated frame and a missing pu are typed errors and the book is untouched', () => {
  const { h, tb, bad } = synced();
  const before = tb.book.hash();
  h.onFrame('c1', depth(111, 112, 110).slice(0, 40), 1004);
  h.onFrame(
    'c1',
    JSON.stringify({
      stream: 'btcusdt@depth@100ms',
      data: { e: 'depthUpdate', s: 'BTCUSDT', U: 111, u: 112, b: [], a: [] },
    }),
    1,
  );
  assert.equal(h.counters.malformed, 2);
  assert.ok(bad.errors.every((e) => e.code === 'QOB_ERR_MALFORMED_MESSAGE'));
  assert.equal(tb.book.hash(), before);
});
