import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import type { BookRef, MarketDataSource } from '../../src/gateway/source.ts';
import { BookStream, diffLevels, type Level } from '../../src/gateway/ws/streams.ts';

/** A source holding one in-sync book (BookStream reads only `book`). */
function sourceOf(book: L2Book): MarketDataSource {
  const ref: BookRef = {
    venue: 'v',
    symbol: 'BTC-USDT',
    venueSymbol: 'BTCUSDT',
    status: 'in_sync',
    reason: null,
    inSync: true,
    book,
    updates: 0,
  };
  return { book: () => ref } as unknown as MarketDataSource;
}

/** Deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const top = (book: L2Book, side: 'bid' | 'ask', depth: number): Level[] =>
  book.levels(side, depth).map((l) => [l.price, l.size]);

describe('/ws book streams', () => {
  it("publishes exactly the text diff of the book's top N after every change (same levels, same order), nothing when the top is unchanged", () => {
    const depth = 5;
    const book = new L2Book({ priceScale: 1 });
    const random = rng(7);
    const sizes = ['1', '1.0', '1.50', '1.5', '2', '0.25', '0.250', '3'];
    const level = (bid: boolean): [string, string] => {
      const tick = Math.floor(random() * 12);
      // Mostly one fraction digit; now and then two or three, which grows the book's price scale.
      const r = random();
      const frac = r < 0.97 ? `${tick % 10}` : r < 0.99 ? `${tick % 10}5` : `${tick % 10}25`;
      const price = `${bid ? 99 - Math.floor(tick / 4) : 101 + Math.floor(tick / 4)}.${frac}`;
      const size = random() < 0.3 ? '0' : (sizes[Math.floor(random() * sizes.length)] as string);
      return [price, size];
    };
    book.applySnapshot([level(true), level(true), level(true)], [level(false), level(false)]);
    const stream = new BookStream(sourceOf(book), 'v', 'BTC-USDT', depth, 0);
    const snap = stream.snapshot() as { bids: Level[]; asks: Level[] };
    assert.deepEqual(snap.bids, top(book, 'bid', depth));
    assert.deepEqual(snap.asks, top(book, 'ask', depth));
    let bids = top(book, 'bid', depth);
    let asks = top(book, 'ask', depth);
    let deltas = 0;
    let quiet = 0;
    const startScale = book.priceScale;
    for (let step = 1; step <= 3000; step++) {
      const n = Math.floor(random() * 3);
      const b = Array.from({ length: n }, () => level(true));
      const a = Array.from({ length: Math.floor(random() * 3) }, () => level(false));
      book.applyDelta(b, a);
      const nextBids = top(book, 'bid', depth);
      const nextAsks = top(book, 'ask', depth);
      const db = diffLevels(bids, nextBids);
      const da = diffLevels(asks, nextAsks);
      const p = stream.poll(step);
      if (db.length === 0 && da.length === 0) {
        assert.equal(p, undefined, `step ${step}: nothing changed in the top ${depth}`);
        quiet++;
      } else {
        assert.deepEqual(p, { type: 'delta', data: { bids: db, asks: da, tsMs: step } }, `step ${step}`);
        deltas++;
      }
      bids = nextBids;
      asks = nextAsks;
      const s = stream.snapshot() as { bids: Level[]; asks: Level[] };
      assert.deepEqual([s.bids, s.asks], [bids, asks], `step ${step}: the snapshot is the published top`);
    }
    // The walk exercised both outcomes and a growing price scale.
    assert.ok(deltas > 100 && quiet > 100, `${deltas} deltas, ${quiet} quiet steps`);
    assert.ok(book.priceScale > startScale, 'the price scale grew during the walk');
  });
});
