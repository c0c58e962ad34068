/**
 * One book as the orderbook service rebuilds it from the ingestion stream (src/services/book-events.ts):
 * snapshots, deltas and statuses of one instrument, which arrive on different topics and therefore in no
 * guaranteed order between topics. The stream's sequence numbers order them:
 *
 * - a snapshot newer than what the book holds replaces it and puts it in sync; an older one is ignored;
 * - a delta whose `prevSeq` is the book's sequence is applied; one already covered is ignored; one from
 *   further ahead is held (bounded) until the chain reaches it, and in an in-sync book it is a gap: the
 *   book is cleared and marked stale until the next snapshot;
 * - a `stale`/`failed` status newer than the book clears it and marks it stale.
 *
 * A book that is not in sync holds no levels, so it can never be served as if it were.
 */
import { L2Book } from '../book/l2-book.ts';
import type { BookDeltaEvent, BookSnapshotEvent, MarketEvent, StatusEvent } from '../domain/events.ts';

export type ServedStatus = 'syncing' | 'in_sync' | 'stale';

/** What one event did to the book. */
export type ApplyResult = 'applied' | 'ignored' | 'held' | 'stale';

export interface ServedBookOptions {
  /** Deltas held while waiting for the chain or a snapshot (default 10,000); beyond, the oldest are dropped. */
  readonly maxHeld?: number;
  /** Called for every event applied to the book, in order (deltas drained from the held ones too). */
  readonly onApplied?: (event: BookSnapshotEvent | BookDeltaEvent) => void;
}

export class ServedBook {
  readonly venue: string;
  readonly symbol: string;
  readonly book = new L2Book();
  status: ServedStatus = 'syncing';
  reason = 'waiting for a snapshot';
  /** Sequence of the last applied event; null before the first snapshot. */
  seq: number | null = null;
  /** Newest sequence that made the book stale. */
  staleAt = -1;
  /** Newest sequence of any event seen for this book (applied, held or ignored). */
  maxSeen = -1;
  updates = 0;
  gaps = 0;
  /** Times the book was rebuilt from a snapshot after losing sync. */
  resyncs = 0;
  /** Held deltas dropped because too many were held. */
  dropped = 0;
  readonly #held = new Map<number, BookDeltaEvent>();
  readonly #maxHeld: number;
  readonly #onApplied: ((event: BookSnapshotEvent | BookDeltaEvent) => void) | undefined;

  constructor(venue: string, symbol: string, options: ServedBookOptions = {}) {
    this.venue = venue;
    this.symbol = symbol;
    this.#maxHeld = options.maxHeld ?? 10_000;
    this.#onApplied = options.onApplied;
  }

  get inSync(): boolean {
    return this.status === 'in_sync';
  }

  get held(): number {
    return this.#held.size;
  }

  apply(e: MarketEvent): ApplyResult {
    const seq =
      e.type === 'book.snapshot'
        ? (e.seq ?? e.recvSeq)
        : e.type === 'book.delta'
          ? (e.lastSeq ?? e.recvSeq)
          : e.recvSeq;
    if (seq > this.maxSeen) this.maxSeen = seq;
    switch (e.type) {
      case 'book.snapshot':
        return this.#snapshot(e);
      case 'book.delta':
        return this.#delta(e);
      case 'status':
        return this.#status(e);
      default:
        return 'ignored';
    }
  }

  /** Marks the book stale (a partition it depended on was lost); the next snapshot resyncs it. */
  invalidate(reason: string): void {
    this.book.clear();
    this.status = 'stale';
    this.reason = reason;
  }

  #snapshot(s: BookSnapshotEvent): ApplyResult {
    const seq = s.seq ?? s.recvSeq;
    if (seq <= this.staleAt || (this.inSync && this.seq !== null && seq <= this.seq)) return 'ignored';
    this.book.applySnapshot(s.bids, s.asks);
    if (this.status === 'stale') this.resyncs++;
    this.status = 'in_sync';
    this.reason = 'snapshot';
    this.seq = seq;
    this.updates++;
    this.#onApplied?.(s);
    this.#drain();
    return 'applied';
  }

  #delta(d: BookDeltaEvent): ApplyResult {
    const last = d.lastSeq ?? d.recvSeq;
    if (last <= this.staleAt || (this.seq !== null && last <= this.seq)) return 'ignored';
    if (this.inSync && d.prevSeq === this.seq) {
      this.#applyDelta(d);
      this.#drain();
      return 'applied';
    }
    this.#hold(d);
    if (this.inSync) {
      this.gaps++;
      this.invalidate(`sequence gap: expected prevSeq ${this.seq}, got ${d.prevSeq}`);
      return 'stale';
    }
    return 'held';
  }

  #status(st: StatusEvent): ApplyResult {
    if (st.status !== 'stale' && st.status !== 'failed' && st.status !== 'disconnected') return 'ignored';
    if (this.seq !== null && st.recvSeq <= this.seq) return 'ignored';
    if (st.recvSeq <= this.staleAt) return 'ignored';
    this.staleAt = st.recvSeq;
    for (const [k, d] of this.#held) if ((d.lastSeq ?? d.recvSeq) <= st.recvSeq) this.#held.delete(k);
    this.invalidate(st.reason);
    return 'stale';
  }

  #applyDelta(d: BookDeltaEvent): void {
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (const c of d.changes) (c.side === 'bid' ? bids : asks).push([c.price, c.size]);
    this.book.applyDelta(bids, asks);
    this.seq = d.lastSeq ?? d.recvSeq;
    this.updates++;
    this.#onApplied?.(d);
  }

  #hold(d: BookDeltaEvent): void {
    if (d.prevSeq === null) return;
    this.#held.set(d.prevSeq, d);
    if (this.#held.size > this.#maxHeld) {
      const oldest = this.#held.keys().next().value as number;
      this.#held.delete(oldest);
      this.dropped++;
    }
  }

  #drain(): void {
    for (;;) {
      if (this.seq === null) return;
      const next = this.#held.get(this.seq);
      if (next === undefined) break;
      this.#held.delete(this.seq);
      this.#applyDelta(next);
    }
    const seq = this.seq;
    if (seq === null || this.#held.size === 0) return;
    for (const [k, d] of this.#held) if ((d.lastSeq ?? d.recvSeq) <= seq) this.#held.delete(k);
  }
}
