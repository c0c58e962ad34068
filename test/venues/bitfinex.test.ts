import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { QobError } from '../../src/core/errors.ts';
import { runReplay } from '../../src/replay/replay.ts';
import { BitfinexFeedHandler } from '../../src/venues/bitfinex/index.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capture = path.resolve(repoRoot, '../shared/fixtures/bitfinex/cryptofeed_BITFINEX.jsonl');

const signed = (text: string) => crc32(text) | 0;

/** A connection with SEQ_ALL and checksums, one P0 book (chanId 17, len 25) and one ticker (chanId 18). */
function connected(): { h: BitfinexFeedHandler; errors: QobError[]; seq: () => number } {
  const errors: QobError[] = [];
  const h = new BitfinexFeedHandler({ onBadFrame: (e) => errors.push(e) });
  h.onConnect('c', 'wss://api-pub.bitfinex.com/ws/2', 0);
  h.onSend('c', '{"event":"conf","flags":196608}', 0);
  h.onFrame('c', '{"event":"info","version":2,"platform":{"status":1}}', 0);
  h.onFrame('c', '{"event":"conf","status":"OK","flags":196608}', 0);
  h.onFrame(
    'c',
    '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}',
    0,
  );
  h.onFrame('c', '{"event":"subscribed","channel":"ticker","chanId":18,"symbol":"tBTCUSD","pair":"BTCUSD"}', 0);
  let n = 0;
  return { h, errors, seq: () => ++n };
}

function only(h: BitfinexFeedHandler): TrackedBook {
  const all = [...h.books()];
  assert.equal(all.length, 1);
  return all[0] as TrackedBook;
}

const SNAPSHOT = '[[100,1,1.5],[99,2,0.0000007],[101,1,-2],[102,3,-0.25]]';

test('the cryptofeed Bitfinex capture replays 7 books with no sequence gaps', async (t) => {
  if (!existsSync(capture)) return t.skip('../shared/fixtures absent');
  const r = await runReplay(capture);
  assert.equal(r.venue, 'bitfinex');
  assert.equal(r.malformed, 0);
  assert.equal(r.books.length, 7);
  // 7 snapshots and 1593 updates; the other channels' frames are counted as unknown, not as errors.
  assert.equal(
    r.books.reduce((s, b) => s + b.updates, 0),
    1600,
  );
  for (const b of r.books) {
    assert.equal(b.gaps, 0, b.symbol);
    assert.equal(b.crossed, 0, b.symbol);
    assert.equal(b.status, 'in_sync', b.symbol);
  }
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.bestBid, b.bestAsk, b.hash]),
    [
      ['tBFTUSD', '0.068965', '0.0774', 'a3674c6b13670f89a4b24d3cf2433b47060810be7c5ef2878c351deb15d836cf'],
      ['tDOGUSD', '277730', '282030', 'ac5d0f3597ffbf1a13513aa9c58117fdd48db19003dca63f25dac635f5243eb2'],
      ['tIOTETH', '0.001026', '0.0010272', '702e24aa8c6082287ddefb41a0e0dadf858af84d586a298a13244488792254b1'],
      ['tMNABTC', '0.00002505', '0.0000253', '55b21fc58a3a0c77fac17b3b61bd938d5a2e00f9ddb58b969af9a77754315b81'],
      ['tODEUSD', '0.02056', '0.02088', '9d982cfdcc59fce78a1a765e0e78d0f247683c833db98c3d684fd68ca6f92dd5'],
      ['tSNGUSD', '0.037108', '0.038798', '97dac30f20fe8fae05050652c46444cb82d13ae6e5dce9842bc4609533cba409'],
      ['tTESTBTC:TESTUSD', '60417', '60423', '0eb728141b23023079927cdb559f0859c9dbfde4d40d72b0f29fa4b14771d0a8'],
    ],
  );
});

test('the checksum covers interleaved bids and negative asks formatted as String(n), 7e-7 included', () => {
  const { h, errors, seq } = connected();
  h.onFrame('c', `[17,${SNAPSHOT},${seq()}]`, 1);
  h.onFrame('c', `[17,"cs",${signed('100:1.5:101:-2:99:7e-7:102:-0.25')},${seq()}]`, 2);
  const b = only(h);
  assert.deepEqual(errors, []);
  assert.equal(b.checksumsVerified, 1);
  assert.equal(b.status, 'in_sync');
  // count == 0 deletes: amount 1 from the bids, -1 from the asks.
  h.onFrame('c', `[17,[99,0,1],${seq()}]`, 3);
  h.onFrame('c', `[17,[101,0,-1],${seq()}]`, 4);
  h.onFrame('c', `[17,"cs",${signed('100:1.5:102:-0.25')},${seq()}]`, 5);
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.updates, 3);
});

test('a corrupted level is caught by the checksum: the book is cleared and stale until a new snapshot', () => {
  const { h, seq } = connected();
  h.onFrame('c', `[17,${SNAPSHOT},${seq()}]`, 1);
  h.onFrame('c', `[17,[100,1,1.6],${seq()}]`, 2); // the venue's level is 1.7
  h.onFrame('c', `[17,"cs",${signed('100:1.7:101:-2:99:7e-7:102:-0.25')},${seq()}]`, 3);
  const b = only(h);
  assert.equal(b.checksumFailures, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  h.onFrame('c', `[17,[100,1,1.7],${seq()}]`, 4);
  assert.ok(b.book.isEmpty, 'updates are ignored until the snapshot');
  h.onFrame('c', `[17,${SNAPSHOT},${seq()}]`, 5);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.resyncs, 1);
});

test('the sequence number is checked across all channels: a frame lost on the ticker is a gap for the book', () => {
  const { h, seq } = connected();
  h.onFrame('c', `[17,${SNAPSHOT},${seq()}]`, 1);
  h.onFrame('c', `[18,"hb",${seq()}]`, 2);
  h.onFrame('c', `[18,[1,2,3,4,5,6,7,8,9,10],${seq()}]`, 3);
  h.onFrame('c', `[17,[100,1,1.6],${seq()}]`, 4);
  const b = only(h);
  assert.equal(b.gaps, 0);
  assert.equal(b.status, 'in_sync');
  seq(); // a ticker frame never arrives
  h.onFrame('c', `[17,"hb",${seq()}]`, 5);
  assert.equal(b.gaps, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  // After reconnecting the sequence starts again and the new snapshot resyncs the book.
  h.onConnect('c', 'wss://api-pub.bitfinex.com/ws/2', 6);
  h.onSend('c', '{"event":"conf","flags":65536}', 6);
  h.onFrame('c', '{"event":"subscribed","channel":"book","chanId":40,"symbol":"tBTCUSD","prec":"P0","len":"25"}', 6);
  h.onFrame('c', `[40,${SNAPSHOT},1]`, 7);
  h.onFrame('c', `[40,[103,1,-1],2]`, 8);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.resyncs, 1);
  assert.equal(b.gaps, 1);
});

test('books are truncated to the subscribed length', () => {
  const h = new BitfinexFeedHandler();
  h.onFrame('c', '{"event":"subscribed","channel":"book","chanId":5,"symbol":"tETHUSD","prec":"P0","len":"1"}', 0);
  h.onFrame('c', '[5,[[10,1,1],[9,1,1],[11,1,-1],[12,1,-1]]]', 1);
  h.onFrame('c', '[5,[8,1,1]]', 2);
  const b = only(h);
  assert.deepEqual(b.book.toJSON(), { bids: [{ price: '10', size: '1' }], asks: [{ price: '11', size: '1' }] });
});

test('deleting a price the book does not hold is not an error', () => {
  const { h, errors, seq } = connected();
  h.onFrame('c', `[17,${SNAPSHOT},${seq()}]`, 1);
  h.onFrame('c', `[17,[50,0,1],${seq()}]`, 2);
  h.onFrame('c', `[17,"cs",${signed('100:1.5:101:-2:99:7e-7:102:-0.25')},${seq()}]`, 3);
  const b = only(h);
  assert.deepEqual(errors, []);
  assert.equal(b.checksumsVerified, 1);
  assert.equal(b.status, 'in_sync');
});

test('malformed numbers, truncated JSON and wrong shapes are typed, counted as malformed and leave the book untouched', () => {
  const errors: QobError[] = [];
  const h = new BitfinexFeedHandler({ onBadFrame: (e) => errors.push(e) });
  h.onFrame('c', '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"P0","len":"25"}', 0);
  h.onFrame('c', `[17,${SNAPSHOT}]`, 1);
  const b = only(h);
  const before = b.book.hash();
  const bad = [
    '[17,[100,1,',
    '[17,[100,1,"2"]]',
    '[17,[100,1]]',
    '[17,[100,-1,2]]',
    '[17,[100,1,0]]',
    '[17,[-100,1,2]]',
    '[17,[[100,1,2],[99,"x",1]]]',
    '[17,"cs","abc"]',
    '["17",[100,1,2]]',
    '7',
  ];
  for (const f of bad) h.onFrame('c', f, 2);
  assert.equal(h.counters.malformed, bad.length);
  assert.equal(errors.length, bad.length);
  for (const e of errors) assert.match(e.code, /^QOB_ERR_(MALFORMED_MESSAGE|NONPOSITIVE_PRICE)$/);
  assert.equal(b.book.hash(), before);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.updates, 1);
});

test('with SEQ_ALL a channel frame without a sequence number is malformed', () => {
  const { h } = connected();
  h.onFrame('c', '[17,"hb"]', 1);
  assert.equal(h.counters.malformed, 1);
});

test('raw (R0) books and frames of unknown channels are counted as unknown, heartbeats are not', () => {
  const h = new BitfinexFeedHandler();
  h.onFrame('c', '{"event":"subscribed","channel":"book","chanId":3,"symbol":"tBTCUSD","prec":"R0","len":"25"}', 0);
  h.onFrame('c', '[3,"hb"]', 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
  h.onFrame('c', '[3,[[123456,100,1]]]', 1);
  h.onFrame('c', '[99,[1,2,3]]', 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 2 });
  assert.equal([...h.books()].length, 0);
});
