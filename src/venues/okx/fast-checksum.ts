/**
 * The OKX book checksum (checksum.ts) computed from cached per-level CRC fragments instead of the joined
 * text: the same signed CRC-32 of `bidPx:bidSz:askPx:askSz:...` over the top 25 levels, where each
 * level's `px:sz` fragment update (frame-scan.ts, "CRC-32 over concatenated fragments") is computed once
 * per price and size text, and the pairs above the first changed level are not recomputed
 * (`InterleavedCrc`).
 */
import type { L2Book } from '../../book/l2-book.ts';
import {
  type CrcFragment,
  type CrcFragmentSource,
  crcByte,
  crcUpdate,
  InterleavedCrc,
  type TopChecksumMemo,
} from '../frame-scan.ts';
import { OKX_CHECKSUM_LEVELS } from './checksum.ts';

/** Fragments cached per side before the cache starts over (levels near the top recur). */
const FRAG_CACHE_MAX = 4096;

/**
 * A price's fragment, updated in place when the level's text changes: one price is one level per side, so
 * the computation holding it (`InterleavedCrc`, which reuses a fragment only for the same price and size)
 * never needs its older text.
 */
interface Fragment extends CrcFragment {
  priceText: string;
  /** Whether `priceText` is the canonical text of the price (no venue text was kept for it). */
  canonical: boolean;
  size: string;
}

const NONE = new Map<number, string>();

/** One per book: the fragment caches, keyed by scaled price at `scale`. */
export class OkxFastChecksum implements CrcFragmentSource {
  private readonly bids = new Map<number, Fragment>();
  private readonly asks = new Map<number, Fragment>();
  /** Canonical price texts (a pure function of scaled price and scale). */
  private readonly priceTexts = new Map<number, string>();
  private readonly crc = new InterleavedCrc(OKX_CHECKSUM_LEVELS);
  private scale = -1;
  // For `fragment` during one `checksum` call.
  private book: L2Book | undefined;
  private oddBids = NONE;
  private oddAsks = NONE;

  /**
   * The signed checksum of the book's top levels, as `top` (its depth is 25) holds them after its
   * `unchanged`; `oddBids`/`oddAsks` hold the venue's price text where it is not the canonical one.
   * Undefined when a text is not ASCII (use the text path).
   */
  checksum(
    book: L2Book,
    top: TopChecksumMemo,
    oddBids: Map<number, string>,
    oddAsks: Map<number, string>,
  ): number | undefined {
    if (
      book.priceScale !== this.scale ||
      this.bids.size > FRAG_CACHE_MAX ||
      this.asks.size > FRAG_CACHE_MAX ||
      this.priceTexts.size > FRAG_CACHE_MAX
    ) {
      this.bids.clear();
      this.asks.clear();
      this.priceTexts.clear();
      this.scale = book.priceScale;
      this.crc.invalidate();
    }
    this.book = book;
    this.oddBids = oddBids;
    this.oddAsks = oddAsks;
    const sum = this.crc.checksum(top, this);
    this.book = undefined;
    this.oddBids = NONE;
    this.oddAsks = NONE;
    return sum;
  }

  /** Whether the fragment was built with the price text now in effect for `p`. */
  current(side: 0 | 1, p: number, fragment: CrcFragment): boolean {
    const f = fragment as Fragment;
    const odd = side === 0 ? this.oddBids : this.oddAsks;
    if (odd.size === 0) return f.canonical;
    const pt = odd.get(p);
    return pt === undefined ? f.canonical : !f.canonical && f.priceText === pt;
  }

  /** The `px:sz` fragment of a level. */
  fragment(side: 0 | 1, p: number, size: string): CrcFragment | undefined {
    const odd = side === 0 ? this.oddBids : this.oddAsks;
    let pt = odd.size > 0 ? odd.get(p) : undefined;
    const canonical = pt === undefined;
    if (pt === undefined) {
      pt = this.priceTexts.get(p);
      if (pt === undefined) {
        pt = (this.book as L2Book).formatPrice(p);
        this.priceTexts.set(p, pt);
      }
    }
    const cache = side === 0 ? this.bids : this.asks;
    let f = cache.get(p);
    if (f === undefined || f.size !== size || f.priceText !== pt || f.canonical !== canonical) {
      const crc0 = crcUpdate(crcByte(crcUpdate(0, pt), 58 /* : */), size);
      if (Number.isNaN(crc0)) return undefined;
      const len = pt.length + 1 + size.length;
      if (f === undefined) {
        f = { priceText: pt, canonical, size, crc0, len };
        cache.set(p, f);
      } else {
        f.priceText = pt;
        f.canonical = canonical;
        f.size = size;
        f.crc0 = crc0;
        f.len = len;
      }
    }
    return f;
  }
}
