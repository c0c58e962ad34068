/**
 * Kraken's fast paths (src/venues/kraken/fast-book.ts, fast-checksum.ts) change only speed:
 * - `scanKrakenV1UpdateFlat` reads an update frame to the same channel, checksum, asks and bids that
 *   `scanKrakenV1Book` (itself checked against JSON.parse) reads, accepts every update in the layouts
 *   Kraken sends, and on mutated frames either declines or agrees; `scanKrakenV2UpdateFlat` likewise
 *   against `scanKrakenV2Book` for WS v2 updates (handlers fed either path: fast-path-equivalence.test.ts);
 * - `KrakenFastChecksum.checksumOf` equals the text checksum (`KrakenChecksumBuilder`) through random
 *   changes: levels moving in and out of the top 10, quantities rewritten, decimals learned later, the
 *   book's price scale growing, quantities in exponent form, prices beyond a safe integer at the written
 *   decimals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { L2Book } from '../../src/book/l2-book.ts';
import { KrakenChecksumBuilder } from '../../src/venues/kraken/checksum.ts';
import {
  scanKrakenV1Book,
  scanKrakenV1UpdateFlat,
  scanKrakenV2Book,
  scanKrakenV2UpdateFlat,
} from '../../src/venues/kraken/fast-book.ts';
import { KrakenFastChecksum } from '../../src/venues/kraken/fast-checksum.ts';
import { levels, mutate, mutations } from './frame-mutations.ts';

const extra = fc.constantFrom(['1618678133.881512'], ['1618678133.881512', 'r'], ['1/2']);
const krakenLevels = fc.array(
  fc
    .tuple(
      levels.map((ls) => ls[0] ?? ['1', '2']),
      extra,
    )
    .map(([l, e]) => [...l, ...e]),
  { maxLength: 12 },
);
const update = fc
  .record({
    chan: fc.nat({ max: 100_000 }),
    kind: fc.constantFrom('a', 'b', 'ab', 'a+b'),
    asks: krakenLevels,
    bids: krakenLevels,
    checksum: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
  })
  .map((r) => {
    const c = r.checksum === undefined ? {} : { c: String(r.checksum) };
    const body =
      r.kind === 'a'
        ? [{ a: r.asks, ...c }]
        : r.kind === 'b'
          ? [{ b: r.bids, ...c }]
          : r.kind === 'ab'
            ? [{ a: r.asks, b: r.bids, ...c }]
            : [{ a: r.asks }, { b: r.bids, ...c }];
    const text = JSON.stringify([r.chan, ...body, 'book-100', 'XBT/USD']);
    // Escape-free strings (what the venue sends) are the layout both scanners read.
    const plain = [...r.asks, ...r.bids].every((l) => l.every((s) => /^[\x20-\x7e]*$/.test(s) && !/["\\]/.test(s)));
    return { text, plain };
  });

/** Whether the flat scanner declines, or reads what `scanKrakenV1Book` reads; true when it accepted. */
function agrees(text: string): boolean {
  const flat = scanKrakenV1UpdateFlat(text);
  if (flat === undefined) return false;
  const got = { channelId: flat.channelId, checksum: flat.checksum, asks: flat.levels.asks, bids: flat.levels.bids };
  const ref = scanKrakenV1Book(text);
  assert.ok(ref !== undefined && !ref.snapshot, `flat scanner accepted a frame the update scanner does not: ${text}`);
  const two = (ls: readonly (readonly string[])[]) => ls.map((l) => [l[0], l[1]]);
  assert.deepEqual(got, { channelId: ref.channelId, checksum: ref.checksum, asks: two(ref.asks), bids: two(ref.bids) });
  return true;
}

test('on random Kraken v1 updates the flat scanner reads what scanKrakenV1Book reads, and accepts every plain one', () => {
  fc.assert(
    fc.property(update, (u) => {
      const accepted = agrees(u.text);
      if (u.plain) assert.ok(accepted, `flat scanner declined a plain update: ${u.text}`);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated Kraken v1 updates the flat scanner either declines or reads what scanKrakenV1Book reads', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(update, mutations, (u, ms) => {
      if (agrees(mutate(u.text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 2000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the flat scanner declines snapshots and layouts it does not read', () => {
  for (const t of [
    '[1,{"as":[["1.0","2.0","3"]],"bs":[]},"book-10","XBT/USD"]',
    '[1,{"b":[["1.0","2.0","3"]]},{"a":[["1.0","2.0","3"]],"c":"1"},"book-10","XBT/USD"]',
    '[1,{"a":[["1.0","2.0","3"]],"c":"1"},{"b":[["1.0","2.0","3"]]},"book-10","XBT/USD"]',
    '[1,{"c":"1"},"book-10","XBT/USD"]',
    '[1,{"a":[["1.0","2.0","3"]],"c":"4294967296"},"book-10","XBT/USD"]',
    '[1,{"a":[["1.0","2.0","3"]]},"book-10","XBT/USD"] ',
    '[1,{"a":[["1.0","2.0","3"]]},"boo","XBT/USD"]',
    '[1,{"a":[["1.0","2.0","3"]]},"spread","XBT/USD"]',
  ]) {
    assert.equal(scanKrakenV1UpdateFlat(t), undefined, t);
  }
  const u = scanKrakenV1UpdateFlat('[7,{"a":[["1.50000","2.00000000","3"]]},{"b":[],"c":"42"},"book-10","XBT/USD"]');
  assert.deepEqual(u && [u.channelId, u.checksum, u.levels.asks, u.levels.bids], [
    7,
    42,
    [['1.50000', '2.00000000']],
    [],
  ]);
});

// ---- WS v2 -------------------------------------------------------------------------------------------

/** Number tokens as v2 writes them, sometimes in forms the book must judge (exponents, signs, long ones). */
const token = fc.oneof(
  { weight: 10, arbitrary: fc.stringMatching(/^[0-9]{1,9}(\.[0-9]{1,10})?$/) },
  { weight: 1, arbitrary: fc.constantFrom('1e-5', '2.5E3', '-1', '0', '0.0', '1.', '12345678901234567.5', '-') },
);
const v2Levels = fc.array(fc.tuple(token, token), { maxLength: 12 });
const v2Update = fc
  .record({
    bids: v2Levels,
    asks: v2Levels,
    checksum: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
    timestamp: fc.boolean(),
  })
  .map((r) => {
    const lv = (ls: [string, string][]) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
    const cs = r.checksum === undefined ? '' : `,"checksum":${r.checksum}`;
    const ts = r.timestamp ? ',"timestamp":"2024-10-03T02:46:57.050170Z"' : '';
    return `{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":${lv(r.bids)},"asks":${lv(r.asks)}${cs}${ts}}]}`;
  });

/** Whether the v2 flat scanner declines, or reads what `scanKrakenV2Book` reads; true when it accepted. */
function agreesV2(text: string): boolean {
  const flat = scanKrakenV2UpdateFlat(text);
  if (flat === undefined) return false;
  const ref = scanKrakenV2Book(text);
  assert.ok(
    ref !== undefined && ref.type === 'update' && ref.data.length === 1,
    `accepted what the scanner does not: ${text}`,
  );
  const d = ref.data[0] as NonNullable<(typeof ref.data)[0]>;
  const two = (ls: readonly { price: string; qty: string }[]) => ls.map((l) => [l.price, l.qty]);
  assert.deepEqual(
    { symbol: flat.symbol, checksum: flat.checksum, bids: flat.levels.bids, asks: flat.levels.asks },
    { symbol: d.symbol, checksum: d.checksum, bids: two(d.bids), asks: two(d.asks) },
  );
  return true;
}

test('on random Kraken v2 updates the flat scanner reads what scanKrakenV2Book reads, and accepts every one', () => {
  fc.assert(
    fc.property(v2Update, (text) => {
      assert.ok(agreesV2(text), `flat scanner declined a v2 update: ${text}`);
    }),
    { numRuns: 1000 },
  );
  const snapshot = '{"channel":"book","type":"snapshot","data":[{"symbol":"A/B","bids":[],"asks":[],"checksum":1}]}';
  assert.equal(scanKrakenV2UpdateFlat(snapshot), undefined, 'snapshots go through the scanner');
  const two =
    '{"channel":"book","type":"update","data":[{"symbol":"A/B","bids":[],"asks":[]},{"symbol":"C/D","bids":[],"asks":[]}]}';
  assert.equal(scanKrakenV2UpdateFlat(two), undefined, 'several symbols go through the scanner');
});

test('on randomly mutated Kraken v2 updates the flat scanner either declines or reads what scanKrakenV2Book reads', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(v2Update, mutations, (text, ms) => {
      if (agreesV2(mutate(text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 2000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

// ---- checksum -----------------------------------------------------------------------------------------

/** One change: a side, a price a few ticks from the middle, and a quantity text (zero deletes). */
const change = fc.record({
  ask: fc.boolean(),
  ticks: fc.integer({ min: 1, max: 30 }),
  /** A price with one more digit than the tick (the book's price scale grows). */
  finer: fc.nat({ max: 40 }).map((n) => n === 0),
  qty: fc.oneof(
    { weight: 1, arbitrary: fc.constant('0') },
    {
      weight: 8,
      arbitrary: fc
        .integer({ min: 1, max: 10 ** 9 })
        .chain((n) => fc.nat({ max: 8 }).map((d) => (n / 10 ** d).toFixed(d))),
    },
    { weight: 1, arbitrary: fc.constantFrom('1e-3', '2.5E2', '0.000100', '12') },
  ),
});

test('the fast Kraken checksum equals the text checksum through random changes, decimals and price ranges', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(change, { maxLength: 8 }), { minLength: 1, maxLength: 30 }),
      fc.constantFrom('1', '0.01', '123456789.5'),
      fc.nat({ max: 12 }),
      fc.nat({ max: 10 }),
      (frames, tick, pdExtra, qdBase) => {
        const book = new L2Book();
        const fast = new KrakenFastChecksum();
        const text = new KrakenChecksumBuilder();
        const tickN = Number(tick);
        let qd = qdBase;
        for (const [f, changes] of frames.entries()) {
          for (const c of changes) {
            const mid = tickN * 1000;
            const dp = tick.split('.')[1]?.length ?? 0;
            const p0 = (c.ask ? mid + c.ticks * tickN : mid - c.ticks * tickN).toFixed(dp);
            const p = c.finer ? `${p0}${dp === 0 ? '.' : ''}5` : p0;
            book.set(c.ask ? 'ask' : 'bid', p, c.qty);
          }
          book.truncate(15);
          if (f % 7 === 6) qd++; // decimals learned later
          const pd = book.priceScale + pdExtra + (f % 10 === 9 ? 1 : 0); // price decimals learned later
          assert.equal(fast.checksumOf(book, pd, qd), text.checksum(book, pd, qd));
        }
      },
    ),
    { numRuns: 300 },
  );
});
