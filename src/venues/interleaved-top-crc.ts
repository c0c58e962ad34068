/**
 * The book checksum OKX and Bitfinex define: zlib CRC-32 of the top `depth` levels interleaved
 * `bid0:ask0:bid1:ask1:...` (a side that runs out stops contributing), each level written as a price part
 * then a size part, joined by `:`. Kept per book and brought up to date from the last computation:
 *
 * - each level's fragment `:price:size` is reduced to its CRC update from a zero register and its length
 *   (combined with `crcAppend`, four table lookups per fragment); the price part's update is cached per
 *   price, so a new size costs only its own characters (four at a time);
 * - one walk per side over the book's top finds the levels kept since the last computation (at any shift
 *   of position: both are sorted best first), reuses their fragments, and finds the first position that
 *   differs; with the handler's report of its changes (`touched`) the walk starts at the first position
 *   they can have reached, and a side without changes is not read at all;
 * - the register after each pair is kept, so the pairs above the first changed position are not
 *   recombined;
 * - when the only change is a new size at an unmoved level (the common delta), that level is updated in
 *   place and the text below it is not recombined either: the register update is affine, so the new
 *   checksum is the last one corrected by the level's difference carried over the bytes after it.
 *
 * Every fragment starts with its `:` separator; the text itself does not, so the computation starts from
 * the register that one `:` turns into the CRC-32 initial register (`COLON_INIT`).
 */
import type { BookSide } from '../book/book-side.ts';
import type { L2Book } from '../book/l2-book.ts';
import { CRC_INIT, crcAppend, crcByte } from './crc32-combine.ts';

const COLON = 58;

/**
 * The register R with `crcByte(R, ':') === CRC_INIT`. One CRC step maps the register's low byte and the
 * input byte through a table whose entries differ in their top byte, so the step can be inverted.
 */
const COLON_INIT = ((): number => {
  for (let idx = 0; idx < 256; idx++) {
    // crcByte(R, c) = T[(R ^ c) & 0xff] ^ (R >>> 8): the table index follows from the top byte, then R.
    const t = crcByte(idx ^ COLON, COLON); // T[idx]
    if (t >>> 24 !== CRC_INIT >>> 24) continue;
    const r = ((CRC_INIT ^ t) << 8) | (idx ^ COLON);
    if (crcByte(r, COLON) === CRC_INIT) return r;
  }
  throw new Error('unreachable: the CRC-32 step is invertible');
})();

/**
 * Slicing-by-4 tables: `T[k][n]` is the register after byte n followed by k zero bytes, from a zero
 * register (`T[0]` is the usual byte table), so four bytes cost four independent lookups.
 */
const T = ((): Int32Array[] => {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) t0[n] = crcByte(0, n);
  const ts = [t0];
  for (let k = 1; k < 4; k++) {
    const prev = ts[k - 1] as Int32Array;
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = crcByte(prev[n] as number, 0);
    ts.push(t);
  }
  return ts;
})();
const T0 = T[0] as Int32Array;
const T1 = T[1] as Int32Array;
const T2 = T[2] as Int32Array;
const T3 = T[3] as Int32Array;

/** `crcUpdate`: the register after the ASCII text `s` from `r`, or NaN when `s` is not ASCII. */
function crcText(r: number, s: string): number {
  const n = s.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return Number.NaN;
    r ^= c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    r =
      (T3[r & 0xff] as number) ^
      (T2[(r >>> 8) & 0xff] as number) ^
      (T1[(r >>> 16) & 0xff] as number) ^
      (T0[r >>> 24] as number);
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return Number.NaN;
    r = (T0[(r ^ c) & 0xff] as number) ^ (r >>> 8);
  }
  return r;
}

/** Price-part fragments cached per side before the cache starts over (levels near the top recur). */
const PREFIX_CACHE_MAX = 4096;

/** The CRC update (from a zero register) and length of `:` + a level's price part. */
interface Prefix {
  readonly crc: number;
  readonly len: number;
}

/** One side's top levels as of a computation, best first, with their fragments. */
class SideTop {
  readonly prices: Float64Array;
  readonly sizes: string[];
  readonly crcs: Int32Array;
  readonly lens: Int32Array;
  /** The price part's update and length (`Prefix`) of each level, reused when only its size changes. */
  readonly preCrcs: Int32Array;
  readonly preLens: Int32Array;
  /** Levels held; -1 when nothing is remembered. */
  n = -1;

  constructor(depth: number) {
    this.prices = new Float64Array(depth);
    this.sizes = new Array<string>(depth).fill('');
    this.crcs = new Int32Array(depth);
    this.lens = new Int32Array(depth);
    this.preCrcs = new Int32Array(depth);
    this.preLens = new Int32Array(depth);
  }
}

/**
 * One per book. Subclasses say how a level's price is written (`pricePart`: the text before the size,
 * ending with the `:` between price and size); the size part is the book's size text, or `sizePart` of it
 * when the constructor is given one (a plain function, so the hot loop makes one monomorphic call).
 *
 * A handler that changes the book one `L2Book.set` at a time may report what it does between two
 * checksums: each change (`touched`), each truncation (`truncated`) and any replacement or clearing of the
 * book (`bookReplaced`). Then a side with no change is not read again, and a changed side is compared
 * only from the first position the changes can have reached. As a safety net the report is trusted only
 * while the book's update counter moved by exactly the changes reported since the last checksum.
 */
export abstract class InterleavedTopCrc {
  readonly depth: number;
  // Double-buffered per side (0 bids, 1 asks): the last computation's levels and the ones being read.
  private readonly cur: [SideTop, SideTop];
  private readonly next: [SideTop, SideTop];
  /** Register after pair k of the last computation, for k below `regsValid`. */
  private readonly regs: Int32Array;
  private regsValid = 0;
  /** The register after the last computation's whole text (NaN: none to build on). */
  private lastReg = Number.NaN;
  /**
   * Per side, what the last `side` call found: -2 nothing changed, k >= 0 only the size text at position
   * k changed (same prices, same positions), -1 anything else.
   */
  private readonly single = new Int32Array(2);
  /** The fragment (CRC update and length) the level named by `single` had before its size changed. */
  private oldCrc = 0;
  private oldLen = 0;
  private readonly prefixes: [Map<number, Prefix>, Map<number, Prefix>] = [new Map(), new Map()];
  private key = Number.NaN;
  private bookScale = -1;
  /** `book.updates` after the last computation, and the changes reported since. */
  private bookUpdates = Number.NaN;
  private reported = 0;
  /** The best price reported changed per side since the last computation (NaN: none). */
  private readonly bestChanged = new Float64Array([Number.NaN, Number.NaN]);
  /** The worst price reported changed per side since the last computation (NaN: none). */
  private readonly worstChanged = new Float64Array([Number.NaN, Number.NaN]);
  /** The smallest depth the book was truncated to since the last computation. */
  private truncatedTo = Number.POSITIVE_INFINITY;

  private readonly sizePart: ((size: string) => string) | undefined;

  constructor(depth: number, sizePart?: (size: string) => string) {
    this.depth = depth;
    this.sizePart = sizePart;
    this.cur = [new SideTop(depth), new SideTop(depth)];
    this.next = [new SideTop(depth), new SideTop(depth)];
    this.regs = new Int32Array(depth);
  }

  /** The price part of a level (side 0 bids, 1 asks), up to and including the `:` before the size. */
  protected abstract pricePart(side: 0 | 1, price: number): string;

  /** Forgets everything computed (the next checksum reads every level afresh). */
  invalidate(): void {
    this.cur[0].n = -1;
    this.cur[1].n = -1;
    this.prefixes[0].clear();
    this.prefixes[1].clear();
    this.bookUpdates = Number.NaN;
    this.regsValid = 0;
    this.lastReg = Number.NaN;
  }

  /** Reports one `L2Book.set` (or `setScaled`) just applied to the book at this scaled price. */
  touched(side: 0 | 1, price: number): void {
    this.reported++;
    const b = this.bestChanged[side] as number;
    if (Number.isNaN(b) || (side === 0 ? price > b : price < b)) this.bestChanged[side] = price;
    const w = this.worstChanged[side] as number;
    if (Number.isNaN(w) || (side === 0 ? price < w : price > w)) this.worstChanged[side] = price;
  }

  /** Reports that the book was just truncated to `depth` levels per side. */
  truncated(depth: number): void {
    if (depth < this.truncatedTo) this.truncatedTo = depth;
  }

  /** Reports that the book was replaced or cleared (the next checksum reads every level). */
  bookReplaced(): void {
    this.bookUpdates = Number.NaN;
  }

  /**
   * The signed checksum of the book's top levels. `key` names everything besides the levels' scaled
   * prices, size texts and the book's price scale that the text depends on (stored price texts): when it
   * or the scale changes, everything is recomputed. Undefined when a text is outside ASCII (the venue
   * hashes UTF-8: use the text path).
   */
  protected compute(book: L2Book, key: number): number | undefined {
    if (key !== this.key || book.priceScale !== this.bookScale) {
      this.invalidate();
      this.key = key;
      this.bookScale = book.priceScale;
    }
    const tracked = book.updates === this.bookUpdates + this.reported;
    const fb = this.side(book.bids, 0, tracked);
    const fa = fb < -1 ? fb : this.side(book.asks, 1, tracked);
    this.bookUpdates = book.updates;
    this.reported = 0;
    this.truncatedTo = Number.POSITIVE_INFINITY;
    this.bestChanged[0] = Number.NaN;
    this.bestChanged[1] = Number.NaN;
    this.worstChanged[0] = Number.NaN;
    this.worstChanged[1] = Number.NaN;
    if (fa < -1) {
      this.invalidate();
      return undefined;
    }
    const bids = this.cur[0];
    const asks = this.cur[1];
    const nb = bids.n;
    const na = asks.n;
    const pairs = Math.max(nb, na);
    if (pairs === 0) {
      this.regsValid = 0;
      this.lastReg = Number.NaN;
      return 0; // CRC-32 of the empty text
    }
    const s0 = this.single[0] as number;
    const s1 = this.single[1] as number;
    const last = this.lastReg;
    if (!Number.isNaN(last)) {
      if (s0 === -2 && s1 === -2) return ~last; // nothing changed: the last checksum
      if ((s0 >= 0 && s1 === -2) || (s1 >= 0 && s0 === -2)) {
        const r = this.oneSizeChanged(s0 >= 0 ? 0 : 1, s0 >= 0 ? s0 : s1, last);
        if (!Number.isNaN(r)) return ~r;
      }
    }
    const start = Math.min(fb, fa, this.regsValid);
    const regs = this.regs;
    let r = start === 0 ? COLON_INIT : (regs[start - 1] as number);
    const bc = bids.crcs;
    const bl = bids.lens;
    const ac = asks.crcs;
    const al = asks.lens;
    for (let k = start; k < pairs; k++) {
      if (k < nb) r = crcAppend(r, bc[k] as number, bl[k] as number);
      if (k < na) r = crcAppend(r, ac[k] as number, al[k] as number);
      regs[k] = r;
    }
    this.regsValid = pairs;
    this.lastReg = regs[pairs - 1] as number;
    return ~this.lastReg;
  }

  /**
   * The register after the whole text when only the size text of level `k` of side `which` changed since
   * the last computation (whose register was `last`), or NaN when the kept registers do not reach it.
   * The text after that level is the same, and the register update is affine: two registers differing by
   * d before the same L bytes differ by Z_L(d) after them. So the new register is `last` xor Z_L of the
   * difference the level's new fragment makes, and the pairs below it are not recombined (their kept
   * registers are stale from there: `regsValid`).
   */
  private oneSizeChanged(which: 0 | 1, k: number, last: number): number {
    if (k > this.regsValid) return Number.NaN;
    const regs = this.regs;
    const bids = this.cur[0];
    const asks = this.cur[1];
    const nb = bids.n;
    const na = asks.n;
    const now = this.cur[which];
    let before = k === 0 ? COLON_INIT : (regs[k - 1] as number);
    if (which === 1 && k < nb) before = crcAppend(before, bids.crcs[k] as number, bids.lens[k] as number);
    const after = crcAppend(before, now.crcs[k] as number, now.lens[k] as number);
    let d = after ^ crcAppend(before, this.oldCrc, this.oldLen);
    // Bytes after the level: the rest of pair k, then every later pair.
    let rest = which === 0 && k < na ? (asks.lens[k] as number) : 0;
    for (let j = k + 1; j < nb; j++) rest += bids.lens[j] as number;
    for (let j = k + 1; j < na; j++) rest += asks.lens[j] as number;
    for (; rest > 256; rest -= 256) d = crcAppend(d, 0, 256);
    d = crcAppend(d, 0, rest);
    regs[k] = which === 0 && k < na ? crcAppend(after, asks.crcs[k] as number, asks.lens[k] as number) : after;
    this.regsValid = k + 1;
    this.lastReg = last ^ d;
    return this.lastReg;
  }

  /**
   * Brings one side's top (`cur`) up to date with its fragments, reusing the last computation's fragment
   * of a level whose price has the same size text; returns the first position that differs from the last
   * computation (its length when none), or -2 when a fragment is outside ASCII. With `tracked`, the
   * positions better than every reported change are known to be unchanged: a side without a reported
   * change and with the same length is not read at all.
   */
  private side(side: BookSide, which: 0 | 1, tracked: boolean): number {
    const old = this.cur[which];
    const n0 = old.n;
    const depth = this.depth;
    const len = side.length;
    this.single[which] = -1;
    let from = 0; // positions before it are unchanged
    // Levels worse than every reported change are the last computation's, in order (NaN: not known).
    let worst = Number.NaN;
    if (tracked && n0 >= 0) {
      worst = this.worstChanged[which] as number;
      const best = this.bestChanged[which] as number;
      const op = old.prices;
      if (!Number.isNaN(best)) {
        if (which === 0) while (from < n0 && (op[from] as number) > best) from++;
        else while (from < n0 && (op[from] as number) < best) from++;
      } else {
        from = n0;
      }
      if (from > this.truncatedTo) from = this.truncatedTo;
      // A changed length (truncation, or fewer levels than the depth before) changes the tail.
      const n = Math.min(len, depth);
      if (n !== n0 && from > n) from = n;
      if (n !== n0 && from > n0) from = n0;
      if (from === n0 && n === n0) {
        this.single[which] = -2;
        return n0;
      }
      // Every change on this side was to one price, still at its place in the top: only its size text
      // can differ, so that one level is brought up to date in place.
      if (
        best === worst &&
        n === n0 &&
        from < n0 &&
        this.truncatedTo >= n0 &&
        op[from] === best &&
        side.priceAt(from) === best
      ) {
        const s = side.sizeAt(from);
        if (s === old.sizes[from]) {
          this.single[which] = -2;
          return n0;
        }
        const part = this.sizePart === undefined ? s : this.sizePart(s);
        const crc = crcText(old.preCrcs[from] as number, part);
        if (Number.isNaN(crc)) return -2;
        this.oldCrc = old.crcs[from] as number;
        this.oldLen = old.lens[from] as number;
        old.sizes[from] = s;
        old.crcs[from] = crc;
        old.lens[from] = (old.preLens[from] as number) + part.length;
        this.single[which] = from;
        return from;
      }
    }
    const now = this.next[which];
    const np = now.prices;
    const ns = now.sizes;
    const n = side.top(depth, np, ns);
    now.n = n;
    const op = old.prices;
    const os = old.sizes;
    const oc = old.crcs;
    const ol = old.lens;
    const nc = now.crcs;
    const nl = now.lens;
    const sizePart = this.sizePart;
    const npc = now.preCrcs;
    const npl = now.preLens;
    const opc = old.preCrcs;
    const opl = old.preLens;
    for (let i = 0; i < from; i++) {
      nc[i] = oc[i] as number;
      nl[i] = ol[i] as number;
      npc[i] = opc[i] as number;
      npl[i] = opl[i] as number;
    }
    let first = -1;
    let q = from; // the walk over the last computation's levels
    // Whether a level moved, appeared or left (prices not the same, position by position), and the size
    // changes at an unmoved level: their count and the last one's position.
    let shifted = n !== n0;
    let sizeChanges = 0;
    let sizeChangedAt = -1;
    for (let i = from; i < n; i++) {
      const p = np[i] as number;
      const s = ns[i] as string;
      // Skip the old levels better than p (bids: higher prices; asks: lower).
      if (which === 0) while (q < n0 && (op[q] as number) > p) q++;
      else while (q < n0 && (op[q] as number) < p) q++;
      if ((which === 0 ? p < worst : p > worst) && q < n0 && op[q] === p && os[q] === s) {
        // Past every change: the rest of the old levels follow in the same order, so their fragments are
        // taken over without comparing; levels beyond them are new to the top (the loop goes on).
        if (q !== i) {
          shifted = true;
          if (first < 0) first = i;
        }
        const m = Math.min(n - i, n0 - q);
        for (let k = 0; k < m; k++) {
          nc[i + k] = oc[q + k] as number;
          nl[i + k] = ol[q + k] as number;
          npc[i + k] = opc[q + k] as number;
          npl[i + k] = opl[q + k] as number;
        }
        i += m - 1;
        q += m;
        continue;
      }
      let pc: number;
      let pl: number;
      if (q < n0 && op[q] === p) {
        pc = opc[q] as number;
        pl = opl[q] as number;
        if (os[q] === s) {
          nc[i] = oc[q] as number;
          nl[i] = ol[q] as number;
          npc[i] = pc;
          npl[i] = pl;
          if (q !== i) {
            shifted = true;
            if (first < 0) first = i;
          }
          continue;
        }
        if (q === i) {
          sizeChanges++;
          sizeChangedAt = i;
          this.oldCrc = oc[i] as number;
          this.oldLen = ol[i] as number;
        } else {
          shifted = true;
        }
      } else {
        shifted = true;
        const pre = this.prefix(which, p);
        if (pre === undefined) return -2;
        pc = pre.crc;
        pl = pre.len;
      }
      if (first < 0) first = i;
      const part = sizePart === undefined ? s : sizePart(s);
      const crc = crcText(pc, part);
      if (Number.isNaN(crc)) return -2;
      nc[i] = crc;
      nl[i] = pl + part.length;
      npc[i] = pc;
      npl[i] = pl;
    }
    this.next[which] = old;
    this.cur[which] = now;
    if (!shifted && n0 >= 0) this.single[which] = sizeChanges === 0 ? -2 : sizeChanges === 1 ? sizeChangedAt : -1;
    if (first >= 0) return first;
    if (n0 < 0) return 0;
    return Math.min(n, n0);
  }

  private prefix(which: 0 | 1, p: number): Prefix | undefined {
    const cache = this.prefixes[which];
    let pre = cache.get(p);
    if (pre === undefined) {
      const t = this.pricePart(which, p);
      const crc = crcText(crcByte(0, COLON), t);
      if (Number.isNaN(crc)) return undefined;
      if (cache.size >= PREFIX_CACHE_MAX) cache.clear();
      pre = { crc, len: 1 + t.length };
      cache.set(p, pre);
    }
    return pre;
  }
}
