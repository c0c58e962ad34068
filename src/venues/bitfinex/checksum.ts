/**
 * Bitfinex book checksum (docs.bitfinex.com/docs/ws-websocket-checksum): the top 25 levels interleaved
 * `bidPrice:bidAmount:askPrice:askAmount:...` with ask amounts negative, each number as JS `String(n)`
 * (`7e-7`), CRC32 compared as a signed 32-bit integer.
 *
 * Prices are scaled integers: `String(v / 10^scale)` is the same text as the venue's number because
 * dividing two exact doubles rounds to the double nearest the decimal, which is what parsing it gave.
 * Sizes are the text the handler stored (`String(n)` of the venue's amount), so `String(Number(text))`
 * gives it back.
 */
import { crc32 } from 'node:zlib';
import type { L2Book } from '../../book/l2-book.ts';
import { pow10 } from '../../core/fixed.ts';

export const BITFINEX_CHECKSUM_LEVELS = 25;

export function bitfinexChecksumText(book: L2Book): string {
  const pf = pow10(book.priceScale);
  const bids = book.bids;
  const asks = book.asks;
  const parts: string[] = [];
  for (let i = 0; i < BITFINEX_CHECKSUM_LEVELS; i++) {
    if (i < bids.length) parts.push(String(bids.priceAt(i) / pf), String(Number(bids.sizeAt(i))));
    if (i < asks.length) parts.push(String(asks.priceAt(i) / pf), String(-Number(asks.sizeAt(i))));
  }
  return parts.join(':');
}

export function bitfinexChecksum(book: L2Book): number {
  return crc32(bitfinexChecksumText(book)) | 0;
}
