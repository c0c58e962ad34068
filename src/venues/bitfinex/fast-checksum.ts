/**
 * The Bitfinex book checksum (checksum.ts) computed from cached per-level CRC fragments instead of the
 * joined text: the same signed CRC-32 of `bidPrice:bidAmount:askPrice:-askAmount:...` over the top 25
 * levels (frame-scan.ts, "CRC-32 over concatenated fragments"). A level's fragment update is computed once
 * per price and size text, and the pairs above the first changed level are not recomputed
 * (`InterleavedCrc`).
 */
import type { L2Book } from '../../book/l2-book.ts';
import { pow10 } from '../../core/fixed.ts';
import {
  type CrcFragment,
  type CrcFragmentSource,
  crcByte,
  crcUpdate,
  InterleavedCrc,
  type TopChecksumMemo,
} from '../frame-scan.ts';
import { amountText, BITFINEX_CHECKSUM_LEVELS } from './checksum.ts';

/** Fragments cached per side before the cache starts over (levels near the top recur). */
const FRAG_CACHE_MAX = 4096;

interface Fragment extends CrcFragment {
  readonly size: string;
}

/** One per book: fragment caches keyed by scaled price, valid for one price scale. */
export class BitfinexFastChecksum implements CrcFragmentSource {
  private readonly bids = new Map<number, Fragment>();
  private readonly asks = new Map<number, Fragment>();
  private readonly crc = new InterleavedCrc(BITFINEX_CHECKSUM_LEVELS);
  private scale = -1;
  private pf = 1;

  /**
   * As `BitfinexChecksumBuilder.checksum`, over the top levels `top` (depth 25) holds after its
   * `unchanged`; undefined when a text is not ASCII (use the text path).
   */
  checksum(book: L2Book, top: TopChecksumMemo): number | undefined {
    if (book.priceScale !== this.scale || this.bids.size > FRAG_CACHE_MAX || this.asks.size > FRAG_CACHE_MAX) {
      this.bids.clear();
      this.asks.clear();
      this.scale = book.priceScale;
      this.pf = pow10(this.scale);
      this.crc.invalidate();
    }
    return this.crc.checksum(top, this);
  }

  /** A fragment is a function of price, size and scale only (the cache is cleared when the scale changes). */
  current(_side: 0 | 1, _p: number, _fragment: CrcFragment): boolean {
    return true;
  }

  /** The `price:amount` fragment of a level, ask amounts negative. */
  fragment(side: 0 | 1, p: number, size: string): CrcFragment | undefined {
    const cache = side === 0 ? this.bids : this.asks;
    let f = cache.get(p);
    if (f === undefined || f.size !== size) {
      // `String(v / 10^scale)` is the venue's own text of the price (see checksum.ts).
      const pt = String(p / this.pf);
      let r = crcByte(crcUpdate(0, pt), 58 /* : */);
      if (side === 1) r = crcByte(r, 45 /* - */);
      const amount = amountText(size);
      const crc0 = crcUpdate(r, amount);
      if (Number.isNaN(crc0)) return undefined;
      f = { size, crc0, len: pt.length + 1 + side + amount.length };
      cache.set(p, f);
    }
    return f;
  }
}
