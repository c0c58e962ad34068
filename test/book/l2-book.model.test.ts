/**
 * Model-based property test of L2Book: random command sequences (snapshots, deltas with duplicate prices
 * and deletes of absent prices, truncation, clearing, rejected deltas) run against the book and against a
 * naive model (a Map from canonical price text to Decimal size per side). After every command the book's
 * levels and every query are compared with values computed from the model with Decimal arithmetic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { L2Book, type TradeSide } from '../../src/book/l2-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';

type Side = 'bid' | 'ask';
type Level = [string, string];

interface Model {
  bid: Map<string, Decimal>;
  ask: Map<string, Decimal>;
}

const canon = (t: string): string => Decimal.parse(t).toString();

function applyLevels(m: Map<string, Decimal>, levels: readonly Level[]): void {
  for (const [p, s] of levels) {
    const size = Decimal.parse(s);
    if (size.isZero()) m.delete(canon(p));
    else m.set(canon(p), size);
  }
}

/** The model's side as [price, size] pairs, best first. */
function sorted(m: Model, side: Side): Array<[Decimal, Decimal]> {
  const out = [...m[side]].map(([p, s]): [Decimal, Decimal] => [Decimal.parse(p), s]);
  out.sort((a, b) => (side === 'bid' ? b[0].cmp(a[0]) : a[0].cmp(b[0])));
  return out;
}

// ---- arbitraries ----------------------------------------------------------------------------------------

/** Decimal text with `digits` fraction digits and `pad` trailing zeros, sometimes in exponent form. */
function decimalText(intPart: number, digits: number, frac: number, pad: number, expo: boolean): string {
  const f = String(frac % 10 ** digits).padStart(digits, '0');
  if (expo && digits > 0) return `${intPart}${f}e-${digits}`;
  const fracText = f + '0'.repeat(pad);
  return fracText.length > 0 ? `${intPart}.${fracText}` : String(intPart);
}

const priceArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 1, max: 30 }),
    fc.constantFrom(0, 0, 1, 1, 2, 3, 4),
    fc.nat(9999),
    fc.constantFrom(0, 0, 0, 1, 3),
    fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
  )
  .map(([i, d, f, pad, e]) => decimalText(i, d, f, pad, e));

const positiveSizeArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.constantFrom(0, 1, 2, 4, 6, 8),
    fc.nat(99_999_999),
    fc.constantFrom(0, 0, 2),
  )
  .map(([i, d, f, pad]) => decimalText(i, d, f, pad, false))
  .filter((t) => !Decimal.parse(t).isZero());

const sizeArb = fc.oneof(
  { arbitrary: positiveSizeArb, weight: 4 },
  { arbitrary: fc.constantFrom('0', '0.000'), weight: 1 },
);
const levelArb: fc.Arbitrary<Level> = fc.tuple(priceArb, sizeArb);
const levelsArb = fc.array(levelArb, { maxLength: 25 });

/** A level that is bad in one of many ways, and the error code it must raise. */
const badLevelArb: fc.Arbitrary<[unknown, string]> = fc.constantFrom<[unknown, string]>(
  [['NaN', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['Infinity', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['1.2.3', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['1e999', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['__proto__', '1'], 'QOB_ERR_INVALID_DECIMAL'],
  [['5', 'NaN'], 'QOB_ERR_INVALID_DECIMAL'],
  [['5', '-1'], 'QOB_ERR_NEGATIVE_SIZE'],
  [['0', '1'], 'QOB_ERR_NONPOSITIVE_PRICE'],
  [['-5', '1'], 'QOB_ERR_NONPOSITIVE_PRICE'],
  [[5, '1'], 'QOB_ERR_MALFORMED_MESSAGE'],
  [['5', 1], 'QOB_ERR_MALFORMED_MESSAGE'],
  [['5'], 'QOB_ERR_MALFORMED_MESSAGE'],
  [['9007199254740992', '1'], 'QOB_ERR_DECIMAL_RANGE'],
);

/** The same price spelled with two more trailing zeros. */
const padded = (t: string): string => {
  const d = Decimal.parse(t);
  return d.toFixed(d.scale + 2);
};

// ---- commands -------------------------------------------------------------------------------------------

type Real = L2Book;

class SnapshotCmd implements fc.Command<Model, Real> {
  readonly bids: Level[];
  readonly asks: Level[];
  constructor(bids: Level[], asks: Level[]) {
    this.bids = bids;
    this.asks = asks;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.applySnapshot(this.bids, this.asks);
    m.bid.clear();
    m.ask.clear();
    applyLevels(m.bid, this.bids);
    applyLevels(m.ask, this.asks);
    verify(m, r);
  }
  toString(): string {
    return `snapshot(${JSON.stringify(this.bids)}, ${JSON.stringify(this.asks)})`;
  }
}

class DeltaCmd implements fc.Command<Model, Real> {
  readonly bids: Level[];
  readonly asks: Level[];
  constructor(bids: Level[], asks: Level[]) {
    this.bids = bids;
    this.asks = asks;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    // Repeat some prices already in the book and in this delta: duplicates within one delta, last wins.
    r.applyDelta(this.bids, this.asks);
    applyLevels(m.bid, this.bids);
    applyLevels(m.ask, this.asks);
    verify(m, r);
  }
  toString(): string {
    return `delta(${JSON.stringify(this.bids)}, ${JSON.stringify(this.asks)})`;
  }
}

/** A delta that repeats one price several times: only the last change counts. */
class DuplicateDeltaCmd implements fc.Command<Model, Real> {
  readonly side: Side;
  readonly price: string;
  readonly sizes: string[];
  constructor(side: Side, price: string, sizes: string[]) {
    this.side = side;
    this.price = price;
    this.sizes = sizes;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const levels: Level[] = this.sizes.map((s, i) => [i % 2 === 0 ? this.price : padded(this.price), s]);
    if (this.side === 'bid') r.applyDelta(levels, []);
    else r.applyDelta([], levels);
    applyLevels(m[this.side], levels);
    verify(m, r);
  }
  toString(): string {
    return `duplicates(${this.side}, ${this.price}, ${JSON.stringify(this.sizes)})`;
  }
}

/** Deletes prices, some of which the book does not hold: a no-op for those. */
class DeleteCmd implements fc.Command<Model, Real> {
  readonly side: Side;
  readonly prices: string[];
  readonly pickExisting: number;
  constructor(side: Side, prices: string[], pickExisting: number) {
    this.side = side;
    this.prices = prices;
    this.pickExisting = pickExisting;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const existing = [...m[this.side].keys()];
    const prices = [...this.prices];
    if (existing.length > 0) prices.push(existing[this.pickExisting % existing.length] as string);
    const levels: Level[] = prices.map((p) => [p, '0']);
    if (this.side === 'bid') r.applyDelta(levels, undefined);
    else r.applyDelta(undefined, levels);
    applyLevels(m[this.side], levels);
    verify(m, r);
  }
  toString(): string {
    return `delete(${this.side}, ${JSON.stringify(this.prices)}, ${this.pickExisting})`;
  }
}

class TruncateCmd implements fc.Command<Model, Real> {
  readonly depth: number;
  constructor(depth: number) {
    this.depth = depth;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.truncate(this.depth);
    for (const side of ['bid', 'ask'] as const) {
      const keep = sorted(m, side).slice(0, this.depth);
      m[side] = new Map(keep.map(([p, s]) => [p.toString(), s]));
    }
    verify(m, r);
  }
  toString(): string {
    return `truncate(${this.depth})`;
  }
}

class ClearCmd implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.clear();
    m.bid.clear();
    m.ask.clear();
    verify(m, r);
  }
  toString(): string {
    return 'clear()';
  }
}

/** A delta with one bad level among good ones: a typed error, and the book is unchanged. */
class BadDeltaCmd implements fc.Command<Model, Real> {
  readonly good: Level[];
  readonly bad: [unknown, string];
  readonly at: number;
  readonly onBids: boolean;
  constructor(good: Level[], bad: [unknown, string], at: number, onBids: boolean) {
    this.good = good;
    this.bad = bad;
    this.at = at;
    this.onBids = onBids;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const before = r.hash();
    const levels: unknown[] = [...this.good];
    levels.splice(this.at % (levels.length + 1), 0, this.bad[0]);
    const delta = levels as Level[];
    assert.throws(
      () => (this.onBids ? r.applyDelta(delta, []) : r.applyDelta([], delta)),
      (e: unknown) => isQobError(e) && e.code === this.bad[1],
    );
    assert.equal(r.hash(), before, 'a rejected delta leaves the book unchanged');
    verify(m, r);
  }
  toString(): string {
    return `badDelta(${JSON.stringify(this.good)}, ${JSON.stringify(this.bad)}, ${this.at}, ${this.onBids})`;
  }
}

/** A deep snapshot (thousands of levels a side) from a seeded generator, with mixed fraction digits. */
class DeepSnapshotCmd implements fc.Command<Model, Real> {
  readonly n: number;
  readonly seed: number;
  constructor(n: number, seed: number) {
    this.n = n;
    this.seed = seed;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    let x = this.seed >>> 0 || 1;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (let i = 0; i < this.n; i++) {
      const size = `${Math.floor(rnd() * 1000)}.${String(Math.floor(rnd() * 1e6)).padStart(6, '0')}1`;
      bids.push([
        Decimal.parse('15')
          .sub(Decimal.of(BigInt(i + 1), 3))
          .toString(),
        size,
      ]);
      asks.push([
        Decimal.parse('15')
          .add(Decimal.of(BigInt(i), 3))
          .toString(),
        size,
      ]);
    }
    // Shuffle so that inserts land all over the arrays.
    for (const arr of [bids, asks]) {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [arr[i], arr[j]] = [arr[j] as Level, arr[i] as Level];
      }
    }
    new SnapshotCmd(bids, asks).run(m, r);
  }
  toString(): string {
    return `deepSnapshot(${this.n}, ${this.seed})`;
  }
}

// ---- verification against the model --------------------------------------------------------------------

function verify(m: Model, r: Real): void {
  // Structural invariants of the block storage: sorted keys, no empty blocks, counts that add up.
  r.bids.checkInvariants();
  r.asks.checkInvariants();
  const exp = { bid: sorted(m, 'bid'), ask: sorted(m, 'ask') };
  for (const side of ['bid', 'ask'] as const) {
    const lv = r.levels(side);
    assert.equal(lv.length, exp[side].length, `${side} level count`);
    for (let i = 0; i < lv.length; i++) {
      const l = lv[i]!;
      const [ep, es] = exp[side][i]!;
      const p = Decimal.parse(l.price);
      const s = Decimal.parse(l.size);
      assert.equal(l.price, ep.toString(), `${side} ${i} price`);
      assert.equal(l.size, es.toString(), `${side} ${i} size`);
      assert.equal(s.sign(), 1, 'every size is positive');
      if (i > 0) {
        const prev = Decimal.parse(lv[i - 1]!.price);
        assert.equal(
          p.cmp(prev),
          side === 'bid' ? -1 : 1,
          `${side} strictly ${side === 'bid' ? 'descending' : 'ascending'}`,
        );
      }
    }
    assert.equal(r.side(side).length, exp[side].length);
  }
  const bb = exp.bid[0];
  const ba = exp.ask[0];
  assert.deepEqual(r.bestBid(), bb && { price: bb[0].toString(), size: bb[1].toString() });
  assert.deepEqual(r.bestAsk(), ba && { price: ba[0].toString(), size: ba[1].toString() });
  assert.equal(r.isEmpty, exp.bid.length === 0 && exp.ask.length === 0);
  if (bb && ba) {
    assert.equal(r.spread()?.toString(), ba[0].sub(bb[0]).toString());
    const mid = bb[0].add(ba[0]).div(Decimal.of(2n, 0), Math.max(bb[0].scale, ba[0].scale) + 1);
    assert.ok(r.mid()!.eq(mid), `mid ${r.mid()} vs ${mid}`);
    assert.equal(r.isCrossed(), bb[0].cmp(ba[0]) > 0);
    assert.equal(r.isLocked(), bb[0].cmp(ba[0]) === 0);
  } else {
    assert.equal(r.spread(), undefined);
    assert.equal(r.mid(), undefined);
    assert.equal(r.isCrossed(), false);
    assert.equal(r.isLocked(), false);
  }
  // The book's scales hold every level exactly.
  for (const side of ['bid', 'ask'] as const) {
    for (const [p, s] of exp[side]) {
      assert.ok(p.normalize().scale <= r.priceScale && s.sign() > 0);
    }
  }
  // Equal content hashes equal, whatever the order of updates and the scales.
  const fresh = new L2Book();
  const pad = (d: Decimal) => d.toFixed(d.scale + 2);
  fresh.applySnapshot(
    [...exp.bid].reverse().map(([p, s]) => [pad(p), pad(s)]),
    exp.ask.map(([p, s]) => [p.toString(), s.toString()]),
  );
  assert.equal(r.hash(), fresh.hash(), 'equal content hashes equal');
  assert.equal(r.canonicalText(), fresh.canonicalText());
}

/** Queries with random arguments, compared with the model. */
class QueryCmd implements fc.Command<Model, Real> {
  readonly side: TradeSide;
  readonly size: string;
  readonly limit: string;
  readonly bps: number;
  constructor(side: TradeSide, size: string, limit: string, bps: number) {
    this.side = side;
    this.size = size;
    this.limit = limit;
    this.bps = bps;
  }
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    // estimateFill
    const levels = sorted(m, this.side === 'buy' ? 'ask' : 'bid');
    const want = Decimal.parse(this.size);
    let filled = Decimal.ZERO;
    let notional = Decimal.ZERO;
    let worst: Decimal | undefined;
    let consumed = 0;
    for (const [p, s] of levels) {
      if (filled.cmp(want) >= 0) break;
      const rest = want.sub(filled);
      const take = s.cmp(rest) < 0 ? s : rest;
      filled = filled.add(take);
      notional = notional.add(take.mul(p));
      worst = p;
      consumed++;
    }
    const f = r.estimateFill(this.side, this.size);
    assert.equal(f.side, this.side);
    assert.equal(f.requested, want.toString());
    assert.equal(f.filled, filled.toString());
    assert.equal(f.notional, notional.toString());
    assert.equal(f.levelsConsumed, consumed);
    assert.equal(f.complete, filled.cmp(want) >= 0);
    assert.equal(f.worstPrice, worst?.toString());
    if (filled.isZero()) {
      assert.equal(f.vwap, undefined);
      assert.equal(f.slippageBps, undefined);
    } else {
      const vwap = notional.div(filled, r.priceScale + 8);
      assert.equal(f.vwap, vwap.toString());
      const best = levels[0]![0];
      const diff = this.side === 'buy' ? vwap.sub(best) : best.sub(vwap);
      assert.ok(f.slippageBps! >= 0, 'walking the book never improves on the best price');
      assert.equal(Math.sign(f.slippageBps!), diff.sign());
    }
    // cumulativeSizeTo
    for (const side of ['bid', 'ask'] as const) {
      const lim = Decimal.parse(this.limit);
      let total = Decimal.ZERO;
      for (const [p, s] of sorted(m, side))
        if (side === 'bid' ? p.cmp(lim) >= 0 : p.cmp(lim) <= 0) total = total.add(s);
      assert.ok(r.cumulativeSizeTo(side, this.limit).eq(total), `cumulativeSizeTo(${side}, ${this.limit})`);
    }
    // depthWithinBps: p >= mid * (1 - bps/10^4) for bids, p <= mid * (1 + bps/10^4) for asks, exactly.
    const d = r.depthWithinBps(this.bps);
    const bb = sorted(m, 'bid')[0];
    const ba = sorted(m, 'ask')[0];
    if (!bb || !ba) {
      assert.ok(d.bids.isZero() && d.asks.isZero());
    } else {
      const mid2 = bb[0].add(ba[0]); // 2 * mid
      const bpsD = Decimal.fromNumber(this.bps);
      const tenK = Decimal.of(10000n, 0);
      let bids = Decimal.ZERO;
      let asks = Decimal.ZERO;
      for (const [p, s] of sorted(m, 'bid'))
        if (
          p
            .mul(tenK)
            .mul(Decimal.of(2n, 0))
            .cmp(mid2.mul(tenK.sub(bpsD))) >= 0
        )
          bids = bids.add(s);
      for (const [p, s] of sorted(m, 'ask'))
        if (
          p
            .mul(tenK)
            .mul(Decimal.of(2n, 0))
            .cmp(mid2.mul(tenK.add(bpsD))) <= 0
        )
          asks = asks.add(s);
      assert.ok(d.bids.eq(bids), `depth bids ${d.bids} vs ${bids}`);
      assert.ok(d.asks.eq(asks), `depth asks ${d.asks} vs ${asks}`);
    }
  }
  toString(): string {
    return `query(${this.side}, ${this.size}, ${this.limit}, ${this.bps})`;
  }
}

const sideArb = fc.constantFrom<Side>('bid', 'ask');

const commands = [
  fc.tuple(levelsArb, levelsArb).map(([b, a]) => new SnapshotCmd(b, a)),
  fc.tuple(levelsArb, levelsArb).map(([b, a]) => new DeltaCmd(b, a)),
  fc.tuple(levelsArb, levelsArb).map(([b, a]) => new DeltaCmd(b, a)),
  fc
    .tuple(sideArb, priceArb, fc.array(sizeArb, { minLength: 2, maxLength: 5 }))
    .map(([s, p, z]) => new DuplicateDeltaCmd(s, p, z)),
  fc.tuple(sideArb, fc.array(priceArb, { maxLength: 4 }), fc.nat()).map(([s, p, k]) => new DeleteCmd(s, p, k)),
  fc.integer({ min: 0, max: 30 }).map((d) => new TruncateCmd(d)),
  fc.constant(new ClearCmd()),
  fc
    .tuple(levelsArb, badLevelArb, fc.nat(), fc.boolean())
    .map(([g, b, at, onBids]) => new BadDeltaCmd(g, b, at, onBids)),
  fc
    .tuple(
      fc.constantFrom<TradeSide>('buy', 'sell'),
      positiveSizeArb,
      priceArb,
      fc.constantFrom(0, 1, 5, 25, 100, 250.5, 1000, 5000),
    )
    .map(([s, z, l, b]) => new QueryCmd(s, z, l, b)),
];

test('L2Book matches a naive Map model after every snapshot, delta, truncate, clear and rejected delta', () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 40 }), (cmds) => {
      fc.modelRun(() => ({ model: { bid: new Map(), ask: new Map() }, real: new L2Book() }), cmds);
    }),
    { numRuns: 150 },
  );
});

test('L2Book matches the model on very deep books (thousands of levels a side) with random updates', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1000, max: 3000 }),
      fc.nat(),
      fc.commands(commands.slice(1, 6), { maxCommands: 15 }),
      (n, seed, cmds) => {
        fc.modelRun(() => {
          const model: Model = { bid: new Map(), ask: new Map() };
          const real = new L2Book({ priceScale: 2 });
          new DeepSnapshotCmd(n, seed).run(model, real);
          return { model, real };
        }, cmds);
      },
    ),
    { numRuns: 8 },
  );
});
