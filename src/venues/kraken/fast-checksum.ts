/**
 * The Kraken book checksum (checksum.ts) computed from cached per-level CRC fragments instead of the
 * joined text: the same unsigned CRC-32 of the top 10 asks then the top 10 bids, each level's price and
 * quantity digits (frame-scan.ts, "CRC-32 over concatenated fragments"). A level's fragment update is
 * computed once per price and size text and reused while the level is unchanged.
 */
import type { L2Book } from '../../book/l2-book.ts';
import { formatScaled } from '../../core/fixed.ts';
import { CRC_INIT, crcAppend, crcUpdate, type TopChecksumMemo } from '../frame-scan.ts';
import { digits, KRAKEN_CHECKSUM_LEVELS, qtyDigits } from './checksum.ts';

/** Fragments cached per side before the cache starts over (levels near the top recur). */
const FRAG_CACHE_MAX = 4096;
const L = KRAKEN_CHECKSUM_LEVELS;

interface Fragment {
  size: string;
  /** CRC register update of the level's digits from a zero register, and their length. */
  crc0: number;
  len: number;
}

/** One per book: fragment caches keyed by scaled price, valid for one (scale, decimals) triple. */
export class KrakenFastChecksum {
  private readonly bids = new Map<number, Fragment>();
  private readonly asks = new Map<number, Fragment>();
  private scale = -1;
  private pd = -1;
  private qd = -1;

  /**
   * As `KrakenChecksumBuilder.checksum`, over the top levels `top` (depth 10) holds after its
   * `unchanged`; undefined when a text is not ASCII (use the text path).
   */
  checksum(book: L2Book, top: TopChecksumMemo, priceDecimals: number, qtyDecimals: number): number | undefined {
    const scale = book.priceScale;
    const pd = Math.max(priceDecimals, scale);
    if (
      scale !== this.scale ||
      pd !== this.pd ||
      qtyDecimals !== this.qd ||
      this.bids.size > FRAG_CACHE_MAX ||
      this.asks.size > FRAG_CACHE_MAX
    ) {
      this.bids.clear();
      this.asks.clear();
      this.scale = scale;
      this.pd = pd;
      this.qd = qtyDecimals;
    }
    const r = this.side(top, L, top.na, this.asks, CRC_INIT);
    if (Number.isNaN(r)) return undefined;
    const r2 = this.side(top, 0, top.nb, this.bids, r);
    if (Number.isNaN(r2)) return undefined;
    return (r2 ^ CRC_INIT) >>> 0;
  }

  private side(top: TopChecksumMemo, off: number, n: number, cache: Map<number, Fragment>, r: number): number {
    const prices = top.prices;
    const sizes = top.sizes;
    for (let i = 0; i < n; i++) {
      const p = prices[off + i] as number;
      const size = sizes[off + i] as string;
      let f = cache.get(p);
      if (f === undefined || f.size !== size) {
        const pt = digits(formatScaled(p, this.scale, this.pd));
        const qt = qtyDigits(size, this.qd);
        const crc0 = crcUpdate(crcUpdate(0, pt), qt);
        if (Number.isNaN(crc0)) return Number.NaN;
        const len = pt.length + qt.length;
        if (f === undefined) {
          f = { size, crc0, len };
          cache.set(p, f);
        } else {
          f.size = size;
          f.crc0 = crc0;
          f.len = len;
        }
      }
      r = crcAppend(r, f.crc0, f.len);
    }
    return r;
  }
}
