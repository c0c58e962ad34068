/**
 * The Deduplicator against a model: a plain insertion-ordered set of event ids that forgets the oldest
 * beyond the window (what the bus promised before ids were kept as numeric positions). Random streams mix
 * every id form (venue sequence ids, receive ordering, numeric and text trade ids, venue-wide status),
 * arrive mostly in order with redeliveries, repeats inside a batch and events out of order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deduplicator } from '../../src/bus/bus.ts';
import { bookDelta, bookSnapshot, type MarketEvent, status, trade } from '../../src/domain/events.ts';

class ModelDedup {
  readonly ids = new Set<string>();
  readonly window: number;
  constructor(window: number) {
    this.window = window;
  }
  fresh(events: readonly MarketEvent[]): MarketEvent[] {
    const local = new Set<string>();
    return events.filter((e) => {
      if (this.ids.has(e.id) || local.has(e.id)) return false;
      local.add(e.id);
      return true;
    });
  }
  commit(events: readonly MarketEvent[]): void {
    for (const e of events) {
      if (this.ids.has(e.id)) continue;
      this.ids.add(e.id);
      if (this.ids.size > this.window) this.ids.delete(this.ids.values().next().value as string);
    }
  }
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces from its seed. */
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

function makeEvent(r: () => number, stream: number, n: number): MarketEvent {
  const venue = stream % 2 === 0 ? 'binance' : 'okx';
  const symbol = `S${stream % 3}-USDT`;
  const base = { venue, symbol, tsEventMs: null, tsRecvMs: 1_700_000_000_000 + Math.floor(n / 3), recvSeq: n % 3 };
  switch (stream % 6) {
    case 0:
    case 1: {
      const withSeq = r() < 0.9;
      const first = r() < 0.2 ? null : n;
      return bookDelta({
        ...base,
        firstSeq: withSeq ? first : null,
        lastSeq: withSeq ? n + (r() < 0.3 ? 1 : 0) : null,
        prevSeq: withSeq && r() < 0.5 ? n - 1 : null,
        changes: [{ side: 'bid', price: '100.5', size: '1' }],
      });
    }
    case 2:
      return bookSnapshot({ ...base, seq: r() < 0.8 ? n : null, bids: [['100', '1']], asks: [['101', '2']] });
    case 3: {
      const x = r();
      const tradeId = x < 0.5 ? String(n) : x < 0.7 ? `0${n}` : x < 0.9 ? `id-${n}` : null;
      return trade({ ...base, price: '100', size: '0.5', aggressor: 'buy', tradeId });
    }
    default:
      return status({ ...base, symbol: stream % 6 === 4 ? null : symbol, status: 'in_sync', reason: `r${n}` });
  }
}

describe('Deduplicator', () => {
  it('drops exactly the events a FIFO window of ids drops, for every id form, order and redelivery', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const window = 1 + Math.floor(r() * 60);
      const d = new Deduplicator(window);
      const model = new ModelDedup(window);
      const counters = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      const history: MarketEvent[] = [];
      for (let step = 0; step < 300; step++) {
        const batch: MarketEvent[] = [];
        const size = 1 + Math.floor(r() * 12);
        for (let k = 0; k < size; k++) {
          const x = r();
          if (x < 0.25 && history.length > 0) {
            // A redelivery of something recent (or not so recent).
            batch.push(history[history.length - 1 - Math.floor(r() * Math.min(history.length, 80))] as MarketEvent);
          } else {
            const stream = Math.floor(r() * counters.length);
            // Mostly the next position of the stream; sometimes one from before (out of order).
            const n = x < 0.33 ? Math.max(0, (counters[stream] as number) - Math.floor(r() * 20)) : ++counters[stream]!;
            const e = makeEvent(r, stream, n);
            history.push(e);
            batch.push(e);
          }
        }
        const got = d.fresh(batch);
        const want = model.fresh(batch);
        assert.deepEqual(
          got.map((e) => e.id),
          want.map((e) => e.id),
          `seed ${seed} step ${step}`,
        );
        // Sometimes the handler fails for good (the batch is not committed and comes again later).
        if (r() < 0.9) {
          d.commit(got);
          model.commit(want);
        }
        assert.equal(d.size, model.ids.size, `seed ${seed} step ${step}: size`);
        for (const e of batch) assert.equal(d.has(e.id), model.ids.has(e.id), `seed ${seed} step ${step}: has ${e.id}`);
      }
    }
  });

  it('mixes ids added as text with the same events seen through fresh and commit', () => {
    const d = new Deduplicator(10);
    const e = bookDelta({
      venue: 'binance',
      symbol: 'BTC-USDT',
      tsEventMs: null,
      tsRecvMs: 1_700_000_000_000,
      firstSeq: 5,
      lastSeq: 7,
      prevSeq: 4,
      changes: [],
    });
    assert.equal(d.add(e.id), true);
    assert.equal(d.fresh([e]).length, 0);
    assert.equal(d.add(e.id), false);
    assert.equal(d.add('binance|BTC-USDT|book.delta|s4:5:07'), true, 'a different id that reads as the same numbers');
    assert.equal(d.has('binance|BTC-USDT|book.delta|s:5:7'), false);
    assert.equal(d.size, 2);
  });
});
