/**
 * A seeded simulation of one instrument quoted on several venues around ONE common fair price, for the
 * consolidated book benchmark. Every venue's book follows the same fair-price path, each with its own
 * tick (and so its own price scale: 0, 1 or 2 decimals), lot, half-spread, static offset and depth, so the
 * venues agree on the price to within a few ticks and only briefly cross one another.
 *
 * How it stays realistic and uncrossed:
 * - the fair price is a random walk (small steps every update, an occasional jump) in fine units;
 * - venues send updates round-robin, so one venue's quote is at most `k` updates old. Each venue quotes
 *   its best bid at or below the lowest, and its best ask at or above the highest, fair price of the last
 *   `k` updates (less / plus its half-spread; its offset is within its half-spread). Any two venues' windows
 *   overlap, so no venue's bid is ever above another venue's ask: spreads widen when the price moves fast,
 *   as real ones do;
 * - brief crosses are injected: with `crossProbability` per update, the venue that updates is dislocated
 *   for that one update, its best bid 1-3 of its ticks above the other venues' lowest ask (or its ask below
 *   their highest bid); its next update puts it back, so a cross lasts about one round of `k` updates;
 * - each update first moves the venue's top to its target (deleting levels better than it, inserting at it),
 *   then changes a few levels near the top (sizes, inserts, deletes; geometric over the rank), then keeps
 *   the depth near the venue's level count by deleting or adding levels at the far end.
 *
 * A venue book never crosses itself, and one update never names a price twice on one side. Prices and
 * sizes are integers (ticks, lots) inside; text (`"65000.10"`, `"0.05000000"`) is produced only at the edge.
 */
import { formatScaled, writtenFractionDigits } from '../../src/core/fixed.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { SimSide } from '../../src/sim/l2-stream.ts';

export interface SimVenueSpec {
  readonly venue: string;
  /** Price increment as the venue writes prices (`'0.10'` writes two decimals on a 0.1 grid). */
  readonly tick: string;
  /** Size increment as the venue writes sizes. */
  readonly lot: string;
  /** Levels per side the venue publishes. */
  readonly levels: number;
  /** Minimum distance of the best bid and ask from the fair price, in the quote currency (e.g. `0.05`). */
  readonly halfSpread: number;
  /** Median size of a level in base units (e.g. `0.2` BTC). */
  readonly medianSize: number;
  /** Chance that a level a side deeper than the best is left out of the snapshot grid (0 = dense). */
  readonly gappiness: number;
}

export interface VenueSimOptions {
  readonly seed: number;
  /** Fair price at the start, e.g. `65000`. */
  readonly startPrice: number;
  /** Standard deviation of the fair price step per update, quote currency (default 0.01). */
  readonly stepStdDev?: number;
  /** Chance per update of a jump of the fair price (default 0.004) and its standard deviation (default 1). */
  readonly jumpProbability?: number;
  readonly jumpStdDev?: number;
  /** Chance per update that the updating venue is dislocated across the others (default 0.0005). */
  readonly crossProbability?: number;
  /** Mean level changes near the top per update, besides moving the top (default 8). */
  readonly levelsPerUpdate?: number;
}

export type SimLevel = [string, string];

export interface VenueUpdate {
  /** Index of the venue in the spec list. */
  readonly v: number;
  readonly bids: SimLevel[];
  readonly asks: SimLevel[];
}

export interface VenueSnapshot {
  readonly bids: SimLevel[];
  readonly asks: SimLevel[];
}

/** Fine units per quote-currency unit: every tick and offset is a whole number of them. */
const FINE_DECIMALS = 6;
const FINE = 10 ** FINE_DECIMALS;

class Venue {
  readonly spec: SimVenueSpec;
  readonly priceDecimals: number;
  readonly sizeDecimals: number;
  /** Tick in fine units, and in price units at `priceDecimals`. */
  readonly tickFine: number;
  readonly tickUnits: number;
  readonly lotUnits: number;
  readonly medianLots: number;
  readonly halfFine: number;
  readonly offsetFine: number;
  readonly zero: string;
  readonly bids = new SimSide(1);
  readonly asks = new SimSide(-1);
  /** During a dislocation, the crossing best bid tick (positive) or best ask tick (negative); else 0. */
  dislocation = 0;

  constructor(spec: SimVenueSpec, rng: SeededRandom) {
    this.spec = spec;
    this.priceDecimals = writtenFractionDigits(spec.tick);
    this.sizeDecimals = writtenFractionDigits(spec.lot);
    this.tickUnits = Math.round(Number(spec.tick) * 10 ** this.priceDecimals);
    this.tickFine = Math.round(Number(spec.tick) * FINE);
    this.lotUnits = Math.round(Number(spec.lot) * 10 ** this.sizeDecimals);
    this.medianLots = Math.max(1, Math.round(spec.medianSize / Number(spec.lot)));
    this.halfFine = Math.round(spec.halfSpread * FINE);
    // A static offset within the half-spread keeps the no-cross guarantee.
    this.offsetFine = Math.round((rng.next() * 2 - 1) * this.halfFine);
    this.zero = formatScaled(0, this.sizeDecimals);
  }

  priceText(tick: number): string {
    return formatScaled(tick * this.tickUnits, this.priceDecimals);
  }

  sizeText(lots: number): string {
    return formatScaled(lots * this.lotUnits, this.sizeDecimals);
  }
}

export class VenueSim {
  readonly venues: readonly SimVenueSpec[];
  private readonly rng: SeededRandom;
  private readonly sims: Venue[];
  private readonly stepFine: number;
  private readonly jumpP: number;
  private readonly jumpFine: number;
  private readonly crossP: number;
  private readonly geomP: number;
  /** Fair price of the last `k` updates (fine units), a ring buffer. */
  private readonly window: Float64Array;
  private fair: number;
  private step = 0;
  /** Updates produced in which a venue was dislocated. */
  dislocations = 0;

  constructor(venues: readonly SimVenueSpec[], o: VenueSimOptions) {
    this.venues = venues;
    this.rng = new SeededRandom(o.seed);
    this.sims = venues.map((s) => new Venue(s, this.rng));
    this.stepFine = (o.stepStdDev ?? 0.01) * FINE;
    this.jumpP = o.jumpProbability ?? 0.004;
    this.jumpFine = (o.jumpStdDev ?? 1) * FINE;
    this.crossP = o.crossProbability ?? 0.0005;
    this.geomP = 1 / (o.levelsPerUpdate ?? 8);
    this.fair = Math.round(o.startPrice * FINE);
    this.window = new Float64Array(venues.length).fill(this.fair);
    for (const v of this.sims) this.buildSnapshot(v);
  }

  /** The current book of venue `v` as snapshot text, best first. */
  snapshot(v: number): VenueSnapshot {
    const sim = this.sims[v] as Venue;
    const side = (s: SimSide): SimLevel[] => {
      const out: SimLevel[] = [];
      for (let r = 0; r < s.length; r++) {
        const t = s.atRank(r);
        out.push([sim.priceText(t), sim.sizeText(s.lots.get(t) as number)]);
      }
      return out;
    };
    return { bids: side(sim.bids), asks: side(sim.asks) };
  }

  /** The next update: the fair price moves, then the next venue in turn updates its book. */
  next(): VenueUpdate {
    const rng = this.rng;
    const k = this.sims.length;
    let move = rng.normal() * this.stepFine;
    if (rng.chance(this.jumpP)) move += rng.normal() * this.jumpFine;
    this.fair = Math.max(FINE, Math.round(this.fair + move));
    this.window[this.step % k] = this.fair;
    const v = this.step % k;
    this.step++;
    const sim = this.sims[v] as Venue;
    sim.dislocation = 0;
    if (rng.chance(this.crossP)) {
      // Just past the other venues: its bid 1-3 of its ticks above their lowest ask, or its ask below their
      // highest bid.
      let minAsk = Number.POSITIVE_INFINITY;
      let maxBid = 0;
      for (const s of this.sims) {
        if (s === sim) continue;
        if (s.asks.length > 0) minAsk = Math.min(minAsk, s.asks.best() * s.tickFine);
        if (s.bids.length > 0) maxBid = Math.max(maxBid, s.bids.best() * s.tickFine);
      }
      const extra = 1 + rng.int(3);
      sim.dislocation = rng.chance(0.5)
        ? Math.floor(minAsk / sim.tickFine) + extra
        : -(Math.ceil(maxBid / sim.tickFine) - extra);
      if (Number.isFinite(sim.dislocation) && sim.dislocation !== 0) this.dislocations++;
      else sim.dislocation = 0;
    }
    return this.update(v, sim);
  }

  /** Best bid and ask ticks the venue may quote now (a dislocation overrides one of them). */
  private targets(sim: Venue): { bid: number; ask: number } {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const f of this.window) {
      if (f < lo) lo = f;
      if (f > hi) hi = f;
    }
    let bid = Math.max(1, Math.floor((lo + sim.offsetFine - sim.halfFine) / sim.tickFine));
    let ask = Math.max(bid + 1, Math.ceil((hi + sim.offsetFine + sim.halfFine) / sim.tickFine));
    if (sim.dislocation > 0) {
      bid = sim.dislocation;
      ask = Math.max(ask, bid + 1);
    } else if (sim.dislocation < 0) {
      ask = -sim.dislocation;
      bid = Math.min(bid, ask - 1);
    }
    return { bid, ask };
  }

  private update(v: number, sim: Venue): VenueUpdate {
    const rng = this.rng;
    const bids: SimLevel[] = [];
    const asks: SimLevel[] = [];
    const touchedB = new Set<number>();
    const touchedA = new Set<number>();
    const t = this.targets(sim);
    this.moveTop(sim, sim.bids, t.bid, bids, touchedB);
    this.moveTop(sim, sim.asks, t.ask, asks, touchedA);

    const changes = 1 + rng.geometric(this.geomP);
    for (let c = 0, draws = 0; c < changes && draws < changes * 4; draws++) {
      const isBid = rng.chance(0.5);
      const side = isBid ? sim.bids : sim.asks;
      const touched = isBid ? touchedB : touchedA;
      const out = isBid ? bids : asks;
      const limit = isBid ? t.bid : t.ask;
      const rank = rng.chance(0.05) ? rng.int(side.length) : Math.min(rng.geometric(0.15), side.length - 1);
      const u = rng.next();
      if (u < 0.7) {
        const tick = side.atRank(rank);
        if (touched.has(tick)) continue;
        touched.add(tick);
        const lots = this.changedLots(sim, side.lots.get(tick) as number);
        side.lots.set(tick, lots);
        out.push([sim.priceText(tick), sim.sizeText(lots)]);
      } else if (u < 0.85) {
        if (side.length < 3 || rank === 0) continue; // keep the top where moveTop put it
        const tick = side.atRank(rank);
        if (touched.has(tick)) continue;
        touched.add(tick);
        side.remove(tick);
        out.push([sim.priceText(tick), sim.zero]);
      } else {
        // Insert at a free tick between the level at `rank` and the next one, never better than the target.
        let tick = side.atRank(rank) - side.dir;
        if (side.dir * tick > side.dir * limit) continue;
        for (let walk = 0; walk < 16 && side.lots.has(tick); walk++) tick -= side.dir;
        if (tick <= 0 || side.lots.has(tick) || touched.has(tick)) continue;
        touched.add(tick);
        const lots = this.freshLots(sim);
        side.insert(tick, lots);
        out.push([sim.priceText(tick), sim.sizeText(lots)]);
      }
      c++;
    }
    this.keepDepth(sim, sim.bids, bids, touchedB);
    this.keepDepth(sim, sim.asks, asks, touchedA);
    return { v, bids, asks };
  }

  /** Deletes levels better than `target`; when the best is behind it, usually inserts there (and between). */
  private moveTop(sim: Venue, side: SimSide, target: number, out: SimLevel[], touched: Set<number>): void {
    const dir = side.dir;
    while (side.length > 0 && dir * side.best() > dir * target) {
      const tick = side.best();
      side.remove(tick);
      touched.add(tick);
      out.push([sim.priceText(tick), sim.zero]);
    }
    const rng = this.rng;
    if (side.length > 0 && side.best() === target) return;
    if (side.length > 0 && !rng.chance(0.85)) return; // the top stays back this time
    // Fill some of the ticks between the old best and the target (nearest the target first, at most 8).
    const from = side.length > 0 ? side.best() : target - dir;
    for (let tick = target - dir, n = 0; dir * tick > dir * from && n < 8; tick -= dir, n++) {
      if (tick > 0 && rng.chance(0.3) && !side.lots.has(tick)) {
        const lots = this.freshLots(sim);
        side.insert(tick, lots);
        touched.add(tick);
        out.push([sim.priceText(tick), sim.sizeText(lots)]);
      }
    }
    const lots = this.freshLots(sim);
    side.insert(target, lots);
    touched.add(target);
    out.push([sim.priceText(target), sim.sizeText(lots)]);
  }

  /** Holds the side within 2% of the venue's level count by trimming or extending the far end. */
  private keepDepth(sim: Venue, side: SimSide, out: SimLevel[], touched: Set<number>): void {
    const want = sim.spec.levels;
    while (side.length > want + Math.ceil(want * 0.02)) {
      const tick = side.worst();
      if (touched.has(tick)) break;
      side.remove(tick);
      touched.add(tick);
      out.push([sim.priceText(tick), sim.zero]);
    }
    if (side.length < want - Math.ceil(want * 0.02)) {
      const tick = side.worst() - side.dir * (1 + this.gap(sim, 1));
      if (tick > 0 && !touched.has(tick)) {
        const lots = this.freshLots(sim);
        side.insert(tick, lots);
        touched.add(tick);
        out.push([sim.priceText(tick), sim.sizeText(lots)]);
      }
    }
  }

  /** Ticks skipped after a level at relative depth `frac` (0 = top, 1 = bottom). */
  private gap(sim: Venue, frac: number): number {
    const p = sim.spec.gappiness * frac;
    return this.rng.chance(p) ? 1 + this.rng.geometric(0.5) : 0;
  }

  private buildSnapshot(sim: Venue): void {
    const t = this.targets(sim);
    const n = sim.spec.levels;
    for (const [side, start] of [
      [sim.bids, t.bid],
      [sim.asks, t.ask],
    ] as const) {
      let tick = start;
      for (let i = 0; i < n && tick > 0; i++) {
        side.insert(tick, this.freshLots(sim));
        tick -= side.dir * (1 + this.gap(sim, i / n));
      }
    }
  }

  private freshLots(sim: Venue): number {
    const v = Math.round(sim.medianLots * Math.exp(1.2 * this.rng.normal()));
    return Math.min(Math.max(v, 1), 1e12);
  }

  private changedLots(sim: Venue, prev: number): number {
    const v = this.rng.chance(0.3) ? this.freshLots(sim) : Math.round(prev * Math.exp(0.4 * this.rng.normal()));
    const w = Math.min(Math.max(v, 1), 1e12);
    return w === prev ? (w > 1 ? w - 1 : w + 1) : w;
  }
}
