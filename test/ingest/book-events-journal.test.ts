/**
 * The book event tap finds what changed through the book sides' change journals instead of walking the
 * book after every frame. Whatever the handler does to a book (level sets and deletes, deltas that undo
 * themselves, depth truncation, a fresh snapshot while in sync, a price scale that grows, loss of sync),
 * a consumer that applies the tap's snapshots and deltas holds exactly the handler's book after every frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import type { MarketEvent } from '../../src/domain/events.ts';
import { BookEventTap } from '../../src/ingest/book-events.ts';
import { TrackedBook, type VenueFeedHandler } from '../../src/venues/feed-handler.ts';

/** A handler whose frames are scripted book operations (JSON), on one book. */
function scriptedHandler(): VenueFeedHandler & { tb: TrackedBook } {
  const tb = new TrackedBook('binance', 'BTCUSDT', 'BTCUSDT');
  return {
    venue: 'binance',
    tb,
    counters: { malformed: 0, unknown: 0 },
    onConnect() {},
    onSend() {},
    onHttp() {},
    books: () => [tb],
    onFrame(_conn, data, ts) {
      const op = JSON.parse(data) as
        | { op: 'delta'; bids: [string, string][]; asks: [string, string][] }
        | { op: 'snapshot'; bids: [string, string][]; asks: [string, string][] }
        | { op: 'truncate'; depth: number }
        | { op: 'stale' };
      if (op.op === 'delta') tb.book.applyDelta(op.bids, op.asks);
      else if (op.op === 'snapshot') {
        tb.book.applySnapshot(op.bids, op.asks);
        tb.setStatus('in_sync', 'snapshot', ts);
      } else if (op.op === 'truncate') tb.book.truncate(op.depth);
      else {
        tb.book.clear();
        tb.setStatus('stale', 'scripted', ts);
      }
      tb.updates++;
    },
  };
}

/** Seeded xorshift. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function consumerOf(events: MarketEvent[]): L2Book | null {
  let book: L2Book | null = null;
  for (const e of events) {
    if (e.type === 'book.snapshot') {
      book = new L2Book();
      book.applySnapshot(
        e.bids.map((l) => [l[0], l[1]]),
        e.asks.map((l) => [l[0], l[1]]),
      );
    } else if (e.type === 'status') book = null;
    else if (e.type === 'book.delta') {
      assert.ok(book !== null, 'a delta follows a snapshot');
      for (const c of e.changes) book.set(c.side, c.price, c.size);
    }
  }
  return book;
}

describe('BookEventTap over the change journal', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: the consumer's book equals the handler's after every frame`, () => {
      const r = rng(seed);
      const handler = scriptedHandler();
      const events: MarketEvent[] = [];
      const tap = new BookEventTap('binance', () => handler, {
        emit: (e) => events.push(e),
        onError: (e) => assert.fail(e.message),
        snapshotEvery: 1000,
      });
      let decimals = 1;
      const price = (mid: number) => (mid + Math.floor(r() * 400) / 10 ** decimals).toFixed(decimals);
      const levels = (base: number, dir: 1 | -1, n: number): [string, string][] =>
        Array.from({ length: n }, () => [price(base + dir * r() * 50), r() < 0.2 ? '0' : (r() * 5).toFixed(3)]);
      const frame = (op: object) => tap.onFrame('c', JSON.stringify(op), 1);
      frame({ op: 'snapshot', bids: levels(900, -1, 80), asks: levels(1000, 1, 80) });
      let deltas = 0;
      for (let step = 0; step < 1500; step++) {
        const x = r();
        if (x < 0.8) {
          frame({
            op: 'delta',
            bids: levels(900, -1, 1 + Math.floor(r() * 6)),
            asks: levels(1000, 1, Math.floor(r() * 6)),
          });
        } else if (x < 0.88) frame({ op: 'truncate', depth: 20 + Math.floor(r() * 60) });
        else if (x < 0.92) {
          // a level set and removed again in one frame: no change to publish
          const p = price(800);
          frame({
            op: 'delta',
            bids: [
              [p, '1.5'],
              [p, '0'],
            ],
            asks: [],
          });
        } else if (x < 0.95) frame({ op: 'snapshot', bids: levels(900, -1, 50), asks: levels(1000, 1, 50) });
        else if (x < 0.96 && decimals < 4) {
          decimals++; // finer prices: the book's price scale grows
          frame({ op: 'delta', bids: levels(900, -1, 3), asks: levels(1000, 1, 3) });
        } else if (x < 0.97) {
          frame({ op: 'stale' });
          frame({ op: 'snapshot', bids: levels(900, -1, 40), asks: levels(1000, 1, 40) });
        } else frame({ op: 'delta', bids: [], asks: [] });
        const consumer = consumerOf(events);
        assert.ok(
          consumer !== null,
          `events: ${events
            .slice(-4)
            .map((e) => e.type)
            .join(',')} at ${step}`,
        );
        assert.deepEqual(consumer.toJSON(), handler.tb.book.toJSON(), `after step ${step}`);
        deltas = events.filter((e) => e.type === 'book.delta').length;
      }
      assert.ok(deltas > 1000, `deltas were published (${deltas})`);
      for (const e of events) {
        if (e.type === 'book.delta') assert.ok(e.changes.length > 0, 'no empty delta');
      }
    });
  }
});
