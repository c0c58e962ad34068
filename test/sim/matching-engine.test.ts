import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isQobError } from '../../src/core/errors.ts';
import {
  type EngineEvent,
  MatchingEngine,
  type MatchingEngineOptions,
  type OrderResult,
  type SelfTradePrevention,
  sequentialIds,
  type TimeInForce,
  type TradeEvent,
} from '../../src/sim/matching-engine.ts';

function engine(over: Partial<MatchingEngineOptions> = {}): MatchingEngine {
  let t = 1000;
  return new MatchingEngine({
    instrument: { symbol: 'BTC-USDT', tickSize: '0.01', lotSize: '0.001' },
    clock: () => t++,
    orderIds: sequentialIds('O'),
    tradeIds: sequentialIds('T'),
    ...over,
  });
}

const buy = (price: string, size: string, extra: object = {}) =>
  ({ type: 'limit', side: 'buy', price, size, ...extra }) as const;
const sell = (price: string, size: string, extra: object = {}) =>
  ({ type: 'limit', side: 'sell', price, size, ...extra }) as const;

function tradesOf(r: { events: readonly EngineEvent[] }): TradeEvent[] {
  return r.events.filter((e): e is TradeEvent => e.kind === 'trade');
}

function throwsCode(f: () => unknown, code: string): void {
  assert.throws(f, (e: unknown) => isQobError(e) && e.code === code);
}

describe('MatchingEngine: orders', () => {
  it('a limit order that does not cross rests, and emits an L3 add then the L2 level', () => {
    const e = engine();
    const r = e.submit(buy('100.00', '1.500'));
    assert.equal(r.status, 'new');
    assert.equal(r.orderId, 'O1');
    assert.deepEqual(
      r.events.map((x) => [x.kind, x.kind === 'l3' ? x.action : '', x.price, x.size]),
      [
        ['l3', 'add', '100.00', '1.500'],
        ['l2', '', '100.00', '1.500'],
      ],
    );
    assert.deepEqual(e.l2(), { bids: [['100.00', '1.500']], asks: [] });
  });

  it('a crossing order trades at the maker price, oldest order first, with aggressor, maker and taker ids', () => {
    const e = engine();
    e.submit(sell('101.00', '1.000')); // O1
    e.submit(sell('100.50', '0.400')); // O2
    e.submit(sell('100.50', '0.600')); // O3, behind O2
    const r = e.submit(buy('101.00', '1.500')); // O4
    assert.equal(r.status, 'filled');
    assert.deepEqual(
      r.trades.map((t) => [t.tradeId, t.price, t.size, t.aggressor, t.makerOrderId, t.takerOrderId]),
      [
        ['T1', '100.50', '0.400', 'buy', 'O2', 'O4'],
        ['T2', '100.50', '0.600', 'buy', 'O3', 'O4'],
        ['T3', '101.00', '0.500', 'buy', 'O1', 'O4'],
      ],
    );
    assert.deepEqual(e.l2(), { bids: [], asks: [['101.00', '0.500']] });
  });

  it('the rest of a crossing GTC order rests at its limit; the rest of an IOC is cancelled', () => {
    const e = engine();
    e.submit(sell('100.00', '1.000'));
    const gtc = e.submit(buy('100.00', '1.500'));
    assert.equal(gtc.status, 'partially_filled');
    assert.equal(gtc.resting, '0.500');
    assert.deepEqual(e.l2().bids, [['100.00', '0.500']]);
    e.submit(sell('101.00', '1.000'));
    const ioc = e.submit(buy('102.00', '3.000', { tif: 'IOC' }));
    assert.equal(ioc.status, 'cancelled');
    assert.equal(ioc.filled, '1.000');
    assert.deepEqual(e.l2().bids, [['100.00', '0.500']], 'nothing of the IOC rests');
  });

  it('an FOK order fills entirely or not at all', () => {
    const e = engine();
    e.submit(sell('100.00', '1.000'));
    e.submit(sell('100.01', '1.000'));
    const miss = e.submit(buy('100.01', '2.001', { tif: 'FOK' }));
    assert.equal(miss.status, 'cancelled');
    assert.equal(miss.trades.length, 0);
    assert.equal(miss.events.length, 0);
    const hit = e.submit(buy('100.01', '2.000', { tif: 'FOK' }));
    assert.equal(hit.status, 'filled');
    assert.equal(hit.trades.length, 2);
  });

  it('a post-only order that would take is rejected and changes nothing', () => {
    const e = engine();
    e.submit(sell('100.00', '1.000'));
    const r = e.submit(buy('100.00', '1.000', { postOnly: true }));
    assert.equal(r.status, 'rejected');
    assert.equal(r.events.length, 0);
    assert.equal(e.submit(buy('99.99', '1.000', { postOnly: true })).status, 'new');
  });

  it('a market order walks the book and its rest is cancelled', () => {
    const e = engine();
    e.submit(buy('99.00', '1.000'));
    e.submit(buy('98.00', '1.000'));
    const r = e.submit({ type: 'market', side: 'sell', size: '2.500' });
    assert.equal(r.status, 'cancelled');
    assert.equal(r.filled, '2.000');
    assert.deepEqual(
      r.trades.map((t) => t.price),
      ['99.00', '98.00'],
    );
    assert.deepEqual(e.l2(), { bids: [], asks: [] });
  });

  it('cancel removes the order (L3 delete, L2 change); cancelling twice is a result, not an error', () => {
    const e = engine();
    e.submit(buy('99.00', '1.000'));
    e.submit(buy('99.00', '2.000'));
    const c = e.cancel('O1');
    assert.equal(c.ok, true);
    assert.deepEqual(
      c.events.map((x) => [x.kind, x.size]),
      [
        ['l3', '0.000'],
        ['l2', '2.000'],
      ],
    );
    assert.deepEqual(e.cancel('O1'), { ok: false, reason: 'unknown order', events: [] });
  });
});

describe('MatchingEngine: amend', () => {
  it('reducing the size keeps the place in the queue', () => {
    const e = engine();
    e.submit(buy('99.00', '1.000')); // O1
    e.submit(buy('99.00', '1.000')); // O2
    const a = e.amend('O1', { size: '0.400' });
    assert.equal(a.keptPriority, true);
    assert.deepEqual(
      e.orders('bid').map((o) => [o.id, o.size]),
      [
        ['O1', '0.400'],
        ['O2', '1.000'],
      ],
    );
    const r = e.submit(sell('99.00', '0.400'));
    assert.equal(r.trades[0]?.makerOrderId, 'O1');
  });

  it('increasing the size or changing the price loses the place', () => {
    const e = engine();
    e.submit(buy('99.00', '1.000')); // O1
    e.submit(buy('99.00', '1.000')); // O2
    assert.equal(e.amend('O1', { size: '1.500' }).keptPriority, false);
    assert.deepEqual(
      e.orders('bid').map((o) => o.id),
      ['O2', 'O1'],
    );
    e.amend('O2', { price: '98.00' });
    e.amend('O2', { price: '99.00' });
    assert.deepEqual(
      e.orders('bid').map((o) => o.id),
      ['O1', 'O2'],
    );
  });

  it('a new price that crosses trades at once; a post-only order refuses such an amend', () => {
    const e = engine();
    e.submit(sell('100.00', '1.000')); // O1
    e.submit(buy('99.00', '1.000')); // O2
    e.submit(buy('98.00', '1.000', { postOnly: true })); // O3
    const refused = e.amend('O3', { price: '100.00' });
    assert.equal(refused.ok, false);
    assert.equal(e.order('O3')?.price, '98.00');
    const a = e.amend('O2', { price: '100.00' });
    assert.equal(a.trades.length, 1);
    assert.equal(a.trades[0]?.takerOrderId, 'O2');
    assert.equal(a.resting, '0.000');
    assert.equal(e.order('O2'), undefined);
  });
});

describe('MatchingEngine: self-trade prevention', () => {
  const cases: [SelfTradePrevention, string, string[]][] = [
    ['none', 'filled', ['O1']],
    ['cancel-maker', 'filled', ['O2']],
    ['cancel-taker', 'cancelled', []],
    ['cancel-both', 'cancelled', []],
  ];
  for (const [stp, status, makers] of cases) {
    it(`${stp}: an order meeting its owner's resting order`, () => {
      const e = engine({ selfTradePrevention: stp });
      e.submit(sell('100.00', '1.000', { owner: 'a' })); // O1
      e.submit(sell('100.00', '1.000', { owner: 'b' })); // O2
      const r = e.submit(buy('100.00', '1.000', { owner: 'a' }));
      assert.equal(r.status, status);
      assert.deepEqual(
        r.trades.map((t) => t.makerOrderId),
        makers,
      );
      const makerGone = stp === 'cancel-maker' || stp === 'cancel-both';
      assert.equal(e.order('O1') === undefined, stp === 'none' || makerGone);
    });
  }
});

describe('MatchingEngine: validation', () => {
  it('prices off the tick, sizes off the lot and bad text are typed errors that change nothing', () => {
    const e = engine();
    throwsCode(() => e.submit(buy('100.005', '1')), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => e.submit(buy('100', '0.0005')), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => e.submit(buy('100', '0')), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => e.submit(buy('100', '-1')), 'QOB_ERR_NEGATIVE_SIZE');
    throwsCode(() => e.submit(buy('0', '1')), 'QOB_ERR_NONPOSITIVE_PRICE');
    throwsCode(() => e.submit(buy('NaN', '1')), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => e.submit(buy('1e400', '1')), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => e.submit(buy('100', '1', { tif: 'GTD' })), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => e.submit(buy('100', '1', { tif: 'IOC', postOnly: true })), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => e.amend('O1', { price: '1.001' }), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(
      () => engine({ instrument: { symbol: 'X-Y', tickSize: '0', lotSize: '1' } }),
      'QOB_ERR_INVALID_ARGUMENT',
    );
    assert.equal(e.orderCount, 0);
    const err = (() => {
      try {
        e.submit(buy('100.005', '1'));
      } catch (x) {
        return x;
      }
    })();
    assert.ok(isQobError(err) && err.context.price === '100.005', 'the context names the bad value');
  });

  it('ids come from the injected sources and timestamps from the injected clock', () => {
    let t = 42;
    const e = engine({ orderIds: sequentialIds('X', 7), tradeIds: sequentialIds('Y', 3), clock: () => t });
    e.submit(sell('100', '1'));
    t = 43;
    const r = e.submit(buy('100', '1'));
    assert.equal(r.orderId, 'X8');
    assert.deepEqual(
      tradesOf(r).map((x) => [x.tradeId, x.makerOrderId, x.tsMs]),
      [['Y3', 'X7', 43]],
    );
  });
});

// ---- model-based property test ---------------------------------------------------------------------------

interface ModelOrder {
  id: string;
  side: 'bid' | 'ask';
  ticks: number;
  lots: number;
  seq: number;
  postOnly: boolean;
}

/** A naive reference: a flat list of resting orders, matched by sorting on every order. */
class Model {
  orders: ModelOrder[] = [];
  private seq = 0;

  private queue(side: 'bid' | 'ask'): ModelOrder[] {
    return this.orders
      .filter((o) => o.side === side)
      .sort((a, b) => (side === 'bid' ? b.ticks - a.ticks : a.ticks - b.ticks) || a.seq - b.seq);
  }

  crosses(taker: 'buy' | 'sell', ticks: number | undefined): boolean {
    const best = this.queue(taker === 'buy' ? 'ask' : 'bid')[0];
    if (best === undefined) return false;
    return ticks === undefined || (taker === 'buy' ? best.ticks <= ticks : best.ticks >= ticks);
  }

  execute(
    id: string,
    taker: 'buy' | 'sell',
    ticks: number | undefined,
    lots: number,
    tif: TimeInForce,
    postOnly: boolean,
  ): [string, number, number][] {
    if (postOnly && this.crosses(taker, ticks)) return [];
    const ok = (o: ModelOrder) => ticks === undefined || (taker === 'buy' ? o.ticks <= ticks : o.ticks >= ticks);
    const q = this.queue(taker === 'buy' ? 'ask' : 'bid').filter(ok);
    if (tif === 'FOK' && q.reduce((s, o) => s + o.lots, 0) < lots) return [];
    const trades: [string, number, number][] = [];
    let left = lots;
    for (const o of q) {
      if (left === 0) break;
      const x = Math.min(left, o.lots);
      trades.push([o.id, o.ticks, x]);
      o.lots -= x;
      left -= x;
    }
    this.orders = this.orders.filter((o) => o.lots > 0);
    if (left > 0 && tif === 'GTC' && ticks !== undefined) {
      this.orders.push({ id, side: taker === 'buy' ? 'bid' : 'ask', ticks, lots: left, seq: ++this.seq, postOnly });
    }
    return trades;
  }

  cancel(id: string): boolean {
    const n = this.orders.length;
    this.orders = this.orders.filter((o) => o.id !== id);
    return this.orders.length < n;
  }

  amend(id: string, ticks: number | undefined, lots: number | undefined): [string, number, number][] | undefined {
    const o = this.orders.find((x) => x.id === id);
    if (o === undefined) return undefined;
    const t = ticks ?? o.ticks;
    const l = lots ?? o.lots;
    if (t === o.ticks && l === o.lots) return [];
    if (t === o.ticks && l < o.lots) {
      o.lots = l;
      return [];
    }
    const taker = o.side === 'bid' ? 'buy' : 'sell';
    if (o.postOnly && this.crosses(taker, t)) return undefined;
    this.cancel(id);
    return this.execute(id, taker, t, l, 'GTC', o.postOnly);
  }
}

type Cmd =
  | { op: 'limit'; side: 'buy' | 'sell'; ticks: number; lots: number; tif: TimeInForce; postOnly: boolean }
  | { op: 'market'; side: 'buy' | 'sell'; lots: number }
  | { op: 'cancel'; n: number }
  | { op: 'amend'; n: number; ticks: number | undefined; lots: number | undefined };

const side = fc.constantFrom('buy' as const, 'sell' as const);
const ticks = fc.integer({ min: 9990, max: 10010 });
const lots = fc.integer({ min: 1, max: 30 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('limit' as const),
      side,
      ticks,
      lots,
      tif: fc.constantFrom<TimeInForce>('GTC', 'GTC', 'IOC', 'FOK'),
      postOnly: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('market' as const), side, lots }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), n: fc.nat(60) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('amend' as const),
      n: fc.nat(60),
      ticks: fc.option(ticks, { nil: undefined }),
      lots: fc.option(lots, { nil: undefined }),
    }),
  },
);

describe('MatchingEngine: model-based properties', () => {
  it('matches exactly like a naive price-time reference; the book never crosses; sizes are conserved; FOK is all or nothing; events rebuild the book', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 120 }), (cmds) => {
        const e = engine();
        const model = new Model();
        const p = (t: number) => e.priceText(t);
        const s = (l: number) => e.sizeText(l);
        // Books rebuilt from the events alone.
        const l2 = new Map<string, number>();
        const l3 = new Map<string, number>();
        const apply = (events: readonly EngineEvent[]) => {
          for (const ev of events) {
            if (ev.kind === 'l2') {
              const k = `${ev.side}:${ev.priceTicks}`;
              assert.equal(ev.prevLots, l2.get(k) ?? 0, 'an L2 event starts from the level as it was');
              if (ev.lots === 0) l2.delete(k);
              else l2.set(k, ev.lots);
            } else if (ev.kind === 'l3') {
              if (ev.action === 'delete') l3.delete(ev.orderId);
              else l3.set(ev.orderId, ev.lots);
            }
          }
        };
        for (const c of cmds) {
          let events: readonly EngineEvent[];
          let trades: TradeEvent[];
          let expected: [string, number, number][] | undefined;
          let taken: number | undefined;
          let requested = 0;
          const ids = [...model.orders.map((o) => o.id), 'O999'];
          if (c.op === 'limit' || c.op === 'market') {
            const r: OrderResult =
              c.op === 'limit'
                ? e.submit({
                    type: 'limit',
                    side: c.side,
                    price: p(c.ticks),
                    size: s(c.lots),
                    tif: c.tif,
                    postOnly: c.postOnly && c.tif === 'GTC',
                  })
                : e.submit({ type: 'market', side: c.side, size: s(c.lots) });
            expected =
              c.op === 'limit'
                ? model.execute(r.orderId, c.side, c.ticks, c.lots, c.tif, c.postOnly && c.tif === 'GTC')
                : model.execute(r.orderId, c.side, undefined, c.lots, 'IOC', false);
            events = r.events;
            trades = tradesOf(r);
            requested = c.lots;
            taken = trades.reduce((a, t) => a + t.lots, 0);
            assert.equal(r.filled, s(taken), 'the filled size is the sum of the trades');
            if (c.op === 'limit' && c.tif === 'FOK') {
              assert.ok(taken === 0 || taken === requested, 'FOK fills fully or not at all');
            }
          } else if (c.op === 'cancel') {
            const id = ids[c.n % ids.length] as string;
            const r = e.cancel(id);
            assert.equal(r.ok, model.cancel(id));
            events = r.events;
            trades = [];
            expected = [];
          } else {
            const id = ids[c.n % ids.length] as string;
            const r = e.amend(id, {
              ...(c.ticks === undefined ? {} : { price: p(c.ticks) }),
              ...(c.lots === undefined ? {} : { size: s(c.lots) }),
            });
            expected = model.amend(id, c.ticks, c.lots);
            assert.equal(r.ok, expected !== undefined, `amend ${id} accepted by both or neither`);
            events = r.events;
            trades = tradesOf(r);
            expected ??= [];
          }
          assert.deepEqual(
            trades.map((t) => [t.makerOrderId, t.priceTicks, t.lots]),
            expected,
            'same makers, prices and sizes, in the same order (price-time priority)',
          );
          apply(events);
          // The book.
          const bb = e.bestBidTicks();
          const ba = e.bestAskTicks();
          assert.ok(bb === undefined || ba === undefined || bb < ba, 'never crossed nor locked after matching');
          const bids = e.orders('bid');
          const asks = e.orders('ask');
          assert.deepEqual(
            [...bids, ...asks].map((o) => [o.id, o.priceTicks, o.lots]).sort(),
            model.orders.map((o) => [o.id, o.ticks, o.lots]).sort(),
            'the same resting orders as the reference',
          );
          for (const list of [bids, asks]) {
            for (let i = 1; i < list.length; i++) {
              const a = list[i - 1];
              const b = list[i];
              if (a !== undefined && b !== undefined && a.priceTicks === b.priceTicks) {
                assert.ok(a.priority < b.priority, 'earlier orders first within a level');
              }
            }
          }
          // Events rebuild the same L2 and L3 books; level totals are the sums of their orders.
          const levels = new Map<string, number>();
          for (const o of [...bids, ...asks]) {
            const k = `${o.side}:${o.priceTicks}`;
            levels.set(k, (levels.get(k) ?? 0) + o.lots);
          }
          assert.deepEqual([...l2.entries()].sort(), [...levels.entries()].sort());
          assert.deepEqual([...l3.entries()].sort(), [...bids, ...asks].map((o) => [o.id, o.lots]).sort());
          for (const [k, v] of levels) {
            const [sd, t] = k.split(':') as ['bid' | 'ask', string];
            assert.equal(e.lotsAt(sd, Number(t)), v);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
