/**
 * Kraken book checksum (v1 and v2 alike; docs.kraken.com/api/docs/guides/spot-ws-book-v1 and -v2): the top
 * 10 asks (lowest first) then the top 10 bids (highest first); for each level the price then the quantity,
 * as the venue writes them with the pair's fixed decimals, with the `.` and the leading zeros removed.
 * CRC32 of that text, compared unsigned.
 */
import { crc32 } from 'node:zlib';
import type { BookSide } from '../../book/book-side.ts';
import type { L2Book } from '../../book/l2-book.ts';
import { Decimal, formatScaled } from '../../core/fixed.ts';

export const KRAKEN_CHECKSUM_LEVELS = 10;
/** Price fragments memoized per builder before the memo starts over (prices near the top recur). */
const PRICE_MEMO_MAX = 4096;

/** Text with exactly `decimals` fraction digits: the venue's own when it already has them. */
function fixedText(text: string, decimals: number): string {
  const dot = text.indexOf('.');
  const written = dot < 0 ? 0 : text.length - dot - 1;
  if (written === decimals && text.indexOf('e') < 0) return text;
  return Decimal.parse(text).toFixed(decimals);
}

/** `s` without its `.` and its leading zeros. */
export function digits(s: string): string {
  const n = s.length;
  let first = 0; // first character that is neither a leading zero nor the dot
  let dot = -1;
  for (; first < n; first++) {
    const c = s.charCodeAt(first);
    if (c === 46 /* . */) dot = first;
    else if (c !== 48 /* 0 */) break;
  }
  if (dot >= 0 || first === n) return s.slice(first); // the dot was among the leading characters
  dot = s.indexOf('.', first);
  return dot < 0 ? (first === 0 ? s : s.slice(first)) : s.slice(first, dot) + s.slice(dot + 1);
}

/** `digits(fixedText(text, decimals))`, sliced straight from the venue's text when it has the decimals. */
export function qtyDigits(text: string, decimals: number): string {
  const dot = text.indexOf('.');
  const written = dot < 0 ? 0 : text.length - dot - 1;
  if (written !== decimals || text.indexOf('e') >= 0 || text.indexOf('E') >= 0) {
    return digits(fixedText(text, decimals));
  }
  return digits(text);
}

/**
 * Builds the checksum text of a book: scratch space for the top levels and a memo of price fragments (a
 * pure function of the scaled price, the book's scale and the written decimals, so never stale). One per
 * book, or a shared one: both are exact.
 */
export class KrakenChecksumBuilder {
  private readonly prices = new Float64Array(KRAKEN_CHECKSUM_LEVELS);
  private readonly sizes: string[] = new Array<string>(KRAKEN_CHECKSUM_LEVELS).fill('');
  private readonly memo = new Map<number, string>();
  private memoScale = -1;
  private memoDecimals = -1;

  /** The text the checksum is computed over; `priceDecimals`/`qtyDecimals` are the pair's written decimals. */
  text(book: L2Book, priceDecimals: number, qtyDecimals: number): string {
    const scale = book.priceScale;
    const pd = Math.max(priceDecimals, scale);
    if (scale !== this.memoScale || pd !== this.memoDecimals || this.memo.size > PRICE_MEMO_MAX) {
      this.memo.clear();
      this.memoScale = scale;
      this.memoDecimals = pd;
    }
    return this.side(book.asks, scale, pd, qtyDecimals) + this.side(book.bids, scale, pd, qtyDecimals);
  }

  /** Unsigned CRC32 of `text`. */
  checksum(book: L2Book, priceDecimals: number, qtyDecimals: number): number {
    return crc32(this.text(book, priceDecimals, qtyDecimals)) >>> 0;
  }

  private side(side: BookSide, scale: number, pd: number, qd: number): string {
    const prices = this.prices;
    const sizes = this.sizes;
    const memo = this.memo;
    const n = side.top(KRAKEN_CHECKSUM_LEVELS, prices, sizes);
    let out = '';
    for (let i = 0; i < n; i++) {
      const p = prices[i] as number;
      let pt = memo.get(p);
      if (pt === undefined) {
        pt = digits(formatScaled(p, scale, pd));
        memo.set(p, pt);
      }
      out += pt + qtyDigits(sizes[i] as string, qd);
    }
    return out;
  }
}

const shared = new KrakenChecksumBuilder();

/** The text the checksum is computed over; `priceDecimals`/`qtyDecimals` are the pair's written decimals. */
export function krakenChecksumText(book: L2Book, priceDecimals: number, qtyDecimals: number): string {
  return shared.text(book, priceDecimals, qtyDecimals);
}

/** Unsigned CRC32 of `krakenChecksumText`. */
export function krakenChecksum(book: L2Book, priceDecimals: number, qtyDecimals: number): number {
  return shared.checksum(book, priceDecimals, qtyDecimals);
}
