import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { generateL2Stream, L2StreamGenerator } from '../../src/sim/l2-stream.ts';

const small = { seed: 7, levels: 300, deltas: 3000, levelsPerDelta: 12 };

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    const sb = Array.from({ length: 20 }, () => b.nextUint32());
    const sc = Array.from({ length: 20 }, () => c.nextUint32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
  });

  it('draws uniform values in [0, 1)', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 10_000; i++) {
      const v = r.next();
      assert.ok(v >= 0 && v < 1);
    }
  });
});

describe('generateL2Stream', () => {
  it('is deterministic for a seed', () => {
    assert.deepEqual(generateL2Stream(small), generateL2Stream(small));
  });

  it('gives a different stream for a different seed', () => {
    const a = generateL2Stream(small);
    const b = generateL2Stream({ ...small, seed: 8 });
    assert.notDeepEqual(a.deltas.slice(0, 50), b.deltas.slice(0, 50));
  });

  it('starts with the requested depth on each side, best bid at mid and best ask one tick above', () => {
    const s = generateL2Stream({ ...small, deltas: 0 });
    assert.equal(s.snapshot.bids.length, 300);
    assert.equal(s.snapshot.asks.length, 300);
    assert.equal(s.snapshot.bids[0]?.[0], '65000.00');
    assert.equal(s.snapshot.asks[0]?.[0], '65000.01');
  });

  it('never crosses or locks the book when applied to L2Book, and the top of the book moves', () => {
    const s = generateL2Stream(small);
    const book = new L2Book();
    book.applySnapshot(s.snapshot.bids, s.snapshot.asks);
    const tops = new Set<string>();
    for (const d of s.deltas) {
      book.applyDelta(d.bids, d.asks);
      assert.ok(!book.isCrossed() && !book.isLocked(), `crossed after ${JSON.stringify(d)}`);
      tops.add(`${book.bestBid()?.price}/${book.bestAsk()?.price}`);
    }
    assert.ok(tops.size > 20, `top of book took only ${tops.size} values`);
  });

  it('stays uncrossed midway through a delta whichever side is applied first', () => {
    const s = generateL2Stream(small);
    const bidsFirst = new L2Book();
    const asksFirst = new L2Book();
    bidsFirst.applySnapshot(s.snapshot.bids, s.snapshot.asks);
    asksFirst.applySnapshot(s.snapshot.bids, s.snapshot.asks);
    for (const d of s.deltas) {
      bidsFirst.applyDelta(d.bids, []);
      assert.ok(!bidsFirst.isCrossed() && !bidsFirst.isLocked());
      bidsFirst.applyDelta([], d.asks);
      asksFirst.applyDelta([], d.asks);
      assert.ok(!asksFirst.isCrossed() && !asksFirst.isLocked());
      asksFirst.applyDelta(d.bids, []);
    }
    assert.equal(bidsFirst.hash(), asksFirst.hash());
  });

  it('writes every price with the tick decimals on the tick grid and every size with the lot decimals', () => {
    const s = generateL2Stream({ ...small, tick: '0.05', lot: '0.001', mid: '3000.10' });
    const levels = [...s.snapshot.bids, ...s.snapshot.asks, ...s.deltas.flatMap((d) => [...d.bids, ...d.asks])];
    for (const [p, q] of levels) {
      assert.match(p, /^\d+\.\d{2}$/);
      assert.match(q, /^\d+\.\d{3}$/);
      assert.equal(Number(p.replace('.', '')) % 5, 0, `${p} is off the 0.05 grid`);
    }
  });

  it('mixes deletes, inserts and size changes near the top, and keeps the depth near its start', () => {
    const s = generateL2Stream({ seed: 3, levels: 1000, deltas: 5000 });
    const book = new L2Book();
    book.applySnapshot(s.snapshot.bids, s.snapshot.asks);
    let n = 0;
    let deletes = 0;
    let inserts = 0;
    let nearTop = 0;
    for (const d of s.deltas) {
      for (const [name, levels] of [
        ['bid', d.bids],
        ['ask', d.asks],
      ] as const) {
        const side = book.side(name);
        for (const [p, q] of levels) {
          n++;
          const price = book.parsePrice(p);
          if (Number(q) === 0) deletes++;
          else if (side.sizeOf(price) === undefined) inserts++;
          if (Math.abs(price - side.bestPrice()) <= 50) nearTop++;
        }
      }
      book.applyDelta(d.bids, d.asks);
    }
    assert.ok(n / s.deltas.length > 10 && n / s.deltas.length < 20, `${n / s.deltas.length} changes per delta`);
    assert.ok(deletes / n > 0.15 && deletes / n < 0.35, `delete share ${deletes / n}`);
    assert.ok(inserts / n > 0.1, `insert share ${inserts / n}`);
    assert.ok(nearTop / n > 0.6, `share within 50 ticks of the best ${nearTop / n}`);
    assert.ok(book.bids.length > 600 && book.asks.length > 600);
  });

  it('never names one price twice on one side of a delta', () => {
    for (const d of generateL2Stream(small).deltas) {
      assert.equal(new Set(d.bids.map((l) => l[0])).size, d.bids.length);
      assert.equal(new Set(d.asks.map((l) => l[0])).size, d.asks.length);
    }
  });

  it('continues endlessly: the generator yields the same deltas as the batch form', () => {
    const g = new L2StreamGenerator(small);
    const batch = generateL2Stream(small);
    assert.deepEqual(g.snapshot(), batch.snapshot);
    let i = 0;
    for (const d of g) {
      assert.deepEqual(d, batch.deltas[i]);
      if (++i === 100) break;
    }
    assert.equal(g.produced, 100);
  });

  it('rejects bad options with a typed error', () => {
    assert.throws(() => generateL2Stream({ ...small, levels: 0 }), { code: 'QOB_ERR_INVALID_ARGUMENT' });
    assert.throws(() => generateL2Stream({ ...small, tick: 'abc' }), { code: 'QOB_ERR_INVALID_ARGUMENT' });
    assert.throws(() => generateL2Stream({ ...small, mid: '65000.005' }), { code: 'QOB_ERR_INVALID_ARGUMENT' });
    assert.throws(() => generateL2Stream({ ...small, tick: '0.05', mid: '65000.01' }), {
      code: 'QOB_ERR_INVALID_ARGUMENT',
    });
  });
});
