import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplay } from '../../src/replay/replay.ts';
import { createBitstampFeedHandler } from '../../src/venues/bitstamp/handler.ts';
import { badFrames, fixture } from './helpers.ts';

const URL = 'https://www.bitstamp.net/api/v2/order_book/btcusd';
const diff = (micros: number, bids: string[][] = [], asks: string[][] = []) =>
  JSON.stringify({
    data: { timestamp: '1', microtimestamp: String(micros), bids, asks },
    channel: 'diff_order_book_btcusd',
    event: 'data',
  });
const snap = (micros: number, bids: string[][], asks: string[][]) =>
  JSON.stringify({ timestamp: '1', microtimestamp: String(micros), bids, asks });
const SUB = '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}';

function synced() {
  const bad = badFrames();
  const h = createBitstampFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', 'wss://ws.bitstamp.net/', 1000);
  h.onSend('c1', SUB, 1001);
  h.onFrame('c1', diff(500, [['99', '5']]), 1002); // at or before the snapshot: dropped
  h.onFrame('c1', diff(600, [['100', '3']]), 1003); // after: applied
  h.onHttp(URL, snap(550, [['100', '1']], [['101', '1']]), 1004);
  return { h, bad, tb: h.book('btcusd')! };
}

test('the real Bitstamp capture rebuilds the books with diffs, never crossed (golden output)', async (t) => {
  const p = fixture('bitstamp/cryptofeed_BITSTAMP.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'bitstamp');
  assert.equal(r.unknown, 0);
  for (const b of r.books) assert.equal(b.crossed, 0, b.symbol);
  assert.deepEqual(
    r.books
      .filter((b) => b.status === 'in_sync')
      .map((b) => [b.symbol, b.updates, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['adaeur', 58, '1.17113', '1.17374', '3ef9596386428c4e'],
      ['batbtc', 112, '0.00002834', '0.00002843', 'c61944fe76827bd9'],
      ['bateur', 76, '1.15979', '1.16265', '24f332b6affc378f'],
      ['ethusd', 74, '3800.78', '3803.58', 'f474f15640d51f29'],
      ['galaeur', 26, '0.38057', '0.38142', '1da67fcb326827db'],
      ['sgbeur', 1, '0.14695', '0.14844', '8f40ef34c45d8b29'],
      ['usdteur', 90, '0.88596', '0.88657', '4925ad25a7e66a6f'],
      ['usdtusd', 62, '0.99948', '0.99988', 'a23d4264987cf4f5'],
      ['xlmgbp', 61, '0.20816', '0.20868', '65fd235de0163006'],
      ['xrpeur', 65, '0.7348', '0.73518', 'b8baddcc0b75bcad'],
    ],
  );
  assert.equal(r.malformed, 0);
});

test('regression: a size beyond 2^53 at 8 decimals (the real xrpeur 112716000.00000000 XRP level) is kept exactly', async (t) => {
  const p = fixture('bitstamp/cryptofeed_BITSTAMP.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  const xrp = r.books.find((b) => b.symbol === 'xrpeur');
  assert.equal(xrp?.status, 'in_sync');
  assert.equal(xrp?.crossed, 0);
});

test('diffs at or before the snapshot microtimestamp are dropped, later ones applied', () => {
  const { tb } = synced();
  assert.equal(tb.status, 'in_sync');
  assert.deepEqual(tb.book.toJSON(), { bids: [{ price: '100', size: '3' }], asks: [{ price: '101', size: '1' }] });
});

test('bts:request_reconnect and reconnects invalidate the book until a new snapshot', () => {
  const { h, tb } = synced();
  h.onFrame('c1', '{"event":"bts:request_reconnect","channel":"","data":""}', 1005);
  assert.equal(tb.status, 'stale');
  assert.ok(tb.book.isEmpty);
  h.onFrame('c1', diff(700, [['100', '4']]), 1006);
  assert.ok(tb.book.isEmpty);
  h.onHttp(URL, snap(650, [['100', '1']], [['101', '1']]), 1007);
  assert.equal(tb.status, 'in_sync');
  assert.deepEqual(tb.book.bestBid(), { price: '100', size: '4' });
  h.onConnect('c1', 'wss://ws.bitstamp.net/', 2000);
  assert.equal(tb.status, 'stale');
  h.onHttp(URL, snap(900, [['100', '1']], [['101', '1']]), 1999); // received before the new connection
  assert.equal(h.staleSnapshots, 1);
  assert.notEqual(tb.status, 'in_sync');
});

test('a crossed book is a desync and a locked book is accepted', () => {
  const { h, tb } = synced();
  h.onFrame('c1', diff(700, [['101', '1']]), 1005);
  assert.equal(tb.status, 'in_sync');
  h.onFrame('c1', diff(701, [['102', '1']]), 1006);
  assert.equal(tb.crossed, 1);
  assert.equal(tb.status, 'stale');
});

test('malformed frames are typed errors; a bad diff of an in-sync book invalidates it (no sequence would reveal it)', () => {
  const { h, tb, bad } = synced();
  const before = tb.book.hash();
  h.onFrame('c1', diff(700).slice(0, 25), 1005);
  h.onFrame(
    'c1',
    JSON.stringify({ event: 'data', channel: 'diff_order_book_btcusd', data: { microtimestamp: 'soon' } }),
    1,
  );
  h.onHttp(URL, '{"microtimestamp":"1","bids":"none"}', 1);
  assert.equal(h.counters.malformed, 3);
  assert.ok(bad.errors.every((e) => e.code === 'QOB_ERR_MALFORMED_MESSAGE'));
  assert.equal(tb.book.hash(), before);
  assert.equal(tb.status, 'in_sync');
  h.onFrame('c1', diff(800, [['100', '1.5.5']]), 1006);
  assert.equal(bad.errors.at(-1)?.code, 'QOB_ERR_INVALID_DECIMAL');
  assert.equal(tb.status, 'stale');
});

test('the wait buffer is bounded: when full it is dropped and the book marked stale', () => {
  const h = createBitstampFeedHandler({}, { maxBuffered: 2 });
  h.onConnect('c1', 'wss://ws.bitstamp.net/', 1);
  for (let i = 0; i < 3; i++) h.onFrame('c1', diff(10 + i), 2);
  assert.equal(h.book('btcusd')?.status, 'stale');
});
