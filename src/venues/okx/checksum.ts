/**
 * OKX order-book checksum (www.okx.com/docs-v5/en/#overview-websocket-checksum): the top 25 levels
 * interleaved `bidPx:bidSz:askPx:askSz:...` using the venue's own strings (a side that runs out just stops
 * contributing), CRC32, compared as a signed 32-bit integer.
 */
import { crc32 } from 'node:zlib';

export const OKX_CHECKSUM_LEVELS = 25;

/**
 * The checksum text from each level's `px:sz` fragment, best first: `nb` bid and `na` ask fragments,
 * interleaved. One string concatenation per fragment, no intermediate arrays.
 */
export function okxChecksumTextOfFragments(
  bids: readonly string[],
  nb: number,
  asks: readonly string[],
  na: number,
): string {
  let s = '';
  const n = Math.min(OKX_CHECKSUM_LEVELS, Math.max(nb, na));
  for (let i = 0; i < n; i++) {
    if (i < nb) s = s === '' ? (bids[i] as string) : `${s}:${bids[i] as string}`;
    if (i < na) s = s === '' ? (asks[i] as string) : `${s}:${asks[i] as string}`;
  }
  return s;
}

/** Signed CRC32 of `okxChecksumTextOfFragments`. */
export function okxChecksumOfFragments(
  bids: readonly string[],
  nb: number,
  asks: readonly string[],
  na: number,
): number {
  return crc32(okxChecksumTextOfFragments(bids, nb, asks, na)) | 0;
}

/** `bids`/`asks` best first, as `[px, sz]` venue text. */
export function okxChecksumText(
  bids: readonly (readonly [string, string])[],
  asks: readonly (readonly [string, string])[],
): string {
  const frag = (ls: readonly (readonly [string, string])[]) => {
    const n = Math.min(OKX_CHECKSUM_LEVELS, ls.length);
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const l = ls[i] as readonly [string, string];
      out[i] = `${l[0]}:${l[1]}`;
    }
    return out;
  };
  return okxChecksumTextOfFragments(
    frag(bids),
    Math.min(OKX_CHECKSUM_LEVELS, bids.length),
    frag(asks),
    Math.min(OKX_CHECKSUM_LEVELS, asks.length),
  );
}

export function okxChecksum(
  bids: readonly (readonly [string, string])[],
  asks: readonly (readonly [string, string])[],
): number {
  return crc32(okxChecksumText(bids, asks)) | 0;
}
