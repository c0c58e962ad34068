/**
 * The fast checksums (src/venues/{okx,kraken,bitfinex}/fast-checksum.ts: cached per-level CRC fragments
 * combined with frame-scan.ts's CRC-32 algebra) equal the venues' text checksums (checksum.ts) on random
 * books, through random sequences of changes; `TopChecksumMemo` reports "unchanged" exactly when the top
 * levels and the key are unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { L2Book } from '../../src/book/l2-book.ts';
import { BitfinexChecksumBuilder } from '../../src/venues/bitfinex/checksum.ts';
import { BitfinexFastChecksum } from '../../src/venues/bitfinex/fast-checksum.ts';
import { CRC_INIT, crcAppend, crcByte, crcUpdate } from '../../src/venues/crc32-combine.ts';
import { detach, TopChecksumMemo } from '../../src/venues/frame-scan.ts';
import { KrakenChecksumBuilder } from '../../src/venues/kraken/checksum.ts';
import { KrakenFastChecksum } from '../../src/venues/kraken/fast-checksum.ts';
import { okxChecksumOfFragments } from '../../src/venues/okx/checksum.ts';
import { OkxFastChecksum } from '../../src/venues/okx/fast-checksum.ts';
import { isCanonicalPrice } from '../../src/venues/okx/feed-handler.ts';

test('CRC-32 of fragments combined with crcAppend equals zlib.crc32 of the joined text', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary-ascii', maxLength: 40 }), { maxLength: 60 }), (frags) => {
      let r = CRC_INIT;
      frags.forEach((f, i) => {
        if (i > 0) r = crcByte(r, 58);
        r = crcAppend(r, crcUpdate(0, f), f.length);
      });
      assert.equal((r ^ CRC_INIT) >>> 0, crc32(frags.join(':')));
    }),
  );
  assert.ok(Number.isNaN(crcUpdate(0, 'é')), 'a non-ASCII text is refused');
});

/** A price and size as text: tick 0.5 or 0.01, sizes with 0 to 8 decimals (zero deletes). */
const change = fc.record({
  ask: fc.boolean(),
  ticks: fc.integer({ min: 1, max: 120 }),
  cents: fc.boolean(),
  size: fc.oneof(
    fc.constant('0'),
    fc.integer({ min: 1, max: 10 ** 9 }).chain((n) => fc.nat({ max: 8 }).map((d) => (n / 10 ** d).toFixed(d))),
  ),
});
type Change = { ask: boolean; ticks: number; cents: boolean; size: string };

function priceText(c: Change): string {
  const base = c.ask ? 1000 : 900;
  return c.cents ? (base + c.ticks / 100).toFixed(2) : String(base + (c.ask ? 1 : -1) * c.ticks * 0.5);
}

function apply(book: L2Book, c: Change): void {
  book.set(c.ask ? 'ask' : 'bid', priceText(c), c.size);
}

/** OKX's text checksum from the book's own texts (canonical prices, the size text as stored). */
function okxText(book: L2Book): number {
  const frags = (side: 'bid' | 'ask') =>
    book.levels(side, 25).map((_, i) => `${book.formatPrice(book.side(side).priceAt(i))}:${book.side(side).sizeAt(i)}`);
  const b = frags('bid');
  const a = frags('ask');
  return okxChecksumOfFragments(b, b.length, a, a.length);
}

test('the fast OKX, Kraken and Bitfinex checksums equal their text checksums through random changes', () => {
  fc.assert(
    fc.property(fc.array(fc.array(change, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 25 }), (msgs) => {
      const book = new L2Book();
      const okx = new OkxFastChecksum();
      const kraken = new KrakenFastChecksum();
      const krakenText = new KrakenChecksumBuilder();
      const bfx = new BitfinexFastChecksum();
      const bfxText = new BitfinexChecksumBuilder();
      const none = new Map<number, string>();
      const top10 = new TopChecksumMemo(10);
      for (const m of msgs) {
        for (const c of m) apply(book, c);
        top10.unchanged(book, 0);
        assert.equal(okx.checksum(book, 0, none, none), okxText(book));
        assert.equal(kraken.checksum(book, top10, 2, 8), krakenText.checksum(book, 2, 8));
        assert.equal(bfx.checksum(book), bfxText.checksum(book));
      }
    }),
    { numRuns: 300 },
  );
});

test('the fast OKX checksum uses the venue price text kept for a non-canonical price', () => {
  const book = new L2Book();
  book.applySnapshot([['100', '1']], [['101.5', '2']]);
  const odd = new Map([[book.parsePrice('100'), '100.0']]);
  const want = crc32('100.0:1:101.5:2') | 0;
  const fast = new OkxFastChecksum();
  assert.equal(fast.checksum(book, 0, odd, new Map()), want);
  // Same levels, only the text changed (the level was re-sent as "100"): the fragment is rebuilt.
  assert.equal(fast.checksum(book, 1, new Map(), new Map()), crc32('100:1:101.5:2') | 0);
  assert.equal(fast.checksum(book, 2, odd, new Map()), want);
});

test('TopChecksumMemo is unchanged exactly when the top levels and the key are', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(change, fc.nat({ max: 2 })), { maxLength: 60 }), (steps) => {
      const book = new L2Book();
      const memo = new TopChecksumMemo(5);
      let last = '';
      let lastKey = -1;
      for (const [c, k] of steps) {
        apply(book, c);
        const key = k + 3 * book.priceScale; // as the handlers do: how prices are formatted is part of the key
        const raw = (side: 'bid' | 'ask') => {
          const s = book.side(side);
          return [0, 1, 2, 3, 4].map((i) => (s.length > i ? `${s.priceAt(i)} ${s.sizeAt(i)}` : ''));
        };
        const now = JSON.stringify([raw('bid'), raw('ask')]);
        assert.equal(memo.unchanged(book, key), now === last && key === lastKey, now);
        last = now;
        lastKey = key;
      }
    }),
    { numRuns: 300 },
  );
});

test('detach returns an equal string', () => {
  const frame = `{"q":"${'1'.repeat(30)}.5"}`;
  for (const [a, b] of [
    [6, 10],
    [6, 38],
  ] as const) {
    assert.equal(detach(frame.slice(a, b)), frame.slice(a, b));
  }
});

test("a price text isCanonicalPrice accepts is the book's own formatting of that price", () => {
  const text = fc.oneof(
    fc.stringMatching(/^[0-9]{1,8}(\.[0-9]{1,8})?$/),
    fc.stringMatching(/^[0-9.eE+-]{1,10}$/),
    fc.double({ min: 1e-8, max: 1e9, noNaN: true }).map(String),
  );
  let canonical = 0;
  fc.assert(
    fc.property(text, (t) => {
      if (!isCanonicalPrice(t)) return;
      const book = new L2Book();
      let p: number;
      try {
        p = book.parsePrice(t);
      } catch {
        return; // zero, or beyond the book's range: the book rejects it before any checksum
      }
      canonical++;
      assert.equal(book.formatPrice(p), t);
    }),
    { numRuns: 2000 },
  );
  assert.ok(canonical > 100);
  for (const t of ['30261.0', '030261', '1.', '.5', '1e5', '1.50']) assert.equal(isCanonicalPrice(t), false, t);
});
