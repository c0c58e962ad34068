import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplay } from '../../src/replay/replay.ts';
import { createCoinbaseFeedHandler } from '../../src/venues/coinbase/handler.ts';
import { sniffCoinbase } from '../../src/venues/coinbase/wire.ts';
import { badFrames, fixture } from './helpers.ts';

type Upd = [side: string, price: string, qty: string];
const l2 = (seq: number, type: string, updates: Upd[], product = 'BTC-USD') =>
  JSON.stringify({
    channel: 'l2_data',
    timestamp: 't',
    sequence_num: seq,
    events: [
      {
        type,
        product_id: product,
        updates: updates.map(([side, p, q]) => ({ side, price_level: p, new_quantity: q })),
      },
    ],
  });
const hb = (seq: number) =>
  JSON.stringify({ channel: 'heartbeats', sequence_num: seq, events: [{ heartbeat_counter: 1 }] });

function synced() {
  const bad = badFrames();
  const h = createCoinbaseFeedHandler({ onBadFrame: bad.onBadFrame });
  h.onConnect('c1', 'wss://advanced-trade-ws.coinbase.com', 1);
  h.onFrame(
    'c1',
    l2(0, 'snapshot', [
      ['bid', '100', '1'],
      ['offer', '101', '1'],
    ]),
    2,
  );
  h.onFrame(
    'c1',
    l2(
      1,
      'snapshot',
      [
        ['bid', '10', '1'],
        ['offer', '11', '1'],
      ],
      'ETH-USD',
    ),
    2,
  );
  return { h, bad, btc: h.book('BTC-USD')!, eth: h.book('ETH-USD')! };
}

test('the real Advanced Trade capture rebuilds 2 books with no sequence gap (golden output)', async (t) => {
  const p = fixture('coinbase/cryptofeed_COINBASE.jsonl.gz');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'coinbase');
  assert.equal(r.malformed + r.unknown, 0);
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.status, b.gaps, b.crossed, b.updates, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['BTC-USD', 'in_sync', 0, 0, 400, '65083.66', '65083.67', 'd4d78526af103dbb'],
      ['ETH-USD', 'in_sync', 0, 0, 375, '1919.28', '1919.38', '21020587fc91b775'],
    ],
  );
});

test('the headerless 2021 legacy level2 capture is recognised and rebuilds 10 books, never crossed', async (t) => {
  const p = fixture('coinbase/cryptofeed_COINBASE_legacy_level2_2021.ndjson');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  const r = await runReplay(p);
  assert.equal(r.venue, 'coinbase');
  assert.equal(r.books.length, 10);
  assert.equal(r.malformed + r.unknown, 0);
  for (const b of r.books) {
    assert.equal(b.status, 'in_sync', b.symbol);
    assert.equal(b.crossed, 0);
  }
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.updates, b.bestBid, b.bestAsk, b.hash.slice(0, 16)]),
    [
      ['BAND-BTC', 1006, '0.00033388', '0.00033421', '735fe2b83638a721'],
      ['BAND-GBP', 472, '14.7366', '14.7664', '7ee085170597069a'],
      ['CRV-EUR', 671, '3.2956', '3.301', 'e106c4cde0600a3f'],
      ['DASH-BTC', 1926, '0.00619316', '0.00619947', '99d5f3076b926236'],
      ['NMR-EUR', 666, '66.9257', '67.021', '65ba7ec6af15871b'],
      ['NU-GBP', 77, '0.4388', '0.4393', 'a6d3bb009dde51c0'],
      ['SKL-BTC', 1540, '0.00001303', '0.00001305', 'f1645d1648658eb9'],
      ['SKL-GBP', 290, '0.5747', '0.5768', '85669257e36c3b76'],
      ['SKL-USD', 2593, '0.7902', '0.7911', 'a1cac29d1bd0216b'],
      ['YFI-BTC', 488, '0.82553', '0.82696', '28483e8b48dab82f'],
    ],
  );
});

test('sniff recognises legacy Exchange frames and not other venues', () => {
  assert.ok(sniffCoinbase('{"type":"l2update","product_id":"BTC-USD","changes":[]}'));
  assert.ok(sniffCoinbase('{"type":"snapshot","product_id":"BTC-USD","bids":[],"asks":[]}'));
  assert.ok(sniffCoinbase('{"type":"subscriptions","channels":[{"name":"level2"}]}'));
  assert.ok(!sniffCoinbase('{"channel":"book","type":"snapshot","data":[]}'));
  assert.ok(!sniffCoinbase('{"stream":"btcusdt@depth","data":{}}'));
  assert.ok(!sniffCoinbase('not json "type"'));
});

test('updates are absolute and a delete of an unknown level is harmless', () => {
  const { h, btc } = synced();
  h.onFrame(
    'c1',
    l2(2, 'update', [
      ['bid', '100', '3'],
      ['bid', '99.5', '0'],
      ['offer', '101', '0'],
      ['offer', '102', '2'],
    ]),
    3,
  );
  assert.equal(btc.status, 'in_sync');
  assert.deepEqual(btc.book.toJSON(), { bids: [{ price: '100', size: '3' }], asks: [{ price: '102', size: '2' }] });
});

test('a sequence gap on another channel invalidates every book of the connection', () => {
  const { h, btc, eth } = synced();
  h.onFrame('c1', hb(2), 3);
  h.onFrame('c1', hb(4), 4); // 3 lost
  assert.equal(btc.gaps, 1);
  assert.equal(eth.gaps, 1);
  assert.equal(btc.status, 'stale');
  assert.ok(btc.book.isEmpty && eth.book.isEmpty);
  h.onFrame('c1', l2(5, 'update', [['bid', '100', '9']]), 5);
  assert.ok(btc.book.isEmpty, 'no update applies across the gap');
  h.onFrame('c1', l2(6, 'snapshot', [['bid', '100', '1']]), 6);
  assert.equal(btc.status, 'in_sync');
  assert.equal(btc.resyncs, 1);
  assert.equal(eth.status, 'stale');
});

test('a crossed book is a desync and a locked book is accepted', () => {
  const { h, btc } = synced();
  h.onFrame('c1', l2(2, 'update', [['bid', '101', '1']]), 3);
  assert.equal(btc.status, 'in_sync');
  h.onFrame('c1', l2(3, 'update', [['bid', '102', '1']]), 4);
  assert.equal(btc.crossed, 1);
  assert.equal(btc.status, 'stale');
});

test('legacy l2update changes apply, a crossed legacy book is invalidated', () => {
  const h = createCoinbaseFeedHandler();
  h.onFrame('w', '{"type":"snapshot","product_id":"X-USD","bids":[["10","1"]],"asks":[["11","1"]]}', 1);
  h.onFrame('w', '{"type":"l2update","product_id":"X-USD","changes":[["buy","10.5","2"],["sell","11","0"]]}', 2);
  const tb = h.book('X-USD')!;
  assert.deepEqual(tb.book.toJSON(), {
    bids: [
      { price: '10.5', size: '2' },
      { price: '10', size: '1' },
    ],
    asks: [],
  });
  h.onFrame('w', '{"type":"l2update","product_id":"X-USD","changes":[["sell","10.2","1"]]}', 3);
  assert.equal(tb.crossed, 1);
  assert.equal(tb.status, 'stale');
});

test('malformed frames are typed errors and leave the book untouched (a bad update of an in-sync book invalidates it)', () => {
  const { h, btc, bad } = synced();
  const before = btc.book.hash();
  h.onFrame('c1', '{"channel":"l2_data","sequence_num":2,"events":[{"type":"upd', 3);
  h.onFrame(
    'c1',
    JSON.stringify({
      channel: 'l2_data',
      sequence_num: 2,
      events: [
        { type: 'update', product_id: 'BTC-USD', updates: [{ side: 'middle', price_level: '1', new_quantity: '1' }] },
      ],
    }),
    3,
  );
  h.onFrame('c1', JSON.stringify({ channel: 'l2_data', sequence_num: 'two', events: [] }), 3);
  assert.equal(h.counters.malformed, 3);
  assert.ok(bad.errors.every((e) => e.code === 'QOB_ERR_MALFORMED_MESSAGE'));
  assert.equal(btc.book.hash(), before);
  assert.equal(btc.status, 'in_sync');
  // Valid shape and sequence, but an unparseable quantity: the update is lost, so the book cannot stay in sync.
  h.onFrame('c1', l2(2, 'update', [['bid', '100', 'Infinity']]), 4);
  assert.equal(bad.errors.at(-1)?.code, 'QOB_ERR_INVALID_DECIMAL');
  assert.equal(btc.status, 'stale');
});
