/**
 * One side of an L2 book.
 *
 * Prices are exact scaled integers held as `key = sign * price` (so both sides sort ascending with the best
 * level last); sizes are the venue's own decimal text, validated, so they are exact at any magnitude and
 * checksums can be computed from the text the venue sent.
 *
 * Levels live in sorted blocks of at most BLOCK entries, blocks ordered worst to best. Updates cluster near
 * the top of the book, so searches start from the best block and its best levels; an insert or delete moves
 * at most one block's entries, whatever the depth of the book, which keeps tail latency flat on deep books.
 *
 * Internal to `book/`: use `L2Book`.
 */

/** Levels per block. Small enough that moves inside a block are cheap, large enough to keep blocks few. */
const BLOCK = 64;
/** A block at or below this size is merged into a neighbour when their sum fits in half a block. */
const MERGE_BELOW = BLOCK >> 2;
/** How full `load` packs blocks, leaving room for inserts without immediate splits. */
const LOAD_FILL = (BLOCK * 3) >> 2;
/** Levels of the best block that `find` scans linearly before a binary search. */
const LINEAR_PROBE = 12;
/** Emptied blocks kept per side for reuse, so that splits on a busy book do not allocate. */
const POOL_MAX = 8;
/** Prices a change journal holds before it gives up and asks its reader for a full rescan. */
const JOURNAL_MAX = 4096;

class Block {
  readonly keys = new Float64Array(BLOCK);
  readonly sizes: string[] = new Array<string>(BLOCK).fill('');
  n = 0;
}

export class BookSide {
  /** +1 for bids (higher is better), -1 for asks (lower is better). */
  readonly sign: 1 | -1;
  /** Blocks ordered worst to best; never holds an empty block. */
  private blocks: Block[] = [];
  private count = 0;
  /** Block index found by the last `find`. */
  private fb = 0;
  /** Emptied blocks (every size slot '') ready for reuse. */
  private pool: Block[] = [];
  /** Prices set or dropped since the journal was last opened (null: no journal). */
  private journal: number[] | null = null;
  /** The side changed wholesale (load, clear, rescale) or the journal overflowed: its reader must rescan. */
  private journalLost = false;

  constructor(sign: 1 | -1) {
    this.sign = sign;
  }

  get length(): number {
    return this.count;
  }

  /** Price of the i-th best level (0 = best), scaled. Caller checks `i < length`. O(i / BLOCK). */
  priceAt(i: number): number {
    const blocks = this.blocks;
    let j = blocks.length - 1;
    let b = blocks[j] as Block;
    while (i >= b.n) {
      i -= b.n;
      b = blocks[--j] as Block;
    }
    return this.sign * (b.keys[b.n - 1 - i] as number);
  }

  /** Size text of the i-th best level (0 = best), as the venue wrote it. */
  sizeAt(i: number): string {
    const blocks = this.blocks;
    let j = blocks.length - 1;
    let b = blocks[j] as Block;
    while (i >= b.n) {
      i -= b.n;
      b = blocks[--j] as Block;
    }
    return b.sizes[b.n - 1 - i] as string;
  }

  /** Calls `fn(price, size)` for the best `limit` levels, best first; stops early when `fn` returns false. */
  visit(fn: (price: number, size: string) => boolean | undefined, limit = Number.POSITIVE_INFINITY): void {
    const blocks = this.blocks;
    let left = limit;
    for (let j = blocks.length - 1; j >= 0 && left > 0; j--) {
      const b = blocks[j] as Block;
      for (let i = b.n - 1; i >= 0 && left > 0; i--, left--) {
        if (fn(this.sign * (b.keys[i] as number), b.sizes[i] as string) === false) return;
      }
    }
  }

  /**
   * Copies the best `n` levels, best first, into `prices` (scaled) and `sizes` (venue text); returns how
   * many were copied (fewer when the side is shorter). One walk over the blocks, no callback: for checksums
   * that read the top of both sides on every message.
   */
  top(n: number, prices: Float64Array, sizes: string[]): number {
    const blocks = this.blocks;
    const sign = this.sign;
    let k = 0;
    for (let j = blocks.length - 1; j >= 0 && k < n; j--) {
      const b = blocks[j] as Block;
      const keys = b.keys;
      const bs = b.sizes;
      for (let i = b.n - 1; i >= 0 && k < n; i--, k++) {
        prices[k] = sign * (keys[i] as number);
        sizes[k] = bs[i] as string;
      }
    }
    return k;
  }

  /** Best price (scaled), or NaN when the side is empty. */
  bestPrice(): number {
    const b = this.blocks[this.blocks.length - 1];
    return b === undefined ? Number.NaN : this.sign * (b.keys[b.n - 1] as number);
  }

  /** Best level's size text, or undefined when the side is empty. */
  bestSize(): string | undefined {
    const b = this.blocks[this.blocks.length - 1];
    return b === undefined ? undefined : b.sizes[b.n - 1];
  }

  /**
   * Locates `key`: sets `fb` to the block and returns the index inside it when present, otherwise
   * `-(insertionIndex) - 1` inside block `fb`. The side must not be empty.
   */
  private find(key: number): number {
    const blocks = this.blocks;
    const last = blocks.length - 1;
    let j = last;
    let b = blocks[j] as Block;
    if ((b.keys[0] as number) > key) {
      // Gallop down over blocks for the last block whose first key is <= key (or block 0).
      let hi = j; // blocks[hi].keys[0] > key
      let step = 1;
      let lo = hi - step;
      while (lo >= 0 && ((blocks[lo] as Block).keys[0] as number) > key) {
        hi = lo;
        step <<= 1;
        lo = hi - step;
      }
      if (lo < 0) lo = 0;
      if (((blocks[lo] as Block).keys[0] as number) > key) {
        j = 0; // before everything: insert at the start of block 0
      } else {
        // blocks[lo].keys[0] <= key < blocks[hi].keys[0]
        while (hi - lo > 1) {
          const mid = (lo + hi) >>> 1;
          if (((blocks[mid] as Block).keys[0] as number) <= key) lo = mid;
          else hi = mid;
        }
        j = lo;
      }
      b = blocks[j] as Block;
    }
    this.fb = j;
    const keys = b.keys;
    let hi = b.n;
    if (j === last) {
      // The best block: scan its best levels first.
      const stop = hi > LINEAR_PROBE ? hi - LINEAR_PROBE : 0;
      for (let i = hi - 1; i >= stop; i--) {
        const k = keys[i] as number;
        if (k <= key) return k === key ? i : -i - 2;
      }
      if (stop === 0) return -1;
      hi = stop;
    }
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid] as number;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid;
      else return mid;
    }
    return -lo - 1;
  }

  /**
   * Sets the size text at `price` (scaled, positive); `null` removes the level.
   * Returns the previous size text, or null when there was no level.
   */
  set(price: number, size: string | null): string | null {
    const journal = this.journal;
    if (journal !== null) {
      if (journal.length < JOURNAL_MAX) journal.push(price);
      else this.journalLost = true;
    }
    const key = this.sign * price;
    if (this.count === 0) {
      if (size === null) return null;
      const b = this.newBlock();
      b.keys[0] = key;
      b.sizes[0] = size;
      b.n = 1;
      this.blocks.push(b);
      this.count = 1;
      return null;
    }
    const idx = this.find(key);
    const j = this.fb;
    const b = this.blocks[j] as Block;
    if (idx >= 0) {
      const prev = b.sizes[idx] as string;
      if (size === null) this.removeAt(j, b, idx);
      else b.sizes[idx] = size;
      return prev;
    }
    if (size !== null) this.insertAt(j, b, -idx - 1, key, size);
    return null;
  }

  /** Size text at `price` (scaled), or undefined when absent. */
  sizeOf(price: number): string | undefined {
    if (this.count === 0) return undefined;
    const idx = this.find(this.sign * price);
    return idx >= 0 ? (this.blocks[this.fb] as Block).sizes[idx] : undefined;
  }

  /** An empty block, reused from the pool when there is one. */
  private newBlock(): Block {
    return this.pool.pop() ?? new Block();
  }

  /** Returns a block whose size slots are all '' to the pool. */
  private release(b: Block): void {
    b.n = 0;
    if (this.pool.length < POOL_MAX) this.pool.push(b);
  }

  private insertAt(j: number, b: Block, i: number, key: number, size: string): void {
    this.count++;
    if (b.n === BLOCK) {
      const last = j === this.blocks.length - 1;
      if (i === BLOCK && last) {
        // A new best beyond a full best block: start a new block rather than leaving two half blocks.
        const c = this.newBlock();
        c.keys[0] = key;
        c.sizes[0] = size;
        c.n = 1;
        this.blocks.push(c);
        return;
      }
      if (i === 0 && j === 0) {
        const c = this.newBlock();
        c.keys[0] = key;
        c.sizes[0] = size;
        c.n = 1;
        this.blocks.unshift(c);
        return;
      }
      // Split in half: the upper half moves to a new block after b.
      const half = BLOCK >> 1;
      const c = this.newBlock();
      const bk = b.keys;
      const bs = b.sizes;
      const ck = c.keys;
      const cs = c.sizes;
      for (let k = half; k < BLOCK; k++) {
        ck[k - half] = bk[k] as number;
        cs[k - half] = bs[k] as string;
        bs[k] = '';
      }
      c.n = BLOCK - half;
      b.n = half;
      this.blocks.splice(j + 1, 0, c);
      if (i > half) {
        b = c;
        i -= half;
      }
    }
    const keys = b.keys;
    const sizes = b.sizes;
    for (let k = b.n; k > i; k--) {
      keys[k] = keys[k - 1] as number;
      sizes[k] = sizes[k - 1] as string;
    }
    keys[i] = key;
    sizes[i] = size;
    b.n++;
  }

  private removeAt(j: number, b: Block, i: number): void {
    this.count--;
    const keys = b.keys;
    const sizes = b.sizes;
    const n = --b.n;
    for (let k = i; k < n; k++) {
      keys[k] = keys[k + 1] as number;
      sizes[k] = sizes[k + 1] as string;
    }
    sizes[n] = '';
    if (n === 0) {
      this.blocks.splice(j, 1);
      this.release(b);
      return;
    }
    if (n <= MERGE_BELOW) {
      // Merge with the lower neighbour when both fit in half a block, so blocks stay dense.
      const lower = this.blocks[j - 1];
      if (lower !== undefined && lower.n + n <= BLOCK >> 1) {
        const lk = lower.keys;
        const ls = lower.sizes;
        const base = lower.n;
        for (let k = 0; k < n; k++) {
          lk[base + k] = keys[k] as number;
          ls[base + k] = sizes[k] as string;
          sizes[k] = '';
        }
        lower.n = base + n;
        this.blocks.splice(j, 1);
        this.release(b);
      }
    }
  }

  /**
   * Replaces the side with `n` levels given as parallel arrays in any order; of duplicate prices the last
   * wins, and a null size (a delete) as the last word leaves the price out. Packs blocks three-quarters full.
   */
  load(prices: Float64Array, sizes: (string | null)[], n: number): void {
    this.journalLost = true;
    const order: number[] = new Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const sign = this.sign;
    // Sort by key, then by input position so that the last duplicate is kept.
    order.sort((a, b) => sign * (prices[a] as number) - sign * (prices[b] as number) || a - b);
    // Keep the last word on each price, and only when it is not a delete.
    let kept = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k] as number;
      const next = order[k + 1];
      if (next !== undefined && prices[next] === prices[i]) continue; // a later duplicate wins
      const size = sizes[i];
      if (size === null || size === undefined) continue; // the last word on this price is a delete
      order[kept++] = i;
    }
    this.blocks = [];
    this.count = kept;
    // The partial block goes at the worst end, so that the best block, where updates land, is well filled.
    let cur: Block | undefined;
    let room = kept % LOAD_FILL || LOAD_FILL;
    for (let k = 0; k < kept; k++) {
      if (cur === undefined || room === 0) {
        if (cur !== undefined) room = LOAD_FILL;
        cur = this.newBlock();
        this.blocks.push(cur);
      }
      const i = order[k] as number;
      cur.keys[cur.n] = sign * (prices[i] as number);
      cur.sizes[cur.n] = sizes[i] as string;
      cur.n++;
      room--;
    }
  }

  /** Keeps only the `depth` best levels. */
  truncate(depth: number): void {
    const blocks = this.blocks;
    if (this.journal !== null && this.count > depth) this.noteWorst(this.count - depth);
    let drop = 0;
    while (drop < blocks.length && this.count - (blocks[drop] as Block).n >= depth) {
      const b = blocks[drop] as Block;
      this.count -= b.n;
      const sizes = b.sizes;
      for (let i = 0; i < b.n; i++) sizes[i] = '';
      this.release(b);
      drop++;
    }
    if (drop > 0) blocks.splice(0, drop);
    const extra = this.count - depth;
    if (extra > 0) {
      const b = blocks[0] as Block;
      const n = b.n;
      // Plain loops: copyWithin/fill on these small arrays cost more than the moves themselves.
      const keys = b.keys;
      const sizes = b.sizes;
      for (let i = extra; i < n; i++) {
        keys[i - extra] = keys[i] as number;
        sizes[i - extra] = sizes[i] as string;
      }
      for (let i = n - extra; i < n; i++) sizes[i] = '';
      b.n = n - extra;
      this.count = depth;
    }
  }

  clear(): void {
    this.journalLost = true;
    this.blocks = [];
    this.count = 0;
  }

  /** Journals the prices of the `n` worst levels (about to be dropped). */
  private noteWorst(n: number): void {
    const j = this.journal as number[];
    if (j.length + n > JOURNAL_MAX) {
      this.journalLost = true;
      return;
    }
    const sign = this.sign;
    for (const b of this.blocks) {
      for (let i = 0; i < b.n && n > 0; i++, n--) j.push(sign * (b.keys[i] as number));
      if (n === 0) return;
    }
  }

  /**
   * Starts a change journal, or empties the open one: from now on every price whose level is set, removed
   * or dropped by `truncate` is recorded, so one reader (the book event tap) can find what changed without
   * walking the book. One reader per side: opening it again is how that reader says it has caught up.
   */
  openJournal(): void {
    if (this.journal === null) this.journal = [];
    else this.journal.length = 0;
    this.journalLost = false;
  }

  /**
   * The prices touched since `openJournal` (in touch order, possibly repeated; a price may be back at its
   * old size), or null when there is no journal or it cannot tell (the side was loaded, cleared or rescaled,
   * or more than JOURNAL_MAX prices were touched): the reader must then compare the whole side.
   */
  journalPrices(): readonly number[] | null {
    return this.journalLost ? null : this.journal;
  }

  /** Multiplies every price by `factor` (an exact power of ten). */
  scaleKeys(factor: number): void {
    this.journalLost = true;
    for (const b of this.blocks) for (let i = 0; i < b.n; i++) b.keys[i] = (b.keys[i] as number) * factor;
  }

  /** Largest absolute key (for range checks before rescaling). */
  maxAbsKey(): number {
    if (this.count === 0) return 0;
    const lo = this.blocks[0] as Block;
    const hi = this.blocks[this.blocks.length - 1] as Block;
    return Math.max(Math.abs(lo.keys[0] as number), Math.abs(hi.keys[hi.n - 1] as number));
  }

  /** Bytes held by the block arrays (typed arrays and size slots; not the size strings themselves). */
  byteLength(): number {
    return this.blocks.length * BLOCK * 16;
  }

  /**
   * Checks the structural invariants (for tests): sorted keys, non-empty blocks, count, and no size text
   * kept alive by a free slot or a pooled block.
   */
  checkInvariants(): void {
    let total = 0;
    let prev = Number.NEGATIVE_INFINITY;
    for (const b of this.blocks) {
      if (b.n <= 0 || b.n > BLOCK) throw new Error(`block size ${b.n}`);
      for (let i = 0; i < b.n; i++) {
        const k = b.keys[i] as number;
        if (!(k > prev)) throw new Error(`keys not strictly ascending at ${k}`);
        if ((b.sizes[i] as string).length === 0) throw new Error('empty size text');
        prev = k;
      }
      for (let i = b.n; i < BLOCK; i++) if (b.sizes[i] !== '') throw new Error('a free slot still holds a size');
      total += b.n;
    }
    if (total !== this.count) throw new Error(`count ${this.count} != ${total}`);
    for (const b of this.pool) {
      if (b.n !== 0 || b.sizes.some((s) => s !== '')) throw new Error('a pooled block is not empty');
    }
  }
}
