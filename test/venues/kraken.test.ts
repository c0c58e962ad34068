import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { QobError } from '../../src/core/errors.ts';
import { runReplay } from '../../src/replay/replay.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { krakenChecksumText } from '../../src/venues/kraken/checksum.ts';
import { KrakenFeedHandler } from '../../src/venues/kraken/index.ts';
import { parseLossless } from '../../src/venues/kraken/wire.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.resolve(repoRoot, '../shared/fixtures');
const books = path.join(fixtures, 'kraken/cryptofeed_KRAKEN.books.jsonl');
const sdk = path.join(fixtures, 'kraken/python-kraken-sdk_orderbook-v1.json');

function only(h: KrakenFeedHandler): TrackedBook {
  const all = [...h.books()];
  assert.equal(all.length, 1);
  return all[0] as TrackedBook;
}

function collect(): { errors: QobError[]; h: KrakenFeedHandler } {
  const errors: QobError[] = [];
  return { errors, h: new KrakenFeedHandler({ onBadFrame: (e) => errors.push(e) }) };
}

// A real WS v2 ALGO/USD snapshot and the update that followed it (quoted in a public README; the rules'
// worked example). Prices and quantities are bare JSON numbers with the pair's fixed decimals.
const V2_SNAPSHOT =
  '{"channel":"book","type":"snapshot","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12291,"qty":27039.62776299},{"price":0.12290,"qty":8136.33288180},{"price":0.12287,"qty":10984.20817349},{"price":0.12283,"qty":28027.05025639},{"price":0.12280,"qty":9705.60000000},{"price":0.12279,"qty":15215.53522714},{"price":0.12275,"qty":4067.00000000},{"price":0.12274,"qty":30639.39949109},{"price":0.12268,"qty":2531.96119986},{"price":0.12267,"qty":16299.00000000}],"asks":[{"price":0.12307,"qty":600.00000000},{"price":0.12308,"qty":4042.11919517},{"price":0.12312,"qty":10284.53891000},{"price":0.12314,"qty":16155.08885299},{"price":0.12315,"qty":5186.05778473},{"price":0.12316,"qty":32828.24000000},{"price":0.12317,"qty":7751.65718582},{"price":0.12318,"qty":32298.82000000},{"price":0.12319,"qty":1864.66899600},{"price":0.12322,"qty":4718.99755630}],"checksum":2375857985}]}';
const V2_UPDATE =
  '{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12275,"qty":6597.51731160}],"asks":[],"checksum":1100635717,"timestamp":"2024-10-03T02:46:57.050170Z"}]}';

test('the cryptofeed Kraken capture replays with all 4269 checksums verified, no gaps and no crossed books', async (t) => {
  if (!existsSync(books)) return t.skip('../shared/fixtures absent');
  const r = await runReplay(books);
  assert.equal(r.venue, 'kraken');
  assert.equal(r.malformed, 0);
  assert.equal(r.unknown, 0);
  assert.equal(r.books.length, 10);
  assert.equal(
    r.books.reduce((s, b) => s + b.checksumsVerified, 0),
    4269,
  );
  for (const b of r.books) {
    assert.equal(b.checksumFailures, 0, b.symbol);
    assert.equal(b.gaps, 0, b.symbol);
    assert.equal(b.crossed, 0, b.symbol);
    assert.equal(b.status, 'in_sync', b.symbol);
    // Every update carries a checksum; the snapshot does not.
    assert.equal(b.checksumsVerified, b.updates - 1, b.symbol);
  }
  // Golden output: the final books.
  const golden: [string, string, string, string][] = [
    ['ADA/XBT', '0.00002288', '0.0000229', '43b4baba0fa62a2e80e7bc3caf54567da3f4d0cf9ce8c81fbf3a01f73b9bd3db'],
    ['ETH/CHF', '2183.69', '2190.17', '997b516dad4f041917b8e2c341f4ad573b4b283ebf69e96881d33e6d974cae21'],
    ['GRT/ETH', '0.0008335', '0.0008362', 'd6f58f9255837a5f7e49dd9d82debd8631dde7fbca13f9df232ba02d3719717b'],
    ['KSM/XBT', '0.00756', '0.007566', '94b7303adc1b3cccc8d8b6317112b5f59f4e32b35fc807e2653ba2f755ff9922'],
    ['OCEAN/XBT', '0.00002774', '0.00002781', '200055bc5f90ed8a377763d77584b228ad36830a2f4132645b435da136f62e8f'],
    ['OMG/USD', '9.586075', '9.604799', 'be5bcee7056ccb6aff245ffad5e3b046d24dd9225a75e31c2eefd01713de3a85'],
    ['SC/EUR', '0.04307', '0.04317', '5f547b1a4921d56e32e7da258daded4a10e3e829a457d027230fa64f8d41bb82'],
    ['WAVES/EUR', '13.233', '13.2581', '416d1f4935b1a503442194f784efd09ce882428cb41bdf7866bafb9384cf2a00'],
    ['XBT/CHF', '56060.3', '56194.2', '8724361412e90f1e2fd7158924f5938933b5340af8e27197cf1ff437e11447ef'],
    ['XMR/USD', '353.64', '354.48', 'fcf0d48f37d841fa2e45c7e47e6c11073c424d771dd2d678ba6308cd9509a1d1'],
  ];
  assert.deepEqual(
    r.books.map((b) => [b.symbol, b.bestBid, b.bestAsk, b.hash]),
    golden,
  );
});

function sdkMessages(): { init: unknown[]; updates: unknown[] } {
  return JSON.parse(readFileSync(sdk, 'utf8')) as { init: unknown[]; updates: unknown[] };
}

test('the python-kraken-sdk depth-10 feed verifies 979 of 979 checksums and never holds more than 10 levels', (t) => {
  if (!existsSync(sdk)) return t.skip('../shared/fixtures absent');
  const { errors, h } = collect();
  const { init, updates } = sdkMessages();
  h.onConnect('c', 'wss://ws.kraken.com', 0);
  let maxLevels = 0;
  for (const m of [...init, ...updates]) {
    h.onFrame('c', JSON.stringify(m), 1);
    for (const b of h.books()) maxLevels = Math.max(maxLevels, b.book.bids.length, b.book.asks.length);
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
  const b = only(h);
  assert.equal(b.symbol, 'XBT/USD');
  assert.equal(b.checksumsVerified, 979);
  assert.equal(b.checksumFailures, 0);
  assert.equal(b.status, 'in_sync');
  assert.equal(maxLevels, 10);
  assert.equal(b.book.bestBid()?.price, '27139.3');
  assert.equal(b.book.bestAsk()?.price, '27139.4');
});

test('a corrupted level is caught by the checksum: the book is cleared and stale until a new snapshot', (t) => {
  if (!existsSync(sdk)) return t.skip('../shared/fixtures absent');
  const { h } = collect();
  const { init, updates } = sdkMessages();
  for (const m of init) h.onFrame('c', JSON.stringify(m), 1);
  // The first update sets the best bid's volume; change one digit of it.
  const good = JSON.stringify(updates[0]);
  const bad = good.replace('"13.54109952"', '"13.54109953"');
  assert.notEqual(bad, good);
  h.onFrame('c', bad, 2);
  const b = only(h);
  assert.equal(b.checksumFailures, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  // Updates are ignored while stale; the snapshot brings the book back.
  h.onFrame('c', JSON.stringify(updates[2]), 3);
  assert.ok(b.book.isEmpty);
  h.onFrame('c', JSON.stringify(init[3]), 4);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.resyncs, 1);
  h.onFrame('c', good, 5);
  assert.equal(b.checksumsVerified, 1);
  assert.equal(b.status, 'in_sync');
});

test('the Kraken v2 worked example hashes to 2375857985 from the number text, and its update verifies too', () => {
  const { errors, h } = collect();
  h.onFrame(
    'c',
    '{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"ALGO/USD"},"success":true}',
    0,
  );
  h.onFrame('c', V2_SNAPSHOT, 1);
  const b = only(h);
  assert.equal(b.checksumsVerified, 1);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.book.bestAsk()?.size, '600');
  h.onFrame('c', V2_UPDATE, 2);
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.checksumFailures, 0);
  assert.equal(b.book.levels('bid').find((l) => l.price === '0.12275')?.size, '6597.5173116');
  assert.deepEqual(errors, []);
});

test('v2 checksum text keeps the fixed decimals: 600.00000000 is 60000000000, not 600', () => {
  const h = new KrakenFeedHandler();
  h.onFrame('c', V2_SNAPSHOT, 1);
  const text = krakenChecksumText(only(h).book, 5, 8);
  assert.ok(text.startsWith('1230760000000000' + '12308404211919517'), text.slice(0, 40));
});

test('v2 numbers re-serialized without trailing zeros verify when the instrument channel gave the precisions', () => {
  // One ask 0.12307 x 600 and one bid 0.12291 x 5, written as JSON.stringify would (no trailing zeros).
  const expected = crc32(`${'1230760000000000'}${'12291500000000'}`) >>> 0;
  const frame = `{"channel":"book","type":"snapshot","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12291,"qty":5}],"asks":[{"price":0.12307,"qty":600}],"checksum":${expected}}]}`;
  const plain = new KrakenFeedHandler();
  plain.onFrame('c', frame, 1);
  assert.equal(only(plain).checksumFailures, 1);
  assert.equal(only(plain).status, 'stale');

  const withInstrument = new KrakenFeedHandler();
  withInstrument.onFrame(
    'c',
    '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"ALGO/USD","price_precision":5,"qty_precision":8}]}}',
    0,
  );
  withInstrument.onFrame('c', frame, 1);
  assert.equal(only(withInstrument).checksumsVerified, 1);
  assert.equal(only(withInstrument).status, 'in_sync');
});

test('a v2 checksum mismatch clears the book, and the next good snapshot resyncs it', () => {
  const { h } = collect();
  h.onFrame('c', V2_SNAPSHOT.replace('"checksum":2375857985', '"checksum":2375857986'), 1);
  const b = only(h);
  assert.equal(b.checksumFailures, 1);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  h.onFrame('c', V2_SNAPSHOT, 2);
  assert.equal(b.status, 'in_sync');
  assert.equal(b.resyncs, 1);
  assert.equal(b.checksumsVerified, 1);
});

test('deleting a price the book does not hold is not an error', () => {
  const { errors, h } = collect();
  h.onFrame('c', V2_SNAPSHOT, 1);
  // The book is unchanged, so the venue's checksum is the snapshot's.
  h.onFrame(
    'c',
    '{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.10000,"qty":0.00000000}],"asks":[],"checksum":2375857985}]}',
    2,
  );
  const b = only(h);
  assert.deepEqual(errors, []);
  assert.equal(b.checksumsVerified, 2);
  assert.equal(b.status, 'in_sync');
});

test('malformed numbers, truncated JSON and wrong shapes are typed, counted as malformed and leave the book untouched', () => {
  const { errors, h } = collect();
  h.onFrame('c', V2_SNAPSHOT, 1);
  h.onFrame(
    'c',
    '[336,{"as":[["27120.00000","4.28732553","1"]],"bs":[["27119.90000","1.00000000","1"]]},"book-10","XBT/USD"]',
    1,
  );
  const [v2, v1] = [...h.books()] as [TrackedBook, TrackedBook];
  const before = [v2.book.hash(), v1.book.hash()];
  const bad = [
    V2_UPDATE.slice(0, 60), // truncated JSON
    V2_UPDATE.replace('0.12275', '0.12.275'), // malformed number
    V2_UPDATE.replace('"bids":[', '"bids":[{"price":0.1},'), // level without qty
    V2_UPDATE.replace('"bids":[', '"bids":7,"x":['), // bids not an array
    '[336,{"b":[["abc","1.0","1"]],"c":"1"},"book-10","XBT/USD"]', // v1 price not a number
    '[336,{"b":[[27000.1,"1.0","1"]],"c":"1"},"book-10","XBT/USD"]', // v1 price not a string
    '[336,{"b":[["27000.1","-1.0","1"]],"c":"1"},"book-10","XBT/USD"]', // negative volume
    '[336,{"b":[["27000.1","1.0","1"]],"c":"x"},"book-10","XBT/USD"]', // checksum not a number
    '[336,{"b":[["27000.1","1.0","1"]]},{"b":"x","c":"1"},"book-10","XBT/USD"]', // second object wrong
    '[336,"book-10","XBT/USD"]', // too short
    '[336,{"b":[["27000.1","1.0","1"]]',
  ];
  for (const f of bad) h.onFrame('c', f, 2);
  assert.equal(h.counters.malformed, bad.length);
  assert.equal(h.counters.unknown, 0);
  assert.equal(errors.length, bad.length);
  for (const e of errors) assert.match(e.code, /^QOB_ERR_(MALFORMED_MESSAGE|INVALID_DECIMAL|NEGATIVE_SIZE)$/);
  assert.deepEqual([v2.book.hash(), v1.book.hash()], before);
  assert.deepEqual([v2.status, v1.status], ['in_sync', 'in_sync']);
  assert.deepEqual([v2.updates, v1.updates], [1, 1]);
});

test('heartbeats, system status and pongs are not errors; unknown channels are counted as unknown', () => {
  const { errors, h } = collect();
  for (const f of [
    '{"event":"heartbeat"}',
    '{"connectionID":1,"event":"systemStatus","status":"online","version":"1.9.1"}',
    '{"event":"pong","reqid":1}',
    '{"channel":"heartbeat"}',
    '{"channel":"status","type":"update","data":[{"api_version":"v2","system":"online"}]}',
    '{"method":"pong","req_id":1}',
  ]) {
    h.onFrame('c', f, 1);
  }
  assert.deepEqual(h.counters, { malformed: 0, unknown: 0 });
  h.onFrame('c', '[340,["1.0","2.0","3"],"ticker","XBT/USD"]', 1);
  h.onFrame('c', '{"channel":"ohlc","type":"update","data":[]}', 1);
  assert.deepEqual(h.counters, { malformed: 0, unknown: 2 });
  assert.equal(errors.length, 2);
  assert.ok(errors.every((e) => e.code === 'QOB_ERR_UNKNOWN_MESSAGE'));
});

test('a new connection invalidates the books of the previous one until their new snapshot', () => {
  const h = new KrakenFeedHandler();
  h.onConnect('ws', 'wss://ws.kraken.com/v2', 0);
  h.onFrame('ws', V2_SNAPSHOT, 1);
  const b = only(h);
  assert.equal(b.status, 'in_sync');
  h.onConnect('ws', 'wss://ws.kraken.com/v2', 2);
  assert.equal(b.status, 'stale');
  assert.ok(b.book.isEmpty);
  h.onFrame('ws', V2_UPDATE, 3); // an update is no substitute for the snapshot
  assert.ok(b.book.isEmpty);
  h.onFrame('ws', V2_SNAPSHOT, 4);
  assert.equal(b.status, 'in_sync');
});

test('v1 books are truncated to the depth named by the subscription', () => {
  const h = new KrakenFeedHandler();
  h.onSend('c', '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}', 0);
  h.onFrame(
    'c',
    '{"channelID":7,"channelName":"book-10","event":"subscriptionStatus","pair":"XBT/USD","status":"subscribed","subscription":{"depth":10,"name":"book"}}',
    0,
  );
  const asks = Array.from({ length: 12 }, (_, i) => [`${100 + i}.0`, '1.00', '1']);
  const bids = Array.from({ length: 12 }, (_, i) => [`${99 - i}.0`, '1.00', '1']);
  h.onFrame('c', JSON.stringify([7, { as: asks, bs: bids }, 'book-10', 'XBT/USD']), 1);
  const b = only(h);
  assert.equal(b.book.asks.length, 10);
  assert.equal(b.book.bids.length, 10);
  assert.equal(b.book.levels('ask').at(-1)?.price, '109');
});

test('the lossless parser keeps number text and leaves strings alone', () => {
  assert.deepEqual(parseLossless('{"a":600.00000000,"b":"1.50","c":[-1e-7,0],"d":"x\\"1.0"}'), {
    a: '600.00000000',
    b: '1.50',
    c: ['-1e-7', '0'],
    d: 'x"1.0',
  });
});
