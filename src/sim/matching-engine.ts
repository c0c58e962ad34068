/**
 * A price-time-priority matching engine for one instrument: the heart of the built-in simulated venue
 * (`sim`), and later what paper trading trades against.
 *
 * - Orders: limit (GTC, IOC, FOK, optionally post-only) and market (fills what it can, the rest is
 *   cancelled). Cancel, and amend: reducing the size at the same price keeps the order's place in the
 *   queue; a price change or a size increase sends it to the back (and a new price may trade at once).
 * - Exact: prices are held as integer tick counts and sizes as integer lot counts (safe integers), so
 *   matching never rounds. Input is decimal text; a price off the tick grid or a size off the lot grid is
 *   rejected with a typed QOB_ERR_INVALID_ARGUMENT naming the value.
 * - Deterministic: order ids and trade ids come from injected id sources and every timestamp from an
 *   injected clock; nothing here reads ambient time or randomness.
 * - Self-trade prevention (optional, per engine or per order) applies to orders with the same `owner`.
 * - Every operation reports what it did as events, in order: trades (aggressor side, maker and taker ids),
 *   L3 order changes (add / change / delete), then the L2 level changes it caused (one per level touched,
 *   with the level's final aggregate size).
 *
 * Business outcomes (a post-only order that would take, an FOK that cannot fill, an unknown order id in a
 * cancel) are results, not errors: only malformed requests throw.
 */
import { qobError } from '../core/errors.ts';
import { Decimal, formatScaled, writtenFractionDigits } from '../core/fixed.ts';

export type OrderSide = 'buy' | 'sell';
export type BookSideName = 'bid' | 'ask';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
/**
 * Self-trade prevention when an incoming order would trade with a resting order of the same owner:
 * cancel the resting one and go on (`cancel-maker`), stop the incoming one (`cancel-taker`), or both.
 */
export type SelfTradePrevention = 'none' | 'cancel-maker' | 'cancel-taker' | 'cancel-both';

/** A source of unique ids (`O1`, `O2`, ...). Injected so that runs are reproducible. */
export interface IdSource {
  next(): string;
}

/** Milliseconds since the epoch, from the caller's clock (a virtual clock in simulations). */
export type Clock = () => number;

/** Ids `${prefix}1`, `${prefix}2`, ... */
export function sequentialIds(prefix: string, start = 1): IdSource {
  let n = start;
  return { next: () => `${prefix}${n++}` };
}

export interface EngineInstrument {
  /** Normalized symbol, `BTC-USDT`. */
  readonly symbol: string;
  /** Price increment, positive decimal text; prices are written with its fraction digits. */
  readonly tickSize: string;
  /** Size increment, positive decimal text; sizes are written with its fraction digits. */
  readonly lotSize: string;
}

export interface MatchingEngineOptions {
  readonly instrument: EngineInstrument;
  readonly clock: Clock;
  readonly orderIds: IdSource;
  readonly tradeIds: IdSource;
  /** Default self-trade prevention (default `'none'`). */
  readonly selfTradePrevention?: SelfTradePrevention;
  /** Called with every event as it happens (also returned in each operation's result). */
  readonly onEvent?: (event: EngineEvent) => void;
}

export interface LimitOrderRequest {
  readonly type: 'limit';
  readonly side: OrderSide;
  readonly price: string;
  readonly size: string;
  /** Default `'GTC'`. */
  readonly tif?: TimeInForce;
  /** Rejected instead of taking liquidity (GTC only). */
  readonly postOnly?: boolean;
  /** Who sent it (for self-trade prevention and for the caller's own bookkeeping). */
  readonly owner?: string;
  readonly selfTradePrevention?: SelfTradePrevention;
}

export interface MarketOrderRequest {
  readonly type: 'market';
  readonly side: OrderSide;
  readonly size: string;
  readonly owner?: string;
  readonly selfTradePrevention?: SelfTradePrevention;
}

export type OrderRequest = LimitOrderRequest | MarketOrderRequest;

export interface TradeEvent {
  readonly kind: 'trade';
  readonly symbol: string;
  readonly tradeId: string;
  readonly price: string;
  readonly size: string;
  readonly priceTicks: number;
  readonly lots: number;
  /** The incoming order's side. */
  readonly aggressor: OrderSide;
  readonly makerOrderId: string;
  readonly takerOrderId: string;
  readonly makerOwner: string | undefined;
  readonly takerOwner: string | undefined;
  readonly tsMs: number;
}

export interface L3Event {
  readonly kind: 'l3';
  readonly symbol: string;
  readonly action: 'add' | 'change' | 'delete';
  readonly orderId: string;
  readonly side: BookSideName;
  readonly price: string;
  /** The order's open size after the change (zero text for a delete). */
  readonly size: string;
  readonly priceTicks: number;
  readonly lots: number;
  readonly tsMs: number;
}

export interface L2Event {
  readonly kind: 'l2';
  readonly symbol: string;
  readonly side: BookSideName;
  readonly price: string;
  /** Aggregate open size at the price after the operation (zero text: the level is gone). */
  readonly size: string;
  readonly priceTicks: number;
  readonly lots: number;
  /** Aggregate lots before the operation. */
  readonly prevLots: number;
  readonly tsMs: number;
}

export type EngineEvent = TradeEvent | L3Event | L2Event;

export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected';

export interface OrderResult {
  readonly orderId: string;
  /**
   * `new` / `partially_filled`: resting on the book; `filled`; `cancelled`: the rest of an IOC, FOK or
   * market order (or stopped by self-trade prevention); `rejected`: nothing happened (post-only that
   * would take).
   */
  readonly status: OrderStatus;
  readonly filled: string;
  /** Open size left on the book (zero text unless resting). */
  readonly resting: string;
  readonly reason?: string;
  readonly trades: readonly TradeEvent[];
  readonly events: readonly EngineEvent[];
}

export interface CancelResult {
  readonly ok: boolean;
  readonly reason?: string;
  readonly events: readonly EngineEvent[];
}

export interface AmendRequest {
  /** New limit price (decimal text). */
  readonly price?: string;
  /** New open size (decimal text, positive). */
  readonly size?: string;
}

export interface AmendResult {
  readonly ok: boolean;
  readonly reason?: string;
  /** Whether the order kept its place in the queue. */
  readonly keptPriority: boolean;
  /** Open size left on the book after the amend (zero text when it traded away entirely). */
  readonly resting: string;
  readonly trades: readonly TradeEvent[];
  readonly events: readonly EngineEvent[];
}

/** A resting order, as `order()` and `orders()` show it. */
export interface RestingOrder {
  readonly id: string;
  readonly side: BookSideName;
  readonly price: string;
  readonly size: string;
  readonly priceTicks: number;
  readonly lots: number;
  readonly owner: string | undefined;
  /** Time priority: lower is earlier. Changes when the order loses its place. */
  readonly priority: number;
  readonly postOnly: boolean;
}

interface Order {
  readonly id: string;
  readonly side: BookSideName;
  priceTicks: number;
  lots: number;
  readonly owner: string | undefined;
  priority: number;
  readonly postOnly: boolean;
  level: Level | undefined;
  prev: Order | undefined;
  next: Order | undefined;
}

interface Level {
  readonly ticks: number;
  total: number;
  count: number;
  head: Order | undefined;
  tail: Order | undefined;
}

/** One side: levels by tick, and their ticks sorted so that the best is last. */
class Side {
  readonly name: BookSideName;
  /** +1 for bids (higher is better), -1 for asks. */
  readonly dir: 1 | -1;
  readonly levels = new Map<number, Level>();
  /** Sorted ascending in `dir * ticks`: the best price is the last element. */
  readonly sorted: number[] = [];

  constructor(name: BookSideName) {
    this.name = name;
    this.dir = name === 'bid' ? 1 : -1;
  }

  best(): Level | undefined {
    const t = this.sorted[this.sorted.length - 1];
    return t === undefined ? undefined : this.levels.get(t);
  }

  private index(ticks: number): number {
    const key = this.dir * ticks;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.dir * (this.sorted[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  levelFor(ticks: number): Level {
    let l = this.levels.get(ticks);
    if (l === undefined) {
      l = { ticks, total: 0, count: 0, head: undefined, tail: undefined };
      this.levels.set(ticks, l);
      this.sorted.splice(this.index(ticks), 0, ticks);
    }
    return l;
  }

  dropLevel(l: Level): void {
    this.levels.delete(l.ticks);
    this.sorted.splice(this.index(l.ticks), 1);
  }

  /** Levels best first. */
  *bestFirst(): Generator<Level> {
    for (let i = this.sorted.length - 1; i >= 0; i--) yield this.levels.get(this.sorted[i] as number) as Level;
  }
}

const STP_MODES: readonly SelfTradePrevention[] = ['none', 'cancel-maker', 'cancel-taker', 'cancel-both'];

export class MatchingEngine {
  readonly symbol: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly priceDecimals: number;
  readonly sizeDecimals: number;
  private readonly tickUnits: bigint;
  private readonly lotUnits: bigint;
  private readonly tickUnitsN: number;
  private readonly lotUnitsN: number;
  private readonly clock: Clock;
  private readonly orderIds: IdSource;
  private readonly tradeIds: IdSource;
  private readonly stp: SelfTradePrevention;
  private readonly onEvent: ((event: EngineEvent) => void) | undefined;
  private readonly bids = new Side('bid');
  private readonly asks = new Side('ask');
  private readonly byId = new Map<string, Order>();
  private priorityCounter = 0;
  // The operation in progress: its events and the levels it touched (lots before it).
  private events: EngineEvent[] = [];
  private touched = new Map<string, { side: Side; ticks: number; prevLots: number }>();
  private nowMs = 0;

  constructor(options: MatchingEngineOptions) {
    const inst = options.instrument;
    this.symbol = inst.symbol;
    this.tickSize = inst.tickSize;
    this.lotSize = inst.lotSize;
    this.priceDecimals = writtenFractionDigits(inst.tickSize);
    this.sizeDecimals = writtenFractionDigits(inst.lotSize);
    this.tickUnits = incrementUnits(inst.tickSize, this.priceDecimals, 'tickSize');
    this.lotUnits = incrementUnits(inst.lotSize, this.sizeDecimals, 'lotSize');
    this.tickUnitsN = Number(this.tickUnits);
    this.lotUnitsN = Number(this.lotUnits);
    this.clock = options.clock;
    this.orderIds = options.orderIds;
    this.tradeIds = options.tradeIds;
    this.stp = checkStp(options.selfTradePrevention ?? 'none');
    this.onEvent = options.onEvent;
  }

  // ---- conversions -----------------------------------------------------------------------------------

  /** A price as a tick count. Throws a typed error unless it is a positive multiple of the tick. */
  priceToTicks(price: string): number {
    const d = Decimal.parse(price); // QOB_ERR_INVALID_DECIMAL on bad text
    if (d.sign() <= 0) {
      throw qobError('QOB_ERR_NONPOSITIVE_PRICE', `price must be positive: ${price}`, { price, symbol: this.symbol });
    }
    return this.onGrid(d, this.priceDecimals, this.tickUnits, 'price', price, this.tickSize);
  }

  /** A size as a lot count. Throws a typed error unless it is a positive multiple of the lot. */
  sizeToLots(size: string): number {
    const d = Decimal.parse(size);
    if (d.sign() < 0) {
      throw qobError('QOB_ERR_NEGATIVE_SIZE', `size must not be negative: ${size}`, { size, symbol: this.symbol });
    }
    if (d.sign() === 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `size must be positive: ${size}`, { size, symbol: this.symbol });
    }
    return this.onGrid(d, this.sizeDecimals, this.lotUnits, 'size', size, this.lotSize);
  }

  private onGrid(d: Decimal, decimals: number, unit: bigint, name: string, text: string, increment: string): number {
    const r = d.rescale(decimals);
    if (r === undefined || r.coef % unit !== 0n) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} ${text} is not a multiple of ${increment}`, {
        [name]: text,
        increment,
        symbol: this.symbol,
      });
    }
    const n = r.coef / unit;
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `${name} ${text} is too large`, { [name]: text, symbol: this.symbol });
    }
    return Number(n);
  }

  /** A tick count as price text with the tick's fraction digits (`6500010` -> `"65000.10"`). */
  priceText(ticks: number): string {
    return formatScaled(ticks * this.tickUnitsN, this.priceDecimals);
  }

  /** A lot count as size text with the lot's fraction digits. */
  sizeText(lots: number): string {
    return formatScaled(lots * this.lotUnitsN, this.sizeDecimals);
  }

  // ---- reads -----------------------------------------------------------------------------------------

  /** Best bid in ticks, or undefined. */
  bestBidTicks(): number | undefined {
    return this.bids.best()?.ticks;
  }

  bestAskTicks(): number | undefined {
    return this.asks.best()?.ticks;
  }

  /** Aggregate lots at a price on a side (0 when empty). */
  lotsAt(side: BookSideName, ticks: number): number {
    return this.sideOf(side).levels.get(ticks)?.total ?? 0;
  }

  /** Number of price levels on a side. */
  depth(side: BookSideName): number {
    return this.sideOf(side).sorted.length;
  }

  get orderCount(): number {
    return this.byId.size;
  }

  order(id: string): RestingOrder | undefined {
    const o = this.byId.get(id);
    return o === undefined ? undefined : this.view(o);
  }

  /** Every resting order of a side in priority order (best price first, then earliest). */
  orders(side: BookSideName): RestingOrder[] {
    const out: RestingOrder[] = [];
    for (const l of this.sideOf(side).bestFirst()) {
      for (let o = l.head; o !== undefined; o = o.next) out.push(this.view(o));
    }
    return out;
  }

  /** The L2 book as `[price, size]` text, best first, at most `depth` levels per side. */
  l2(depth = Number.POSITIVE_INFINITY): { bids: [string, string][]; asks: [string, string][] } {
    const side = (s: Side): [string, string][] => {
      const out: [string, string][] = [];
      for (const l of s.bestFirst()) {
        if (out.length >= depth) break;
        out.push([this.priceText(l.ticks), this.sizeText(l.total)]);
      }
      return out;
    };
    return { bids: side(this.bids), asks: side(this.asks) };
  }

  private view(o: Order): RestingOrder {
    return {
      id: o.id,
      side: o.side,
      price: this.priceText(o.priceTicks),
      size: this.sizeText(o.lots),
      priceTicks: o.priceTicks,
      lots: o.lots,
      owner: o.owner,
      priority: o.priority,
      postOnly: o.postOnly,
    };
  }

  private sideOf(side: BookSideName): Side {
    return side === 'bid' ? this.bids : this.asks;
  }

  // ---- operations ------------------------------------------------------------------------------------

  /** Submits an order. Throws a typed error for a malformed request (nothing changes then). */
  submit(req: OrderRequest): OrderResult {
    if (req === null || typeof req !== 'object') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'an order request must be an object', { symbol: this.symbol });
    }
    if (req.side !== 'buy' && req.side !== 'sell') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `side must be 'buy' or 'sell'`, {
        side: String(req.side),
        symbol: this.symbol,
      });
    }
    const lots = this.sizeToLots(req.size);
    const stp = checkStp(req.selfTradePrevention ?? this.stp);
    if (req.type === 'market') {
      return this.run(() => this.execute(req.side, undefined, lots, 'IOC', false, req.owner, stp));
    }
    if (req.type !== 'limit') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `order type must be 'limit' or 'market'`, {
        type: String((req as { type: unknown }).type),
        symbol: this.symbol,
      });
    }
    const ticks = this.priceToTicks(req.price);
    const tif = req.tif ?? 'GTC';
    if (tif !== 'GTC' && tif !== 'IOC' && tif !== 'FOK') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `tif must be GTC, IOC or FOK`, { tif: String(tif) });
    }
    const postOnly = req.postOnly === true;
    if (postOnly && tif !== 'GTC') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a post-only order must be GTC', { tif });
    }
    return this.run(() => this.execute(req.side, ticks, lots, tif, postOnly, req.owner, stp));
  }

  /** Cancels a resting order. An unknown (or already filled) id is a result with `ok: false`. */
  cancel(orderId: string): CancelResult {
    const o = this.byId.get(orderId);
    if (o === undefined) return { ok: false, reason: 'unknown order', events: [] };
    const events = this.collect(() => this.remove(o));
    return { ok: true, events };
  }

  /**
   * Changes a resting order's price and/or open size. Only a smaller size at the same price keeps the
   * order's place; anything else sends it to the back of its (possibly new) level, and a price that
   * crosses trades at once like a new GTC order. A post-only order that would cross is refused unchanged.
   */
  amend(orderId: string, change: AmendRequest): AmendResult {
    const o = this.byId.get(orderId);
    const newTicks = change.price === undefined ? undefined : this.priceToTicks(change.price);
    const newLots = change.size === undefined ? undefined : this.sizeToLots(change.size);
    const zero = this.sizeText(0);
    if (o === undefined) {
      return { ok: false, reason: 'unknown order', keptPriority: false, resting: zero, trades: [], events: [] };
    }
    const ticks = newTicks ?? o.priceTicks;
    const lots = newLots ?? o.lots;
    if (ticks === o.priceTicks && lots === o.lots) {
      return { ok: true, keptPriority: true, resting: this.sizeText(o.lots), trades: [], events: [] };
    }
    if (ticks === o.priceTicks && lots < o.lots) {
      const events = this.collect(() => {
        this.touch(this.sideOf(o.side), o.priceTicks);
        (o.level as Level).total -= o.lots - lots;
        o.lots = lots;
        this.l3('change', o);
      });
      return { ok: true, keptPriority: true, resting: this.sizeText(lots), trades: [], events };
    }
    const taker: OrderSide = o.side === 'bid' ? 'buy' : 'sell';
    if (o.postOnly && this.crosses(taker, ticks)) {
      return {
        ok: false,
        reason: 'post-only order would take liquidity',
        keptPriority: false,
        resting: this.sizeText(o.lots),
        trades: [],
        events: [],
      };
    }
    // Loses its place: out of the queue, then back in like a new order that keeps its id.
    const r = this.run(() => {
      this.remove(o);
      return this.execute(taker, ticks, lots, 'GTC', o.postOnly, o.owner, this.stp, o.id);
    });
    return {
      ok: true,
      keptPriority: false,
      resting: r.resting,
      trades: r.trades,
      events: r.events,
    };
  }

  // ---- internals -------------------------------------------------------------------------------------

  private run(f: () => { status: OrderStatus; id: string; filled: number; resting: number; reason?: string }) {
    let out: { status: OrderStatus; id: string; filled: number; resting: number; reason?: string } | undefined;
    const events = this.collect(() => {
      out = f();
    });
    const r = out as { status: OrderStatus; id: string; filled: number; resting: number; reason?: string };
    const result: OrderResult = {
      orderId: r.id,
      status: r.status,
      filled: this.sizeText(r.filled),
      resting: this.sizeText(r.resting),
      trades: events.filter((e): e is TradeEvent => e.kind === 'trade'),
      events,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
    };
    return result;
  }

  /** Runs one operation and returns its events, L2 changes last. */
  private collect(f: () => void): EngineEvent[] {
    this.events = [];
    this.touched = new Map();
    this.nowMs = this.clock();
    f();
    for (const t of this.touched.values()) {
      const lots = t.side.levels.get(t.ticks)?.total ?? 0;
      if (lots === t.prevLots) continue;
      this.emit({
        kind: 'l2',
        symbol: this.symbol,
        side: t.side.name,
        price: this.priceText(t.ticks),
        size: this.sizeText(lots),
        priceTicks: t.ticks,
        lots,
        prevLots: t.prevLots,
        tsMs: this.nowMs,
      });
    }
    const events = this.events;
    this.events = [];
    return events;
  }

  private emit(e: EngineEvent): void {
    this.events.push(e);
    this.onEvent?.(e);
  }

  private touch(side: Side, ticks: number): void {
    const key = `${side.name}:${ticks}`;
    if (!this.touched.has(key)) {
      this.touched.set(key, { side, ticks, prevLots: side.levels.get(ticks)?.total ?? 0 });
    }
  }

  private l3(action: 'add' | 'change' | 'delete', o: Order): void {
    const lots = action === 'delete' ? 0 : o.lots;
    this.emit({
      kind: 'l3',
      symbol: this.symbol,
      action,
      orderId: o.id,
      side: o.side,
      price: this.priceText(o.priceTicks),
      size: this.sizeText(lots),
      priceTicks: o.priceTicks,
      lots,
      tsMs: this.nowMs,
    });
  }

  /** Whether an order on `taker`'s side at `ticks` (undefined: market) would trade now. */
  private crosses(taker: OrderSide, ticks: number | undefined): boolean {
    const opp = taker === 'buy' ? this.asks.best() : this.bids.best();
    if (opp === undefined) return false;
    if (ticks === undefined) return true;
    return taker === 'buy' ? opp.ticks <= ticks : opp.ticks >= ticks;
  }

  private execute(
    taker: OrderSide,
    limit: number | undefined,
    lots: number,
    tif: TimeInForce,
    postOnly: boolean,
    owner: string | undefined,
    stp: SelfTradePrevention,
    keepId?: string,
  ): { status: OrderStatus; id: string; filled: number; resting: number; reason?: string } {
    const id = keepId ?? this.orderIds.next();
    if (postOnly && this.crosses(taker, limit)) {
      return { status: 'rejected', id, filled: 0, resting: 0, reason: 'post-only order would take liquidity' };
    }
    const opp = taker === 'buy' ? this.asks : this.bids;
    const selfCheck = stp !== 'none' && owner !== undefined;
    if (tif === 'FOK' && !this.canFill(opp, taker, limit, lots, selfCheck ? owner : undefined, stp)) {
      return { status: 'cancelled', id, filled: 0, resting: 0, reason: 'fill-or-kill order cannot fill entirely' };
    }
    let left = lots;
    let stopped: string | undefined;
    while (left > 0) {
      const level = opp.best();
      if (level === undefined) break;
      if (limit !== undefined && (taker === 'buy' ? level.ticks > limit : level.ticks < limit)) break;
      const maker = level.head as Order;
      if (selfCheck && maker.owner === owner) {
        if (stp === 'cancel-maker' || stp === 'cancel-both') this.remove(maker);
        if (stp === 'cancel-taker' || stp === 'cancel-both') {
          stopped = 'self-trade prevention';
          break;
        }
        continue;
      }
      const q = Math.min(left, maker.lots);
      this.touch(opp, level.ticks);
      left -= q;
      this.emit({
        kind: 'trade',
        symbol: this.symbol,
        tradeId: this.tradeIds.next(),
        price: this.priceText(level.ticks),
        size: this.sizeText(q),
        priceTicks: level.ticks,
        lots: q,
        aggressor: taker,
        makerOrderId: maker.id,
        takerOrderId: id,
        makerOwner: maker.owner,
        takerOwner: owner,
        tsMs: this.nowMs,
      });
      if (q === maker.lots) {
        this.remove(maker);
      } else {
        maker.lots -= q;
        level.total -= q;
        this.l3('change', maker);
      }
    }
    const filled = lots - left;
    if (left === 0) return { status: 'filled', id, filled, resting: 0 };
    if (stopped !== undefined || tif !== 'GTC' || limit === undefined) {
      return {
        status: 'cancelled',
        id,
        filled,
        resting: 0,
        reason: stopped ?? (limit === undefined ? 'market order: rest cancelled' : `${tif}: rest cancelled`),
      };
    }
    this.rest({
      id,
      side: taker === 'buy' ? 'bid' : 'ask',
      priceTicks: limit,
      lots: left,
      owner,
      priority: 0,
      postOnly,
      level: undefined,
      prev: undefined,
      next: undefined,
    });
    return { status: filled > 0 ? 'partially_filled' : 'new', id, filled, resting: left };
  }

  /** FOK pre-check: enough tradable size within the limit, in priority order. */
  private canFill(
    opp: Side,
    taker: OrderSide,
    limit: number | undefined,
    lots: number,
    selfOwner: string | undefined,
    stp: SelfTradePrevention,
  ): boolean {
    let got = 0;
    for (const level of opp.bestFirst()) {
      if (limit !== undefined && (taker === 'buy' ? level.ticks > limit : level.ticks < limit)) return false;
      for (let o = level.head; o !== undefined; o = o.next) {
        if (selfOwner !== undefined && o.owner === selfOwner) {
          if (stp === 'cancel-taker' || stp === 'cancel-both') return false;
          continue;
        }
        got += o.lots;
        if (got >= lots) return true;
      }
    }
    return false;
  }

  private rest(o: Order): void {
    const side = this.sideOf(o.side);
    this.touch(side, o.priceTicks);
    const level = side.levelFor(o.priceTicks);
    o.priority = ++this.priorityCounter;
    o.level = level;
    o.prev = level.tail;
    o.next = undefined;
    if (level.tail === undefined) level.head = o;
    else level.tail.next = o;
    level.tail = o;
    level.total += o.lots;
    level.count++;
    this.byId.set(o.id, o);
    this.l3('add', o);
  }

  /** Unlinks an order (an amend that loses priority is a delete then an add at L3). */
  private remove(o: Order): void {
    const side = this.sideOf(o.side);
    const level = o.level as Level;
    this.touch(side, level.ticks);
    if (o.prev === undefined) level.head = o.next;
    else o.prev.next = o.next;
    if (o.next === undefined) level.tail = o.prev;
    else o.next.prev = o.prev;
    level.total -= o.lots;
    level.count--;
    if (level.count === 0) side.dropLevel(level);
    o.level = undefined;
    o.prev = undefined;
    o.next = undefined;
    this.byId.delete(o.id);
    this.l3('delete', o);
  }
}

function checkStp(v: SelfTradePrevention): SelfTradePrevention {
  if (!STP_MODES.includes(v)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `selfTradePrevention must be one of ${STP_MODES.join(', ')}`, {
      selfTradePrevention: String(v),
    });
  }
  return v;
}

function incrementUnits(text: string, decimals: number, name: string): bigint {
  let d: Decimal;
  try {
    d = Decimal.parse(text);
  } catch (e) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be a decimal, got ${JSON.stringify(text)}`, {}, e);
  }
  const r = d.rescale(decimals);
  if (d.sign() <= 0 || r === undefined || r.coef > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be a positive decimal, got ${text}`, { [name]: text });
  }
  return r.coef;
}
