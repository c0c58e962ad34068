/**
 * Periodic book snapshots: the store keeps its own L2Book per (venue, symbol) from the events it is given
 * and, every `intervalMs` of receive time, emits the book's `depth` best levels as a snapshot, so a
 * historical book is rebuilt from a nearby snapshot instead of the whole delta history. No timers: the
 * events' receive times drive it. A delta that the book rejects (or one before any snapshot) leaves the
 * book unusable until the next venue snapshot; that never reaches the caller.
 */
import { L2Book } from '../book/l2-book.ts';
import type { BookDeltaEvent, BookSnapshotEvent, Level } from '../domain/index.ts';
import type { PeriodicSnapshot } from './types.ts';

export interface SnapshotOptions {
  /** Receive-time ms between periodic snapshots of one book (default 60,000); 0 disables them. */
  readonly intervalMs?: number;
  /** Levels per side kept (default: the whole book, which keeps `bookAt` exact at every depth). */
  readonly depth?: number;
}

interface Tracked {
  readonly book: L2Book;
  lastMs: number;
  usable: boolean;
}

export class Snapshotter {
  private readonly intervalMs: number;
  private readonly depth: number | null;
  private readonly books = new Map<string, Tracked>();
  rejected = 0;

  constructor(options: SnapshotOptions = {}) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.depth = options.depth ?? null;
  }

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  onSnapshot(e: BookSnapshotEvent): void {
    const key = `${e.venue}|${e.symbol}`;
    let t = this.books.get(key);
    if (t === undefined) {
      t = { book: new L2Book(), lastMs: e.tsRecvMs, usable: false };
      this.books.set(key, t);
    }
    try {
      t.book.applySnapshot(e.bids, e.asks);
      t.usable = true;
      t.lastMs = e.tsRecvMs;
    } catch {
      t.usable = false;
      this.rejected++;
    }
  }

  /** Applies a delta; returns a snapshot to store when one is due. */
  onDelta(e: BookDeltaEvent): PeriodicSnapshot | undefined {
    const t = this.books.get(`${e.venue}|${e.symbol}`);
    if (t === undefined || !t.usable) return undefined;
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (const c of e.changes) (c.side === 'bid' ? bids : asks).push([c.price, c.size]);
    try {
      t.book.applyDelta(bids, asks);
    } catch {
      t.usable = false;
      this.rejected++;
      return undefined;
    }
    if (e.tsRecvMs - t.lastMs < this.intervalMs) return undefined;
    t.lastMs = e.tsRecvMs;
    const n = this.depth ?? Number.POSITIVE_INFINITY;
    const side = (s: 'bid' | 'ask'): Level[] => t.book.levels(s, n).map((l) => [l.price, l.size] as const);
    return {
      type: 'periodic',
      depth: this.depth,
      snapshot: {
        venue: e.venue,
        symbol: e.symbol,
        tsEventMs: e.tsEventMs,
        tsRecvMs: e.tsRecvMs,
        recvSeq: e.recvSeq,
        seq: e.lastSeq,
        bids: side('bid'),
        asks: side('ask'),
      },
    };
  }
}
