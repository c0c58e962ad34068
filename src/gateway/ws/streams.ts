/**
 * One stream per channel (and depth, for book channels): the state last published to its subscribers, its
 * sequence number, and how to compute the next delta by reading the platform. Snapshots always show the
 * published state, so a snapshot at seq S followed by deltas S+1, S+2, ... rebuilds what every other
 * subscriber holds.
 */

import type { BookSide } from '../../book/book-side.ts';
import { ConsolidatedBook, type ConsolidatedLevel, type ExcludedVenue } from '../../book/consolidated-book.ts';
import type { L2Book } from '../../book/l2-book.ts';
import type { MarketDataSource } from '../source.ts';
import type { CandleInterval } from './protocol.ts';
import type { Tape } from './tape.ts';

/** What a stream publishes on a tick: nothing, a delta, or (after a resync) a fresh snapshot. */
export type Publication = { readonly type: 'delta' | 'snapshot'; readonly data: unknown } | undefined;

export interface StreamState {
  /** Data of a snapshot of the published state. */
  snapshot(): unknown;
  /** Reads the platform, updates the published state and returns what changed. */
  poll(nowMs: number): Publication;
}

export type Level = [price: string, size: string];

/** Levels that changed between two published top-N lists (size "0" deletes). */
export function diffLevels(before: readonly Level[], after: readonly Level[]): Level[] {
  const old = new Map<string, string>();
  for (const [p, s] of before) old.set(p, s);
  const out: Level[] = [];
  for (const [p, s] of after) {
    if (old.get(p) !== s) out.push([p, s]);
    old.delete(p);
  }
  for (const p of old.keys()) out.push([p, '0']);
  return out;
}

/**
 * One side's top-N as last read: scaled prices (best first), the venue's size text, and their canonical texts.
 * Comparing scaled prices and raw size text finds what changed without formatting every level on every tick.
 */
class TopLevels {
  n = 0;
  readonly prices: Float64Array;
  readonly rawSizes: string[] = [];
  readonly priceText: string[] = [];
  readonly sizeText: string[] = [];

  constructor(depth: number) {
    this.prices = new Float64Array(depth);
  }

  /** Reads the side's best levels (texts not filled). */
  read(side: BookSide, depth: number): void {
    this.n = side.top(depth, this.prices, this.rawSizes);
  }

  /** Fills every level's texts. */
  format(book: L2Book): void {
    for (let i = 0; i < this.n; i++) {
      this.priceText[i] = book.formatPrice(this.prices[i] as number);
      this.sizeText[i] = book.formatSize(this.rawSizes[i] as string);
    }
  }

  levels(): Level[] {
    const out: Level[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = [this.priceText[i] as string, this.sizeText[i] as string];
    return out;
  }
}

/**
 * `diffLevels(cur.levels(), next.levels())` for two reads of one side at one price scale, best first on both:
 * one merge walk; fills `next`'s texts, formatting only the levels it did not hold before.
 */
function diffTop(cur: TopLevels, next: TopLevels, bid: boolean, book: L2Book): Level[] {
  const out: Level[] = [];
  let removed: Level[] | undefined;
  let i = 0;
  let j = 0;
  while (i < cur.n || j < next.n) {
    const a = cur.prices[i] as number;
    const b = next.prices[j] as number;
    // < 0: the old level is better than every new one left (gone); > 0: the new one is new; 0: same price.
    const c = j >= next.n ? -1 : i >= cur.n ? 1 : a === b ? 0 : (bid ? a > b : a < b) ? -1 : 1;
    if (c < 0) {
      removed ??= [];
      removed.push([cur.priceText[i] as string, '0']);
      i++;
    } else if (c > 0) {
      const price = book.formatPrice(b);
      const size = book.formatSize(next.rawSizes[j] as string);
      next.priceText[j] = price;
      next.sizeText[j] = size;
      out.push([price, size]);
      j++;
    } else {
      const price = cur.priceText[i] as string;
      const raw = next.rawSizes[j] as string;
      let size = cur.sizeText[i] as string;
      if (raw !== cur.rawSizes[i]) {
        const before = size;
        size = book.formatSize(raw);
        if (size !== before) out.push([price, size]);
      }
      next.priceText[j] = price;
      next.sizeText[j] = size;
      i++;
      j++;
    }
  }
  if (removed !== undefined) for (const l of removed) out.push(l);
  return out;
}

export class BookStream implements StreamState {
  private readonly source: MarketDataSource;
  private readonly venue: string;
  private readonly symbol: string;
  private readonly depth: number;
  /** The published levels (`bids`, `asks`) and a second pair the next read goes into. */
  private bids: TopLevels;
  private asks: TopLevels;
  private nextBids: TopLevels;
  private nextAsks: TopLevels;
  /** The price scale the published levels' scaled prices are at. */
  private scale = 0;
  private status = 'syncing';
  /** Whether the published levels are the book's (it was in sync at the last read). */
  private served = false;
  private tsMs: number;

  constructor(source: MarketDataSource, venue: string, symbol: string, depth: number, nowMs: number) {
    this.source = source;
    this.venue = venue;
    this.symbol = symbol;
    this.depth = depth;
    this.tsMs = nowMs;
    this.bids = new TopLevels(depth);
    this.asks = new TopLevels(depth);
    this.nextBids = new TopLevels(depth);
    this.nextAsks = new TopLevels(depth);
    this.read();
  }

  /** Reads the book: true when it may be served. */
  private read(): boolean {
    const ref = this.source.book(this.venue, this.symbol);
    this.status = ref?.status ?? 'unsupported';
    this.served = ref?.inSync === true && ref.book !== undefined;
    if (!this.served || ref?.book === undefined) {
      this.bids.n = 0;
      this.asks.n = 0;
      return false;
    }
    this.publishAll(ref.book);
    return true;
  }

  /** Reads both sides of `book` in full into the published levels. */
  private publishAll(book: L2Book): void {
    this.bids.read(book.side('bid'), this.depth);
    this.asks.read(book.side('ask'), this.depth);
    this.bids.format(book);
    this.asks.format(book);
    this.scale = book.priceScale;
  }

  snapshot(): unknown {
    return { bids: this.bids.levels(), asks: this.asks.levels(), status: this.status, tsMs: this.tsMs };
  }

  poll(nowMs: number): Publication {
    const ref = this.source.book(this.venue, this.symbol);
    const status = ref?.status ?? 'unsupported';
    const inSync = ref?.inSync === true && ref.book !== undefined;
    const wasServed = this.served;
    if (!inSync || ref?.book === undefined) {
      if (status === this.status && !wasServed) return undefined;
      // Levels are no longer served: clients keep theirs as stale until the next snapshot.
      this.served = false;
      this.status = status;
      this.bids.n = 0;
      this.asks.n = 0;
      this.tsMs = nowMs;
      return { type: 'delta', data: { bids: [], asks: [], status, tsMs: nowMs } };
    }
    const book = ref.book;
    if (!wasServed || status !== this.status) {
      this.served = true;
      this.publishAll(book);
      this.status = status;
      this.tsMs = nowMs;
      return { type: 'snapshot', data: this.snapshot() };
    }
    const nb = this.nextBids;
    const na = this.nextAsks;
    nb.read(book.side('bid'), this.depth);
    na.read(book.side('ask'), this.depth);
    let db: Level[];
    let da: Level[];
    const rescaled = book.priceScale !== this.scale;
    if (!rescaled) {
      db = diffTop(this.bids, nb, true, book);
      da = diffTop(this.asks, na, false, book);
    } else {
      // The book's price scale grew: scaled prices are not comparable, texts are.
      nb.format(book);
      na.format(book);
      db = diffLevels(this.bids.levels(), nb.levels());
      da = diffLevels(this.asks.levels(), na.levels());
      this.scale = book.priceScale;
    }
    const changed = db.length > 0 || da.length > 0;
    if (!changed && !rescaled) return undefined;
    this.nextBids = this.bids;
    this.nextAsks = this.asks;
    this.bids = nb;
    this.asks = na;
    if (!changed) return undefined;
    this.tsMs = nowMs;
    return { type: 'delta', data: { bids: db, asks: da, tsMs: nowMs } };
  }
}

interface ConsolidatedRead {
  bids: ConsolidatedLevel[];
  asks: ConsolidatedLevel[];
  excluded: ExcludedVenue[];
}

const ZERO_LEVEL = (price: string): ConsolidatedLevel => ({ price, size: '0', venues: [] });

function diffConsolidated(before: readonly ConsolidatedLevel[], after: readonly ConsolidatedLevel[]) {
  const old = new Map<string, string>();
  for (const l of before) old.set(l.price, JSON.stringify(l));
  const out: ConsolidatedLevel[] = [];
  for (const l of after) {
    if (old.get(l.price) !== JSON.stringify(l)) out.push(l);
    old.delete(l.price);
  }
  for (const p of old.keys()) out.push(ZERO_LEVEL(p));
  return out;
}

export class ConsolidatedStream implements StreamState {
  private readonly source: MarketDataSource;
  private readonly symbol: string;
  private readonly depth: number;
  private state: ConsolidatedRead;
  private tsMs: number;

  constructor(source: MarketDataSource, symbol: string, depth: number, nowMs: number) {
    this.source = source;
    this.symbol = symbol;
    this.depth = depth;
    this.state = this.read();
    this.tsMs = nowMs;
  }

  private read(): ConsolidatedRead {
    const cb = new ConsolidatedBook(this.symbol);
    const excluded: ExcludedVenue[] = [];
    for (const ref of this.source.books()) {
      if (ref.symbol !== this.symbol) continue;
      if (ref.book === undefined) {
        excluded.push({ venue: ref.venue, status: ref.status });
        continue;
      }
      try {
        cb.addVenue({ venue: ref.venue, book: ref.book, inSync: ref.inSync, status: ref.status });
      } catch {
        excluded.push({ venue: ref.venue, status: 'unsupported' });
      }
    }
    const d = cb.depth(this.depth);
    return { bids: d.bids, asks: d.asks, excluded: [...d.excluded, ...excluded] };
  }

  private status(): string {
    return this.state.bids.length + this.state.asks.length > 0 ? 'in_sync' : 'syncing';
  }

  snapshot(): unknown {
    const s = this.state;
    return { bids: s.bids, asks: s.asks, excluded: s.excluded, status: this.status(), tsMs: this.tsMs };
  }

  poll(nowMs: number): Publication {
    const before = this.state;
    const beforeStatus = this.status();
    const next = this.read();
    const bids = diffConsolidated(before.bids, next.bids);
    const asks = diffConsolidated(before.asks, next.asks);
    const exChanged = JSON.stringify(before.excluded) !== JSON.stringify(next.excluded);
    if (bids.length === 0 && asks.length === 0 && !exChanged) return undefined;
    this.state = next;
    this.tsMs = nowMs;
    const status = this.status();
    const data: Record<string, unknown> = { bids, asks, tsMs: nowMs };
    if (exChanged) data.excluded = next.excluded;
    if (status !== beforeStatus) data.status = status;
    return { type: 'delta', data };
  }
}

export class TradesStream implements StreamState {
  private readonly tape: Tape;
  private readonly venue: string;
  private readonly symbol: string;

  constructor(tape: Tape, venue: string, symbol: string) {
    this.tape = tape;
    this.venue = venue;
    this.symbol = symbol;
    // The snapshot shows every trade so far: the first delta starts after it.
    tape.takeNewTrades(venue, symbol);
  }

  snapshot(): unknown {
    return { trades: this.tape.recentTrades(this.venue, this.symbol) };
  }

  poll(): Publication {
    const trades = this.tape.takeNewTrades(this.venue, this.symbol);
    return trades.length === 0 ? undefined : { type: 'delta', data: { trades } };
  }
}

export class CandlesStream implements StreamState {
  private readonly tape: Tape;
  private readonly venue: string;
  private readonly symbol: string;
  private readonly interval: CandleInterval;

  constructor(tape: Tape, venue: string, symbol: string, interval: CandleInterval) {
    this.tape = tape;
    this.venue = venue;
    this.symbol = symbol;
    this.interval = interval;
    tape.takeChangedCandles(venue, symbol, interval);
  }

  snapshot(): unknown {
    return { interval: this.interval, candles: this.tape.recentCandles(this.venue, this.symbol, this.interval) };
  }

  poll(): Publication {
    const candles = this.tape.takeChangedCandles(this.venue, this.symbol, this.interval);
    return candles.length === 0 ? undefined : { type: 'delta', data: { interval: this.interval, candles } };
  }
}

export class StatusStream implements StreamState {
  private readonly source: MarketDataSource;
  private text: string;
  private data: unknown;

  constructor(source: MarketDataSource, nowMs: number) {
    this.source = source;
    this.data = this.read(nowMs);
    this.text = JSON.stringify(this.data);
  }

  private read(nowMs: number): unknown {
    const s = this.source.status();
    if (s === undefined) return { tsMs: nowMs, venues: [], books: [] };
    return { tsMs: s.tsMs, venues: s.venues, books: s.books };
  }

  snapshot(): unknown {
    return this.data;
  }

  poll(nowMs: number): Publication {
    const s = this.source.status();
    if (s === undefined) return undefined;
    const data = this.read(nowMs);
    const text = JSON.stringify(data);
    if (text === this.text) return undefined;
    this.text = text;
    this.data = data;
    return { type: 'delta', data };
  }
}
