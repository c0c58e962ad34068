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
import { Decimal, formatCanonical, pow10 } from '../core/fixed.ts';
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
}

/** A venue side being merged: keys are exact prices at a common scale (number or bigint, never mixed). */
interface Cursor {
  readonly venue: string;
  readonly book: L2Book;
  readonly side: BookSide;
  readonly factor: number;
  readonly bigFactor: bigint;
  i: number;
}

const TEN_K = 10000n;

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
    this.entries.push({ source, feeBps: checkFee(takerFeeBps, source.venue) });
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
    if (bid !== undefined && ask !== undefined && Decimal.parse(bid.price).cmp(Decimal.parse(ask.price)) > 0) {
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

/**
 * A k-way merge of one side over several venue books. Keys are the venue prices rescaled to the largest
 * price scale (times the fee multiplier when fee-adjusted), so equal prices merge whatever each book's
 * internal scale. Safe-integer keys when every key fits, BigInt keys otherwise.
 */
class Merge {
  private readonly cursors: Cursor[];
  private readonly sideName: BookSideName;
  /** Keys in BigInt (fees, or prices beyond the safe range at the common scale). */
  private readonly big: boolean;
  /** Per-cursor fee multiplier, (10^4 -/+ bps) * 10^(feeScale - its scale); 1 without fees. */
  private readonly mult: bigint[];
  /** Scale of the keys. */
  private readonly keyScale: number;

  constructor(entries: readonly Entry[], side: BookSideName, feeAdjusted: boolean) {
    this.sideName = side;
    let scale = 0;
    let feeScale = 0;
    for (const e of entries) {
      scale = Math.max(scale, e.source.book.priceScale);
      feeScale = Math.max(feeScale, e.feeBps.scale);
    }
    const withFees = feeAdjusted && entries.some((e) => !e.feeBps.isZero());
    let big = withFees;
    this.cursors = entries.map((e) => {
      const b = e.source.book;
      const s = b.side(side);
      const d = scale - b.priceScale;
      const factor = d <= 22 ? pow10(d) : Number.NaN;
      if (!(s.maxAbsKey() * factor <= Number.MAX_SAFE_INTEGER)) big = true;
      return { venue: e.source.venue, book: b, side: s, factor, bigFactor: 10n ** BigInt(d), i: 0 };
    });
    this.big = big;
    if (withFees) {
      const one = TEN_K * 10n ** BigInt(feeScale);
      this.mult = entries.map((e) => {
        const fee = (e.feeBps.rescale(feeScale) as Decimal).coef;
        return side === 'bid' ? one - fee : one + fee;
      });
      this.keyScale = scale + feeScale + 4;
    } else {
      this.mult = entries.map(() => 1n);
      this.keyScale = scale;
    }
  }

  private key(c: number): number | bigint {
    const cur = this.cursors[c] as Cursor;
    const p = cur.side.priceAt(cur.i);
    if (!this.big) return p * cur.factor;
    return BigInt(p) * cur.bigFactor * (this.mult[c] as bigint);
  }

  /** The next `n` merged levels. */
  take(n: number): ConsolidatedLevel[] {
    return this.big ? this.takeBig(n) : this.takeNumber(n);
  }

  /** The common case: every key is a safe integer, so keys live in a Float64Array (NaN = exhausted). */
  private takeNumber(n: number): ConsolidatedLevel[] {
    const out: ConsolidatedLevel[] = [];
    const cursors = this.cursors;
    const k = cursors.length;
    const sign = this.sideName === 'bid' ? 1 : -1;
    const keys = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      const cur = cursors[c] as Cursor;
      keys[c] = cur.i < cur.side.length ? sign * cur.side.priceAt(cur.i) * cur.factor : Number.NaN;
    }
    while (out.length < n) {
      let best = Number.NaN;
      for (let c = 0; c < k; c++) {
        const key = keys[c] as number;
        if (key > best || (Number.isNaN(best) && !Number.isNaN(key))) best = key; // NaN: exhausted
      }
      if (Number.isNaN(best)) break;
      const venues: VenueShare[] = [];
      for (let c = 0; c < k; c++) {
        if (keys[c] !== best) continue;
        const cur = cursors[c] as Cursor;
        const size = cur.side.sizeAt(cur.i);
        venues.push({
          venue: cur.venue,
          price: cur.book.formatPrice(cur.side.priceAt(cur.i)),
          size: cur.book.formatSize(size),
        });
        cur.i++;
        keys[c] = cur.i < cur.side.length ? sign * cur.side.priceAt(cur.i) * cur.factor : Number.NaN;
      }
      out.push({ price: formatCanonical(sign * best, this.keyScale), size: totalSize(venues), venues });
    }
    return out;
  }

  private takeBig(n: number): ConsolidatedLevel[] {
    const out: ConsolidatedLevel[] = [];
    const cursors = this.cursors;
    const k = cursors.length;
    const bid = this.sideName === 'bid';
    const keys: Array<number | bigint | undefined> = new Array(k);
    for (let c = 0; c < k; c++) {
      const cur = cursors[c] as Cursor;
      keys[c] = cur.i < cur.side.length ? this.key(c) : undefined;
    }
    while (out.length < n) {
      let best: number | bigint | undefined;
      for (let c = 0; c < k; c++) {
        const key = keys[c];
        if (key !== undefined && (best === undefined || (bid ? key > best : key < best))) best = key;
      }
      if (best === undefined) break;
      const venues: VenueShare[] = [];
      for (let c = 0; c < k; c++) {
        if (keys[c] !== best) continue;
        const cur = cursors[c] as Cursor;
        const size = cur.side.sizeAt(cur.i);
        venues.push({
          venue: cur.venue,
          price: cur.book.formatPrice(cur.side.priceAt(cur.i)),
          size: cur.book.formatSize(size),
        });
        cur.i++;
        keys[c] = cur.i < cur.side.length ? this.key(c) : undefined;
      }
      const price =
        typeof best === 'bigint' ? Decimal.of(best, this.keyScale).toString() : formatCanonical(best, this.keyScale);
      out.push({ price, size: totalSize(venues), venues });
    }
    return out;
  }
}

/** Exact total of the venues' sizes at one merged level (canonical text). */
function totalSize(venues: readonly VenueShare[]): string {
  if (venues.length === 1) return (venues[0] as VenueShare).size;
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
