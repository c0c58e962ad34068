import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { BookSideName } from '../../src/book/l2-book.ts';
import { L3Book } from '../../src/book/l3-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isQobError(e) && e.code === code, `expected ${code}`);
}

const ids = (orders: Array<{ id: string }>) => orders.map((o) => o.id);

describe('L3Book', () => {
  test('queues orders at one price first in, first out, and aggregates them into the L2 view', () => {
    const b = new L3Book();
    b.add('a', 'bid', '100.10', '1');
    b.add('b', 'bid', '100.1', '2.5');
    b.add('c', 'bid', '99', '1');
    b.add('d', 'ask', '101', '0.25');
    assert.deepEqual(ids(b.queue('bid', '100.1')), ['a', 'b']);
    assert.equal(b.queuePosition('b'), 1);
    assert.deepEqual(b.l2.levels('bid'), [
      { price: '100.1', size: '3.5' },
      { price: '99', size: '1' },
    ]);
    assert.deepEqual(b.l2.levels('ask'), [{ price: '101', size: '0.25' }]);
    assert.deepEqual(b.order('b'), { id: 'b', side: 'bid', price: '100.1', size: '2.5' });
    assert.equal(b.orderCount, 4);
  });

  test('a fill reduces the order and its level, and a complete fill removes the order and an empty level', () => {
    const b = new L3Book();
    b.add('a', 'ask', '101', '1');
    b.add('b', 'ask', '101', '2');
    assert.equal(b.fill('a', '0.4'), true);
    assert.equal(b.order('a')?.size, '0.6');
    assert.deepEqual(b.l2.bestAsk(), { price: '101', size: '2.6' });
    b.fill('a', '0.6');
    assert.equal(b.has('a'), false);
    assert.deepEqual(ids(b.queue('ask', '101')), ['b']);
    b.fill('b', '2');
    assert.equal(b.levelCount('ask'), 0);
    assert.equal(b.l2.isEmpty, true);
  });

  test('reducing an order keeps its place in the queue; increasing it sends it to the back', () => {
    const b = new L3Book();
    for (const id of ['a', 'b', 'c']) b.add(id, 'bid', '50', '3');
    b.change('a', '1');
    assert.deepEqual(ids(b.queue('bid', '50')), ['a', 'b', 'c']);
    b.change('a', '5');
    assert.deepEqual(ids(b.queue('bid', '50')), ['b', 'c', 'a']);
    assert.deepEqual(b.l2.bestBid(), { price: '50', size: '11' });
    b.change('b', '0');
    assert.deepEqual(ids(b.queue('bid', '50')), ['c', 'a']);
    assert.deepEqual(b.l2.bestBid(), { price: '50', size: '8' });
  });

  test('a duplicate order id is QOB_ERR_DUPLICATE_ORDER and changes nothing', () => {
    const b = new L3Book();
    b.add('a', 'bid', '100', '1');
    throwsCode(() => b.add('a', 'ask', '101', '1'), 'QOB_ERR_DUPLICATE_ORDER');
    assert.equal(b.l2.asks.length, 0);
    assert.equal(b.orderCount, 1);
  });

  test('an unknown order id is QOB_ERR_UNKNOWN_ORDER by default', () => {
    const b = new L3Book();
    throwsCode(() => b.remove('x'), 'QOB_ERR_UNKNOWN_ORDER');
    throwsCode(() => b.change('x', '1'), 'QOB_ERR_UNKNOWN_ORDER');
    throwsCode(() => b.fill('x', '1'), 'QOB_ERR_UNKNOWN_ORDER');
  });

  test("with unknownOrder 'count', an unknown order id is counted and ignored", () => {
    const b = new L3Book({ unknownOrder: 'count' });
    b.add('a', 'bid', '100', '1');
    assert.equal(b.remove('x'), false);
    assert.equal(b.change('x', '1'), false);
    assert.equal(b.fill('x', '1'), false);
    assert.equal(b.unknownOrders, 3);
    assert.equal(b.orderCount, 1);
  });

  test('bad sizes, prices, sides and ids are typed errors and change nothing', () => {
    const b = new L3Book();
    b.add('a', 'bid', '100', '1');
    const before = b.l2.hash();
    throwsCode(() => b.add('n', 'bid', '100', '-1'), 'QOB_ERR_NEGATIVE_SIZE');
    throwsCode(() => b.add('n', 'bid', '100', '0'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.add('n', 'bid', '100', 'NaN'), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => b.add('n', 'bid', '0', '1'), 'QOB_ERR_NONPOSITIVE_PRICE');
    throwsCode(() => b.add('n', 'bid', 'Infinity', '1'), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => b.add('n', 'bid', 100 as unknown as string, '1'), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => b.add('n', 'buy' as BookSideName, '100', '1'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.add('', 'bid', '100', '1'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.change('a', '-0.5'), 'QOB_ERR_NEGATIVE_SIZE');
    throwsCode(() => b.fill('a', '1.5'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.fill('a', '0'), 'QOB_ERR_INVALID_ARGUMENT');
    // A price beyond the L2 view's exact range: rejected by the view before the queues change.
    throwsCode(() => b.add('big', 'bid', '9007199254740993', '1'), 'QOB_ERR_DECIMAL_RANGE');
    assert.equal(b.has('big'), false);
    assert.equal(b.l2.hash(), before);
    assert.deepEqual([...b.orders()], [{ id: 'a', side: 'bid', price: '100', size: '1' }]);
  });

  test('an order id named __proto__ is an ordinary id', () => {
    const b = new L3Book();
    b.add('__proto__', 'bid', '1', '1');
    assert.equal(b.order('__proto__')?.size, '1');
    b.remove('__proto__');
    assert.equal(b.orderCount, 0);
  });

  test('a snapshot replaces the book atomically, queues in array order, and rejects duplicates', () => {
    const b = new L3Book();
    b.add('old', 'bid', '1', '1');
    b.applySnapshot(
      [
        ['100', '1', 'x'],
        ['100.0', '2', 'y'],
      ],
      [['101', '3', 'z']],
    );
    assert.equal(b.has('old'), false);
    assert.deepEqual(ids(b.queue('bid', '100')), ['x', 'y']);
    assert.deepEqual(b.l2.bestBid(), { price: '100', size: '3' });
    const before = b.l2.hash();
    throwsCode(() => b.applySnapshot([['1', '1', 'q']], [['2', '1', 'q']]), 'QOB_ERR_DUPLICATE_ORDER');
    throwsCode(() => b.applySnapshot([['1', '-1', 'q']], []), 'QOB_ERR_NEGATIVE_SIZE');
    throwsCode(() => b.applySnapshot([null as unknown as [string, string, string]], []), 'QOB_ERR_MALFORMED_MESSAGE');
    assert.equal(b.l2.hash(), before);
    assert.equal(b.orderCount, 3);
  });
});

// ---- model-based property test ---------------------------------------------------------------------------

interface MOrder {
  side: BookSideName;
  price: string;
  size: Decimal;
  seq: number;
}
interface Model {
  orders: Map<string, MOrder>;
  seq: number;
  unknown: number;
}

type Cmd = fc.Command<Model, L3Book>;

function cmd(name: string, run: (m: Model, r: L3Book) => void): Cmd {
  return {
    check: () => true,
    run: (m, r) => {
      run(m, r);
      verify(m, r);
    },
    toString: () => name,
  };
}

function verify(m: Model, r: L3Book): void {
  assert.equal(r.orderCount, m.orders.size);
  assert.equal(r.unknownOrders, m.unknown);
  const levels: Record<BookSideName, Map<string, Array<[string, MOrder]>>> = { bid: new Map(), ask: new Map() };
  for (const [id, o] of m.orders) {
    assert.deepEqual(r.order(id), { id, side: o.side, price: o.price, size: o.size.toString() });
    const l = levels[o.side].get(o.price) ?? [];
    l.push([id, o]);
    levels[o.side].set(o.price, l);
  }
  for (const side of ['bid', 'ask'] as const) {
    assert.equal(r.levelCount(side), levels[side].size);
    // Price-time priority: each queue is in arrival order (seq).
    for (const [price, list] of levels[side]) {
      list.sort((a, b) => a[1].seq - b[1].seq);
      assert.deepEqual(
        ids(r.queue(side, price)),
        list.map(([id]) => id),
      );
    }
    // The L2 view equals the aggregation of the model's orders...
    const agg = [...levels[side]].map(([price, list]) => ({
      price,
      size: list.reduce((t, [, o]) => t.add(o.size), Decimal.ZERO),
    }));
    agg.sort((a, b) => (side === 'bid' ? -1 : 1) * Decimal.parse(a.price).cmp(Decimal.parse(b.price)));
    const expected = agg.map((l) => ({ price: l.price, size: l.size.toString() }));
    assert.deepEqual(r.l2.levels(side), expected);
    // ...and of the book's own orders.
    const own = new Map<string, Decimal>();
    for (const o of r.orders())
      if (o.side === side) own.set(o.price, (own.get(o.price) ?? Decimal.ZERO).add(Decimal.parse(o.size)));
    assert.equal(own.size, expected.length);
    for (const l of expected) assert.equal(own.get(l.price)?.toString(), l.size);
  }
}

const priceArb = fc
  .tuple(fc.integer({ min: 95, max: 105 }), fc.constantFrom('', '.5', '.50', '.25', '.125'))
  .map(([i, f]) => `${i}${f}`);
const sizeArb = fc
  .tuple(fc.integer({ min: 0, max: 50 }), fc.constantFrom('', '.1', '.01', '.001', '.00000001', '.5000'))
  .map(([i, f]) => `${i}${f}`)
  .filter((t) => !Decimal.parse(t).isZero());
const idArb = fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', '__proto__', 'constructor');
const sideArb = fc.constantFrom<BookSideName>('bid', 'ask');

function unknownOr(m: Model, id: string, mode: 'throw' | 'count', act: () => boolean): boolean {
  if (m.orders.has(id)) return false;
  if (mode === 'count') {
    assert.equal(act(), false);
    m.unknown++;
  } else {
    throwsCode(act, 'QOB_ERR_UNKNOWN_ORDER');
  }
  return true;
}

function commands(mode: 'throw' | 'count'): fc.Arbitrary<Cmd>[] {
  return [
    fc.tuple(idArb, sideArb, priceArb, sizeArb).map(([id, side, price, size]) =>
      cmd(`add(${id}, ${side}, ${price}, ${size})`, (m, r) => {
        if (m.orders.has(id)) {
          throwsCode(() => r.add(id, side, price, size), 'QOB_ERR_DUPLICATE_ORDER');
          return;
        }
        r.add(id, side, price, size);
        m.orders.set(id, {
          side,
          price: Decimal.parse(price).toString(),
          size: Decimal.parse(size).normalize(),
          seq: m.seq++,
        });
      }),
    ),
    fc.tuple(idArb, fc.oneof(sizeArb, fc.constant('0'))).map(([id, size]) =>
      cmd(`change(${id}, ${size})`, (m, r) => {
        if (unknownOr(m, id, mode, () => r.change(id, size))) return;
        assert.equal(r.change(id, size), true);
        const o = m.orders.get(id)!;
        const s = Decimal.parse(size);
        if (s.isZero()) m.orders.delete(id);
        else {
          if (s.cmp(o.size) > 0) o.seq = m.seq++;
          o.size = s.normalize();
        }
      }),
    ),
    fc.tuple(idArb, sizeArb).map(([id, size]) =>
      cmd(`fill(${id}, ${size})`, (m, r) => {
        if (unknownOr(m, id, mode, () => r.fill(id, size))) return;
        const o = m.orders.get(id)!;
        const left = o.size.sub(Decimal.parse(size));
        if (left.sign() < 0) {
          throwsCode(() => r.fill(id, size), 'QOB_ERR_INVALID_ARGUMENT');
          return;
        }
        assert.equal(r.fill(id, size), true);
        if (left.isZero()) m.orders.delete(id);
        else o.size = left.normalize();
      }),
    ),
    // Fill exactly what is left (the common case of a maker order filled in full).
    idArb.map((id) =>
      cmd(`fillAll(${id})`, (m, r) => {
        const o = m.orders.get(id);
        if (o === undefined) return;
        r.fill(id, o.size.toString());
        m.orders.delete(id);
      }),
    ),
    idArb.map((id) =>
      cmd(`remove(${id})`, (m, r) => {
        if (unknownOr(m, id, mode, () => r.remove(id))) return;
        assert.equal(r.remove(id), true);
        m.orders.delete(id);
      }),
    ),
    fc.uniqueArray(fc.tuple(idArb, sideArb, priceArb, sizeArb), { selector: (t) => t[0], maxLength: 8 }).map((list) =>
      cmd(`snapshot(${JSON.stringify(list)})`, (m, r) => {
        const bids = list.filter((o) => o[1] === 'bid').map(([id, , p, s]) => [p, s, id] as const);
        const asks = list.filter((o) => o[1] === 'ask').map(([id, , p, s]) => [p, s, id] as const);
        r.applySnapshot(bids, asks);
        m.orders.clear();
        for (const [id, side, price, size] of [
          ...list.filter((o) => o[1] === 'bid'),
          ...list.filter((o) => o[1] === 'ask'),
        ]) {
          m.orders.set(id, {
            side,
            price: Decimal.parse(price).toString(),
            size: Decimal.parse(size).normalize(),
            seq: m.seq++,
          });
        }
      }),
    ),
    fc.constant(
      cmd('clear()', (m, r) => {
        r.clear();
        m.orders.clear();
      }),
    ),
  ];
}

for (const mode of ['throw', 'count'] as const) {
  test(`L3Book matches a naive order map, and its L2 view is the aggregation of its orders (unknownOrder '${mode}')`, () => {
    fc.assert(
      fc.property(fc.commands(commands(mode), { maxCommands: 60 }), (cmds) => {
        fc.modelRun(
          () => ({ model: { orders: new Map(), seq: 0, unknown: 0 }, real: new L3Book({ unknownOrder: mode }) }),
          cmds,
        );
      }),
      { numRuns: 150 },
    );
  });
}
