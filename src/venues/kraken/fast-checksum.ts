/**
 * The Kraken book checksum (checksum.ts) computed from per-level CRC fragments instead of the joined text:
 * the same unsigned CRC-32 of the top 10 asks then the top 10 bids, each level's price and quantity digits
 * (crc32-combine.ts). A level's fragment (its digits' CRC update from a zero register, and their length) is
 * built straight from the scaled price and the quantity text, with no string made, and kept from one
 * computation to the next while the level's price and quantity are unchanged (at any shift of position:
 * both computations' levels are sorted best first, so one walk per side finds every level kept); a
 * level whose quantity changed keeps its price part, and price parts are also kept by price. Fragments
 * are joined with `crcAppend` (four table lookups each); when every level is kept at its position the
 * last checksum is returned as is.
 */
import type { L2Book } from '../../book/l2-book.ts';
import { formatScaled } from '../../core/fixed.ts';
import { CRC_INIT, crcAppend, crcBytes, crcUpdate } from '../crc32-combine.ts';
import type { TopChecksumMemo } from '../frame-scan.ts';
import { digits, KRAKEN_CHECKSUM_LEVELS, qtyDigits } from './checksum.ts';

const L = KRAKEN_CHECKSUM_LEVELS;
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);
const INT32_LIMIT = 2 ** 31;
/** Digit buffer length: a safe integer has at most 16 digits; quantities longer than this use their text. */
const BUF = 80;
/** Price parts kept before the cache starts over. */
const PRICE_SLOTS = 4096;

/** One per book: the last computation's levels and fragments, valid for one (scale, decimals) triple. */
export class KrakenFastChecksum {
  // Double-buffered (the last computation's, and the one being built): bids at [0, L), asks at [L, 2L).
  private curPrices = new Float64Array(2 * L);
  private curSizes: string[] = new Array<string>(2 * L).fill('');
  private curCrc = new Int32Array(2 * L);
  private curLen = new Int32Array(2 * L);
  private nextPrices = new Float64Array(2 * L);
  private nextSizes: string[] = new Array<string>(2 * L).fill('');
  private nextCrc = new Int32Array(2 * L);
  private nextLen = new Int32Array(2 * L);
  /** The price part of each fragment (its digits' update from a zero register, and their length). */
  private curPcrc = new Int32Array(2 * L);
  private curPlen = new Int32Array(2 * L);
  private nextPcrc = new Int32Array(2 * L);
  private nextPlen = new Int32Array(2 * L);
  /** Levels per side in the last computation (-1: none to reuse). */
  private nb = -1;
  private na = -1;
  private scale = -1;
  private pd = -1;
  private qd = -1;
  /** The book's top levels as read for this computation, per side. */
  private readonly inBidPrices = new Float64Array(L);
  private readonly inBidSizes: string[] = new Array<string>(L).fill('');
  private readonly inAskPrices = new Float64Array(L);
  private readonly inAskSizes: string[] = new Array<string>(L).fill('');
  /** Whether every level of this computation so far is the last one's, at the same position. */
  private same = false;
  /** The last computation's checksum. */
  private value = 0;
  /** Price parts by scaled price (slot indices into `slotCrc`/`slotLen`), for the current scale and decimals. */
  private readonly priceSlots = new Map<number, number>();
  private readonly slotCrc = new Int32Array(PRICE_SLOTS);
  private readonly slotLen = new Int32Array(PRICE_SLOTS);
  /** Digit bytes of a price (written backwards from the end) or of a quantity. */
  private readonly buf = new Uint8Array(BUF);

  /**
   * `KrakenChecksumBuilder.checksum` of the book (`priceDecimals`/`qtyDecimals`: the pair's written
   * decimals), or undefined when a quantity text is not ASCII (use the text path).
   */
  checksumOf(book: L2Book, priceDecimals: number, qtyDecimals: number): number | undefined {
    const nb = book.bids.top(L, this.inBidPrices, this.inBidSizes);
    const na = book.asks.top(L, this.inAskPrices, this.inAskSizes);
    return this.compute(book.priceScale, priceDecimals, qtyDecimals, nb, na);
  }

  /**
   * The same over the top levels `top` holds after its `unchanged` (they must be the book's), for callers
   * that keep a `TopChecksumMemo`.
   */
  checksum(book: L2Book, top: TopChecksumMemo, priceDecimals: number, qtyDecimals: number): number | undefined {
    const nb = Math.min(top.nb, L);
    const na = Math.min(top.na, L);
    for (let i = 0; i < nb; i++) {
      this.inBidPrices[i] = top.prices[i] as number;
      this.inBidSizes[i] = top.sizes[i] as string;
    }
    for (let i = 0; i < na; i++) {
      this.inAskPrices[i] = top.prices[top.depth + i] as number;
      this.inAskSizes[i] = top.sizes[top.depth + i] as string;
    }
    return this.compute(book.priceScale, priceDecimals, qtyDecimals, nb, na);
  }

  private compute(
    scale: number,
    priceDecimals: number,
    qtyDecimals: number,
    nb: number,
    na: number,
  ): number | undefined {
    const pd = Math.max(priceDecimals, scale);
    if (scale !== this.scale || pd !== this.pd || qtyDecimals !== this.qd) {
      this.nb = -1;
      this.na = -1;
      if (scale !== this.scale || pd !== this.pd) this.priceSlots.clear();
      this.scale = scale;
      this.pd = pd;
      this.qd = qtyDecimals;
    }
    this.same = na === this.na && nb === this.nb;
    if (
      !this.side(this.inAskPrices, this.inAskSizes, 1, na, this.na) ||
      !this.side(this.inBidPrices, this.inBidSizes, 0, nb, this.nb)
    ) {
      this.nb = -1;
      this.na = -1;
      return undefined;
    }
    if (this.same) return this.value; // every level kept at its position: the same text
    const crc = this.nextCrc;
    const len = this.nextLen;
    let r = CRC_INIT;
    for (let i = 0; i < na; i++) r = crcAppend(r, crc[L + i] as number, len[L + i] as number);
    for (let i = 0; i < nb; i++) r = crcAppend(r, crc[i] as number, len[i] as number);
    // The levels just built become the last computation.
    const p = this.curPrices;
    this.curPrices = this.nextPrices;
    this.nextPrices = p;
    const s = this.curSizes;
    this.curSizes = this.nextSizes;
    this.nextSizes = s;
    const c = this.curCrc;
    this.curCrc = this.nextCrc;
    this.nextCrc = c;
    const l = this.curLen;
    this.curLen = this.nextLen;
    this.nextLen = l;
    const pc = this.curPcrc;
    this.curPcrc = this.nextPcrc;
    this.nextPcrc = pc;
    const pl = this.curPlen;
    this.curPlen = this.nextPlen;
    this.nextPlen = pl;
    this.nb = nb;
    this.na = na;
    this.value = (r ^ CRC_INIT) >>> 0;
    return this.value;
  }

  /** Fills the next buffers for one side (0 bids, 1 asks); false when a fragment could not be built. */
  private side(prices: Float64Array, sizes: string[], which: 0 | 1, n: number, n0: number): boolean {
    const off = which === 0 ? 0 : L;
    const cp = this.curPrices;
    const cs = this.curSizes;
    const np = this.nextPrices;
    const ns = this.nextSizes;
    let q = 0; // the walk over the last computation's levels (side-relative)
    for (let i = 0; i < n; i++) {
      const p = prices[i] as number;
      const s = sizes[i] as string;
      // Skip the old levels better than p (bids: higher prices; asks: lower).
      if (which === 0) while (q < n0 && (cp[off + q] as number) > p) q++;
      else while (q < n0 && (cp[off + q] as number) < p) q++;
      const j = off + i;
      const o = off + q;
      if (q < n0 && cp[o] === p) {
        // The same price: its part is kept; the whole fragment too when the quantity text is the same.
        this.nextPcrc[j] = this.curPcrc[o] as number;
        this.nextPlen[j] = this.curPlen[o] as number;
        if (cs[o] === s) {
          this.nextCrc[j] = this.curCrc[o] as number;
          this.nextLen[j] = this.curLen[o] as number;
          if (q !== i) this.same = false;
        } else {
          this.same = false;
          if (!this.qtyPart(s, j)) return false;
        }
      } else {
        this.same = false;
        this.pricePart(p, j);
        if (!this.qtyPart(s, j)) return false;
      }
      np[j] = p;
      ns[j] = s;
    }
    return true;
  }

  /**
   * Level j's price part into the next buffers: the scaled price at `pd` decimals is an integer whose
   * decimal digits are exactly the fixed text without its dot and leading zeros.
   */
  private pricePart(p: number, j: number): void {
    // Prices near the top recur: their parts are kept by scaled price (for this scale and decimals).
    const slot = this.priceSlots.get(p);
    if (slot !== undefined) {
      this.nextPcrc[j] = this.slotCrc[slot] as number;
      this.nextPlen[j] = this.slotLen[slot] as number;
      return;
    }
    this.buildPricePart(p, j);
    if (this.priceSlots.size === PRICE_SLOTS) this.priceSlots.clear();
    const fresh = this.priceSlots.size;
    this.priceSlots.set(p, fresh);
    this.slotCrc[fresh] = this.nextPcrc[j] as number;
    this.slotLen[fresh] = this.nextPlen[j] as number;
  }

  private buildPricePart(p: number, j: number): void {
    const k = this.pd - this.scale;
    const v = k < POW10.length ? p * (POW10[k] as number) : Number.POSITIVE_INFINITY;
    if (v > Number.MAX_SAFE_INTEGER) {
      const pt = digits(formatScaled(p, this.scale, this.pd));
      this.nextPcrc[j] = crcUpdate(0, pt); // digits only: never NaN
      this.nextPlen[j] = pt.length;
      return;
    }
    const buf = this.buf;
    let at = BUF;
    let x = v;
    while (x >= INT32_LIMIT) {
      // Below 2^53, x / 10 is q + d/10 rounded to within 1/8, never up to q + 1: its floor is q.
      const quo = Math.floor(x / 10);
      buf[--at] = 48 + x - quo * 10;
      x = quo;
    }
    let xi = x | 0;
    do {
      const quo = (xi / 10) | 0;
      buf[--at] = 48 + xi - quo * 10;
      xi = quo;
    } while (xi !== 0);
    this.nextPcrc[j] = crcBytes(0, buf, at, BUF);
    this.nextPlen[j] = BUF - at;
  }

  /**
   * Level j's whole fragment from its price part: then the quantity's digits (its text without the dot
   * and leading zeros, when written with `qd` decimals; otherwise `qtyDigits`). False for a text outside
   * ASCII.
   */
  private qtyPart(size: string, j: number): boolean {
    const rp = this.nextPcrc[j] as number;
    const lp = this.nextPlen[j] as number;
    const n = size.length;
    const buf = this.buf;
    let nd = 0;
    let dot = -1;
    let plain = n <= BUF;
    for (let i = 0; i < n && plain; i++) {
      const c = size.charCodeAt(i);
      if (c === 46 /* . */) {
        if (dot >= 0) plain = false;
        dot = i;
      } else if (c < 48 || c > 57) {
        plain = false;
      } else if (nd > 0 || c !== 48) {
        buf[nd++] = c;
      }
    }
    if (plain && (dot < 0 ? 0 : n - dot - 1) === this.qd) {
      this.nextCrc[j] = crcBytes(rp, buf, 0, nd);
      this.nextLen[j] = lp + nd;
      return true;
    }
    const qt = qtyDigits(size, this.qd);
    const r = crcUpdate(rp, qt);
    if (Number.isNaN(r)) return false;
    this.nextCrc[j] = r;
    this.nextLen[j] = lp + qt.length;
    return true;
  }
}
