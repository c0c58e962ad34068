/**
 * Seeded agent-based order flow for the simulated venue: what makes the matching engine's book look and
 * move like a real one. One `AgentFlow` drives one instrument's engine, one `step()` at a time (a step is
 * one tick of simulated time; the caller owns the clock). Same seed, same instrument, same number of steps:
 * the same orders, so the same events.
 *
 * The agents:
 * - a fair value the others believe in: a random walk whose volatility depends on a regime (calm or
 *   volatile, switching now and then), pushed by the taker flow (price impact) and by bursts;
 * - market makers quoting a few levels on each side around their reservation price (fair value skewed
 *   against their inventory), post-only, re-quoting when it moves;
 * - liquidity providers resting orders clustered near the mid (geometric distance behind the touch), each
 *   with a random lifetime after which it is cancelled, plus random early cancellations;
 * - noise traders sending market orders, marketable IOC limits and marketable GTC limits (whose rest
 *   stays on the book), more often when volatile;
 * - bursts: a few dozen steps of one-sided aggressive flow and a drifting fair value.
 *
 * The agents' beliefs (fair value, volatility) are plain numbers, statistics: every order they send is an
 * exact tick and lot count, and the engine does the exact arithmetic.
 */
import { qobError } from '../core/errors.ts';
import { SeededRandom } from '../core/random.ts';
import type { EngineInstrument, MatchingEngine, OrderRequest, OrderResult, OrderSide } from './matching-engine.ts';

/** A simulated instrument: its grid, its starting price and the scale of its flow. */
export interface SimInstrument extends EngineInstrument {
  /** Starting fair value, on the tick grid. */
  readonly initialPrice: string;
  /** A typical order size, on the lot grid. */
  readonly typicalSize: string;
  /** Fair-value volatility per step in the calm regime, in basis points (a statistic). */
  readonly calmVolBps: number;
  /** Market makers' half spread in the calm regime, in basis points. */
  readonly halfSpreadBps: number;
  /** Distance between a market maker's quote levels, in basis points. */
  readonly levelSpacingBps: number;
}

/** Instruments with realistic grids (the ticks and lots of major spot venues) and prices. */
export const SIM_INSTRUMENTS: Readonly<Record<string, SimInstrument>> = Object.freeze({
  'BTC-USDT': {
    symbol: 'BTC-USDT',
    tickSize: '0.01',
    lotSize: '0.00001',
    initialPrice: '65000.00',
    typicalSize: '0.05000',
    calmVolBps: 0.25,
    halfSpreadBps: 0.15,
    levelSpacingBps: 0.2,
  },
  'ETH-USDT': {
    symbol: 'ETH-USDT',
    tickSize: '0.01',
    lotSize: '0.0001',
    initialPrice: '3400.00',
    typicalSize: '0.8000',
    calmVolBps: 0.3,
    halfSpreadBps: 0.3,
    levelSpacingBps: 0.3,
  },
  'SOL-USDT': {
    symbol: 'SOL-USDT',
    tickSize: '0.01',
    lotSize: '0.001',
    initialPrice: '150.00',
    typicalSize: '15.000',
    calmVolBps: 0.4,
    halfSpreadBps: 0.7,
    levelSpacingBps: 0.7,
  },
  'BTC-USD': {
    symbol: 'BTC-USD',
    tickSize: '0.01',
    lotSize: '0.00000001',
    initialPrice: '65010.00',
    typicalSize: '0.05000000',
    calmVolBps: 0.25,
    halfSpreadBps: 0.2,
    levelSpacingBps: 0.25,
  },
  'ETH-USD': {
    symbol: 'ETH-USD',
    tickSize: '0.01',
    lotSize: '0.00000001',
    initialPrice: '3401.00',
    typicalSize: '0.80000000',
    calmVolBps: 0.3,
    halfSpreadBps: 0.35,
    levelSpacingBps: 0.3,
  },
});

/** The simulated instrument for a symbol; unknown symbols get a generic 100.00 instrument of that name. */
export function simInstrument(symbol: string): SimInstrument {
  if (typeof symbol !== 'string' || !/^[A-Z0-9]{1,24}(-[A-Z0-9]{1,24}){1,4}$/.test(symbol)) {
    throw qobError('QOB_ERR_INVALID_SYMBOL', `not a normalized symbol: ${String(symbol).slice(0, 64)}`, {
      symbol: String(symbol).slice(0, 64),
    });
  }
  return (
    SIM_INSTRUMENTS[symbol] ?? {
      symbol,
      tickSize: '0.01',
      lotSize: '0.001',
      initialPrice: '100.00',
      typicalSize: '10.000',
      calmVolBps: 0.4,
      halfSpreadBps: 1,
      levelSpacingBps: 1,
    }
  );
}

export type Regime = 'calm' | 'volatile';

export interface AgentFlowOptions {
  readonly engine: MatchingEngine;
  readonly instrument: SimInstrument;
  readonly seed: number;
  /** Market makers (default 3). */
  readonly marketMakers?: number;
  /** Quote levels per side per market maker (default 4). */
  readonly quoteLevels?: number;
  /** Liquidity providers' resting orders the flow aims for per side (default 120). */
  readonly restingTarget?: number;
}

/** What happened in the flow so far (statistics for tests and status). */
export interface AgentFlowStats {
  steps: number;
  orders: number;
  cancels: number;
  trades: number;
  marketOrders: number;
  burstSteps: number;
  volatileSteps: number;
}

interface Maker {
  readonly owner: string;
  /** Inventory in lots (positive: long). */
  inventory: number;
  /** Quotes by tick, per side. */
  readonly bids: Map<number, string>;
  readonly asks: Map<number, string>;
  /** Where this maker sits around the fair value, in spacings (its own view). */
  readonly offset: number;
  /** Reservation tick of the last re-quote. */
  lastCenter: number;
}

interface Resting {
  readonly id: string;
  readonly expiresAt: number;
}

const P_CALM_TO_VOLATILE = 0.002;
const P_VOLATILE_TO_CALM = 0.01;
const VOLATILE_VOL_MULT = 3;
const P_BURST = 0.003;
/** Taker orders per step by regime, and the multiple during a burst. */
const TAKER_RATE = { calm: 0.25, volatile: 0.7 } as const;
const BURST_TAKER_MULT = 6;
/** Liquidity provider orders per step (arrivals; lifetimes balance them). */
const LP_RATE = { calm: 3, volatile: 5 } as const;
const LP_MEAN_LIFE_STEPS = 80;
/** Price impact of a taker order of typical size, in basis points. */
const IMPACT_BPS = 0.04;

export class AgentFlow {
  readonly symbol: string;
  readonly stats: AgentFlowStats = {
    steps: 0,
    orders: 0,
    cancels: 0,
    trades: 0,
    marketOrders: 0,
    burstSteps: 0,
    volatileSteps: 0,
  };
  private readonly engine: MatchingEngine;
  private readonly inst: SimInstrument;
  private readonly rng: SeededRandom;
  private readonly typicalLots: number;
  private readonly quoteLevels: number;
  private readonly restingTarget: number;
  private readonly makers: Maker[] = [];
  private readonly lpBids: Resting[] = [];
  private readonly lpAsks: Resting[] = [];
  /** Fair value in ticks (a statistic: a float). */
  private fair: number;
  private _regime: Regime = 'calm';
  private burstLeft = 0;
  private burstDir: 1 | -1 = 1;
  private stepNumber = 0;

  constructor(options: AgentFlowOptions) {
    this.engine = options.engine;
    this.inst = options.instrument;
    this.symbol = options.instrument.symbol;
    if (this.engine.symbol !== this.symbol) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the engine trades another instrument', {
        engine: this.engine.symbol,
        instrument: this.symbol,
      });
    }
    this.rng = new SeededRandom(options.seed);
    this.fair = this.engine.priceToTicks(this.inst.initialPrice);
    this.typicalLots = this.engine.sizeToLots(this.inst.typicalSize);
    this.quoteLevels = positiveInt(options.quoteLevels ?? 4, 'quoteLevels');
    this.restingTarget = positiveInt(options.restingTarget ?? 120, 'restingTarget');
    const n = positiveInt(options.marketMakers ?? 3, 'marketMakers');
    for (let i = 1; i <= n; i++) {
      this.makers.push({
        owner: `mm${i}`,
        inventory: 0,
        bids: new Map(),
        asks: new Map(),
        offset: this.rng.next() - 0.5,
        lastCenter: Number.NaN,
      });
    }
    this.seedBook();
  }

  get regime(): Regime {
    return this._regime;
  }

  get inBurst(): boolean {
    return this.burstLeft > 0;
  }

  /** The agents' current fair value in ticks (a statistic). */
  get fairTicks(): number {
    return this.fair;
  }

  /** One tick of simulated time: regime, fair value, cancellations, quotes, taker flow. */
  step(): void {
    const rng = this.rng;
    const s = this.stats;
    s.steps++;
    this.stepNumber++;
    if (this._regime === 'calm' ? rng.chance(P_CALM_TO_VOLATILE) : rng.chance(P_VOLATILE_TO_CALM)) {
      this._regime = this._regime === 'calm' ? 'volatile' : 'calm';
    }
    if (this._regime === 'volatile') s.volatileSteps++;
    if (this.burstLeft === 0 && rng.chance(P_BURST)) {
      this.burstLeft = 5 + rng.int(36);
      this.burstDir = rng.chance(0.5) ? 1 : -1;
    }
    const burst = this.burstLeft > 0;
    if (burst) {
      this.burstLeft--;
      s.burstSteps++;
    }

    // Fair value: a random walk, faster when volatile, drifting in a burst's direction.
    const vol = (this.inst.calmVolBps * (this._regime === 'volatile' ? VOLATILE_VOL_MULT : 1)) / 10_000;
    const drift = burst ? (this.burstDir * 0.5 * this.inst.calmVolBps) / 10_000 : 0;
    this.fair *= Math.exp(vol * rng.normal() + drift);
    this.fair = Math.max(this.fair, 10);

    this.expireLiquidity();
    this.arbitrage();
    for (const m of this.makers) this.requote(m, rng.chance(this._regime === 'volatile' ? 0.15 : 0.05));
    const lpN = this.poisson(LP_RATE[this._regime] * (burst ? 2 : 1));
    for (let i = 0; i < lpN; i++) this.addLiquidity();

    const takerN = this.poisson(TAKER_RATE[this._regime] * (burst ? BURST_TAKER_MULT : 1));
    for (let i = 0; i < takerN; i++) this.take(burst);

    // Never leave a side empty: the makers step in at once.
    if (this.engine.bestBidTicks() === undefined || this.engine.bestAskTicks() === undefined) {
      for (const m of this.makers) this.requote(m, true);
    }
  }

  // ---- liquidity -------------------------------------------------------------------------------------

  /** Starts with a populated book: each maker quotes, providers rest orders on both sides. */
  private seedBook(): void {
    for (const m of this.makers) this.requote(m, true);
    for (let i = 0; i < this.restingTarget; i++) {
      this.addLiquidity('buy');
      this.addLiquidity('sell');
    }
  }

  private bps(b: number): number {
    return (this.fair * b) / 10_000;
  }

  private halfSpreadTicks(): number {
    const hs = this.bps(this.inst.halfSpreadBps) * (this._regime === 'volatile' ? 2.5 : 1);
    return Math.max(1, hs);
  }

  private spacingTicks(): number {
    return Math.max(1, this.bps(this.inst.levelSpacingBps));
  }

  /**
   * Re-quotes when the maker's reservation price moved by a spacing, when quotes were filled (most
   * of the time), or when `force`d.
   */
  private requote(m: Maker, force: boolean): void {
    let filled = false;
    for (const [t, id] of m.bids) {
      if (this.engine.order(id) === undefined) {
        m.bids.delete(t);
        filled = true;
      }
    }
    for (const [t, id] of m.asks) {
      if (this.engine.order(id) === undefined) {
        m.asks.delete(t);
        filled = true;
      }
    }
    const hs = this.halfSpreadTicks();
    const sp = this.spacingTicks();
    const skew = (m.inventory / this.typicalLots) * this.bps(0.1);
    const center = this.fair - skew + m.offset * sp;
    const moved = !(Math.abs(center - m.lastCenter) < sp);
    const empty = m.bids.size === 0 || m.asks.size === 0;
    if (!force && !moved && !empty && !(filled && this.rng.chance(0.7))) return;
    const wantBids = new Set<number>();
    const wantAsks = new Set<number>();
    for (let i = 0; i < this.quoteLevels; i++) {
      wantBids.add(Math.max(1, Math.floor(center - hs - i * sp)));
      wantAsks.add(Math.max(2, Math.ceil(center + hs + i * sp)));
    }
    this.reconcile(m, m.bids, wantBids, 'buy');
    this.reconcile(m, m.asks, wantAsks, 'sell');
    if (moved) m.lastCenter = center;
  }

  private reconcile(m: Maker, have: Map<number, string>, want: Set<number>, side: OrderSide): void {
    for (const [t, id] of have) {
      if (want.has(t)) continue;
      if (this.engine.cancel(id).ok) this.stats.cancels++;
      have.delete(t);
    }
    let level = 0;
    // Post-only quotes stay one tick behind the other side's best (the book may lag the makers' view).
    const opp = side === 'buy' ? this.engine.bestAskTicks() : this.engine.bestBidTicks();
    for (const w of want) {
      level++;
      const t = opp === undefined ? w : side === 'buy' ? Math.min(w, opp - 1) : Math.max(w, opp + 1);
      if (t < 1 || have.has(t)) continue;
      const lots = Math.max(1, Math.round(this.typicalLots * (0.4 + this.rng.next()) * (1 + 0.4 * level)));
      const r = this.send({
        type: 'limit',
        side,
        price: this.engine.priceText(t),
        size: this.engine.sizeText(lots),
        postOnly: true,
        owner: m.owner,
      });
      if (r.status === 'new') have.set(t, r.orderId);
    }
  }

  /** A liquidity provider's resting order, clustered near the touch on its side. */
  private addLiquidity(sideArg?: OrderSide): void {
    const rng = this.rng;
    const side: OrderSide = sideArg ?? (rng.chance(0.5) ? 'buy' : 'sell');
    const book = side === 'buy' ? this.lpBids : this.lpAsks;
    const hs = this.halfSpreadTicks();
    const distance = hs + this.spacingTicks() * (rng.geometric(0.08) + rng.next());
    const t = side === 'buy' ? Math.floor(this.fair - distance) : Math.ceil(this.fair + distance);
    if (t < 1) return;
    const lots = Math.max(1, Math.round(this.typicalLots * Math.exp(0.9 * rng.normal())));
    const r = this.send({
      type: 'limit',
      side,
      price: this.engine.priceText(t),
      size: this.engine.sizeText(lots),
      postOnly: true,
      owner: 'lp',
    });
    if (r.status !== 'new') return;
    const life = 1 + Math.round(-Math.log(1 - rng.next()) * LP_MEAN_LIFE_STEPS);
    book.push({ id: r.orderId, expiresAt: this.stepNumber + life });
    // Bounded: beyond twice the target the oldest order goes.
    if (book.length > 2 * this.restingTarget) this.cancelResting(book, 0);
  }

  private expireLiquidity(): void {
    for (const book of [this.lpBids, this.lpAsks]) {
      for (let i = book.length - 1; i >= 0; i--) {
        const r = book[i] as Resting;
        if (r.expiresAt <= this.stepNumber || this.rng.chance(0.002)) this.cancelResting(book, i);
      }
    }
  }

  private cancelResting(book: Resting[], i: number): void {
    const r = book[i] as Resting;
    book.splice(i, 1);
    if (this.engine.cancel(r.id).ok) this.stats.cancels++;
  }

  /**
   * An informed trader: resting orders beyond the fair value by more than the half spread (stale quotes,
   * left behind by a move) are taken, so the book follows the fair value.
   */
  private arbitrage(): void {
    const e = this.engine;
    const edge = this.halfSpreadTicks();
    const cap = this.typicalLots * 2;
    const bid = e.bestBidTicks();
    if (bid !== undefined && bid > this.fair + edge) {
      const t = Math.ceil(this.fair + edge);
      this.send({
        type: 'limit',
        side: 'sell',
        price: e.priceText(t),
        size: e.sizeText(cap),
        tif: 'IOC',
        owner: 'arb',
      });
    }
    const ask = e.bestAskTicks();
    if (ask !== undefined && ask < this.fair - edge) {
      const t = Math.max(1, Math.floor(this.fair - edge));
      this.send({ type: 'limit', side: 'buy', price: e.priceText(t), size: e.sizeText(cap), tif: 'IOC', owner: 'arb' });
    }
  }

  // ---- takers ----------------------------------------------------------------------------------------

  private take(burst: boolean): void {
    const rng = this.rng;
    const e = this.engine;
    let side: OrderSide;
    if (burst) side = rng.chance(0.85) === (this.burstDir === 1) ? 'buy' : 'sell';
    else side = rng.chance(0.5) ? 'buy' : 'sell';
    const lots = Math.max(1, Math.round(this.typicalLots * 0.6 * Math.exp(1.1 * rng.normal())));
    const size = e.sizeText(lots);
    const u = rng.next();
    let r: OrderResult;
    if (u < 0.55) {
      this.stats.marketOrders++;
      r = this.send({ type: 'market', side, size, owner: 'noise' });
    } else {
      const best = side === 'buy' ? e.bestAskTicks() : e.bestBidTicks();
      if (best === undefined) return;
      const through = rng.geometric(0.4) * Math.ceil(this.spacingTicks());
      const t = side === 'buy' ? best + through : Math.max(1, best - through);
      const tif = u < 0.85 ? 'IOC' : 'GTC';
      r = this.send({ type: 'limit', side, price: e.priceText(t), size, tif, owner: 'noise' });
      if (tif === 'GTC' && r.status !== 'filled' && r.status !== 'cancelled') {
        (side === 'buy' ? this.lpBids : this.lpAsks).push({ id: r.orderId, expiresAt: this.stepNumber + 20 });
      }
    }
    // Price impact: the believers move their fair value with the flow.
    let filled = 0;
    for (const t of r.trades) filled += t.lots;
    const sign = side === 'buy' ? 1 : -1;
    this.fair *= 1 + (sign * IMPACT_BPS * (filled / this.typicalLots)) / 10_000;
  }

  // ---- plumbing --------------------------------------------------------------------------------------

  private send(req: OrderRequest): OrderResult {
    const r = this.engine.submit(req);
    this.stats.orders++;
    for (const t of r.trades) {
      this.stats.trades++;
      const m = this.makers.find((x) => x.owner === t.makerOwner);
      if (m !== undefined) m.inventory += t.aggressor === 'buy' ? -t.lots : t.lots;
      const tm = this.makers.find((x) => x.owner === t.takerOwner);
      if (tm !== undefined) tm.inventory += t.aggressor === 'buy' ? t.lots : -t.lots;
    }
    return r;
  }

  /** Poisson count with mean `lambda` (Knuth; lambda is small). */
  private poisson(lambda: number): number {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = this.rng.next();
    while (p > l && k < 1000) {
      k++;
      p *= this.rng.next();
    }
    return k;
  }
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1 || v > 10_000) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be an integer in [1, 10000], got ${v}`, { [name]: v });
  }
  return v;
}
