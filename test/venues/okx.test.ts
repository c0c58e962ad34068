import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { QobError } from '../../src/core/errors.ts';
import { runReplay } from '../../src/replay/replay.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { scanOkxBookPushFlat } from '../../src/venues/okx/fast-book.ts';
import { OkxFeedHandler } from '../../src/venues/okx/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const capture = path.resolve(repoRoot, '../shared/fixtures/okx/cryptofeed_OKX.books.jsonl');

function only(h: OkxFeedHandler): TrackedBook {
  const all = [...h.books()];
  assert.equal(all.length, 1);
  return all[0] as TrackedBook;
}

type Lv = [string, string, string, string];
interface Push {
  action: 'snapshot' | 'update';
  bids?: Lv[];
  asks?: Lv[];
  checksum?: number;
  seqId?: number;
  prevSeqId?: number;
}

function frame(p: Push): string {
  const { action, ...d } = p;
  return JSON.stringify({ arg: { channel: 'books', instId: 'BTC-USDT' }, action, data: [{ ts: '1', ...d }] });
}

const lv = (px: string, sz: string): Lv => [px, sz, '0', '1'];
/** The venue's checksum, written out by hand: signed CRC32 of the interleaved raw strings. */
const signed = (text: string) => crc32(text) | 0;

test('the cryptofeed OKX capture replays with all 290 checksums verified', async (t) => {
  if (!existsSync(capture)) return t.skip('../shared/fixtures absent');
  const r = await runReplay(capture);
  assert.equal(r.venue, 'okx');
  assert.equal(r.malformed, 0);
  assert.equal(r.unknown, 0);
  assert.equal(
    r.books.reduce((s, b) => s + b.checksumsVerified, 0),
    290,
  );
  for (const b of r.books) {
    assert.equal(b.checksumFailures, 0, b.symbol);
    assert.equal(b.gaps, 0, b.symbol);
    assert.equal(b.crossed, 0, b.symbol);
    assert.equal(b.status, 'in_sync', b.symbol);
    assert.equal(b.checksumsVerified, b.updates, b.symbol);
  }
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.bestBid, b.bestAsk, b.hash]),
    [
      ['BTC-USD-220527', '30229.4', '30238.8', 'ef70d3cd1cb3280bf7fe7914ba6e08a3498d9f2667429982e6ea9702cf0ac418'],
      ['BTC-USDT', '30236.1', '30236.2', '3986fc249dc0ac34e3acfa7dd2aa9c040ac933479169171569e9946cce5f4510'],
      ['UNI-USD-SWAP', '5.137', '5.145', '01c9ead0c3f98407e22f533946888a3d479e21a3379a72dc06d09903e97e3944'],
    ],
  );
});

test("the checksum is over the venue's raw strings, trailing zeros included", () => {
  const h = new OkxFeedHandler();
  const bids = [lv('100.10', '1.50'), lv('99', '2')];
  const asks = [lv('101', '0.010')];
  h.onFrame('c', frame({ action: 'snapshot', bids, asks, checksum: signed('100.10:1.50:101:0.010:99:2') }), 1);
  const b = only(h);
  assert.equal(b.checksumsVerified, 1);
  assert.equal(b.status, 'in_sync');
  // An update changes one level; the text of the others is kept from the snapshot.
  h.onFrame(
    'c',
    frame({
      action: 'update',
      bids: [lv('99', '0')],
      asks: [lv('101.5', '3.0')],
      checksum: signed('100.10:1.50:101:0.010:101.5:3.0'),
    }),
    2,
  );
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.status, 'in_sync');
});

/** A push in the venue's own key order (asks, bids, ts, checksum, prevSeqId, seqId): the scanned path. */
function venueFrame(action: 'snapshot' | 'update', asks: Lv[], bids: Lv[], checksum: number, seq: [number, number]) {
  const d = { asks, bids, ts: '1', checksum, prevSeqId: seq[0], seqId: seq[1] };
  return JSON.stringify({ arg: { channel: 'books', instId: 'BTC-USDT' }, action, data: [d] });
}

test("updates in the venue's layout keep each side's non-canonical price texts for the checksum", () => {
  const h = new OkxFeedHandler();
  const snap = venueFrame('snapshot', [lv('101', '1')], [lv('100', '2')], signed('100:2:101:1'), [-1, 1]);
  assert.ok(scanOkxBookPushFlat(snap) !== undefined, 'the frame takes the scanned path');
  h.onFrame('c', snap, 1);
  const b = only(h);
  // Ask 101.50 and bid 99.0 arrive written with trailing zeros; the checksum is over those strings.
  h.onFrame(
    'c',
    venueFrame('update', [lv('101.50', '3')], [lv('99.0', '4')], signed('100:2:101:1:99.0:4:101.50:3'), [1, 2]),
    2,
  );
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.status, 'in_sync');
  // The ask re-sent as 101.5: its canonical text replaces the kept one.
  h.onFrame('c', venueFrame('update', [lv('101.5', '5')], [], signed('100:2:101:1:99.0:4:101.5:5'), [2, 3]), 3);
  assert.equal(b.checksumsVerified, 3);
  assert.equal(b.checksumFailures, 0);
  assert.equal(b.status, 'in_sync');
});

test('a corrupted level is caught by the checksum: the book is cleared and stale until a new snapshot', () => {
  const h = new OkxFeedHandler();
  const snap = frame({
    action: 'snapshot',
    bids: [lv('100', '1')],
    asks: [lv('101', '1')],
    checksum: signed('100:1:101:1'),
  });
  h.onFrame('c', snap, 1);
  // The venue's book has size 2 at 100; ours receives a corrupted 3.
  h.onFrame('c', frame({ action: 'update', bids: [lv('100', '3')], checksum: signed('100:2:101:1') }), 2);
  const b = only(h);
  assert.equal(b.checksumFailures, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  h.onFrame('c', frame({ action: 'update', bids: [lv('100', '2')], checksum: signed('100:2:101:1') }), 3);
  assert.ok(b.book.isEmpty, 'updates are ignored until the snapshot');
  h.onFrame('c', snap, 4);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.resyncs, 1);
});

test('a zero checksum is not verified (OKX has sent 0 since 2026-06-23)', () => {
  const h = new OkxFeedHandler();
  h.onFrame('c', frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')], checksum: 0 }), 1);
  const b = only(h);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.checksumsVerified, 0);
  assert.equal(b.checksumFailures, 0);
});

test('updates chain on prevSeqId: keep-alives and maintenance resets pass, a break is a gap until the next snapshot', () => {
  const h = new OkxFeedHandler();
  const snap = frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')], seqId: 10, prevSeqId: -1 });
  h.onFrame('c', snap, 1);
  const b = only(h);
  h.onFrame('c', frame({ action: 'update', bids: [lv('100', '2')], seqId: 15, prevSeqId: 10 }), 2);
  h.onFrame('c', frame({ action: 'update', seqId: 15, prevSeqId: 15 }), 3); // keep-alive
  h.onFrame('c', frame({ action: 'update', asks: [lv('102', '1')], seqId: 3, prevSeqId: 15 }), 4); // reset
  h.onFrame('c', frame({ action: 'update', asks: [lv('102', '0')], seqId: 4, prevSeqId: 3 }), 5);
  assert.equal(b.gaps, 0);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.updates, 5);
  assert.equal(b.book.bestBid()?.size, '2');
  h.onFrame('c', frame({ action: 'update', bids: [lv('100', '5')], seqId: 9, prevSeqId: 7 }), 6);
  assert.equal(b.gaps, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  h.onFrame('c', snap, 7);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.book.bestBid()?.size, '1');
});

test('deleting a price the book does not hold is not an error', () => {
  const errors: QobError[] = [];
  const h = new OkxFeedHandler({ onBadFrame: (e) => errors.push(e) });
  h.onFrame(
    'c',
    frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')], checksum: signed('100:1:101:1') }),
    1,
  );
  h.onFrame('c', frame({ action: 'update', bids: [lv('90', '0')], checksum: signed('100:1:101:1') }), 2);
  const b = only(h);
  assert.deepEqual(errors, []);
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.status, 'in_sync');
});

test('malformed numbers, truncated JSON and wrong shapes are typed, counted as malformed and leave the book untouched', () => {
  const errors: QobError[] = [];
  const h = new OkxFeedHandler({ onBadFrame: (e) => errors.push(e) });
  h.onFrame('c', frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')] }), 1);
  const b = only(h);
  const before = b.book.hash();
  const good = frame({ action: 'update', bids: [lv('100', '2')] });
  const bad = [
    good.slice(0, 40),
    good.replace('"100"', '"1e"'),
    good.replace('"100"', '"NaN"'),
    good.replace('"2"', '"-2"'),
    good.replace('"100"', '100'),
    good.replace('[["100"', '["x",["100"'),
    good.replace('"action":"update"', '"action":"patch"'),
    good.replace('"data":[', '"data":{"x":['),
    JSON.stringify({ arg: { channel: 'books', instId: 'BTC-USDT' }, action: 'update', data: [{ seqId: 'x' }] }),
    '[1,2]',
  ];
  for (const f of bad) h.onFrame('c', f, 2);
  assert.equal(h.counters.malformed, bad.length);
  assert.equal(errors.length, bad.length);
  for (const e of errors) assert.match(e.code, /^QOB_ERR_(MALFORMED_MESSAGE|INVALID_DECIMAL|NEGATIVE_SIZE)$/);
  assert.equal(b.book.hash(), before);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.updates, 1);
});

test('pong, subscribe acks and notices are not errors; other channels are counted as unknown', () => {
  const h = new OkxFeedHandler();
  h.onFrame('c', 'pong', 1);
  h.onFrame('c', '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}', 1);
  h.onFrame('c', '{"event":"notice","code":"64008","msg":"service upgrade"}', 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
  h.onFrame('c', '{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]}', 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 1 });
});

test('a new connection invalidates the books of the previous one', () => {
  const h = new OkxFeedHandler();
  h.onConnect('ws', 'wss://ws.okx.com:8443/ws/v5/public', 0);
  h.onFrame('ws', frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')] }), 1);
  const b = only(h);
  h.onConnect('ws', 'wss://ws.okx.com:8443/ws/v5/public', 2);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
});

test('an update that crosses the book is counted and invalidates it', () => {
  const h = new OkxFeedHandler();
  h.onFrame('c', frame({ action: 'snapshot', bids: [lv('100', '1')], asks: [lv('101', '1')] }), 1);
  h.onFrame('c', frame({ action: 'update', bids: [lv('102', '1')] }), 2);
  const b = only(h);
  assert.equal(b.crossed, 1);
  assert.equal(b.status, 'stale');
});
