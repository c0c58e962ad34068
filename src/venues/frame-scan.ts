/**
 * Shared pieces of the venues' fast paths (binance/fast-depth.ts and {bybit,okx,kraken,bitfinex}/fast-*.ts):
 * - `FrameScanner`, a strict cursor over a JSON frame's text: it reads only the exact layout a venue
 *   sends (no whitespace, known key order, plain integers, strings without escapes or control
 *   characters) and reports anything else as a failure, so the caller declines and the JSON.parse path
 *   decides. Strings are slices of the frame; level text that outlives the frame goes through `detach`.
 * - `TopChecksumMemo`, the last checksum of a book's top levels, reused while they are unchanged.
 * - `truncateBook`, `L2Book.truncate` for the usual case of a few levels beyond a fixed depth.
 * - `FlatLevels`, a delta's levels as offsets into the frame (no per-level arrays, no price strings, no
 *   size string for a delete) with plain prices and sizes already read, applied to a book with exactly
 *   `L2Book.applyDelta`'s result, errors and atomicity.
 */
import type { BookSide } from '../book/book-side.ts';
import type { L2Book, RawLevel } from '../book/l2-book.ts';
import { MAX_DECIMAL_TEXT, parsePlainAt, sizeIsPositive } from '../core/fixed.ts';

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
    const out: [string, string][] = [];
    return this.scanLevels(undefined, out, false) ? out : undefined;
  }

  /**
   * `[["p","q"],...]` at the cursor (exactly two strings per level) appended to `out` as one side
   * (`out.endBids()` separates bids from asks); false when the text is not in that layout.
   */
  flatLevels(out: FlatLevels): boolean {
    return this.scanLevels(out, undefined, false);
  }

  /**
   * `[["p","q",...],...]` at the cursor: levels of two or more strings (the extra ones, such as OKX's
   * order counts or Kraken v1's timestamps, are skipped); `[p, q]` per level, or undefined.
   */
  textLevels(): [string, string][] | undefined {
    const out: [string, string][] = [];
    return this.scanLevels(undefined, out, true) ? out : undefined;
  }

  /** `textLevels`'s layout appended to `out` as one side, like `flatLevels`; false when not in that layout. */
  flatTextLevels(out: FlatLevels): boolean {
    return this.scanLevels(out, undefined, true);
  }

  /**
   * The one level-list scanner behind the four above (every side of every venue): `[["p","q"],...]` at the
   * cursor, with further strings per level when `extra`, appended to `out` or, as `[price, size]` texts, to
   * `list`. Strings must have no escape or control character. For `out` it reads on the way what applying
   * a level needs, so that no character is read twice: a price of plain digits (`12.50`, at most 15
   * digits) as its digits and fraction length, and a size in `sizeIsPositive`'s plain form (digits with at
   * most one dot) as zero or positive, with its written fraction length; anything else is left for the
   * general parsers.
   */
  private scanLevels(out: FlatLevels | undefined, list: [string, string][] | undefined, extra: boolean): boolean {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) !== 91 /* [ */) return false;
    at++;
    if (text.charCodeAt(at) === 93 /* ] */) {
      this.at = at + 1;
      return true;
    }
    for (;;) {
      if (text.charCodeAt(at) !== 91 || text.charCodeAt(at + 1) !== 34 /* " */) return false;
      // Price: digits [. digits]. (charCodeAt past the end is NaN, which every comparison rejects.)
      const p0 = at + 2;
      let i = p0;
      let c = text.charCodeAt(i);
      let m = 0;
      while (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        c = text.charCodeAt(++i);
      }
      let digits = i - p0;
      let pf = digits === 0 ? -1 : 0;
      if (c === 46 /* . */ && pf === 0) {
        const f0 = ++i;
        c = text.charCodeAt(i);
        while (c >= 48 && c <= 57) {
          m = m * 10 + (c - 48);
          c = text.charCodeAt(++i);
        }
        pf = i === f0 ? -1 : i - f0;
        digits += i - f0;
      }
      let p1 = i;
      if (c !== 34) {
        p1 = this.stringEnd(i);
        if (p1 < 0) return false;
        pf = -1;
      } else if (digits > 15) {
        pf = -1; // beyond exact doubles: plainAt decides
      }
      if (text.charCodeAt(p1 + 1) !== 44 /* , */ || text.charCodeAt(p1 + 2) !== 34) return false;
      // Size: digits with at most one dot.
      const q0 = p1 + 3;
      let j = q0;
      let or = 0;
      let dot = -1;
      c = text.charCodeAt(j);
      for (;;) {
        if (c >= 48 && c <= 57) or |= c - 48;
        else if (c === 46 && dot < 0) dot = j;
        else break;
        c = text.charCodeAt(++j);
      }
      let q1 = j;
      let cls = SIZE_CHECK;
      let sf = -1;
      if (c !== 34) {
        q1 = this.stringEnd(j);
        if (q1 < 0) return false;
      } else {
        const len = j - q0;
        if (len > (dot < 0 ? 0 : 1) && len <= MAX_DECIMAL_TEXT) {
          cls = or === 0 ? SIZE_ZERO : SIZE_POSITIVE;
          sf = dot < 0 ? 0 : j - dot - 1;
        }
      }
      at = q1 + 1;
      if (extra) {
        // Further strings up to the level's closing bracket.
        while (text.charCodeAt(at) === 44) {
          if (text.charCodeAt(at + 1) !== 34) return false;
          // Digits and dots (timestamps) first, two comparisons a character; then the general check.
          let e = at + 2;
          c = text.charCodeAt(e);
          while (c >= 46 && c <= 57) c = text.charCodeAt(++e);
          if (c !== 34) {
            e = this.stringEnd(e);
            if (e < 0) return false;
          }
          at = e + 1;
        }
      }
      if (text.charCodeAt(at) !== 93) return false;
      if (out !== undefined) out.pushScanned(p0, p1, q0, q1, m, pf, cls, sf);
      else (list as [string, string][]).push([text.slice(p0, p1), detach(text.slice(q0, q1))]);
      c = text.charCodeAt(at + 1);
      at += 2;
      if (c === 93) {
        this.at = at;
        return true;
      }
      if (c !== 44) return false;
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

// ---- flat deltas ------------------------------------------------------------------------------------------

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i); // as src/core/fixed.ts

/** `parsePlain` of src/core/fixed.ts over `text[start, end)` without the slice. */
export const plainAt = parsePlainAt;

/**
 * A scanned size's class (`FlatLevels.pushScanned`): zero (a delete) or positive, read from its plain form
 * (digits with at most one dot, at least one digit, at most MAX_DECIMAL_TEXT characters), or to be checked
 * by `sizeIsPositive` when applied.
 */
export const SIZE_ZERO = 0;
export const SIZE_POSITIVE = 1;
export const SIZE_CHECK = 2;

/**
 * One delta's levels as scanned from a frame: one side, then the other (bids first, or asks first after
 * `reset(text, true)`), each as its price's and its size's offsets in the frame text (a size is sliced,
 * and detached, only when a book keeps it), plus what the scanner read on the way (a plain price's digits
 * and fraction length, a plain size's class and fraction length). Reused from frame to frame: read it
 * before the next scan.
 */
export class FlatLevels {
  text = '';
  /** Levels held. */
  n = 0;
  /** How many of them (the first ones) belong to the first side, or -1 before `endBids`/`endAsks`. */
  split = -1;
  /** Whether the first side is the asks. */
  asksFirst = false;
  /** The most fraction digits written in a price and in a size, or -1 when some level's are unknown. */
  maxPriceDecimals = 0;
  maxSizeDecimals = 0;
  private p0 = new Int32Array(64);
  private p1 = new Int32Array(64);
  /** The size's offsets in the text (sliced only when needed: a delete's never is), or q0 = -1 and `sizes`. */
  private q0 = new Int32Array(64);
  private q1 = new Int32Array(64);
  private sizes: string[] = new Array<string>(64).fill('');
  /** A plain price's digits as an integer, and its fraction length (-1: not plain, parse the text). */
  private mant = new Float64Array(64);
  private pfrac = new Int8Array(64);
  /** A size's class (SIZE_*) and its written fraction length (-1 unless plain). */
  private scls = new Uint8Array(64);
  private sfrac = new Int8Array(64);
  private scaled = new Float64Array(64);
  private positive = new Uint8Array(64);
  /**
   * Whether the last `apply` set every level itself (then `scaledPrice` gives each level's scaled price at
   * the book's scale), rather than handing the delta to `applyDelta` or throwing.
   */
  appliedScaled = false;

  reset(text: string, asksFirst = false): this {
    this.text = text;
    this.n = 0;
    this.split = -1;
    this.asksFirst = asksFirst;
    this.maxPriceDecimals = 0;
    this.maxSizeDecimals = 0;
    return this;
  }

  /** A level whose price is `text.slice(p0, p1)`. */
  push(p0: number, p1: number, size: string): void {
    const k = this.n;
    this.pushScanned(p0, p1, -1, -1, 0, -1, SIZE_CHECK, -1);
    this.sizes[k] = size;
  }

  /** A level with what the scanner read (FrameScanner's `scanLevels`). */
  pushScanned(
    p0: number,
    p1: number,
    q0: number,
    q1: number,
    mant: number,
    pfrac: number,
    scls: number,
    sfrac: number,
  ): void {
    const k = this.n;
    if (k === this.p0.length) this.grow();
    this.p0[k] = p0;
    this.p1[k] = p1;
    this.q0[k] = q0;
    this.q1[k] = q1;
    this.mant[k] = mant;
    this.pfrac[k] = pfrac;
    this.scls[k] = scls;
    this.sfrac[k] = sfrac;
    this.n = k + 1;
    if (pfrac < 0 || this.maxPriceDecimals < 0) this.maxPriceDecimals = -1;
    else if (pfrac > this.maxPriceDecimals) this.maxPriceDecimals = pfrac;
    if (sfrac < 0 || this.maxSizeDecimals < 0) this.maxSizeDecimals = -1;
    else if (sfrac > this.maxSizeDecimals) this.maxSizeDecimals = sfrac;
  }

  /** Marks the levels pushed so far as the bids (the first side, after `reset(text)`). */
  endBids(): void {
    this.split = this.n;
  }

  /** Marks the levels pushed so far as the asks (the first side, after `reset(text, true)`). */
  endAsks(): void {
    this.split = this.n;
  }

  /** Levels `[from, to)` as `[price, size]` texts (the JSON.parse path's shape). */
  tuples(from: number, to: number): RawLevel[] {
    const out: RawLevel[] = new Array(to - from);
    for (let k = from; k < to; k++) {
      out[k - from] = [this.text.slice(this.p0[k] as number, this.p1[k] as number), this.sizeText(k)];
    }
    return out;
  }

  get bids(): RawLevel[] {
    return this.asksFirst ? this.tuples(this.split, this.n) : this.tuples(0, this.split);
  }

  get asks(): RawLevel[] {
    return this.asksFirst ? this.tuples(0, this.split) : this.tuples(this.split, this.n);
  }

  /** Level k's price text. */
  priceText(k: number): string {
    return this.text.slice(this.p0[k] as number, this.p1[k] as number);
  }

  /** Level k's size text. */
  sizeText(k: number): string {
    const q0 = this.q0[k] as number;
    return q0 < 0 ? (this.sizes[k] as string) : detach(this.text.slice(q0, this.q1[k] as number));
  }

  /** Level k's price's written fraction digits when it is plain digits (trailing zeros included), else -1. */
  priceDecimals(k: number): number {
    return this.pfrac[k] as number;
  }

  /** Level k's size's written fraction digits when it is plain digits (trailing zeros included), else -1. */
  sizeDecimals(k: number): number {
    return this.sfrac[k] as number;
  }

  /**
   * `book.applyDelta(bids, asks)`, with the same result, errors and atomicity: every level is validated
   * (in applyDelta's order: price, then size, bids before asks) before any is applied, and whatever the
   * plain forms do not cover (a price the plain-digits parse cannot take at the book's scale, and with
   * asks first a size to check) hands the whole delta to applyDelta.
   */
  apply(book: L2Book): void {
    this.appliedScaled = false;
    const n = this.n;
    const text = this.text;
    const scale = book.priceScale;
    const p0 = this.p0;
    const p1 = this.p1;
    const mant = this.mant;
    const pfrac = this.pfrac;
    const scls = this.scls;
    const scaled = this.scaled;
    const positive = this.positive;
    for (let k = 0; k < n; k++) {
      const f = pfrac[k] as number;
      let p: number;
      if (f < 0) {
        p = plainAt(text, p0[k] as number, p1[k] as number, scale);
      } else if (f <= scale) {
        // plainAt's value: the same digits times the same power of ten.
        p = (mant[k] as number) * (POW10[scale - f] as number);
        if (p > Number.MAX_SAFE_INTEGER) p = -1;
      } else {
        // Digits beyond the scale must be zeros (else plainAt's NaN). m < 10^15 and d = 10^j are exact, so
        // m / d is exact when d divides m, and otherwise at least 1/d from an integer, far more than the
        // rounding error (under m * 2^-53 / d): an integral quotient means d divides m.
        const q = (mant[k] as number) / (POW10[f - scale] as number);
        p = Math.floor(q) === q ? q : Number.NaN;
      }
      if (!(p > 0)) {
        book.applyDelta(this.bids, this.asks);
        return;
      }
      scaled[k] = p;
      const c = scls[k] as number;
      if (c !== SIZE_CHECK) {
        positive[k] = c;
      } else if (this.asksFirst) {
        book.applyDelta(this.bids, this.asks); // its validation order is not this one
        return;
      } else {
        positive[k] = sizeIsPositive(this.sizeText(k)) ? 1 : 0; // throws applyDelta's error for this size
      }
    }
    const first = this.asksFirst ? book.asks : book.bids;
    const second = this.asksFirst ? book.bids : book.asks;
    const split = this.split;
    for (let k = 0; k < n; k++) {
      (k < split ? first : second).set(scaled[k] as number, positive[k] === 1 ? this.sizeText(k) : null);
    }
    book.updates += n;
    this.appliedScaled = true;
  }

  /** Level k's scaled price as the last `apply` set it (only when `appliedScaled`). */
  scaledPrice(k: number): number {
    return this.scaled[k] as number;
  }

  /**
   * Whether level k's price text is the canonical text of its value (`L2Book.formatPrice`'s form: digits
   * with no redundant leading zero and, with a dot, at least one fraction digit and no trailing zero),
   * read in the frame without slicing it.
   */
  priceIsCanonical(k: number): boolean {
    const text = this.text;
    const s = this.p0[k] as number;
    const e = this.p1[k] as number;
    const f = this.pfrac[k] as number;
    if (f >= 0) {
      // Plain digits, with a dot only when f > 0 (then at least one digit on each side of it).
      if (text.charCodeAt(s) === 48 /* 0 */ && e - s > 1 && text.charCodeAt(s + 1) !== 46 /* . */) return false;
      return f === 0 || text.charCodeAt(e - 1) !== 48;
    }
    return canonicalAt(text, s, e);
  }

  private grow(): void {
    const cap = this.p0.length * 2;
    const p0 = new Int32Array(cap);
    p0.set(this.p0);
    this.p0 = p0;
    const p1 = new Int32Array(cap);
    p1.set(this.p1);
    this.p1 = p1;
    const q0 = new Int32Array(cap);
    q0.set(this.q0);
    this.q0 = q0;
    const q1 = new Int32Array(cap);
    q1.set(this.q1);
    this.q1 = q1;
    const mant = new Float64Array(cap);
    mant.set(this.mant);
    this.mant = mant;
    const pfrac = new Int8Array(cap);
    pfrac.set(this.pfrac);
    this.pfrac = pfrac;
    const scls = new Uint8Array(cap);
    scls.set(this.scls);
    this.scls = scls;
    const sfrac = new Int8Array(cap);
    sfrac.set(this.sfrac);
    this.sfrac = sfrac;
    this.scaled = new Float64Array(cap);
    this.positive = new Uint8Array(cap);
    for (let k = this.sizes.length; k < cap; k++) this.sizes.push('');
  }
}

/**
 * Whether `text.slice(start, end)` is a canonical decimal text (`L2Book.formatPrice`'s form): digits with
 * no redundant leading zero and, if it has a dot, at least one fraction digit and no trailing zero.
 */
export function canonicalAt(text: string, start: number, end: number): boolean {
  const n = end - start;
  if (n <= 0) return false;
  if (text.charCodeAt(start) === 48 /* 0 */ && n > 1 && text.charCodeAt(start + 1) !== 46 /* . */) return false;
  let dot = -1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0 || i === start) return false;
      dot = i;
    } else if (c < 48 || c > 57) {
      return false;
    }
  }
  return dot < 0 || (dot < end - 1 && text.charCodeAt(end - 1) !== 48);
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
