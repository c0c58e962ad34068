/**
 * OKX order-book checksum (www.okx.com/docs-v5/en/#overview-websocket-checksum): the top 25 levels
 * interleaved `bidPx:bidSz:askPx:askSz:...` using the venue's own strings (a side that runs out just stops
 * contributing), CRC32, compared as a signed 32-bit integer.
 */
import { crc32 } from 'node:zlib';

export const OKX_CHECKSUM_LEVELS = 25;

/** `bids`/`asks` best first, as `[px, sz]` venue text. */
export function okxChecksumText(
  bids: readonly (readonly [string, string])[],
  asks: readonly (readonly [string, string])[],
): string {
  const parts: string[] = [];
  for (let i = 0; i < OKX_CHECKSUM_LEVELS; i++) {
    const b = bids[i];
    const a = asks[i];
    if (b !== undefined) parts.push(b[0], b[1]);
    if (a !== undefined) parts.push(a[0], a[1]);
  }
  return parts.join(':');
}

export function okxChecksum(
  bids: readonly (readonly [string, string])[],
  asks: readonly (readonly [string, string])[],
): number {
  return crc32(okxChecksumText(bids, asks)) | 0;
}
