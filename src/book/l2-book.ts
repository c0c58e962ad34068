/**
 * An exact L2 order book for one instrument on one venue.
 *
 * Prices and sizes are held as safe integers scaled by 10^priceScale and 10^sizeScale. The scales start
 * from the instrument's precision (or 0) and grow automatically, exactly, when the venue sends a value
 * with more fraction digits; with `fixedScale` such a value is rejected instead. Every update is validated
 * before anything is changed, so bad input leaves the book as it was.
 */
import { createHash } from 'node:crypto';
import { qobError } from '../core/errors.ts';
import { Decimal, formatCanonical, fractionDigits, MAX_SCALE, parsePlain, parseScaled, pow10 } from '../core/fixed.ts';
import { BookSide } from './book-side.ts';

export type BookSideName = 'bid' | 'ask';
export type TradeSide = 'buy' | 'sell';

/** A level as exact decimal text. */
export interface BookLevel {
  readonly price: string;
  readonly size: string;
}

/** A raw level as most venues send it: `[price, size, ...ignored]` text. */
export type RawLevel = ArrayLike<string>;

export interface L2BookOptions {
  /** Initial number of price fraction digits (the instrument's price precision). */
  readonly priceScale?: number;
  /** Initial number of size fraction digits (the instrument's quantity precision). */
  readonly sizeScale?: number;
  /** Reject values with more fraction digits than the initial scales instead of growing them. */
  readonly fixedScale?: boolean;
}

export interface FillEstimate {
  /** Side of the book consumed: a buy consumes asks. */
  readonly side: TradeSide;
  readonly requested: string;
  readonly filled: string;
  readonly notional: string;
  /** Volume-weighted average price, rounded half-even to priceScale + 8 digits; undefined when nothing fills. */
  readonly vwap: string | undefined;
  readonly worstPrice: string | undefined;
  readonly levelsConsumed: number;
  /** Whether the book held the whole requested size. */
  readonly complete: boolean;
  /** (vwap - best) / best in basis points, signed so that a cost is positive. A statistic, not money. */
  readonly slippageBps: number | undefined;
}

export class L2Book {
  readonly bids: BookSide;
  readonly asks: BookSide;
  private _priceScale: number;
  private _sizeScale: number;
  private readonly fixedScale: boolean;
  /** Level updates applied since creation (snapshots included). */
  updates = 0;
  /** Scratch buffer for validating a batch before applying it: [price, size] pairs, scaled. */
  private scratch = new Float64Array(512);

  constructor(options: L2BookOptions = {}) {
    this._priceScale = checkScale(options.priceScale ?? 0, 'priceScale');
    this._sizeScale = checkScale(options.sizeScale ?? 0, 'sizeScale');
    this.fixedScale = options.fixedScale ?? false;
    this.bids = new BookSide(1);
    this.asks = new BookSide(-1);
  }

  get priceScale(): number {
    return this._priceScale;
  }

  get sizeScale(): number {
    return this._sizeScale;
  }

  // ---- parsing ---------------------------------------------------------------------------------------

  /** Parses a price text to this book's scale (growing it if needed). Throws a typed error on bad input. */
  parsePrice(text: string): number {
    let p = parseScaled(text, this._priceScale);
    if (Number.isNaN(p)) {
      this.growPriceScale(fractionDigits(text), text);
      p = parseScaled(text, this._priceScale);
    }
    if (p <= 0) throw qobError('QOB_ERR_NONPOSITIVE_PRICE', `price must be positive: ${text}`, { price: text });
    return p;
  }

  /** Parses a size text to this book's scale (growing it if needed). Throws a typed error on bad input. */
  parseSize(text: string): number {
    let s = parseScaled(text, this._sizeScale);
    if (Number.isNaN(s)) {
      this.growSizeScale(fractionDigits(text), text);
      s = parseScaled(text, this._sizeScale);
    }
    if (s < 0) throw qobError('QOB_ERR_NEGATIVE_SIZE', `size must not be negative: ${text}`, { size: text });
    return s;
  }

  private growPriceScale(digits: number, text: string): void {
    if (this.fixedScale || digits > MAX_SCALE) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `price ${text} has more than ${this._priceScale} fraction digits`, {
        price: text,
        priceScale: this._priceScale,
      });
    }
    const f = pow10(digits - this._priceScale);
    const max = Math.max(this.bids.maxAbsKey(), this.asks.maxAbsKey());
    if (max * f > Number.MAX_SAFE_INTEGER) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `price ${text} needs a scale the book's prices cannot hold exactly`, {
        price: text,
      });
    }
    this.bids.scaleKeys(f);
    this.asks.scaleKeys(f);
    this._priceScale = digits;
  }

  private growSizeScale(digits: number, text: string): void {
    if (this.fixedScale || digits > MAX_SCALE) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `size ${text} has more than ${this._sizeScale} fraction digits`, {
        size: text,
        sizeScale: this._sizeScale,
      });
    }
    const f = pow10(digits - this._sizeScale);
    const max = Math.max(this.bids.maxSize(), this.asks.maxSize());
    if (max * f > Number.MAX_SAFE_INTEGER) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `size ${text} needs a scale the book's sizes cannot hold exactly`, {
        size: text,
      });
    }
    this.bids.scaleSizes(f);
    this.asks.scaleSizes(f);
    this._sizeScale = digits;
  }

  // ---- updates ---------------------------------------------------------------------------------------

  /** Sets one level from venue text; size zero deletes. Atomic: on a typed error nothing changed. */
  set(side: BookSideName, price: string, size: string): void {
    const p = this.parsePrice(price);
    const s = this.parseSize(size);
    this.updates++;
    (side === 'bid' ? this.bids : this.asks).set(p, s);
  }

  /** Sets one level from scaled integers at this book's current scales. */
  setScaled(side: BookSideName, price: number, size: number): void {
    this.updates++;
    (side === 'bid' ? this.bids : this.asks).set(price, size);
  }

  /**
   * Applies a batch of level changes in array order (the last of two changes to one price wins).
   * All levels are parsed and validated first: on a typed error the book is unchanged.
   */
  applyDelta(bids: ArrayLike<RawLevel> | undefined, asks: ArrayLike<RawLevel> | undefined): void {
    const nb = bids === undefined ? 0 : bids.length;
    const na = asks === undefined ? 0 : asks.length;
    const scratch = this.prepare(bids, nb, asks, na);
    this.commit(scratch, nb, na);
  }

  /** Replaces the whole book. Validated first: on a typed error the book is unchanged. */
  applySnapshot(bids: ArrayLike<RawLevel>, asks: ArrayLike<RawLevel>): void {
    const scratch = this.prepare(bids, bids.length, asks, asks.length);
    this.bids.clear();
    this.asks.clear();
    this.commit(scratch, bids.length, asks.length);
  }

  private prepare(
    bids: ArrayLike<RawLevel> | undefined,
    nb: number,
    asks: ArrayLike<RawLevel> | undefined,
    na: number,
  ): Float64Array {
    const need = (nb + na) * 2;
    if (this.scratch.length < need) this.scratch = new Float64Array(Math.max(need, this.scratch.length * 2));
    const scratch = this.scratch;
    const ps = this._priceScale;
    const ss = this._sizeScale;
    let j = 0;
    // parsePlain handles plain venue text; anything else (errors, scale growth) takes the full parsers.
    for (let i = 0; i < nb; i++) {
      const l = (bids as ArrayLike<RawLevel>)[i] as RawLevel;
      const pt = levelText(l, 0);
      const p = parsePlain(pt, ps);
      scratch[j++] = p > 0 ? p : this.parsePrice(pt);
      const st = levelText(l, 1);
      const s = parsePlain(st, ss);
      scratch[j++] = s >= 0 ? s : this.parseSize(st);
    }
    for (let i = 0; i < na; i++) {
      const l = (asks as ArrayLike<RawLevel>)[i] as RawLevel;
      const pt = levelText(l, 0);
      const p = parsePlain(pt, ps);
      scratch[j++] = p > 0 ? p : this.parsePrice(pt);
      const st = levelText(l, 1);
      const s = parsePlain(st, ss);
      scratch[j++] = s >= 0 ? s : this.parseSize(st);
    }
    if (ps !== this._priceScale || ss !== this._sizeScale) {
      // A scale grew midway: values parsed before it are at the old scale. Parse again (rare).
      return this.prepare(bids, nb, asks, na);
    }
    return scratch;
  }

  private commit(scratch: Float64Array, nb: number, na: number): void {
    let j = 0;
    const bidSide = this.bids;
    const askSide = this.asks;
    for (let i = 0; i < nb; i++, j += 2) bidSide.set(scratch[j] as number, scratch[j + 1] as number);
    for (let i = 0; i < na; i++, j += 2) askSide.set(scratch[j] as number, scratch[j + 1] as number);
    this.updates += nb + na;
  }

  /** Keeps only the `depth` best levels on each side (fixed-depth feeds). */
  truncate(depth: number): void {
    if (!(Number.isInteger(depth) || depth === Number.POSITIVE_INFINITY) || depth < 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `depth must be a non-negative integer, got ${depth}`, { depth });
    }
    this.bids.truncate(depth);
    this.asks.truncate(depth);
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  get isEmpty(): boolean {
    return this.bids.length === 0 && this.asks.length === 0;
  }

  // ---- reads -----------------------------------------------------------------------------------------

  side(side: BookSideName): BookSide {
    return side === 'bid' ? this.bids : this.asks;
  }

  formatPrice(scaled: number): string {
    return formatCanonical(scaled, this._priceScale);
  }

  formatSize(scaled: number): string {
    return formatCanonical(scaled, this._sizeScale);
  }

  bestBid(): BookLevel | undefined {
    return this.levelAt(this.bids, 0);
  }

  bestAsk(): BookLevel | undefined {
    return this.levelAt(this.asks, 0);
  }

  private levelAt(s: BookSide, i: number): BookLevel | undefined {
    if (i >= s.length) return undefined;
    return { price: this.formatPrice(s.priceAt(i)), size: this.formatSize(s.sizeAt(i)) };
  }

  /** The `n` best levels of a side, best first. */
  levels(side: BookSideName, n = Number.POSITIVE_INFINITY): BookLevel[] {
    const s = this.side(side);
    const m = Math.min(n, s.length);
    const out: BookLevel[] = new Array(m);
    for (let i = 0; i < m; i++) out[i] = { price: this.formatPrice(s.priceAt(i)), size: this.formatSize(s.sizeAt(i)) };
    return out;
  }

  /** Best ask minus best bid, exact; undefined when a side is empty. */
  spread(): Decimal | undefined {
    if (this.bids.length === 0 || this.asks.length === 0) return undefined;
    return Decimal.fromScaled(this.asks.bestPrice() - this.bids.bestPrice(), this._priceScale);
  }

  /** (best bid + best ask) / 2, exact (one more fraction digit than the book's prices). */
  mid(): Decimal | undefined {
    if (this.bids.length === 0 || this.asks.length === 0) return undefined;
    const sum = BigInt(this.asks.bestPrice()) + BigInt(this.bids.bestPrice());
    return Decimal.of(sum * 5n, this._priceScale + 1).normalize();
  }

  /** Size-weighted mid: (bid * askSize + ask * bidSize) / (bidSize + askSize). A statistic (number). */
  microprice(): number | undefined {
    if (this.bids.length === 0 || this.asks.length === 0) return undefined;
    const bp = this.bids.bestPrice();
    const ap = this.asks.bestPrice();
    const bs = this.bids.bestSize();
    const as = this.asks.bestSize();
    return (bp * as + ap * bs) / (bs + as) / pow10(this._priceScale);
  }

  /** Best bid above best ask. */
  isCrossed(): boolean {
    return this.bids.length > 0 && this.asks.length > 0 && this.bids.bestPrice() > this.asks.bestPrice();
  }

  /** Best bid equal to best ask. */
  isLocked(): boolean {
    return this.bids.length > 0 && this.asks.length > 0 && this.bids.bestPrice() === this.asks.bestPrice();
  }

  /** Total size on each side within `bps` basis points of the mid (inclusive). */
  depthWithinBps(bps: number): { bids: Decimal; asks: Decimal } {
    if (!Number.isFinite(bps) || bps < 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `bps must be a finite non-negative number, got ${bps}`, { bps });
    }
    const mid = this.mid();
    if (mid === undefined) return { bids: Decimal.ZERO, asks: Decimal.ZERO };
    const frac = Decimal.fromNumber(bps).div(Decimal.of(10000n, 0), 12);
    const one = Decimal.of(1n, 0);
    const lowBid = mid.mul(one.sub(frac));
    const highAsk = mid.mul(one.add(frac));
    return {
      bids: this.sumWhile(this.bids, (p) => Decimal.fromScaled(p, this._priceScale).cmp(lowBid) >= 0),
      asks: this.sumWhile(this.asks, (p) => Decimal.fromScaled(p, this._priceScale).cmp(highAsk) <= 0),
    };
  }

  /** Total size of the levels at or better than `price` on `side`. */
  cumulativeSizeTo(side: BookSideName, price: string): Decimal {
    const limit = Decimal.parse(price);
    const s = this.side(side);
    return this.sumWhile(s, (p) => {
      const c = Decimal.fromScaled(p, this._priceScale).cmp(limit);
      return side === 'bid' ? c >= 0 : c <= 0;
    });
  }

  private sumWhile(s: BookSide, ok: (priceScaled: number) => boolean): Decimal {
    let total = 0n;
    for (let i = 0; i < s.length; i++) {
      if (!ok(s.priceAt(i))) break;
      total += BigInt(s.sizeAt(i));
    }
    return Decimal.of(total, this._sizeScale).normalize();
  }

  /**
   * What filling `size` against the book would cost: a buy walks the asks, a sell walks the bids.
   * Exact notional and filled size; VWAP rounded half-even to priceScale + 8 digits.
   */
  estimateFill(side: TradeSide, size: string): FillEstimate {
    const want = Decimal.parse(size);
    if (want.sign() <= 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `fill size must be positive, got ${size}`, { size });
    }
    const s = side === 'buy' ? this.asks : this.bids;
    const ps = this._priceScale;
    const ss = this._sizeScale;
    // Work in integers at the book's size scale; `want` may have more digits, so compare at a common scale.
    const wantScale = Math.max(ss, want.scale);
    const wantInt = (want.rescale(wantScale) as Decimal).coef;
    const sizeFactor = 10n ** BigInt(wantScale - ss);
    let filled = 0n; // at wantScale
    let notional = 0n; // at ps + wantScale
    let worst: number | undefined;
    let levelsConsumed = 0;
    for (let i = 0; i < s.length && filled < wantInt; i++) {
      const price = s.priceAt(i);
      const avail = BigInt(s.sizeAt(i)) * sizeFactor;
      const take = avail < wantInt - filled ? avail : wantInt - filled;
      filled += take;
      notional += take * BigInt(price);
      worst = price;
      levelsConsumed++;
    }
    const filledD = Decimal.of(filled, wantScale);
    const notionalD = Decimal.of(notional, ps + wantScale);
    const vwap = filled === 0n ? undefined : notionalD.div(filledD, ps + 8);
    let slippageBps: number | undefined;
    if (vwap !== undefined && s.length > 0) {
      const best = Decimal.fromScaled(s.priceAt(0), ps);
      const diff = side === 'buy' ? vwap.sub(best) : best.sub(vwap);
      slippageBps = diff.div(best, 12).toNumber() * 10000;
    }
    return {
      side,
      requested: want.toString(),
      filled: filledD.toString(),
      notional: notionalD.toString(),
      vwap: vwap?.toString(),
      worstPrice: worst === undefined ? undefined : this.formatPrice(worst),
      levelsConsumed,
      complete: filled >= wantInt,
      slippageBps,
    };
  }

  /**
   * A stable hash of the book's content: SHA-256 over the canonical decimal text of every level, best
   * first, bids then asks. Independent of the internal scales, so equal books hash equal.
   */
  hash(depth = Number.POSITIVE_INFINITY): string {
    const h = createHash('sha256');
    h.update(this.canonicalText(depth));
    return h.digest('hex');
  }

  /** The text the hash is computed over: `b` then `price:size` lines, `a` then the asks. */
  canonicalText(depth = Number.POSITIVE_INFINITY): string {
    const parts: string[] = ['b'];
    for (const l of this.levels('bid', depth)) parts.push(`${l.price}:${l.size}`);
    parts.push('a');
    for (const l of this.levels('ask', depth)) parts.push(`${l.price}:${l.size}`);
    return parts.join('\n');
  }

  /** Plain snapshot for JSON output. */
  toJSON(depth = Number.POSITIVE_INFINITY): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: this.levels('bid', depth), asks: this.levels('ask', depth) };
  }
}

function levelText(l: RawLevel, i: number): string {
  const v = l === null || typeof l !== 'object' ? undefined : l[i]; // a null level must not throw a TypeError
  if (typeof v !== 'string') {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `level field ${i} must be a decimal string, got ${typeof v}`, {
      field: i,
      type: typeof v,
    });
  }
  return v;
}

function checkScale(s: number, name: string): number {
  if (!Number.isInteger(s) || s < 0 || s > MAX_SCALE) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be an integer in [0, ${MAX_SCALE}], got ${s}`, {
      [name]: s,
    });
  }
  return s;
}
