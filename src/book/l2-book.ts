/**
 * An exact L2 order book for one instrument on one venue.
 *
 * Prices are held as safe integers scaled by 10^priceScale: the scale starts from the instrument's
 * precision (or 0) and grows automatically, exactly, when the venue sends a price with more fraction
 * digits (with `fixedScale` such a price is rejected instead). Sizes are kept as the venue's own decimal
 * text, validated on arrival, so they are exact at any magnitude and checksums can use the venue's text.
 * Every batch is atomic: bad input leaves the book as it was.
 */
import { createHash } from 'node:crypto';
import { qobError } from '../core/errors.ts';
import {
  canonicalDecimal,
  Decimal,
  formatCanonical,
  fractionDigits,
  MAX_SCALE,
  parsePlain,
  parseScaled,
  pow10,
  sizeIsPositive,
} from '../core/fixed.ts';
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
  /** Reject prices with more fraction digits than `priceScale` instead of growing the scale. */
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
  private readonly fixedScale: boolean;
  /** Level updates applied since creation (snapshots included). */
  updates = 0;
  // Undo log of the batch being applied: side (0 bid, 1 ask), scaled price and previous size per change.
  private undoSide = new Uint8Array(256);
  private undoPrice = new Float64Array(256);
  private undoSize: (string | null)[] = new Array<string | null>(256).fill(null);
  private undoCount = 0;
  // The canonical text of each side's best level as last formatted (price text is a function of the scaled
  // price and the scale, size text of the venue's size text).
  private readonly bidMemo: BestMemo = { price: Number.NaN, scale: -1, priceText: '', size: '', sizeText: '' };
  private readonly askMemo: BestMemo = { price: Number.NaN, scale: -1, priceText: '', size: '', sizeText: '' };

  constructor(options: L2BookOptions = {}) {
    this._priceScale = checkScale(options.priceScale ?? 0, 'priceScale');
    this.fixedScale = options.fixedScale ?? false;
    this.bids = new BookSide(1);
    this.asks = new BookSide(-1);
  }

  get priceScale(): number {
    return this._priceScale;
  }

  // ---- parsing ---------------------------------------------------------------------------------------

  /** Parses a price text to this book's scale (growing it if needed). Throws a typed error on bad input. */
  parsePrice(text: string): number {
    let p = parsePlain(text, this._priceScale);
    if (p > 0) return p;
    p = parseScaled(text, this._priceScale);
    if (Number.isNaN(p)) {
      this.growPriceScale(fractionDigits(text), text);
      p = parseScaled(text, this._priceScale);
    }
    if (p <= 0) throw qobError('QOB_ERR_NONPOSITIVE_PRICE', `price must be positive: ${text}`, { price: text });
    return p;
  }

  /** Validates a size text: true when positive, false when zero (a delete). Throws a typed error on bad input. */
  checkSize(text: string): boolean {
    return sizeIsPositive(text);
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
    for (let i = 0; i < this.undoCount; i++) this.undoPrice[i] = (this.undoPrice[i] as number) * f;
    this._priceScale = digits;
  }

  // ---- updates ---------------------------------------------------------------------------------------

  /** Sets one level from venue text; size zero deletes. Atomic: on a typed error nothing changed. */
  set(side: BookSideName, price: string, size: string): void {
    const p = this.parsePrice(price);
    const positive = sizeIsPositive(size);
    this.updates++;
    (side === 'bid' ? this.bids : this.asks).set(p, positive ? size : null);
  }

  /** Sets one level from a scaled price at this book's current scale and a size text. */
  setScaled(side: BookSideName, price: number, size: string): void {
    const positive = sizeIsPositive(size);
    this.updates++;
    (side === 'bid' ? this.bids : this.asks).set(price, positive ? size : null);
  }

  /**
   * Applies a batch of level changes in array order (the last of two changes to one price wins).
   * Atomic: a typed error midway undoes the changes already made, so the book is left as it was.
   */
  applyDelta(bids: ArrayLike<RawLevel> | undefined, asks: ArrayLike<RawLevel> | undefined): void {
    const nb = bids === undefined ? 0 : bids.length;
    const na = asks === undefined ? 0 : asks.length;
    if (this.undoPrice.length < nb + na) this.growUndo(nb + na);
    this.undoCount = 0;
    try {
      // The batch's last level needs no undo record: when it fails, it fails before changing the book.
      if (nb > 0) this.applySide(bids as ArrayLike<RawLevel>, nb, this.bids, 0, na === 0);
      if (na > 0) this.applySide(asks as ArrayLike<RawLevel>, na, this.asks, 1, true);
    } catch (e) {
      this.rollback();
      throw e;
    }
    this.updates += nb + na;
  }

  private applySide(levels: ArrayLike<RawLevel>, n: number, side: BookSide, sideId: number, endsBatch: boolean): void {
    const undoSide = this.undoSide;
    const undoPrice = this.undoPrice;
    const undoSize = this.undoSize;
    const logged = endsBatch ? n - 1 : n;
    for (let i = 0; i < n; i++) {
      const l = levels[i] as RawLevel;
      let pt: unknown;
      let st: unknown;
      if (typeof l === 'object' && l !== null) {
        pt = l[0];
        st = l[1];
      }
      if (typeof pt !== 'string') pt = levelText(l, 0); // throws the typed error
      let p = parsePlain(pt as string, this._priceScale);
      if (!(p > 0)) p = this.parsePrice(pt as string);
      if (typeof st !== 'string') st = levelText(l, 1); // throws the typed error
      const prev = side.set(p, sizeIsPositive(st as string) ? (st as string) : null);
      if (i < logged) {
        const u = this.undoCount++;
        undoSide[u] = sideId;
        undoPrice[u] = p;
        undoSize[u] = prev;
      }
    }
  }

  private rollback(): void {
    for (let u = this.undoCount - 1; u >= 0; u--) {
      const side = this.undoSide[u] === 0 ? this.bids : this.asks;
      side.set(this.undoPrice[u] as number, this.undoSize[u] as string | null);
      this.undoSize[u] = null;
    }
    this.undoCount = 0;
  }

  private growUndo(n: number): void {
    const cap = Math.max(n, this.undoPrice.length * 2);
    this.undoSide = new Uint8Array(cap);
    this.undoPrice = new Float64Array(cap);
    this.undoSize = new Array<string | null>(cap).fill(null);
  }

  /** Replaces the whole book. Validated first: on a typed error the book is unchanged. */
  applySnapshot(bids: ArrayLike<RawLevel>, asks: ArrayLike<RawLevel>): void {
    const scale = this._priceScale;
    const b = this.parseLevels(bids);
    const a = this.parseLevels(asks);
    if (scale !== this._priceScale) {
      // The price scale grew while parsing: parse again so that every price is at the new scale (rare).
      this.applySnapshot(bids, asks);
      return;
    }
    this.bids.load(b.prices, b.sizes, bids.length);
    this.asks.load(a.prices, a.sizes, asks.length);
    this.updates += bids.length + asks.length;
  }

  private parseLevels(levels: ArrayLike<RawLevel>): { prices: Float64Array; sizes: (string | null)[] } {
    const n = levels.length;
    const prices = new Float64Array(n);
    const sizes = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const l = levels[i] as RawLevel;
      prices[i] = this.parsePrice(levelText(l, 0));
      const st = levelText(l, 1);
      sizes[i] = sizeIsPositive(st) ? st : null;
    }
    return { prices, sizes };
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

  /** Canonical text of a scaled price. */
  formatPrice(scaled: number): string {
    return formatCanonical(scaled, this._priceScale);
  }

  /** Canonical text of a size text (`"672.00000000"` -> `"672"`). */
  formatSize(text: string): string {
    return canonicalDecimal(text);
  }

  /** A scaled price as an exact Decimal. */
  priceDecimal(scaled: number): Decimal {
    return Decimal.fromScaled(scaled, this._priceScale);
  }

  bestBid(): BookLevel | undefined {
    return this.levelAt(this.bids);
  }

  bestAsk(): BookLevel | undefined {
    return this.levelAt(this.asks);
  }

  private levelAt(s: BookSide): BookLevel | undefined {
    const size = s.bestSize();
    if (size === undefined) return undefined;
    const m = s === this.bids ? this.bidMemo : this.askMemo;
    const p = s.bestPrice();
    // Readers ask for the best levels after every message, and they rarely change: reuse the last text.
    if (p !== m.price || this._priceScale !== m.scale) {
      m.price = p;
      m.scale = this._priceScale;
      m.priceText = this.formatPrice(p);
    }
    if (size !== m.size) {
      m.size = size;
      m.sizeText = canonicalDecimal(size);
    }
    return { price: m.priceText, size: m.sizeText };
  }

  /** The `n` best levels of a side, best first, as canonical decimal text. */
  levels(side: BookSideName, n = Number.POSITIVE_INFINITY): BookLevel[] {
    const out: BookLevel[] = [];
    this.side(side).visit((p, s) => {
      out.push({ price: this.formatPrice(p), size: canonicalDecimal(s) });
      return true;
    }, n);
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
    const bsText = this.bids.bestSize();
    const asText = this.asks.bestSize();
    if (bsText === undefined || asText === undefined) return undefined;
    const bp = this.bids.bestPrice();
    const ap = this.asks.bestPrice();
    const bs = Number(bsText);
    const as = Number(asText);
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
      bids: this.sumWhile(this.bids, (p) => this.priceDecimal(p).cmp(lowBid) >= 0),
      asks: this.sumWhile(this.asks, (p) => this.priceDecimal(p).cmp(highAsk) <= 0),
    };
  }

  /** Total size of the levels at or better than `price` on `side`. */
  cumulativeSizeTo(side: BookSideName, price: string): Decimal {
    const limit = Decimal.parse(price);
    return this.sumWhile(this.side(side), (p) => {
      const c = this.priceDecimal(p).cmp(limit);
      return side === 'bid' ? c >= 0 : c <= 0;
    });
  }

  private sumWhile(s: BookSide, ok: (priceScaled: number) => boolean): Decimal {
    let total = Decimal.ZERO;
    s.visit((p, size) => {
      if (!ok(p)) return false;
      total = total.add(Decimal.parse(size));
      return true;
    });
    return total.normalize();
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
    let filled = Decimal.ZERO;
    let notional = Decimal.ZERO;
    let worst: number | undefined;
    let levelsConsumed = 0;
    s.visit((p, sizeText) => {
      const left = want.sub(filled);
      if (left.sign() <= 0) return false;
      const avail = Decimal.parse(sizeText);
      const take = avail.cmp(left) < 0 ? avail : left;
      filled = filled.add(take);
      notional = notional.add(take.mul(this.priceDecimal(p)));
      worst = p;
      levelsConsumed++;
      return true;
    });
    const vwap = filled.isZero() ? undefined : notional.div(filled, this._priceScale + 8);
    let slippageBps: number | undefined;
    if (vwap !== undefined && s.length > 0) {
      const best = this.priceDecimal(s.bestPrice());
      const diff = side === 'buy' ? vwap.sub(best) : best.sub(vwap);
      slippageBps = diff.div(best, 12).toNumber() * 10000;
    }
    return {
      side,
      requested: want.toString(),
      filled: filled.toString(),
      notional: notional.toString(),
      vwap: vwap?.toString(),
      worstPrice: worst === undefined ? undefined : this.formatPrice(worst),
      levelsConsumed,
      complete: filled.cmp(want) >= 0,
      slippageBps,
    };
  }

  /**
   * A stable hash of the book's content: SHA-256 over the canonical decimal text of every level, best
   * first, bids then asks. Independent of the internal scale and of how the venue wrote its numbers.
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

interface BestMemo {
  price: number;
  scale: number;
  priceText: string;
  size: string;
  sizeText: string;
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
