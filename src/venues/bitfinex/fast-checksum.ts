/**
 * The Bitfinex book checksum (checksum.ts) kept up to date per book (../interleaved-top-crc.ts): the same
 * signed CRC-32 of `bidPrice:bidAmount:askPrice:-askAmount:...` over the top 25 levels, where only the
 * levels that changed since the last checksum are hashed again and the pairs above the first changed
 * position are not recombined.
 */
import type { L2Book } from '../../book/l2-book.ts';
import { pow10 } from '../../core/fixed.ts';
import { InterleavedTopCrc } from '../interleaved-top-crc.ts';
import { amountText, BITFINEX_CHECKSUM_LEVELS } from './checksum.ts';

/** One per book. */
export class BitfinexFastChecksum extends InterleavedTopCrc {
  private scale = -1;
  private pf = 1;

  constructor() {
    super(BITFINEX_CHECKSUM_LEVELS, amountText);
  }

  /**
   * As `BitfinexChecksumBuilder.checksum`, over the book's top 25 levels; undefined when a text is not
   * ASCII (use the text path).
   */
  checksum(book: L2Book): number | undefined {
    if (book.priceScale !== this.scale) {
      this.scale = book.priceScale;
      this.pf = pow10(this.scale);
    }
    return this.compute(book, 0);
  }

  /** `String(v / 10^scale)` is the venue's own text of the price (see checksum.ts); ask amounts are negative. */
  protected pricePart(side: 0 | 1, p: number): string {
    return side === 0 ? `${String(p / this.pf)}:` : `${String(p / this.pf)}:-`;
  }
}
