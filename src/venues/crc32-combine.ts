/**
 * CRC-32 (zlib's: reflected polynomial 0xedb88320, initial register and final xor 0xffffffff) in pieces,
 * for the venues' book checksums, which are the CRC-32 of a text joined from per-level fragments.
 *
 * The register update over a byte string B is affine: after B, r' = Z_|B|(r) xor u_B, where u_B is B's
 * update from a zero register and Z_n the linear map "n zero bytes". So:
 * - `crcAppend(r, u_B, |B|)` continues a register over a fragment known only by (u_B, |B|), with Z_n
 *   held as four 256-entry tables per length (built once per length): four table lookups per fragment;
 * - `crc32Combine(crcA, crcB, lenB)` is zlib's `crc32_combine`: the CRC-32 of A followed by B from the two
 *   finished CRCs, for any length, with Z_n computed as multiplication by x^(8n) modulo the polynomial.
 * A fragment's (u_B, |B|) is computed once and cached by the caller, so the checksum of a text whose
 * fragments mostly repeat costs a few table lookups per fragment instead of one per byte.
 */

const POLY = 0xedb88320;

/** The byte-at-a-time table: `CRC_TABLE[n]` is the register after byte n from a zero register. */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The initial register of zlib's CRC-32; the checksum is `register ^ CRC_INIT` (`>>> 0` for unsigned). */
export const CRC_INIT = -1;

/** The register after one byte `c` (0-255) from register `r`. */
export function crcByte(r: number, c: number): number {
  return (CRC_TABLE[(r ^ c) & 0xff] as number) ^ (r >>> 8);
}

/**
 * The register after `s` (ASCII) from register `r`, or NaN when `s` has a character outside ASCII (the
 * caller then falls back to `zlib.crc32` over the UTF-8 text).
 */
export function crcUpdate(r: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return Number.NaN;
    r = (CRC_TABLE[(r ^ c) & 0xff] as number) ^ (r >>> 8);
  }
  return r;
}

/** Slicing-by-4 tables: `CRC_TABLES[256k + n]` is the register after byte n then k zero bytes. */
const CRC_TABLES = (() => {
  const t = new Int32Array(1024);
  t.set(CRC_TABLE);
  for (let k = 1; k < 4; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[256 * (k - 1) + n] as number;
      t[256 * k + n] = (CRC_TABLE[prev & 0xff] as number) ^ (prev >>> 8);
    }
  }
  return t;
})();

/** The register after bytes `buf[start..end)` from register `r`, four bytes a step. */
export function crcBytes(r: number, buf: Uint8Array, start: number, end: number): number {
  const t = CRC_TABLES;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    r ^=
      (buf[i] as number) |
      ((buf[i + 1] as number) << 8) |
      ((buf[i + 2] as number) << 16) |
      ((buf[i + 3] as number) << 24);
    r =
      (t[768 + (r & 0xff)] as number) ^
      (t[512 + ((r >>> 8) & 0xff)] as number) ^
      (t[256 + ((r >>> 16) & 0xff)] as number) ^
      (t[r >>> 24] as number);
  }
  for (; i < end; i++) r = (t[(r ^ (buf[i] as number)) & 0xff] as number) ^ (r >>> 8);
  return r;
}

/** `ZERO_TABLES[n]`: Z_n as four 256-entry tables (byte j of the register in entries 256j..256j+255). */
const ZERO_TABLES: (Int32Array | undefined)[] = [];
/** Lengths up to this get a cached table; longer fragments go through `crc32Combine`'s arithmetic. */
const ZERO_TABLE_MAX = 256;

function zeroTable(n: number): Int32Array {
  let z = ZERO_TABLES[n];
  if (z === undefined) {
    z = new Int32Array(1024);
    const x = xPow8n(n);
    for (let j = 0; j < 4; j++) {
      for (let v = 0; v < 256; v++) z[256 * j + v] = mulModP(x, v << (8 * j));
    }
    ZERO_TABLES[n] = z;
  }
  return z;
}

/** The register after a fragment of `len` bytes whose update from a zero register is `crc0`. */
export function crcAppend(r: number, crc0: number, len: number): number {
  if (len === 0) return r;
  if (len > ZERO_TABLE_MAX) return mulModP(xPow8n(len), r) ^ crc0;
  const z = zeroTable(len);
  return (
    (z[r & 0xff] as number) ^
    (z[256 + ((r >>> 8) & 0xff)] as number) ^
    (z[512 + ((r >>> 16) & 0xff)] as number) ^
    (z[768 + (r >>> 24)] as number) ^
    crc0
  );
}

/** A checksum fragment: its CRC register update from a zero register, and its length in bytes. */
export interface CrcFragment {
  crc0: number;
  len: number;
}

// ---- arithmetic modulo the CRC polynomial ------------------------------------------------------------
//
// In the reflected representation bit 31 is x^0 and bit 0 is x^31. Appending n zero bytes to a message
// multiplies its register by x^(8n) modulo P, so Z_n(r) = x^(8n) * r mod P.

/** a * b modulo P (reflected, 32-bit values as signed or unsigned numbers; the result is signed). */
function mulModP(a: number, b: number): number {
  let p = 0;
  // Walk a's bits from x^0 (bit 31) up; b is multiplied by x after each bit.
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p | 0;
}

/** `X2K[k]` = x^(2^k) mod P, for k = 0..63. */
const X2K = (() => {
  const t = new Int32Array(64);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 64; k++) {
    t[k] = p;
    p = mulModP(p, p);
  }
  return t;
})();

/** x^(8n) mod P, by the binary expansion of 8n (n a non-negative safe integer). */
function xPow8n(n: number): number {
  let p = 0x80000000 | 0; // x^0
  let k = 3; // 8n = n << 3
  while (n > 0) {
    if (n % 2 === 1) p = mulModP(X2K[k & 63] as number, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * zlib's `crc32_combine`: the CRC-32 of A followed by B, from A's CRC-32, B's CRC-32 and B's length in
 * bytes (unsigned results, like `zlib.crc32`).
 */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  if (!Number.isSafeInteger(lenB) || lenB < 0) throw new RangeError(`length must be a non-negative integer: ${lenB}`);
  // crc(A || B) = Z_|B|(crc(A)) ^ crc(B): the initial register and final xor cancel out (Z is linear).
  return (mulModP(xPow8n(lenB), crcA | 0) ^ (crcB | 0)) >>> 0;
}
