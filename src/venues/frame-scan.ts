/**
 * Shared pieces of the venues' fast paths (binance/fast-depth.ts and {bybit,okx,kraken,bitfinex}/fast-*.ts):
 * - `FrameScanner`, a strict cursor over a JSON frame's text: it reads only the exact layout a venue
 *   sends (no whitespace, known key order, plain integers, strings without escapes or control
 *   characters) and reports anything else as a failure, so the caller declines and the JSON.parse path
 *   decides. Strings are slices of the frame; level text that outlives the frame goes through `detach`.
 * - `TopChecksumMemo`, the last checksum of a book's top levels, reused while they are unchanged.
 * - CRC-32 over cached per-level fragments (`crcAppend`, `InterleavedCrc`), for the venues' checksums.
 * - `truncateBook`, `L2Book.truncate` for the usual case of a few levels beyond a fixed depth.
 * - `FlatLevels`, a delta's levels as offsets into the frame (no per-level arrays, no price strings),
 *   applied to a book with exactly `L2Book.applyDelta`'s result, errors and atomicity.
 */
import type { BookSide } from '../book/book-side.ts';
import type { L2Book, RawLevel } from '../book/l2-book.ts';
import { sizeIsPositive } from '../core/fixed.ts';

/**
 * V8 makes a slice of 13 or more characters a view that keeps its whole parent string alive, so a size
 * text kept in a book would pin the frame it came from (one frame per level, megabytes per book). This
 * returns a flat copy of such a slice: `` ` ${s}` `` is flattened by `slice`, and the result references that
 * copy only. About 45 ns a string, paid only for texts of 13+ characters (shorter slices are copies).
 */
export function detach(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

export class FrameScanner {
  text = '';
  at = 0;

  reset(text: string, at = 0): this {
    this.text = text;
    this.at = at;
    return this;
  }

  /** Skips `s` if the text continues with it. */
  lit(s: string): boolean {
    if (!this.text.startsWith(s, this.at)) return false;
    this.at += s.length;
    return true;
  }

  /** Skips the character `c` (a char code) if it is next. */
  char(c: number): boolean {
    if (this.text.charCodeAt(this.at) !== c) return false;
    this.at++;
    return true;
  }

  get done(): boolean {
    return this.at === this.text.length;
  }

  /**
   * A JSON non-negative integer (no sign, fraction, exponent or leading zero) that is a safe integer;
   * -1 otherwise. At most 16 digits, so the running value stays exact up to the safe-integer check.
   */
  uint(): number {
    const text = this.text;
    const start = this.at;
    let v = 0;
    let i = start;
    for (; i < text.length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d >>> 0 > 9) break;
      v = v * 10 + d;
    }
    const n = i - start;
    if (n === 0 || n > 16 || (n > 1 && text.charCodeAt(start) === 48) || v > Number.MAX_SAFE_INTEGER) return -1;
    this.at = i;
    return v;
  }

  /**
   * A JSON integer (optional `-`, no fraction, exponent or leading zero, not `-0`) that is a safe
   * integer, or undefined.
   */
  int(): number | undefined {
    const neg = this.text.charCodeAt(this.at) === 45; /* - */
    if (neg) this.at++;
    const v = this.uint();
    if (v < 0 || (neg && v === 0)) {
      if (neg) this.at--;
      return undefined;
    }
    return neg ? -v : v;
  }

  /**
   * Index of the closing quote of a JSON string whose content starts at `i`, or -1 when it has an escape
   * or a control character (JSON.parse would unescape the first and reject the second) or is unterminated.
   */
  stringEnd(i: number): number {
    const text = this.text;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34 /* " */) return i;
      if (c === 92 /* \ */ || c < 32) return -1;
    }
    return -1;
  }

  /** A string value `"..."` at the cursor (its content as a slice), or undefined. */
  string(): string | undefined {
    if (this.text.charCodeAt(this.at) !== 34) return undefined;
    const end = this.stringEnd(this.at + 1);
    if (end < 0) return undefined;
    const s = this.text.slice(this.at + 1, end);
    this.at = end + 1;
    return s;
  }

  /** `[["p","q"],...]` at the cursor (exactly two strings per level), or undefined. */
  levels(): RawLevel[] | undefined {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) !== 91 /* [ */) return undefined;
    at++;
    const out: RawLevel[] = [];
    if (text.charCodeAt(at) === 93 /* ] */) {
      this.at = at + 1;
      return out;
    }
    for (;;) {
      // ["p","q"]
      if (text.charCodeAt(at) !== 91 || text.charCodeAt(at + 1) !== 34) return undefined;
      const p0 = at + 2;
      const p1 = this.stringEnd(p0);
      if (p1 < 0 || text.charCodeAt(p1 + 1) !== 44 /* , */ || text.charCodeAt(p1 + 2) !== 34) return undefined;
      const q0 = p1 + 3;
      const q1 = this.stringEnd(q0);
      if (q1 < 0 || text.charCodeAt(q1 + 1) !== 93) return undefined;
      out.push([text.slice(p0, p1), detach(text.slice(q0, q1))]);
      const c = text.charCodeAt(q1 + 2);
      at = q1 + 3;
      if (c === 93) {
        this.at = at;
        return out;
      }
      if (c !== 44) return undefined;
    }
  }

  /**
   * `[["p","q"],...]` at the cursor (exactly two strings per level) appended to `out` as one side
   * (`out.endBids()` separates bids from asks); false when the text is not in that layout.
   */
  flatLevels(out: FlatLevels): boolean {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) !== 91 /* [ */) return false;
    at++;
    if (text.charCodeAt(at) === 93 /* ] */) {
      this.at = at + 1;
      return true;
    }
    for (;;) {
      if (text.charCodeAt(at) !== 91 || text.charCodeAt(at + 1) !== 34) return false;
      const p0 = at + 2;
      const p1 = this.stringEnd(p0);
      if (p1 < 0 || text.charCodeAt(p1 + 1) !== 44 /* , */ || text.charCodeAt(p1 + 2) !== 34) return false;
      const q0 = p1 + 3;
      const q1 = this.stringEnd(q0);
      if (q1 < 0 || text.charCodeAt(q1 + 1) !== 93) return false;
      out.push(p0, p1, detach(text.slice(q0, q1)));
      const c = text.charCodeAt(q1 + 2);
      at = q1 + 3;
      if (c === 93) {
        this.at = at;
        return true;
      }
      if (c !== 44) return false;
    }
  }

  /**
   * `[["p","q",...],...]` at the cursor: levels of two or more strings (the extra ones, such as OKX's
   * order counts or Kraken v1's timestamps, are skipped); `[p, q]` per level, or undefined.
   */
  textLevels(): [string, string][] | undefined {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) !== 91 /* [ */) return undefined;
    at++;
    const out: [string, string][] = [];
    if (text.charCodeAt(at) === 93 /* ] */) {
      this.at = at + 1;
      return out;
    }
    for (;;) {
      if (text.charCodeAt(at) !== 91 || text.charCodeAt(at + 1) !== 34) return undefined;
      const p0 = at + 2;
      const p1 = this.stringEnd(p0);
      if (p1 < 0 || text.charCodeAt(p1 + 1) !== 44 /* , */ || text.charCodeAt(p1 + 2) !== 34) return undefined;
      const q0 = p1 + 3;
      const q1 = this.stringEnd(q0);
      if (q1 < 0) return undefined;
      at = q1 + 1;
      // Further strings up to the level's closing bracket.
      while (text.charCodeAt(at) === 44) {
        if (text.charCodeAt(at + 1) !== 34) return undefined;
        const e = this.stringEnd(at + 2);
        if (e < 0) return undefined;
        at = e + 1;
      }
      if (text.charCodeAt(at) !== 93) return undefined;
      out.push([text.slice(p0, p1), detach(text.slice(q0, q1))]);
      const c = text.charCodeAt(at + 1);
      at += 2;
      if (c === 93) {
        this.at = at;
        return out;
      }
      if (c !== 44) return undefined;
    }
  }
}

/**
 * The last checksum a book's top levels gave, for venues that send a checksum with every message: a
 * checksum is a pure function of the `depth` best levels per side (scaled price and size text) and of
 * how the handler formats them (`key`: the price scale, written decimals, stored price texts), so when
 * those are all unchanged since the last computation its value is reused instead of recomputed. Most
 * level changes of a deep book fall outside the checksum's window.
 */
export class TopChecksumMemo {
  readonly depth: number;
  /**
   * The top levels as of the last `unchanged` (scaled prices and size texts, best first): bids at
   * `[0, nb)`, asks at `[depth, depth + na)`. Checksum builders read them instead of the book.
   */
  readonly prices: Float64Array;
  readonly sizes: string[];
  nb = -1;
  na = -1;
  private readonly scratchPrices: Float64Array;
  private readonly scratchSizes: string[];
  private key = Number.NaN;
  /** The checksum of the remembered top (valid after `unchanged` returned false and the caller set it). */
  value = 0;

  constructor(depth: number) {
    this.depth = depth;
    this.prices = new Float64Array(2 * depth);
    this.sizes = new Array<string>(2 * depth).fill('');
    this.scratchPrices = new Float64Array(depth);
    this.scratchSizes = new Array<string>(depth).fill('');
  }

  /**
   * Whether the book's top and `key` equal the remembered ones (then `value` is their checksum);
   * otherwise remembers them, and the caller computes the checksum and stores it in `value`.
   */
  unchanged(book: L2Book, key: number): boolean {
    const sameKey = key === this.key;
    this.key = key;
    const bids = this.side(book.bids, 0);
    const asks = this.side(book.asks, 1);
    return sameKey && bids && asks;
  }

  /** Clears the memory (the next `unchanged` is false). */
  reset(): void {
    this.key = Number.NaN;
    this.nb = -1;
    this.na = -1;
  }

  /** Reads the side's top into the memory; returns whether it equals what the memory held. */
  private side(side: BookSide, which: 0 | 1): boolean {
    const ps = this.scratchPrices;
    const ss = this.scratchSizes;
    const n = side.top(this.depth, ps, ss);
    const off = which === 0 ? 0 : this.depth;
    const n0 = which === 0 ? this.nb : this.na;
    if (which === 0) this.nb = n;
    else this.na = n;
    const prices = this.prices;
    const sizes = this.sizes;
    let i = 0;
    if (n === n0) {
      while (i < n && ps[i] === prices[off + i] && ss[i] === sizes[off + i]) i++;
      if (i === n) return true;
    }
    for (; i < n; i++) {
      prices[off + i] = ps[i] as number;
      sizes[off + i] = ss[i] as string;
    }
    return false;
  }
}

// ---- CRC-32 over concatenated fragments ----------------------------------------------------------------
//
// The venues' book checksums are the zlib CRC-32 of a text joined from per-level fragments, and most
// fragments are the same from one message to the next. The CRC register update over a byte string B is
// affine: after B, r' = Z_|B|(r) xor crc_B, where crc_B is B's update from a zero register and Z_n is
// the linear map "n zero bytes" (four 256-entry tables per length). So a fragment's crc_B and length are
// computed once and cached, and the checksum of a whole text costs four table lookups per fragment.

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** `ZERO_TABLES[n]`: Z_n as four 256-entry tables (byte j of the register in entries 256j..256j+255). */
const ZERO_TABLES: (Int32Array | undefined)[] = [];

function zeroTable(n: number): Int32Array {
  let z = ZERO_TABLES[n];
  if (z === undefined) {
    z = new Int32Array(1024);
    for (let j = 0; j < 4; j++) {
      for (let v = 0; v < 256; v++) {
        let r = v << (8 * j);
        for (let k = 0; k < n; k++) r = (CRC_TABLE[r & 0xff] as number) ^ (r >>> 8);
        z[256 * j + v] = r;
      }
    }
    ZERO_TABLES[n] = z;
  }
  return z;
}

/**
 * The CRC register after `s` (ASCII) from register `r`, or NaN when `s` has a character outside
 * ASCII (the caller then falls back to `zlib.crc32` over the UTF-8 text).
 */
export function crcUpdate(r: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return Number.NaN;
    r = (CRC_TABLE[(r ^ c) & 0xff] as number) ^ (r >>> 8);
  }
  return r;
}

/** The register after one ASCII byte `c`. */
export function crcByte(r: number, c: number): number {
  return (CRC_TABLE[(r ^ c) & 0xff] as number) ^ (r >>> 8);
}

/** The register after a fragment of `len` bytes whose update from a zero register is `crc0`. */
export function crcAppend(r: number, crc0: number, len: number): number {
  if (len === 0) return r;
  const z = zeroTable(len);
  return (
    (z[r & 0xff] as number) ^
    (z[256 + ((r >>> 8) & 0xff)] as number) ^
    (z[512 + ((r >>> 16) & 0xff)] as number) ^
    (z[768 + (r >>> 24)] as number) ^
    crc0
  );
}

/** The initial register of zlib's CRC-32; the checksum is `register ^ CRC_INIT` (`>>> 0` for unsigned). */
export const CRC_INIT = -1;

/** A checksum fragment: its CRC register update from a zero register, and its length in bytes. */
export interface CrcFragment {
  crc0: number;
  len: number;
}

/** Builds the fragment of one level (side 0 bids, 1 asks), or undefined for a text outside ASCII. */
export interface CrcFragmentSource {
  fragment(side: 0 | 1, price: number, size: string): CrcFragment | undefined;
  /**
   * Whether a fragment built earlier for this price and size still describes the level (false when the
   * text depends on more than price and size, and that changed).
   */
  current(side: 0 | 1, price: number, fragment: CrcFragment): boolean;
}

/**
 * The CRC of `bid0:ask0:bid1:ask1:...` over a book's top levels (OKX, Bitfinex), updated from the last
 * computation: a level at the same or a neighbouring position with the same price and size keeps its
 * fragment (a change shifts the levels below it by one), and the register after each pair is kept, so
 * the pairs above the first changed level are not recomputed at all.
 */
export class InterleavedCrc {
  private readonly depth: number;
  // Double-buffered: the last computation's levels and fragments (cur), and the one being built (next).
  private curPrices: Float64Array;
  private curSizes: string[];
  private curFrags: (CrcFragment | undefined)[];
  private nextPrices: Float64Array;
  private nextSizes: string[];
  private nextFrags: (CrcFragment | undefined)[];
  /** Register after pair k of the last computation. */
  private readonly regs: Int32Array;
  private nb = -1;
  private na = -1;

  constructor(depth: number) {
    this.depth = depth;
    this.curPrices = new Float64Array(2 * depth);
    this.nextPrices = new Float64Array(2 * depth);
    this.curSizes = new Array<string>(2 * depth).fill('');
    this.nextSizes = new Array<string>(2 * depth).fill('');
    this.curFrags = new Array<CrcFragment | undefined>(2 * depth).fill(undefined);
    this.nextFrags = new Array<CrcFragment | undefined>(2 * depth).fill(undefined);
    this.regs = new Int32Array(depth);
  }

  /** Forgets the last computation (its fragments no longer describe the levels' text). */
  invalidate(): void {
    this.nb = -1;
    this.na = -1;
  }

  /** The signed CRC-32 over `top`'s levels (as of its last `unchanged`), or undefined (see the source). */
  checksum(top: TopChecksumMemo, src: CrcFragmentSource): number | undefined {
    const nb = top.nb;
    const na = top.na;
    const fb = this.side(top, src, 0, nb, this.nb);
    const fa = fb < -1 ? fb : this.side(top, src, 1, na, this.na);
    if (fb < -1 || fa < -1) {
      this.invalidate();
      return undefined;
    }
    const start = this.nb < 0 ? 0 : Math.min(fb, fa);
    const d = this.depth;
    const frags = this.nextFrags;
    const regs = this.regs;
    let r = start === 0 ? CRC_INIT : (regs[start - 1] as number);
    let first = start === 0;
    const pairs = Math.max(nb, na);
    for (let k = start; k < pairs; k++) {
      if (k < nb) {
        const f = frags[k] as CrcFragment;
        if (!first) r = crcByte(r, 58 /* : */);
        r = crcAppend(r, f.crc0, f.len);
        first = false;
      }
      if (k < na) {
        const f = frags[d + k] as CrcFragment;
        if (!first) r = crcByte(r, 58);
        r = crcAppend(r, f.crc0, f.len);
        first = false;
      }
      regs[k] = r;
    }
    // The levels just built become the last computation.
    const p = this.curPrices;
    this.curPrices = this.nextPrices;
    this.nextPrices = p;
    const s = this.curSizes;
    this.curSizes = this.nextSizes;
    this.nextSizes = s;
    const f = this.curFrags;
    this.curFrags = this.nextFrags;
    this.nextFrags = f;
    this.nb = nb;
    this.na = na;
    return r ^ CRC_INIT;
  }

  /**
   * Fills the next buffers for one side; returns the first position whose level differs from the last
   * computation's (n when none), or -2 when a fragment could not be built. Both computations' levels are
   * sorted best first, so one walk over the last computation's levels finds every level kept (at any
   * shift of position) and reuses its fragment.
   */
  private side(top: TopChecksumMemo, src: CrcFragmentSource, which: 0 | 1, n: number, n0: number): number {
    const off = which === 0 ? 0 : this.depth;
    const prices = top.prices;
    const sizes = top.sizes;
    const cp = this.curPrices;
    const cs = this.curSizes;
    const cf = this.curFrags;
    const np = this.nextPrices;
    const ns = this.nextSizes;
    const nf = this.nextFrags;
    let first = -1;
    let q = 0; // the walk over the last computation's levels (side-relative)
    for (let i = 0; i < n; i++) {
      const j = off + i;
      const p = prices[j] as number;
      const s = sizes[j] as string;
      // Skip the old levels better than p (bids: higher prices; asks: lower).
      if (which === 0) while (q < n0 && (cp[off + q] as number) > p) q++;
      else while (q < n0 && (cp[off + q] as number) < p) q++;
      let f: CrcFragment | undefined;
      if (q < n0 && cp[off + q] === p && cs[off + q] === s) {
        f = cf[off + q];
        if (!src.current(which, p, f as CrcFragment)) f = undefined;
      }
      if (f === undefined || q !== i) {
        if (first < 0) first = i;
        if (f === undefined) {
          f = src.fragment(which, p, s);
          if (f === undefined) return -2;
        }
      }
      np[j] = p;
      ns[j] = s;
      nf[j] = f;
    }
    if (first >= 0) return first;
    return n0 < 0 ? 0 : Math.min(n, n0);
  }
}

// ---- flat deltas ------------------------------------------------------------------------------------------

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i); // as src/core/fixed.ts

/**
 * `parsePlain(text.slice(start, end), scale)` (src/core/fixed.ts) without the slice: the same value for
 * the same text, -1 for anything that is not unsigned plain decimal digits, NaN for a non-zero digit
 * beyond `scale`.
 */
export function plainAt(text: string, start: number, end: number, scale: number): number {
  let i = start;
  let m = 0;
  let c = 0;
  for (; i < end; i++) {
    c = text.charCodeAt(i) - 48;
    if (c >>> 0 > 9) break;
    m = m * 10 + c;
  }
  let f = 0;
  if (i < end) {
    if (c !== -2 /* . */) return -1;
    const intDigits = i - start;
    i++;
    if (intDigits === 0 && i === end) return -1;
    let zerosBeyond = true;
    for (; i < end; i++) {
      c = text.charCodeAt(i) - 48;
      if (c >>> 0 > 9) return -1;
      if (f < scale) {
        m = m * 10 + c;
        f++;
      } else if (c !== 0) zerosBeyond = false;
    }
    if (!zerosBeyond) return Number.NaN;
  } else if (end === start) {
    return -1;
  }
  const r = f === scale ? m : m * (POW10[scale - f] as number);
  return r > Number.MAX_SAFE_INTEGER ? -1 : r;
}

/**
 * One delta's levels as scanned from a frame: bids first, then asks, each as its price's offsets in the
 * frame text and its size text (detached). Reused from frame to frame: read it before the next scan.
 */
export class FlatLevels {
  text = '';
  /** Levels held, and how many of them (the first ones) are bids. */
  n = 0;
  nb = -1;
  private p0 = new Int32Array(64);
  private p1 = new Int32Array(64);
  private sizes: string[] = new Array<string>(64).fill('');
  private scaled = new Float64Array(64);
  private positive = new Uint8Array(64);

  reset(text: string): this {
    this.text = text;
    this.n = 0;
    this.nb = -1;
    return this;
  }

  push(p0: number, p1: number, size: string): void {
    const k = this.n;
    if (k === this.p0.length) this.grow();
    this.p0[k] = p0;
    this.p1[k] = p1;
    this.sizes[k] = size;
    this.n = k + 1;
  }

  /** Marks the levels pushed so far as the bids. */
  endBids(): void {
    this.nb = this.n;
  }

  /** Levels `[from, to)` as `[price, size]` texts (the JSON.parse path's shape). */
  tuples(from: number, to: number): RawLevel[] {
    const out: RawLevel[] = new Array(to - from);
    for (let k = from; k < to; k++) {
      out[k - from] = [this.text.slice(this.p0[k] as number, this.p1[k] as number), this.sizes[k] as string];
    }
    return out;
  }

  get bids(): RawLevel[] {
    return this.tuples(0, this.nb);
  }

  get asks(): RawLevel[] {
    return this.tuples(this.nb, this.n);
  }

  /**
   * `book.applyDelta(bids, asks)`, with the same result, errors and atomicity: every level is validated
   * (in applyDelta's order: price, then size, bids before asks) before any is applied, and a price the
   * plain-digits parse cannot take at the book's scale hands the whole delta to applyDelta.
   */
  apply(book: L2Book): void {
    const n = this.n;
    const nb = this.nb;
    const text = this.text;
    const scale = book.priceScale;
    const p0 = this.p0;
    const p1 = this.p1;
    const sizes = this.sizes;
    const scaled = this.scaled;
    const positive = this.positive;
    for (let k = 0; k < n; k++) {
      const p = plainAt(text, p0[k] as number, p1[k] as number, scale);
      if (!(p > 0)) {
        book.applyDelta(this.bids, this.asks);
        return;
      }
      scaled[k] = p;
      positive[k] = sizeIsPositive(sizes[k] as string) ? 1 : 0; // throws applyDelta's error for this size
    }
    const bids = book.side('bid');
    const asks = book.side('ask');
    for (let k = 0; k < n; k++) {
      (k < nb ? bids : asks).set(scaled[k] as number, positive[k] === 1 ? (sizes[k] as string) : null);
    }
    book.updates += n;
  }

  private grow(): void {
    const cap = this.p0.length * 2;
    const p0 = new Int32Array(cap);
    p0.set(this.p0);
    this.p0 = p0;
    const p1 = new Int32Array(cap);
    p1.set(this.p1);
    this.p1 = p1;
    this.scaled = new Float64Array(cap);
    this.positive = new Uint8Array(cap);
    for (let k = this.sizes.length; k < cap; k++) this.sizes.push('');
  }
}

// ---- fixed-depth books ------------------------------------------------------------------------------------

/**
 * `book.truncate(depth)` (the same levels remain, the same errors): when a side holds only a few levels
 * beyond `depth`, as after most deltas of a fixed-depth feed, they are removed one by one from the worst
 * end, which is several times cheaper than the truncate's block compaction.
 */
export function truncateBook(book: L2Book, depth: number): void {
  if (!Number.isInteger(depth) || depth < 0) {
    book.truncate(depth); // the typed error, or infinity (nothing to drop)
    return;
  }
  const xb = book.bids.length - depth;
  const xa = book.asks.length - depth;
  if (xb <= 0 && xa <= 0) return;
  if (xb > 8 || xa > 8) {
    book.truncate(depth);
    return;
  }
  dropWorst(book.bids, xb);
  dropWorst(book.asks, xa);
}

function dropWorst(side: BookSide, n: number): void {
  for (let k = 0; k < n; k++) side.set(side.priceAt(side.length - 1), null);
}
