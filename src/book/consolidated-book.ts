/**
 * The consolidated book of one normalized instrument (for example `BTC-USDT`) across venues.
 *
 * It holds references to the venue books and merges them lazily on every read, so there is no second
 * copy of the levels that could drift. Venue books that are not in sync are left out, and every result
 * says which and why (`excluded`). Venue books have different internal scales: prices are compared
 * exactly at a common scale (safe integers when they fit, BigInt otherwise). Reading the top N levels is
 * a k-way merge over the venues' best levels, O(N * k).
 *
 * Optional per-venue taker fees turn prices into what a taker really gets: bid * (1 - fee) and
 * ask * (1 + fee), exact; levels are then ordered by the adjusted price.
 */
import { qobError } from '../core/errors.ts';
import { Decimal, formatCanonical, MAX_SCALE, parsePlain, pow10 } from '../core/fixed.ts';
import type { BookSide } from './book-side.ts';
import type { BookSideName, L2Book } from './l2-book.ts';

/** A venue's book for this instrument and whether it may be served. `TrackedBook` satisfies it. */
export interface VenueBookSource {
  readonly venue: string;
  readonly book: L2Book;
  readonly inSync: boolean;
  /** Why it is or is not in sync (`TrackedBook.status`); reported for excluded venues. */
  readonly status?: string;
}

export interface VenueShare {
  readonly venue: string;
  /** The venue's own (unadjusted) price of this level. */
  readonly price: string;
  readonly size: string;
}

export interface ConsolidatedLevel {
  /** The price the level is ordered by: the venue price, or the fee-adjusted price. */
  readonly price: string;
  /** Total size across venues. */
  readonly size: string;
  /** Per-venue breakdown, in the order the venues were added. */
  readonly venues: VenueShare[];
}

export interface ExcludedVenue {
  readonly venue: string;
  readonly status: string;
}

export interface ArbitrageOpportunity {
  /** Buy on this venue (lift its ask)... */
  readonly buyVenue: string;
  /** ...and sell on this one (hit its bid). */
  readonly sellVenue: string;
  /** Best ask of buyVenue and best bid of sellVenue (fee-adjusted when fees are applied). */
  readonly buyPrice: string;
  readonly sellPrice: string;
  /** sellPrice - buyPrice, exact and positive. */
  readonly edge: string;
  /** edge / buyPrice in basis points: a statistic. */
  readonly edgeBps: number;
  /** Size that can be bought on buyVenue and sold on sellVenue at a profit (walking both books). */
  readonly size: string;
}

export interface ReadOptions {
  /** Order and report levels by fee-adjusted price (venues without a fee count as 0). */
  readonly feeAdjusted?: boolean;
}

export interface ConsolidatedDepth {
  readonly instrument: string;
  readonly feeAdjusted: boolean;
  readonly bids: ConsolidatedLevel[];
  readonly asks: ConsolidatedLevel[];
  readonly excluded: ExcludedVenue[];
}

export interface ConsolidatedBbo {
  readonly instrument: string;
  readonly feeAdjusted: boolean;
  readonly bid: ConsolidatedLevel | undefined;
  readonly ask: ConsolidatedLevel | undefined;
  /** Set when one venue's best bid is above another venue's best ask: a cross-venue opportunity. */
  readonly opportunity: ArbitrageOpportunity | undefined;
  readonly excluded: ExcludedVenue[];
}

interface Entry {
  readonly source: VenueBookSource;
  /** Taker fee as a fraction of 10^4 * 10^feeScale (that is, bps * 10^feeScale). */
  feeBps: Decimal;
  /** Canonical text of this venue's scaled prices at `textScale` (reads format the same levels again and again). */
  readonly priceText: Map<number, string>;
  textScale: number;
}

const TEN_K = 10000n;
/** Entries kept in each price-text cache before it is cleared (a few times the levels a read touches). */
const TEXT_CACHE = 4096;

export class ConsolidatedBook {
  readonly instrument: string;
  private readonly entries: Entry[] = [];

  constructor(instrument: string) {
    this.instrument = instrument;
  }

  /** Adds a venue book (once per venue), optionally with its taker fee in basis points. */
  addVenue(source: VenueBookSource, takerFeeBps: string | number = 0): void {
    if (this.entries.some((e) => e.source.venue === source.venue)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `venue ${source.venue} is already in ${this.instrument}`, {
        venue: source.venue,
        instrument: this.instrument,
      });
    }
    this.entries.push({ source, feeBps: checkFee(takerFeeBps, source.venue), priceText: new Map(), textScale: -1 });
  }

  setTakerFee(venue: string, takerFeeBps: string | number): void {
    this.entry(venue).feeBps = checkFee(takerFeeBps, venue);
  }

  removeVenue(venue: string): void {
    const i = this.entries.findIndex((e) => e.source.venue === venue);
    if (i < 0) throw qobError('QOB_ERR_UNKNOWN_VENUE', `venue ${venue} is not in ${this.instrument}`, { venue });
    this.entries.splice(i, 1);
  }

  venues(): string[] {
    return this.entries.map((e) => e.source.venue);
  }

  /** The top `n` merged levels of each side, with the per-venue breakdown of every level. */
  depth(n: number, options: ReadOptions = {}): ConsolidatedDepth {
    if (!Number.isInteger(n) || n < 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `depth must be a non-negative integer, got ${n}`, { n });
    }
    const { included, excluded } = this.partition();
    const feeAdjusted = options.feeAdjusted === true;
    return {
      instrument: this.instrument,
      feeAdjusted,
      bids: new Merge(included, 'bid', feeAdjusted).take(n),
      asks: new Merge(included, 'ask', feeAdjusted).take(n),
      excluded,
    };
  }

  /** Best bid and offer across the in-sync venues, with which venues hold them. */
  bbo(options: ReadOptions = {}): ConsolidatedBbo {
    const { included, excluded } = this.partition();
    const feeAdjusted = options.feeAdjusted === true;
    const bids = new Merge(included, 'bid', feeAdjusted);
    const asks = new Merge(included, 'ask', feeAdjusted);
    const bid = bids.take(1)[0];
    const ask = asks.take(1)[0];
    let opportunity: ArbitrageOpportunity | undefined;
    // Both merges hold their keys at the same scale, so the best keys compare exactly.
    if (bid !== undefined && ask !== undefined && greater(bids.firstKey, asks.firstKey)) {
      opportunity = findOpportunity(included, feeAdjusted);
    }
    return { instrument: this.instrument, feeAdjusted, bid, ask, opportunity, excluded };
  }

  private entry(venue: string): Entry {
    const e = this.entries.find((x) => x.source.venue === venue);
    if (e === undefined)
      throw qobError('QOB_ERR_UNKNOWN_VENUE', `venue ${venue} is not in ${this.instrument}`, { venue });
    return e;
  }

  private partition(): { included: Entry[]; excluded: ExcludedVenue[] } {
    const included: Entry[] = [];
    const excluded: ExcludedVenue[] = [];
    for (const e of this.entries) {
      if (e.source.inSync) included.push(e);
      else excluded.push({ venue: e.source.venue, status: e.source.status ?? 'not_in_sync' });
    }
    return { included, excluded };
  }
}

function checkFee(bps: string | number, venue: string): Decimal {
  let d: Decimal;
  try {
    d = typeof bps === 'number' ? Decimal.fromNumber(bps) : Decimal.parse(bps);
  } catch (cause) {
    throw qobError(
      'QOB_ERR_INVALID_ARGUMENT',
      `taker fee of ${venue} is not a decimal: ${String(bps)}`,
      { venue },
      cause,
    );
  }
  if (d.sign() < 0 || d.cmp(Decimal.of(TEN_K, 0)) >= 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `taker fee of ${venue} must be in [0, 10000) bps, got ${d}`, {
      venue,
      takerFeeBps: d.toString(),
    });
  }
  return d.normalize();
}

/** a > b for two exact keys at one scale (numbers or bigints, possibly mixed). */
function greater(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a > b;
  return BigInt(a) > BigInt(b);
}

/** Canonical text of a venue's scaled price, cached per venue. */
function venuePriceText(e: Entry, price: number): string {
  const book = e.source.book;
  const cache = e.priceText;
  if (e.textScale !== book.priceScale) {
    cache.clear();
    e.textScale = book.priceScale;
  }
  let t = cache.get(price);
  if (t === undefined) {
    t = book.formatPrice(price);
    if (cache.size >= TEXT_CACHE) cache.clear();
    cache.set(price, t);
  }
  return t;
}

/**
 * A k-way merge of one side over several venue books. Keys are the venue prices rescaled to the largest
 * price scale (times the fee multiplier when fee-adjusted), so equal prices merge whatever each book's
 * internal scale. Safe-integer keys when every key fits (fee-adjusted ones included), BigInt otherwise.
 */
class Merge {
  private readonly entries: readonly Entry[];
  private readonly sides: BookSide[];
  private readonly sideName: BookSideName;
  /** Keys in BigInt (prices times fee multipliers beyond the safe range). */
  private readonly big: boolean;
  private readonly feeAdjusted: boolean;
  /** Per-venue factor to the common scale, and fee multiplier (10^(4+feeScale) -/+ fee; 1 without fees). */
  private readonly factor: Float64Array;
  private readonly mult: Float64Array;
  private readonly bigMult: bigint[] | undefined = undefined;
  /** Next level of each venue side to merge. */
  private readonly next: Int32Array;
  /** Scale of the keys. */
  private readonly keyScale: number;
  /** Key (exact price at keyScale, unsigned) of the first level taken; NaN before any. */
  firstKey: number | bigint = Number.NaN;

  constructor(entries: readonly Entry[], side: BookSideName, feeAdjusted: boolean) {
    this.entries = entries;
    this.sideName = side;
    const k = entries.length;
    let scale = 0;
    let feeScale = 0;
    let withFees = false;
    for (let c = 0; c < k; c++) {
      const e = entries[c] as Entry;
      if (e.source.book.priceScale > scale) scale = e.source.book.priceScale;
      if (feeAdjusted && !e.feeBps.isZero()) {
        withFees = true;
        if (e.feeBps.scale > feeScale) feeScale = e.feeBps.scale;
      }
    }
    this.feeAdjusted = withFees;
    this.sides = new Array<BookSide>(k);
    this.factor = new Float64Array(k);
    this.mult = new Float64Array(k).fill(1);
    this.next = new Int32Array(k);
    // Fee multipliers as doubles when exact (10^(4+feeScale) and every fee coefficient are safe integers);
    // one that is not becomes Infinity, which forces BigInt keys.
    const oneNum = withFees && feeScale <= 11 ? pow10(4 + feeScale) : Number.POSITIVE_INFINITY;
    let big = false;
    for (let c = 0; c < k; c++) {
      const e = entries[c] as Entry;
      const b = e.source.book;
      const s = b.side(side);
      this.sides[c] = s;
      const f = pow10(scale - b.priceScale);
      this.factor[c] = f;
      let m = 1;
      if (withFees) {
        const fee = e.feeBps;
        const coef = oneNum <= Number.MAX_SAFE_INTEGER ? Number(fee.coef) * pow10(feeScale - fee.scale) : Number.NaN;
        m = side === 'bid' ? oneNum - coef : oneNum + coef;
        if (!(coef <= Number.MAX_SAFE_INTEGER && m <= Number.MAX_SAFE_INTEGER)) m = Number.POSITIVE_INFINITY;
        this.mult[c] = m;
      }
      if (!(s.maxAbsKey() * f * m <= Number.MAX_SAFE_INTEGER)) big = true;
    }
    this.big = big;
    if (big) {
      const one = withFees ? TEN_K * 10n ** BigInt(feeScale) : 1n;
      this.bigMult = entries.map((e) => {
        if (!withFees) return 1n;
        const fee = (e.feeBps.rescale(feeScale) as Decimal).coef;
        return side === 'bid' ? one - fee : one + fee;
      });
    }
    this.keyScale = withFees ? scale + feeScale + 4 : scale;
  }

  /** The next `n` merged levels. */
  take(n: number): ConsolidatedLevel[] {
    return this.big ? this.takeBig(n) : this.takeNumber(n);
  }

  /** Exact text of a merged level's price, given its key and one venue share at that price. */
  private levelPrice(key: number, share: VenueShare): string {
    // Without fees the key is the venue price itself, whose canonical text the share already has.
    return this.feeAdjusted ? formatCanonical(key, this.keyScale) : share.price;
  }

  /**
   * The common case: every key is a safe integer. Keys are signed so that the best is the largest, and
   * live in a Float64Array (-Infinity = that venue is exhausted); the venue's own price is kept beside it.
   */
  private takeNumber(n: number): ConsolidatedLevel[] {
    const out: ConsolidatedLevel[] = [];
    const k = this.sides.length;
    const sign = this.sideName === 'bid' ? 1 : -1;
    const keys = new Float64Array(k);
    const prices = new Float64Array(k);
    const next = this.next;
    const sides = this.sides;
    const factor = this.factor;
    const mult = this.mult;
    for (let c = 0; c < k; c++) {
      const s = sides[c] as BookSide;
      const i = next[c] as number;
      if (i < s.length) {
        const p = s.priceAt(i);
        prices[c] = p;
        keys[c] = sign * p * (factor[c] as number) * (mult[c] as number);
      } else keys[c] = Number.NEGATIVE_INFINITY;
    }
    while (out.length < n) {
      // Exhausted venues hold -Infinity, never the best.
      let best = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const key = keys[c] as number;
        if (key > best) best = key;
      }
      if (best === Number.NEGATIVE_INFINITY) break;
      const venues: VenueShare[] = [];
      for (let c = 0; c < k; c++) {
        if (keys[c] !== best) continue;
        const e = this.entries[c] as Entry;
        const s = sides[c] as BookSide;
        const i = next[c] as number;
        venues.push({
          venue: e.source.venue,
          price: venuePriceText(e, prices[c] as number),
          size: e.source.book.formatSize(s.sizeAt(i)),
        });
        next[c] = i + 1;
        if (i + 1 < s.length) {
          const p = s.priceAt(i + 1);
          prices[c] = p;
          keys[c] = sign * p * (factor[c] as number) * (mult[c] as number);
        } else keys[c] = Number.NEGATIVE_INFINITY;
      }
      if (out.length === 0) this.firstKey = sign * best;
      out.push({ price: this.levelPrice(sign * best, venues[0] as VenueShare), size: totalSize(venues), venues });
    }
    return out;
  }

  private bigKey(c: number): bigint {
    const s = this.sides[c] as BookSide;
    const scaleUp = BigInt(this.factor[c] as number);
    return BigInt(s.priceAt(this.next[c] as number)) * scaleUp * ((this.bigMult as bigint[])[c] as bigint);
  }

  private takeBig(n: number): ConsolidatedLevel[] {
    const out: ConsolidatedLevel[] = [];
    const k = this.sides.length;
    const bid = this.sideName === 'bid';
    const next = this.next;
    const keys: Array<bigint | undefined> = new Array(k);
    for (let c = 0; c < k; c++) {
      keys[c] = (next[c] as number) < (this.sides[c] as BookSide).length ? this.bigKey(c) : undefined;
    }
    while (out.length < n) {
      let best: bigint | undefined;
      for (let c = 0; c < k; c++) {
        const key = keys[c];
        if (key !== undefined && (best === undefined || (bid ? key > best : key < best))) best = key;
      }
      if (best === undefined) break;
      const venues: VenueShare[] = [];
      for (let c = 0; c < k; c++) {
        if (keys[c] !== best) continue;
        const e = this.entries[c] as Entry;
        const s = this.sides[c] as BookSide;
        const i = next[c] as number;
        venues.push({
          venue: e.source.venue,
          price: venuePriceText(e, s.priceAt(i)),
          size: e.source.book.formatSize(s.sizeAt(i)),
        });
        next[c] = i + 1;
        keys[c] = i + 1 < s.length ? this.bigKey(c) : undefined;
      }
      if (out.length === 0) this.firstKey = best;
      const price = this.feeAdjusted ? Decimal.of(best, this.keyScale).toString() : (venues[0] as VenueShare).price;
      out.push({ price, size: totalSize(venues), venues });
    }
    return out;
  }
}

/** Exact total of the venues' sizes at one merged level (canonical text). */
function totalSize(venues: readonly VenueShare[]): string {
  if (venues.length === 1) return (venues[0] as VenueShare).size;
  // Fast path: canonical sizes as safe integers at their largest fraction-digit count. Sums only grow, so
  // a total at or below MAX_SAFE_INTEGER means every partial sum was exact.
  let scale = 0;
  for (const v of venues) {
    const dot = v.size.indexOf('.');
    if (dot >= 0 && v.size.length - dot - 1 > scale) scale = v.size.length - dot - 1;
  }
  if (scale <= MAX_SCALE) {
    let t = 0;
    for (const v of venues) {
      const x = parsePlain(v.size, scale);
      if (!(x >= 0)) {
        t = Number.NaN;
        break;
      }
      t += x;
    }
    if (t <= Number.MAX_SAFE_INTEGER) return formatCanonical(t, scale);
  }
  let t = Decimal.ZERO;
  for (const v of venues) t = t.add(Decimal.parse(v.size));
  return t.toString();
}

/**
 * The most profitable (buy venue, sell venue) pair whose sell-side best bid is above the buy-side best ask
 * (fee-adjusted when asked), with the size tradable at a profit between those two books. O(k^2) over the
 * venues' best levels, then a walk of the two books. Prices are compared as BigInt at one common scale.
 */
function findOpportunity(entries: readonly Entry[], feeAdjusted: boolean): ArbitrageOpportunity | undefined {
  let scale = 0;
  let feeScale = 0;
  for (const e of entries) {
    scale = Math.max(scale, e.source.book.priceScale);
    if (feeAdjusted) feeScale = Math.max(feeScale, e.feeBps.scale);
  }
  const one = TEN_K * 10n ** BigInt(feeScale);
  const keyScale = scale + feeScale + 4;
  /** Exact (fee-adjusted) price of level i of a side, at keyScale. */
  const key = (e: Entry, side: BookSideName, i: number): bigint => {
    const b = e.source.book;
    const fee = feeAdjusted ? (e.feeBps.rescale(feeScale) as Decimal).coef : 0n;
    const mult = side === 'bid' ? one - fee : one + fee;
    return BigInt(b.side(side).priceAt(i)) * 10n ** BigInt(scale - b.priceScale) * mult;
  };
  const size = (e: Entry, side: BookSideName, i: number): Decimal => Decimal.parse(e.source.book.side(side).sizeAt(i));
  let bestPair: { buy: Entry; sell: Entry; edge: bigint } | undefined;
  for (const sell of entries) {
    if (sell.source.book.bids.length === 0) continue;
    const bid = key(sell, 'bid', 0);
    for (const buy of entries) {
      if (buy === sell || buy.source.book.asks.length === 0) continue;
      const edge = bid - key(buy, 'ask', 0);
      if (edge > 0n && (bestPair === undefined || edge > bestPair.edge)) bestPair = { buy, sell, edge };
    }
  }
  if (bestPair === undefined) return undefined;
  const { buy, sell, edge } = bestPair;
  // Walk the buy venue's asks up and the sell venue's bids down while the bid still pays more than the ask.
  const na = buy.source.book.asks.length;
  const nb = sell.source.book.bids.length;
  let i = 0;
  let j = 0;
  let askLeft = size(buy, 'ask', 0);
  let bidLeft = size(sell, 'bid', 0);
  let total = Decimal.ZERO;
  while (i < na && j < nb && key(sell, 'bid', j) > key(buy, 'ask', i)) {
    const take = askLeft.cmp(bidLeft) < 0 ? askLeft : bidLeft;
    total = total.add(take);
    askLeft = askLeft.sub(take);
    bidLeft = bidLeft.sub(take);
    if (askLeft.isZero() && ++i < na) askLeft = size(buy, 'ask', i);
    if (bidLeft.isZero() && ++j < nb) bidLeft = size(sell, 'bid', j);
  }
  const buyPrice = Decimal.of(key(buy, 'ask', 0), keyScale);
  const edgeD = Decimal.of(edge, keyScale);
  return {
    buyVenue: buy.source.venue,
    sellVenue: sell.source.venue,
    buyPrice: buyPrice.toString(),
    sellPrice: Decimal.of(key(sell, 'bid', 0), keyScale).toString(),
    edge: edgeD.toString(),
    edgeBps: edgeD.div(buyPrice, 12).toNumber() * 10000,
    size: total.toString(),
  };
}
