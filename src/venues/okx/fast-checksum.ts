/**
 * The OKX book checksum (checksum.ts) kept up to date per book (../interleaved-top-crc.ts): the same signed
 * CRC-32 of `bidPx:bidSz:askPx:askSz:...` over the top 25 levels, from the venue's strings, where only
 * the levels that changed since the last checksum are hashed again and the pairs above the first changed
 * position are not recombined.
 */
import type { L2Book } from '../../book/l2-book.ts';
import { InterleavedTopCrc } from '../interleaved-top-crc.ts';
import { OKX_CHECKSUM_LEVELS } from './checksum.ts';

const NONE = new Map<number, string>();

/** One per book. */
export class OkxFastChecksum extends InterleavedTopCrc {
  // For `pricePart` during one `checksum` call.
  private book: L2Book | undefined;
  private oddBids = NONE;
  private oddAsks = NONE;

  constructor() {
    super(OKX_CHECKSUM_LEVELS);
  }

  /**
   * The signed checksum of the book's top 25 levels. `oddBids`/`oddAsks` hold the venue's price text
   * where it is not the canonical one, keyed by scaled price; `textsVersion` must change whenever they do.
   * Undefined when a text is not ASCII (use the text path).
   */
  checksum(
    book: L2Book,
    textsVersion: number,
    oddBids: Map<number, string>,
    oddAsks: Map<number, string>,
  ): number | undefined {
    this.book = book;
    this.oddBids = oddBids;
    this.oddAsks = oddAsks;
    const sum = this.compute(book, textsVersion);
    this.book = undefined;
    this.oddBids = NONE;
    this.oddAsks = NONE;
    return sum;
  }

  /** `px:`: the venue's text of the price where it was not canonical, else the book's canonical text. */
  protected pricePart(side: 0 | 1, p: number): string {
    const odd = side === 0 ? this.oddBids : this.oddAsks;
    const pt = odd.size > 0 ? odd.get(p) : undefined;
    return `${pt ?? (this.book as L2Book).formatPrice(p)}:`;
  }
}
