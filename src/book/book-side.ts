/**
 * One side of an L2 book: price levels as scaled integers in two parallel Float64Arrays, kept sorted by
 * `key = sign * price` ascending so that the best level is always at the top end (`hi - 1`). Updates
 * cluster near the top of the book, so searching gallops down from the top and inserts and deletes move
 * only the few levels above them. The live range is `[lo, hi)`; both ends can move, so trimming the worst
 * levels of a fixed-depth feed is O(1).
 *
 * Internal to `book/`: use `L2Book`.
 */

const INITIAL_CAPACITY = 64;
/** Moves of up to this many levels are plain loops: cheaper than two `copyWithin` calls. */
const SMALL_MOVE = 24;
/** Levels from the top that `find` scans linearly before galloping. */
const LINEAR_PROBE = 16;

export class BookSide {
  /** +1 for bids (higher is better), -1 for asks (lower is better). */
  readonly sign: 1 | -1;
  keys: Float64Array;
  sizes: Float64Array;
  lo = 0;
  hi = 0;

  constructor(sign: 1 | -1, capacity = INITIAL_CAPACITY) {
    this.sign = sign;
    const cap = Math.max(8, capacity);
    this.keys = new Float64Array(cap);
    this.sizes = new Float64Array(cap);
    this.lo = cap >> 2;
    this.hi = this.lo;
  }

  get length(): number {
    return this.hi - this.lo;
  }

  /** Price of the i-th best level (0 = best), scaled. Caller checks `i < length`. */
  priceAt(i: number): number {
    return this.sign * (this.keys[this.hi - 1 - i] as number);
  }

  /** Size of the i-th best level (0 = best), scaled. */
  sizeAt(i: number): number {
    return this.sizes[this.hi - 1 - i] as number;
  }

  /** Best price (scaled), or NaN when the side is empty. */
  bestPrice(): number {
    return this.hi > this.lo ? this.sign * (this.keys[this.hi - 1] as number) : Number.NaN;
  }

  bestSize(): number {
    return this.hi > this.lo ? (this.sizes[this.hi - 1] as number) : Number.NaN;
  }

  /**
   * Index of `key` in the arrays when present; otherwise `-(insertionIndex) - 1`.
   * Scans the best levels linearly, then gallops down and binary searches the bracket.
   */
  find(key: number): number {
    const keys = this.keys;
    const lo0 = this.lo;
    let hi = this.hi;
    // Most updates land among the best levels: probe those linearly (predictable, cache-friendly).
    const stop = Math.max(hi - LINEAR_PROBE, lo0);
    for (let i = hi - 1; i >= stop; i--) {
      const k = keys[i] as number;
      if (k <= key) return k === key ? i : -i - 2;
    }
    if (stop === lo0) return -lo0 - 1;
    hi = stop + 1;
    // keys[hi-1] > key. Gallop: find lo with keys[lo] <= key.
    let step = 1;
    let lo = hi - 1 - step;
    while (lo >= lo0 && (keys[lo] as number) > key) {
      hi = lo + 1;
      step <<= 1;
      lo = hi - 1 - step;
    }
    if (lo < lo0) lo = lo0;
    // Invariant: keys[hi-1] > key; answer in [lo, hi-1].
    hi -= 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid] as number;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid;
      else return mid;
    }
    return -lo - 1;
  }

  /** Sets the size at `price` (scaled, positive); size 0 removes the level. Returns the previous size (0 if none). */
  set(price: number, size: number): number {
    const key = this.sign * price;
    const idx = this.find(key);
    if (idx >= 0) {
      const prev = this.sizes[idx] as number;
      if (size === 0) this.removeAt(idx);
      else this.sizes[idx] = size;
      return prev;
    }
    if (size !== 0) this.insertAt(-idx - 1, key, size);
    return 0;
  }

  /** Size at `price` (scaled), 0 when absent. */
  sizeOf(price: number): number {
    const idx = this.find(this.sign * price);
    return idx >= 0 ? (this.sizes[idx] as number) : 0;
  }

  private insertAt(idx: number, key: number, size: number): void {
    const keys = this.keys;
    const sizes = this.sizes;
    const cap = keys.length;
    const above = this.hi - idx;
    const below = idx - this.lo;
    if (this.hi < cap && (above <= below || this.lo === 0)) {
      if (above > SMALL_MOVE) {
        keys.copyWithin(idx + 1, idx, this.hi);
        sizes.copyWithin(idx + 1, idx, this.hi);
      } else {
        for (let i = this.hi; i > idx; i--) {
          keys[i] = keys[i - 1] as number;
          sizes[i] = sizes[i - 1] as number;
        }
      }
      keys[idx] = key;
      sizes[idx] = size;
      this.hi++;
      return;
    }
    if (this.lo > 0) {
      if (below > SMALL_MOVE) {
        keys.copyWithin(this.lo - 1, this.lo, idx);
        sizes.copyWithin(this.lo - 1, this.lo, idx);
      } else {
        for (let i = this.lo - 1; i < idx - 1; i++) {
          keys[i] = keys[i + 1] as number;
          sizes[i] = sizes[i + 1] as number;
        }
      }
      this.lo--;
      keys[idx - 1] = key;
      sizes[idx - 1] = size;
      return;
    }
    this.grow();
    this.insertAt(idx + this.lo, key, size);
  }

  private removeAt(idx: number): void {
    const keys = this.keys;
    const sizes = this.sizes;
    const above = this.hi - 1 - idx;
    const below = idx - this.lo;
    if (above <= below) {
      if (above > SMALL_MOVE) {
        keys.copyWithin(idx, idx + 1, this.hi);
        sizes.copyWithin(idx, idx + 1, this.hi);
      } else {
        for (let i = idx; i < this.hi - 1; i++) {
          keys[i] = keys[i + 1] as number;
          sizes[i] = sizes[i + 1] as number;
        }
      }
      this.hi--;
    } else {
      keys.copyWithin(this.lo + 1, this.lo, idx);
      sizes.copyWithin(this.lo + 1, this.lo, idx);
      this.lo++;
    }
  }

  /** Doubles the capacity, leaving a quarter of headroom below the live range. Shifts `lo` and `hi`. */
  private grow(): void {
    const n = this.hi - this.lo;
    const cap = this.keys.length * 2;
    const lo = (cap - n) >> 2;
    const keys = new Float64Array(cap);
    const sizes = new Float64Array(cap);
    keys.set(this.keys.subarray(this.lo, this.hi), lo);
    sizes.set(this.sizes.subarray(this.lo, this.hi), lo);
    this.keys = keys;
    this.sizes = sizes;
    this.lo = lo;
    this.hi = lo + n;
  }

  /** Keeps only the `depth` best levels. */
  truncate(depth: number): void {
    if (this.hi - this.lo > depth) this.lo = this.hi - depth;
  }

  clear(): void {
    this.lo = this.keys.length >> 2;
    this.hi = this.lo;
  }

  /** Multiplies every price (or size) by `factor` (an exact power of ten). */
  scaleKeys(factor: number): void {
    for (let i = this.lo; i < this.hi; i++) this.keys[i] = (this.keys[i] as number) * factor;
  }

  scaleSizes(factor: number): void {
    for (let i = this.lo; i < this.hi; i++) this.sizes[i] = (this.sizes[i] as number) * factor;
  }

  /** Largest absolute key (for range checks before rescaling). */
  maxAbsKey(): number {
    if (this.hi === this.lo) return 0;
    return Math.max(Math.abs(this.keys[this.lo] as number), Math.abs(this.keys[this.hi - 1] as number));
  }

  maxSize(): number {
    let m = 0;
    for (let i = this.lo; i < this.hi; i++) if ((this.sizes[i] as number) > m) m = this.sizes[i] as number;
    return m;
  }

  /** Bytes held by the arrays (for memory benchmarks). */
  byteLength(): number {
    return this.keys.byteLength + this.sizes.byteLength;
  }
}
