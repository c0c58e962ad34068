/**
 * A tracked book kept order by order: its L2 `book` is the derived view of an exact L3 book (Bitfinex R0
 * raw books, Bitstamp `live_orders`), so the gateway serves it like any other tracked book. Invalidating it
 * clears the orders too, so a book that is not `in_sync` never holds orders that could be served as true.
 */
import { L3Book } from '../book/l3-book.ts';
import { type FeedHandlerOptions, TrackedBook } from './feed-handler.ts';

export class L3TrackedBook extends TrackedBook {
  readonly l3: L3Book;

  constructor(venue: string, symbol: string, key: string, options: FeedHandlerOptions) {
    super(venue, symbol, key, options);
    this.l3 = new L3Book({ unknownOrder: 'count' });
    // The served L2 book is the L3 book's own derived view (TrackedBook builds a plain one first).
    (this as { book: TrackedBook['book'] }).book = this.l3.l2;
  }

  override invalidate(reason: string, tsRecvMs: number): void {
    this.l3.clear();
    super.invalidate(reason, tsRecvMs);
  }
}
