/**
 * A deterministic, seeded simulator of a venue's L2 depth stream: one snapshot, then diff deltas of
 * `[price, size]` text levels as Binance sends them (size `"0.00000"` deletes). For benchmarks, tests and
 * the `qob start` demo. The same options always give the same stream.
 *
 * What makes it look like a real feed:
 * - changes concentrate near the top of the book (geometric over the rank from the best level), with a
 *   few far from it;
 * - about a quarter of the changes delete a level, a quarter insert one, the rest change a size; the
 *   mix leans so that each side stays near its starting depth;
 * - now and then a sweep removes the best levels of one side and later inserts refill the spread, so
 *   the top of the book drifts;
 * - the book never crosses: not after a delta, nor midway through one whichever side is applied first;
 * - one delta never names a price twice on one side;
 * - prices carry the tick's fraction digits and sizes the lot's (`"65000.10"`, `"0.05000"`).
 *
 * Internally prices are integers counted in ticks and sizes in lots; text is produced only at the edge.
 */
import { qobError } from '../core/errors.ts';
import { Decimal, formatScaled, writtenFractionDigits } from '../core/fixed.ts';
import { SeededRandom } from '../core/random.ts';

export interface L2StreamOptions {
  readonly seed: number;
  /** Levels per side in the snapshot, e.g. 5000. */
  readonly levels: number;
  /** Number of deltas `generateL2Stream` produces (ignored by `L2StreamGenerator`). */
  readonly deltas: number;
  /** Average level changes per delta (default 15). */
  readonly levelsPerDelta?: number;
  /** Best bid of the snapshot; the best ask is one tick above (default `'65000.00'`). */
  readonly mid?: string;
  /** Price increment (default `'0.01'`); prices are written with its fraction digits. */
  readonly tick?: string;
  /** Size increment (default `'0.00001'`); sizes are written with its fraction digits. */
  readonly lot?: string;
  /** Probability that a delta starts with a sweep of the best levels of one side (default 0.03). */
  readonly sweepProbability?: number;
}

export type L2StreamLevel = readonly [string, string];

export interface L2StreamDelta {
  readonly bids: readonly L2StreamLevel[];
  readonly asks: readonly L2StreamLevel[];
}

export interface L2StreamSnapshot {
  bids: [string, string][];
  asks: [string, string][];
}

export interface L2Stream {
  snapshot: L2StreamSnapshot;
  deltas: L2StreamDelta[];
}

/** Generates a whole stream up front. */
export function generateL2Stream(o: L2StreamOptions): L2Stream {
  if (!Number.isInteger(o.deltas) || o.deltas < 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `deltas must be a non-negative integer, got ${o.deltas}`, {
      deltas: o.deltas,
    });
  }
  const g = new L2StreamGenerator(o);
  const snapshot = g.snapshot();
  const deltas: L2StreamDelta[] = new Array(o.deltas);
  for (let i = 0; i < o.deltas; i++) deltas[i] = g.nextDelta();
  return { snapshot, deltas };
}

/** Share of changes picked uniformly over the whole side instead of near the top. */
const FAR_SHARE = 0.05;
/** Success probability of the geometric rank of a change: mean rank (1-p)/p = 9 levels from the best. */
const NEAR_P = 0.1;
/** Median size of a level, in lots, and the spread of its log-normal distribution. */
const MEDIAN_LOTS = 5000;
const SIZE_SIGMA = 1.5;
const MAX_LOTS = 1e10;

/**
 * One side of a simulated book: tick prices sorted so that the best is last (`ticks[len-1]`), with a
 * map from tick to lots. `dir` is +1 for bids (better = higher), -1 for asks. Also used by the benchmarks'
 * venue simulators (bench/lib/venue-sim.ts).
 */
export class SimSide {
  readonly dir: 1 | -1;
  readonly ticks: number[] = [];
  readonly lots = new Map<number, number>();

  constructor(dir: 1 | -1) {
    this.dir = dir;
  }

  get length(): number {
    return this.ticks.length;
  }

  best(): number {
    return this.ticks[this.ticks.length - 1] as number;
  }

  worst(): number {
    return this.ticks[0] as number;
  }

  /** Tick of the level `rank` places from the best. */
  atRank(rank: number): number {
    return this.ticks[this.ticks.length - 1 - rank] as number;
  }

  /** Index where `tick` is or would go (ascending in `dir * tick`). */
  private indexOf(tick: number): number {
    const key = this.dir * tick;
    let lo = 0;
    let hi = this.ticks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.dir * (this.ticks[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(tick: number, lots: number): void {
    this.ticks.splice(this.indexOf(tick), 0, tick);
    this.lots.set(tick, lots);
  }

  remove(tick: number): void {
    this.ticks.splice(this.indexOf(tick), 1);
    this.lots.delete(tick);
  }

  /** Appends a level worse than all present (snapshot building). */
  pushWorst(tick: number, lots: number): void {
    this.ticks.unshift(tick);
    this.lots.set(tick, lots);
  }
}

/** An endless stream: `snapshot()` is the current book, `nextDelta()` the next change to it. */
export class L2StreamGenerator implements Iterable<L2StreamDelta> {
  readonly tick: string;
  readonly lot: string;
  readonly priceDecimals: number;
  readonly sizeDecimals: number;
  private readonly rng: SeededRandom;
  private readonly target: number;
  private readonly geomP: number;
  private readonly sweepP: number;
  private readonly tickUnits: number;
  private readonly lotUnits: number;
  private readonly bids = new SimSide(1);
  private readonly asks = new SimSide(-1);
  private readonly zeroSize: string;
  private count = 0;
  private readonly priceCache = new Map<number, string>();

  constructor(o: L2StreamOptions) {
    if (!Number.isInteger(o.levels) || o.levels < 1 || o.levels > 1_000_000) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `levels must be an integer in [1, 1000000], got ${o.levels}`, {
        levels: o.levels,
      });
    }
    const lpd = o.levelsPerDelta ?? 15;
    if (!Number.isFinite(lpd) || lpd < 1) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `levelsPerDelta must be >= 1, got ${lpd}`, { levelsPerDelta: lpd });
    }
    const sweepP = o.sweepProbability ?? 0.03;
    if (!(sweepP >= 0 && sweepP <= 1)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `sweepProbability must be in [0, 1], got ${sweepP}`, {
        sweepProbability: sweepP,
      });
    }
    this.tick = o.tick ?? '0.01';
    this.lot = o.lot ?? '0.00001';
    const mid = o.mid ?? '65000.00';
    this.priceDecimals = writtenFractionDigits(this.tick);
    this.sizeDecimals = writtenFractionDigits(this.lot);
    this.tickUnits = positiveUnits(this.tick, this.priceDecimals, 'tick');
    this.lotUnits = positiveUnits(this.lot, this.sizeDecimals, 'lot');
    const midUnits = positiveUnits(mid, this.priceDecimals, 'mid');
    if (midUnits % this.tickUnits !== 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `mid ${mid} is not a multiple of tick ${this.tick}`, {
        mid,
        tick: this.tick,
      });
    }
    this.rng = new SeededRandom(o.seed);
    this.target = o.levels;
    this.geomP = 1 / lpd; // 1 + geometric(1/L) has mean L
    this.sweepP = sweepP;
    this.zeroSize = formatScaled(0, this.sizeDecimals);
    this.buildSnapshot(midUnits / this.tickUnits);
  }

  /** The current book as snapshot text (the initial snapshot before the first `nextDelta()`). */
  snapshot(): L2StreamSnapshot {
    const side = (s: SimSide): [string, string][] => {
      const out: [string, string][] = new Array(s.length);
      for (let r = 0; r < s.length; r++) {
        const t = s.atRank(r);
        out[r] = [this.priceText(t), this.sizeText(s.lots.get(t) as number)];
      }
      return out;
    };
    return { bids: side(this.bids), asks: side(this.asks) };
  }

  /** Number of deltas produced so far. */
  get produced(): number {
    return this.count;
  }

  *[Symbol.iterator](): Iterator<L2StreamDelta> {
    for (;;) yield this.nextDelta();
  }

  nextDelta(): L2StreamDelta {
    this.count++;
    const rng = this.rng;
    const bidOut: [string, string][] = [];
    const askOut: [string, string][] = [];
    const touchedBids = new Set<number>();
    const touchedAsks = new Set<number>();
    const bidCap0 = this.asks.best(); // bids stay below the asks as they were when the delta started
    const askFloor0 = this.bids.best();

    if (rng.chance(this.sweepP)) {
      // A sweep: a marketable order takes the best 1..4 levels of one side.
      const side = rng.chance(0.5) ? this.bids : this.asks;
      const k = Math.min(1 + rng.geometric(0.5), 4, side.length - 1);
      const touched = side === this.bids ? touchedBids : touchedAsks;
      const out = side === this.bids ? bidOut : askOut;
      for (let i = 0; i < k; i++) {
        const t = side.best();
        side.remove(t);
        touched.add(t);
        out.push([this.priceText(t), this.zeroSize]);
      }
    }

    // Draws that hit a price this delta already changed are drawn again (bounded).
    const changes = 1 + rng.geometric(this.geomP);
    for (let c = 0, draws = 0; c < changes && draws < changes * 4; draws++) {
      const isBid = rng.chance(0.5);
      const side = isBid ? this.bids : this.asks;
      const touched = isBid ? touchedBids : touchedAsks;
      const out = isBid ? bidOut : askOut;
      const fill = side.length / this.target;
      const pDelete = 0.25 * fill;
      const pInsert = 0.25 / Math.max(fill, 0.01);
      const u = rng.next() * (pDelete + pInsert + 0.5);
      if (u < pDelete + 0.5) {
        // Delete or change an existing level.
        const t = side.atRank(this.pickRank(side.length));
        if (touched.has(t)) continue;
        touched.add(t);
        c++;
        if (u < pDelete && side.length > 2) {
          side.remove(t);
          out.push([this.priceText(t), this.zeroSize]);
        } else {
          const lots = this.changedLots(side.lots.get(t) as number);
          side.lots.set(t, lots);
          out.push([this.priceText(t), this.sizeText(lots)]);
        }
        continue;
      }
      // Insert: ticks counted from one tick better than the best, so an empty spread refills first.
      let t: number;
      if (rng.chance(FAR_SHARE)) {
        const worst = side.atRank(side.length - 1);
        t = side.best() - side.dir * rng.int(Math.abs(side.best() - worst) + 2);
      } else {
        t = side.best() + side.dir * (1 - rng.geometric(0.25));
      }
      if (isBid) {
        const cap = Math.min(bidCap0, this.asks.best());
        if (t >= cap) t = cap - 1;
      } else {
        const floor = Math.max(askFloor0, this.bids.best());
        if (t <= floor) t = floor + 1;
      }
      // A new level goes at the first free tick at or behind the drawn one (within a few dozen ticks).
      for (let walk = 0; walk < 48 && side.lots.has(t); walk++) t -= side.dir;
      if (t <= 0 || touched.has(t) || side.lots.has(t)) continue;
      touched.add(t);
      c++;
      const lots = this.freshLots();
      side.insert(t, lots);
      out.push([this.priceText(t), this.sizeText(lots)]);
    }
    return { bids: bidOut, asks: askOut };
  }

  private buildSnapshot(bestBid: number): void {
    const rng = this.rng;
    const n = this.target;
    // Dense near the top, gappier deeper: the chance of skipping ticks grows with the depth.
    const fill = (s: SimSide, start: number) => {
      let t = start;
      for (let i = 0; i < n; i++) {
        if (s.dir === 1 && t <= 0) break;
        s.pushWorst(t, this.freshLots());
        const gapChance = Math.min(0.8, 0.05 + (0.75 * i) / n);
        t -= s.dir * (1 + (rng.chance(gapChance) ? rng.geometric(0.5) : 0));
      }
    };
    fill(this.bids, bestBid);
    fill(this.asks, bestBid + 1);
  }

  private pickRank(len: number): number {
    if (this.rng.chance(FAR_SHARE)) return this.rng.int(len);
    return Math.min(this.rng.geometric(NEAR_P), len - 1);
  }

  private freshLots(): number {
    const v = Math.round(MEDIAN_LOTS * Math.exp(SIZE_SIGMA * this.rng.normal()));
    return Math.min(Math.max(v, 1), MAX_LOTS);
  }

  private changedLots(prev: number): number {
    if (this.rng.chance(0.3)) {
      const v = this.freshLots();
      return v === prev ? v + 1 : v;
    }
    const v = Math.round(prev * Math.exp(0.5 * this.rng.normal()));
    const w = Math.min(Math.max(v, 1), MAX_LOTS);
    return w === prev ? (w > 1 ? w - 1 : w + 1) : w;
  }

  private priceText(tick: number): string {
    let s = this.priceCache.get(tick);
    if (s === undefined) {
      s = formatScaled(tick * this.tickUnits, this.priceDecimals);
      if (this.priceCache.size < 1 << 16) this.priceCache.set(tick, s);
    }
    return s;
  }

  private sizeText(lots: number): string {
    return formatScaled(lots * this.lotUnits, this.sizeDecimals);
  }
}

/** `text` as an integer count of 10^-decimals units; must be positive and exact. */
function positiveUnits(text: string, decimals: number, name: string): number {
  let d: Decimal;
  try {
    d = Decimal.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_INVALID_ARGUMENT',
      `${name} must be a decimal, got ${JSON.stringify(text)}`,
      {
        [name]: text,
      },
      e,
    );
  }
  const r = d.rescale(decimals);
  if (d.sign() <= 0 || r === undefined || r.coef > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be a positive decimal with at most ${decimals} digits`, {
      [name]: text,
    });
  }
  return Number(r.coef);
}
