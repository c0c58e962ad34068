/**
 * `FlatLevels.apply` (src/venues/frame-scan.ts) is `L2Book.applyDelta` without the per-level arrays: on any
 * book and any delta, bids or asks first, with or without extra strings per level, it leaves the same
 * book, price scale and update count, and throws the same typed error (leaving the book unchanged).
 * `plainAt` is `parsePlain` over a range of a text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { L2Book, type RawLevel } from '../../src/book/l2-book.ts';
import { parsePlain } from '../../src/core/fixed.ts';
import { FlatLevels, FrameScanner, plainAt, truncateBook } from '../../src/venues/frame-scan.ts';

const digits = fc.stringMatching(/^[0-9]{1,7}$/);
const decimal = fc
  .tuple(digits, fc.option(fc.stringMatching(/^[0-9]{0,9}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? i : `${i}.${f}`));
/** Mostly plain decimals; sometimes exponents, signs, stray text or the empty string. */
const text = fc.oneof(
  { weight: 12, arbitrary: decimal },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '-1', '1e2', '1.5e-3', 'abc', '0', '0.0', '.5', '5.', '1..2') },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 5 }).filter((s) => [...s].every((c) => c >= ' ' && c !== '"' && c !== '\\')),
  },
);
const level = fc.tuple(text, fc.oneof({ weight: 3, arbitrary: decimal }, { weight: 1, arbitrary: text }));
const side = fc.array(level, { maxLength: 12 });

function frameOf(bids: readonly (readonly [string, string])[], asks: readonly (readonly [string, string])[]): string {
  return JSON.stringify({ b: bids, a: asks });
}

function scan(frame: string): FlatLevels {
  const sc = new FrameScanner().reset(frame);
  const flat = new FlatLevels().reset(frame);
  assert.ok(sc.lit('{"b":') && sc.flatLevels(flat));
  flat.endBids();
  assert.ok(sc.lit(',"a":') && sc.flatLevels(flat) && sc.lit('}') && sc.done);
  return flat;
}

function state(b: L2Book) {
  const lv = (s: 'bid' | 'ask') => {
    const side = b.side(s);
    const out: string[] = [];
    for (let i = 0; i < side.length; i++) out.push(`${side.priceAt(i)} ${side.sizeAt(i)}`);
    return out;
  };
  return { scale: b.priceScale, updates: b.updates, bids: lv('bid'), asks: lv('ask') };
}

function attempt(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return `${(e as { code?: string }).code} ${(e as Error).message}`;
  }
}

test('FlatLevels.apply leaves exactly the book, scale, update count and typed error that applyDelta does', () => {
  let errors = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(side, side), { minLength: 1, maxLength: 5 }), (deltas) => {
      const viaArrays = new L2Book();
      const viaFlat = new L2Book();
      for (const [bids, asks] of deltas) {
        const frame = frameOf(bids, asks);
        const flat = scan(frame);
        const want = attempt(() => viaArrays.applyDelta(bids as RawLevel[], asks as RawLevel[]));
        const got = attempt(() => flat.apply(viaFlat));
        if (want !== 'ok') errors++;
        assert.equal(got, want);
        assert.deepEqual(state(viaFlat), state(viaArrays));
      }
    }),
    { numRuns: 400 },
  );
  assert.ok(errors > 0, 'no delta was refused: the property did not test error equality');
});

/** Kraken's layout: asks first, each level with further strings (a timestamp, sometimes "r"). */
function scanAsksFirst(asks: readonly (readonly string[])[], bids: readonly (readonly string[])[]): FlatLevels {
  const frame = JSON.stringify({ a: asks, b: bids });
  const sc = new FrameScanner().reset(frame);
  const flat = new FlatLevels().reset(frame, true);
  assert.ok(sc.lit('{"a":') && sc.flatTextLevels(flat), frame);
  flat.endAsks();
  assert.ok(sc.lit(',"b":') && sc.flatTextLevels(flat) && sc.lit('}') && sc.done, frame);
  return flat;
}

test('FlatLevels with asks first and extra strings per level leaves exactly what applyDelta(bids, asks) does', () => {
  let errors = 0;
  const extra = fc.constantFrom([], ['1618678133.881512'], ['1618678133.881512', 'r']);
  const withExtra = fc.array(
    fc.tuple(level, extra).map(([l, e]) => [...l, ...e]),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(withExtra, withExtra), { minLength: 1, maxLength: 5 }), (deltas) => {
      const viaArrays = new L2Book();
      const viaFlat = new L2Book();
      for (const [asks, bids] of deltas) {
        const flat = scanAsksFirst(asks, bids);
        assert.deepEqual(
          flat.asks,
          asks.map((l) => [l[0], l[1]]),
        );
        assert.deepEqual(
          flat.bids,
          bids.map((l) => [l[0], l[1]]),
        );
        const want = attempt(() => viaArrays.applyDelta(bids as RawLevel[], asks as RawLevel[]));
        const got = attempt(() => flat.apply(viaFlat));
        if (want !== 'ok') errors++;
        assert.equal(got, want);
        assert.deepEqual(state(viaFlat), state(viaArrays));
      }
    }),
    { numRuns: 400 },
  );
  assert.ok(errors > 0, 'no delta was refused: the property did not test error equality');
});

test('the scanner reads plain prices and sizes on the way: their written fraction digits, -1 otherwise', () => {
  const flat = scanAsksFirst(
    [
      ['65000.10000', '0.00012000', 't'],
      ['1e3', '5.', 't'],
    ],
    [['7', '12', 't', 'r']],
  );
  assert.deepEqual(
    [0, 1, 2].map((k) => [flat.priceDecimals(k), flat.sizeDecimals(k), flat.priceText(k), flat.sizeText(k)]),
    [
      [5, 8, '65000.10000', '0.00012000'],
      [-1, 0, '1e3', '5.'],
      [0, 0, '7', '12'],
    ],
  );
  assert.deepEqual([flat.maxPriceDecimals, flat.maxSizeDecimals], [-1, 8], 'one price is not plain: unknown');
  const plain = scanAsksFirst([['1.25', '3.5000', 't']], [['0.5', '7', 't']]);
  assert.deepEqual([plain.maxPriceDecimals, plain.maxSizeDecimals], [2, 4]);
});

test('FlatLevels gives back the levels it scanned as [price, size] texts', () => {
  const flat = scan(
    frameOf(
      [['1.5', '2']],
      [
        ['3', '0.25'],
        ['4', '0'],
      ],
    ),
  );
  assert.deepEqual(flat.bids, [['1.5', '2']]);
  assert.deepEqual(flat.asks, [
    ['3', '0.25'],
    ['4', '0'],
  ]);
});

test('plainAt over a range of a text is parsePlain of that slice', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 4 }),
      text,
      fc.string({ maxLength: 4 }),
      fc.nat({ max: 12 }),
      (pre, t, post, scale) => {
        const whole = pre + t + post;
        assert.deepEqual(plainAt(whole, pre.length, pre.length + t.length, scale), parsePlain(t, scale));
      },
    ),
    { numRuns: 2000 },
  );
});

test('truncateBook keeps exactly the levels L2Book.truncate keeps, and refuses the depths it refuses', () => {
  const price = fc.integer({ min: 1, max: 400 }).map(String);
  const lv = fc.array(fc.tuple(price, fc.constantFrom('1', '2.5', '0')), { maxLength: 30 });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 60 }),
      fc.array(fc.tuple(lv, lv), { minLength: 1, maxLength: 20 }),
      fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(-1, 2.5, Number.NaN, Number.POSITIVE_INFINITY)),
      (n, deltas, depth) => {
        const snap: [string, string][] = [];
        for (let i = 0; i < n; i++) snap.push([String(1000 + i), '1']);
        const a = new L2Book();
        const b = new L2Book();
        a.applySnapshot(
          snap,
          snap.map(([p, s]) => [String(Number(p) + 100), s]),
        );
        b.applySnapshot(
          snap,
          snap.map(([p, s]) => [String(Number(p) + 100), s]),
        );
        for (const [bids, asks] of deltas) {
          a.applyDelta(bids, asks);
          b.applyDelta(bids, asks);
          assert.equal(
            attempt(() => truncateBook(a, depth)),
            attempt(() => b.truncate(depth)),
          );
          assert.deepEqual(state(a), state(b));
          a.bids.checkInvariants();
          a.asks.checkInvariants();
        }
      },
    ),
    { numRuns: 300 },
  );
});
