import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConsolidatedBook, type VenueBookSource } from '../../src/book/consolidated-book.ts';
import { L2Book } from '../../src/book/l2-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { TrackedBook } from '../../src/venues/feed-handler.ts';

function venue(name: string, bids: string[][], asks: string[][], inSync = true, options = {}): VenueBookSource {
  const book = new L2Book(options);
  book.applySnapshot(bids, asks);
  return { venue: name, book, inSync, status: inSync ? 'in_sync' : 'stale' };
}

describe('ConsolidatedBook', () => {
  test('merges levels across venues with different internal scales, with the per-venue breakdown', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    c.addVenue(
      venue(
        'binance',
        [
          ['100.10', '1'],
          ['99', '2'],
        ],
        [['101', '1.5']],
        true,
        { priceScale: 2, sizeScale: 8 },
      ),
    );
    c.addVenue(
      venue(
        'okx',
        [
          ['100.1', '0.5'],
          ['99.5', '1'],
        ],
        [
          ['101.0000', '2'],
          ['102', '1'],
        ],
      ),
    );
    const d = c.depth(10);
    assert.equal(d.instrument, 'BTC-USDT');
    assert.deepEqual(d.excluded, []);
    assert.deepEqual(d.bids, [
      {
        price: '100.1',
        size: '1.5',
        venues: [
          { venue: 'binance', price: '100.1', size: '1' },
          { venue: 'okx', price: '100.1', size: '0.5' },
        ],
      },
      { price: '99.5', size: '1', venues: [{ venue: 'okx', price: '99.5', size: '1' }] },
      { price: '99', size: '2', venues: [{ venue: 'binance', price: '99', size: '2' }] },
    ]);
    assert.deepEqual(
      d.asks.map((l) => [l.price, l.size, l.venues.length]),
      [
        ['101', '3.5', 2],
        ['102', '1', 1],
      ],
    );
    assert.equal(c.depth(1).bids.length, 1);
  });

  test('the BBO names every venue at the best price', () => {
    const c = new ConsolidatedBook('ETH-USD');
    c.addVenue(venue('a', [['10', '1']], [['11', '1']]));
    c.addVenue(venue('b', [['10.0', '2']], [['11.5', '1']]));
    const bbo = c.bbo();
    assert.equal(bbo.bid?.price, '10');
    assert.deepEqual(
      bbo.bid?.venues.map((v) => v.venue),
      ['a', 'b'],
    );
    assert.equal(bbo.ask?.price, '11');
    assert.deepEqual(
      bbo.ask?.venues.map((v) => v.venue),
      ['a'],
    );
    assert.equal(bbo.opportunity, undefined);
  });

  test('leaves out venue books that are not in sync and says so in every result', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    c.addVenue(venue('good', [['100', '1']], [['101', '1']]));
    c.addVenue(venue('bad', [['200', '1']], [['50', '1']], false));
    const tracked = new TrackedBook('kraken', 'BTC/USDT', 'book:BTC/USDT');
    tracked.book.applySnapshot([['150', '1']], []);
    c.addVenue(tracked); // status 'syncing'
    const d = c.depth(5);
    assert.deepEqual(d.excluded, [
      { venue: 'bad', status: 'stale' },
      { venue: 'kraken', status: 'syncing' },
    ]);
    assert.deepEqual(
      d.bids.map((l) => l.price),
      ['100'],
    );
    assert.deepEqual(c.bbo().excluded, d.excluded);
    tracked.setStatus('in_sync', 'snapshot', 0);
    assert.equal(c.bbo().bid?.price, '150');
    assert.equal(c.bbo().excluded.length, 1);
  });

  test('reads are lazy: a venue update shows on the next read without telling the consolidated book', () => {
    const a = venue('a', [['100', '1']], [['101', '1']]);
    const c = new ConsolidatedBook('X-Y');
    c.addVenue(a);
    a.book.applyDelta([['100.5', '2']], []);
    assert.equal(c.bbo().bid?.price, '100.5');
  });

  test('a cross-venue crossed market is an opportunity with exact edge, edge in bps and executable size', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    c.addVenue(
      venue(
        'cheap',
        [['98', '1']],
        [
          ['99', '0.5'],
          ['99.5', '1'],
          ['101', '5'],
        ],
      ),
    );
    c.addVenue(
      venue(
        'rich',
        [
          ['100', '0.75'],
          ['99.8', '2'],
        ],
        [['102', '1']],
      ),
    );
    const bbo = c.bbo();
    assert.equal(bbo.bid?.price, '100');
    assert.equal(bbo.ask?.price, '99');
    const o = bbo.opportunity;
    assert.ok(o);
    assert.equal(o.buyVenue, 'cheap');
    assert.equal(o.sellVenue, 'rich');
    assert.equal(o.buyPrice, '99');
    assert.equal(o.sellPrice, '100');
    assert.equal(o.edge, '1');
    assert.ok(Math.abs(o.edgeBps - (1 / 99) * 10000) < 1e-6);
    // Walk: 0.5 @99 against 100, 0.25 @99.5 against 100, 0.75 @99.5 against 99.8; then 101 > 99.8 stops it.
    assert.equal(o.size, '1.5');
  });

  test('taker fees adjust prices exactly (bid * (1 - fee), ask * (1 + fee)) and reorder levels', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    c.addVenue(venue('a', [['100', '1']], [['101', '1']]), 10); // 10 bps
    c.addVenue(venue('b', [['99.95', '1']], [['101.05', '1']]), '2.5');
    const raw = c.depth(2);
    assert.deepEqual(
      raw.bids.map((l) => l.venues[0]?.venue),
      ['a', 'b'],
    );
    const adj = c.depth(2, { feeAdjusted: true });
    assert.equal(adj.feeAdjusted, true);
    // a: 100 * 0.999 = 99.9; b: 99.95 * 0.99975 = 99.9250125
    assert.deepEqual(
      adj.bids.map((l) => [l.price, l.venues[0]?.venue, l.venues[0]?.price]),
      [
        ['99.9250125', 'b', '99.95'],
        ['99.9', 'a', '100'],
      ],
    );
    // a: 101 * 1.001 = 101.101; b: 101.05 * 1.00025 = 101.0752625
    assert.deepEqual(
      adj.asks.map((l) => l.price),
      ['101.0752625', '101.101'],
    );
  });

  test('fees can remove an opportunity that raw prices show', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    c.addVenue(venue('a', [], [['100', '1']]), 10);
    c.addVenue(venue('b', [['100.1', '1']], []), 10);
    assert.equal(c.bbo().opportunity?.edge, '0.1');
    assert.equal(c.bbo({ feeAdjusted: true }).opportunity, undefined); // 100.1 * 0.999 < 100 * 1.001
  });

  test('bad arguments are typed errors', () => {
    const c = new ConsolidatedBook('BTC-USDT');
    const a = venue('a', [], []);
    c.addVenue(a);
    assert.throws(
      () => c.addVenue(a),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => c.addVenue(venue('b', [], []), -1),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => c.addVenue(venue('b', [], []), Number.NaN),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => c.addVenue(venue('b', [], []), '10000'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => c.depth(-1),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => c.removeVenue('zzz'),
      (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE'),
    );
    assert.throws(
      () => c.setTakerFee('zzz', 1),
      (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE'),
    );
    c.removeVenue('a');
    assert.deepEqual(c.venues(), []);
  });

  test('a level total beyond the safe range is still exact', () => {
    const c = new ConsolidatedBook('BIG-USD');
    c.addVenue(venue('a', [['1', '9007199254740991']], []));
    c.addVenue(venue('b', [['1', '9007199254740991']], []));
    assert.equal(c.depth(1).bids[0]?.size, '18014398509481982');
  });

  test('prices beyond the safe range at the common scale still compare exactly', () => {
    const c = new ConsolidatedBook('BIG-USD');
    // 9e10 at scale 8 is 9e18, beyond 2^53: the merge must switch to BigInt keys.
    c.addVenue(
      venue(
        'a',
        [
          ['90000000000', '1'],
          ['1', '1'],
        ],
        [],
      ),
    );
    c.addVenue(
      venue(
        'b',
        [
          ['1.00000001', '1'],
          ['1.00000000', '2'],
          ['0.5', '1'],
        ],
        [],
      ),
    );
    const d = c.depth(5);
    assert.deepEqual(
      d.bids.map((l) => [l.price, l.size]),
      [
        ['90000000000', '1'],
        ['1.00000001', '1'],
        ['1', '3'],
        ['0.5', '1'],
      ],
    );
  });
});

// ---- property: the merge equals a naive merge ------------------------------------------------------------

interface VenueSpec {
  bids: Array<[string, string]>;
  asks: Array<[string, string]>;
  inSync: boolean;
  feeBps: string;
  scale: number;
}

const priceArb = fc
  .tuple(fc.integer({ min: 90, max: 110 }), fc.constantFrom('', '.5', '.25', '.50', '.125', '.1000'))
  .map(([i, f]) => `${i}${f}`);
const sizeArb = fc
  .tuple(fc.integer({ min: 0, max: 20 }), fc.constantFrom('', '.1', '.001', '.00000001'))
  .map(([i, f]) => `${i}${f}`)
  .filter((t) => !Decimal.parse(t).isZero());
const venueArb: fc.Arbitrary<VenueSpec> = fc.record({
  bids: fc.array(fc.tuple(priceArb, sizeArb), { maxLength: 15 }),
  asks: fc.array(fc.tuple(priceArb, sizeArb), { maxLength: 15 }),
  inSync: fc.constantFrom(true, true, true, false),
  feeBps: fc.constantFrom('0', '1', '2.5', '10', '7.25'),
  scale: fc.constantFrom(0, 2, 6),
});

function naive(specs: VenueSpec[], side: 'bid' | 'ask', fees: boolean, n: number) {
  const one = Decimal.of(1n, 0);
  const groups = new Map<string, { price: Decimal; venues: Array<{ venue: string; price: string; size: Decimal }> }>();
  specs.forEach((s, v) => {
    if (!s.inSync) return;
    const book = new Map<string, Decimal>(); // the venue book itself: last wins, zero deletes (none here)
    for (const [p, z] of side === 'bid' ? s.bids : s.asks) book.set(Decimal.parse(p).toString(), Decimal.parse(z));
    for (const [p, z] of book) {
      const f = Decimal.parse(s.feeBps).div(Decimal.of(10000n, 0), 20);
      const adj = fees ? Decimal.parse(p).mul(side === 'bid' ? one.sub(f) : one.add(f)) : Decimal.parse(p);
      const key = adj.toString();
      const g = groups.get(key) ?? { price: adj, venues: [] };
      g.venues.push({ venue: `v${v}`, price: p, size: z });
      groups.set(key, g);
    }
  });
  const levels = [...groups.values()].sort((a, b) => (side === 'bid' ? b.price.cmp(a.price) : a.price.cmp(b.price)));
  return levels.slice(0, n).map((g) => ({
    price: g.price.toString(),
    size: g.venues.reduce((t, x) => t.add(x.size), Decimal.ZERO).toString(),
    venues: g.venues.map((x) => ({ venue: x.venue, price: x.price, size: x.size.toString() })),
  }));
}

test('merged levels equal a naive merge of the in-sync venue books, raw and fee-adjusted', () => {
  fc.assert(
    fc.property(
      fc.array(venueArb, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 40 }),
      fc.boolean(),
      (specs, n, fees) => {
        const c = new ConsolidatedBook('T-U');
        specs.forEach((s, v) => {
          c.addVenue(venue(`v${v}`, s.bids, s.asks, s.inSync, { priceScale: s.scale }), s.feeBps);
        });
        const d = c.depth(n, { feeAdjusted: fees });
        assert.deepEqual(d.bids, naive(specs, 'bid', fees, n));
        assert.deepEqual(d.asks, naive(specs, 'ask', fees, n));
        assert.deepEqual(
          d.excluded,
          specs.flatMap((s, v) => (s.inSync ? [] : [{ venue: `v${v}`, status: 'stale' }])),
        );
        // The BBO is the first merged level, and an opportunity exists exactly when two venues cross.
        const bbo = c.bbo({ feeAdjusted: fees });
        assert.deepEqual(bbo.bid, naive(specs, 'bid', fees, 1)[0]);
        assert.deepEqual(bbo.ask, naive(specs, 'ask', fees, 1)[0]);
        const tops = specs
          .map((_, v) => ({
            v,
            bid: naive([specs[v]!], 'bid', fees, 1)[0],
            ask: naive([specs[v]!], 'ask', fees, 1)[0],
          }))
          .filter((t) => specs[t.v]!.inSync);
        let maxEdge: Decimal | undefined;
        for (const s of tops) {
          for (const b of tops) {
            if (s === b || !s.bid || !b.ask) continue;
            const e = Decimal.parse(s.bid.price).sub(Decimal.parse(b.ask.price));
            if (e.sign() > 0 && (!maxEdge || e.cmp(maxEdge) > 0)) maxEdge = e;
          }
        }
        const bestCrossed =
          bbo.bid !== undefined &&
          bbo.ask !== undefined &&
          Decimal.parse(bbo.bid.price).cmp(Decimal.parse(bbo.ask.price)) > 0;
        if (maxEdge === undefined) assert.equal(bbo.opportunity, undefined);
        else if (bestCrossed) {
          assert.equal(bbo.opportunity?.edge, maxEdge.toString());
          assert.notEqual(bbo.opportunity?.buyVenue, bbo.opportunity?.sellVenue);
          assert.ok(Decimal.parse(bbo.opportunity!.size).sign() > 0);
        }
      },
    ),
    { numRuns: 200 },
  );
});
