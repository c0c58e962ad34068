/**
 * One stream per channel (and depth, for book channels): the state last published to its subscribers, its
 * sequence number, and how to compute the next delta by reading the platform. Snapshots always show the
 * published state, so a snapshot at seq S followed by deltas S+1, S+2, ... rebuilds what every other
 * subscriber holds.
 */
import { ConsolidatedBook, type ConsolidatedLevel, type ExcludedVenue } from '../../book/consolidated-book.ts';
import type { BookLevel } from '../../book/l2-book.ts';
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

function levelsOf(levels: readonly BookLevel[]): Level[] {
  return levels.map((l) => [l.price, l.size]);
}

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

export class BookStream implements StreamState {
  private readonly source: MarketDataSource;
  private readonly venue: string;
  private readonly symbol: string;
  private readonly depth: number;
  private bids: Level[] = [];
  private asks: Level[] = [];
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
    this.read();
  }

  /** Reads the book: true when it may be served. */
  private read(): boolean {
    const ref = this.source.book(this.venue, this.symbol);
    this.status = ref?.status ?? 'unsupported';
    this.served = ref?.inSync === true && ref.book !== undefined;
    if (!this.served || ref?.book === undefined) {
      this.bids = [];
      this.asks = [];
      return false;
    }
    this.bids = levelsOf(ref.book.levels('bid', this.depth));
    this.asks = levelsOf(ref.book.levels('ask', this.depth));
    return true;
  }

  snapshot(): unknown {
    return { bids: this.bids, asks: this.asks, status: this.status, tsMs: this.tsMs };
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
      this.bids = [];
      this.asks = [];
      this.tsMs = nowMs;
      return { type: 'delta', data: { bids: [], asks: [], status, tsMs: nowMs } };
    }
    const bids = levelsOf(ref.book.levels('bid', this.depth));
    const asks = levelsOf(ref.book.levels('ask', this.depth));
    if (!wasServed || status !== this.status) {
      this.served = true;
      this.bids = bids;
      this.asks = asks;
      this.status = status;
      this.tsMs = nowMs;
      return { type: 'snapshot', data: this.snapshot() };
    }
    const db = diffLevels(this.bids, bids);
    const da = diffLevels(this.asks, asks);
    if (db.length === 0 && da.length === 0) return undefined;
    this.bids = bids;
    this.asks = asks;
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
