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

/** Text with exactly `decimals` fraction digits: the venue's own when it already has them. */
function fixedText(text: string, decimals: number): string {
  const dot = text.indexOf('.');
  const written = dot < 0 ? 0 : text.length - dot - 1;
  if (written === decimals && text.indexOf('e') < 0) return text;
  return Decimal.parse(text).toFixed(decimals);
}

function digits(s: string): string {
  let out = '';
  let leading = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) continue;
    if (leading && c === 48 /* 0 */) continue;
    leading = false;
    out += s[i];
  }
  return out;
}

function appendSide(side: BookSide, book: L2Book, priceDecimals: number, qtyDecimals: number): string {
  let out = '';
  const n = Math.min(KRAKEN_CHECKSUM_LEVELS, side.length);
  for (let i = 0; i < n; i++) {
    out += digits(formatScaled(side.priceAt(i), book.priceScale, priceDecimals));
    out += digits(fixedText(side.sizeAt(i), qtyDecimals));
  }
  return out;
}

/** The text the checksum is computed over; `priceDecimals`/`qtyDecimals` are the pair's written decimals. */
export function krakenChecksumText(book: L2Book, priceDecimals: number, qtyDecimals: number): string {
  const pd = Math.max(priceDecimals, book.priceScale);
  return appendSide(book.asks, book, pd, qtyDecimals) + appendSide(book.bids, book, pd, qtyDecimals);
}

/** Unsigned CRC32 of `krakenChecksumText`. */
export function krakenChecksum(book: L2Book, priceDecimals: number, qtyDecimals: number): number {
  return crc32(krakenChecksumText(book, priceDecimals, qtyDecimals)) >>> 0;
}
