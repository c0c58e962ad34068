/** The REST book body cache (src/gateway/book-body.ts): the generic serializer's bytes, once per book version. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import { BookBodyCache, encodeBookBody, MAX_DEPTHS_PER_BOOK } from '../../src/gateway/book-body.ts';
import type { BookRef } from '../../src/gateway/source.ts';

function refOf(book: L2Book, updates: number): BookRef {
  return {
    venue: 'sim',
    symbol: 'BTC-USDT',
    venueSymbol: 'BTCUSDT',
    status: 'in_sync',
    reason: null,
    inSync: true,
    book,
    updates,
  };
}

/** What Fastify's serializer writes for BOOK_RESPONSE: the fields in schema order. */
function expected(ref: BookRef, book: L2Book, depth: number): string {
  return JSON.stringify({
    venue: ref.venue,
    symbol: ref.symbol,
    venueSymbol: ref.venueSymbol,
    status: 'in_sync',
    depth,
    updates: ref.updates,
    bids: book.levels('bid', depth),
    asks: book.levels('ask', depth),
  });
}

function book(): L2Book {
  const b = new L2Book();
  b.applySnapshot(
    [
      ['100.50', '2.000'],
      ['100.4', '1'],
      ['99', '0.5'],
    ],
    [
      ['100.6', '1.25'],
      ['101', '3'],
    ],
  );
  return b;
}

describe('REST book body cache', () => {
  it('the encoded body equals the schema serializer output, canonical decimals included', () => {
    const b = book();
    for (const depth of [1, 2, 20])
      assert.equal(encodeBookBody(refOf(b, 7), b, depth).toString(), expected(refOf(b, 7), b, depth));
  });

  it('an unchanged book is served from the cache, and any change gives the new levels', () => {
    const cache = new BookBodyCache();
    const b = book();
    const first = cache.body(refOf(b, 1), b, 20);
    assert.equal(cache.body(refOf(b, 1), b, 20), first, 'same version: same bytes');
    b.applyDelta([['100.50', '0']], [['100.55', '4']]);
    const changed = cache.body(refOf(b, 2), b, 20);
    assert.notEqual(changed, first);
    assert.equal(changed.toString(), expected(refOf(b, 2), b, 20));
  });

  it('a cleared book re-snapshotted to different levels without a new update count is not served stale', () => {
    const cache = new BookBodyCache();
    const b = book();
    const before = cache.body(refOf(b, 1), b, 20).toString();
    const updates = b.updates;
    b.clear();
    b.applySnapshot([], []);
    b.updates = updates;
    const after = cache.body(refOf(b, 1), b, 20).toString();
    assert.notEqual(after, before);
    assert.equal(after, expected(refOf(b, 1), b, 20));
  });

  it(`holds at most ${MAX_DEPTHS_PER_BOOK} depths per book and stays correct past that`, () => {
    const cache = new BookBodyCache();
    const b = book();
    for (let depth = 1; depth <= MAX_DEPTHS_PER_BOOK * 3; depth++) {
      assert.equal(cache.body(refOf(b, 1), b, depth).toString(), expected(refOf(b, 1), b, depth));
    }
  });
});
