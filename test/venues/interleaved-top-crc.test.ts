/**
 * The kept-up-to-date OKX and Bitfinex checksums (src/venues/interleaved-top-crc.ts) equal the venues'
 * text checksums (zlib CRC-32 of the joined text) whatever the book went through since the last checksum,
 * reported as the handlers report it (`touched`, `truncated`, `bookReplaced`) or not reported at all (a
 * set the handler did not report), with a growing price scale and several changes between two checksums.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { L2Book } from '../../src/book/l2-book.ts';
import { BitfinexChecksumBuilder } from '../../src/venues/bitfinex/checksum.ts';
import { BitfinexFastChecksum } from '../../src/venues/bitfinex/fast-checksum.ts';
import { okxChecksumOfFragments } from '../../src/venues/okx/checksum.ts';
import { OkxFastChecksum } from '../../src/venues/okx/fast-checksum.ts';

/** OKX's text checksum from the book's own texts (canonical prices, the size text as stored). */
function okxText(book: L2Book): number {
  const frags = (side: 'bid' | 'ask') =>
    book.levels(side, 25).map((_, i) => `${book.formatPrice(book.side(side).priceAt(i))}:${book.side(side).sizeAt(i)}`);
  const b = frags('bid');
  const a = frags('ask');
  return okxChecksumOfFragments(b, b.length, a, a.length);
}

const price = fc.record({ ask: fc.boolean(), ticks: fc.integer({ min: 1, max: 60 }), cents: fc.boolean() });
const size = fc.oneof(
  fc.constant('0'),
  fc.integer({ min: 1, max: 10 ** 9 }).chain((n) => fc.nat({ max: 8 }).map((d) => (n / 10 ** d).toFixed(d))),
);
type Price = { ask: boolean; ticks: number; cents: boolean };

function priceText(c: Price): string {
  const base = c.ask ? 1000 : 900;
  return c.cents ? (base + (c.ask ? 1 : -1) * (c.ticks / 100)).toFixed(2) : String(base + (c.ask ? 1 : -1) * c.ticks);
}

const op = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('reported' as const), price, size }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unreported' as const), price, size }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), depth: fc.integer({ min: 0, max: 30 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('snapshot' as const),
      levels: fc.array(fc.tuple(price, size), { maxLength: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('checksum' as const) }) },
);

test('the kept-up-to-date OKX and Bitfinex checksums equal the text checksums through reported and unreported changes', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
      const book = new L2Book();
      const okx = new OkxFastChecksum();
      const bfx = new BitfinexFastChecksum();
      const bfxText = new BitfinexChecksumBuilder();
      const none = new Map<number, string>();
      const check = () => {
        assert.equal(okx.checksum(book, 0, none, none), okxText(book));
        assert.equal(bfx.checksum(book), bfxText.checksum(book));
      };
      for (const o of ops) {
        switch (o.kind) {
          case 'reported': {
            // As the Bitfinex handler does: parse, set at the book's scale, report.
            const p = book.parsePrice(priceText(o.price));
            book.setScaled(o.price.ask ? 'ask' : 'bid', p, o.size);
            okx.touched(o.price.ask ? 1 : 0, p);
            bfx.touched(o.price.ask ? 1 : 0, p);
            break;
          }
          case 'unreported':
            book.set(o.price.ask ? 'ask' : 'bid', priceText(o.price), o.size);
            break;
          case 'truncate':
            book.truncate(o.depth);
            okx.truncated(o.depth);
            bfx.truncated(o.depth);
            break;
          case 'snapshot': {
            const bids = new Map<string, string>();
            const asks = new Map<string, string>();
            for (const [p, s] of o.levels) if (s !== '0') (p.ask ? asks : bids).set(priceText(p), s);
            book.applySnapshot([...bids], [...asks]);
            okx.bookReplaced();
            bfx.bookReplaced();
            break;
          }
          case 'clear':
            book.clear();
            okx.bookReplaced();
            bfx.bookReplaced();
            break;
          case 'checksum':
            check();
            break;
        }
      }
      check();
    }),
    { numRuns: 400 },
  );
});

test('an empty book checksums as the empty text, and one side alone as that side', () => {
  const book = new L2Book();
  const okx = new OkxFastChecksum();
  const none = new Map<number, string>();
  assert.equal(okx.checksum(book, 0, none, none), crc32('') | 0);
  book.set('ask', '101.5', '2');
  book.set('ask', '102', '3');
  assert.equal(okx.checksum(book, 0, none, none), crc32('101.5:2:102:3') | 0);
  book.set('bid', '100', '1');
  assert.equal(okx.checksum(book, 0, none, none), crc32('100:1:101.5:2:102:3') | 0);
});

test('a level reported to the Bitfinex checksum but beyond the top 25 leaves the checksum unchanged and exact', () => {
  const book = new L2Book();
  const bids = Array.from({ length: 40 }, (_, i) => [String(1000 - i), '1'] as const);
  const asks = Array.from({ length: 40 }, (_, i) => [String(1001 + i), '2'] as const);
  book.applySnapshot(bids, asks);
  const bfx = new BitfinexFastChecksum();
  const text = new BitfinexChecksumBuilder();
  const before = bfx.checksum(book);
  assert.equal(before, text.checksum(book));
  const p = book.parsePrice('970');
  book.setScaled('bid', p, '5');
  bfx.touched(0, p);
  assert.equal(bfx.checksum(book), before);
  const q = book.parsePrice('980');
  book.setScaled('bid', q, '5'); // rank 21: inside the top 25
  bfx.touched(0, q);
  assert.notEqual(bfx.checksum(book), before);
  assert.equal(bfx.checksum(book), text.checksum(book));
});

test('a truncation reported before a change further down the book is not mistaken for an unchanged top', () => {
  for (const [depth, add] of [
    [0, '898'],
    [1, '897'],
  ] as const) {
    const book = new L2Book();
    book.applySnapshot(
      [
        ['900', '1'],
        ['899', '1'],
      ],
      [],
    );
    const bfx = new BitfinexFastChecksum();
    const text = new BitfinexChecksumBuilder();
    assert.equal(bfx.checksum(book), text.checksum(book));
    book.truncate(depth);
    bfx.truncated(depth);
    const p = book.parsePrice(add);
    book.setScaled('bid', p, '2');
    bfx.touched(0, p);
    if (depth === 1) {
      const q = book.parsePrice('896');
      book.setScaled('bid', q, '2');
      bfx.touched(0, q);
      book.truncate(2);
      bfx.truncated(2);
    }
    assert.equal(bfx.checksum(book), text.checksum(book), `truncated to ${depth}`);
  }
});

test('size-only changes at any position, mixed with moves and with sides of unequal length, keep both checksums exact', () => {
  for (const [nBids, nAsks] of [
    [40, 40],
    [30, 12],
    [9, 30],
  ] as const) {
    const book = new L2Book();
    book.applySnapshot(
      Array.from({ length: nBids }, (_, i) => [String(1000 - i), '1'] as const),
      Array.from({ length: nAsks }, (_, i) => [String(1001 + i), '2.5'] as const),
    );
    const okx = new OkxFastChecksum();
    const bfx = new BitfinexFastChecksum();
    const text = new BitfinexChecksumBuilder();
    const none = new Map<number, string>();
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 600; step++) {
      const ask = rnd(2) === 1;
      const side = book.side(ask ? 'ask' : 'bid');
      // Mostly a new size at an existing level (same price), sometimes a new level or a removed one.
      const r = rnd(10);
      let p: number;
      let size: string;
      if (r < 8 && side.length > 0) {
        p = side.priceAt(rnd(Math.min(side.length, 30)));
        size = String(1 + rnd(100000) / 1000);
      } else {
        p = book.parsePrice(String(ask ? 1001 + rnd(45) : 1000 - rnd(45)));
        size = r === 9 ? '0' : String(1 + rnd(9));
      }
      book.setScaled(ask ? 'ask' : 'bid', p, size);
      okx.touched(ask ? 1 : 0, p);
      bfx.touched(ask ? 1 : 0, p);
      if (rnd(3) === 0) continue; // sometimes two changes between checksums
      assert.equal(bfx.checksum(book), text.checksum(book), `step ${step}`);
      assert.equal(okx.checksum(book, 0, none, none), okxText(book), `step ${step}`);
    }
  }
});
