/**
 * Coinbase book handler for Advanced Trade `level2` (`l2_data`) and the legacy Exchange `level2` /
 * `level2_batch` channels (../shared/design/venue-sync-rules.md).
 *
 * Advanced Trade: `sequence_num` is one counter per connection across all channels, so it is checked on
 * every frame of the connection (heartbeats, tickers, trades, candles, subscriptions included). A gap
 * invalidates every book fed by that connection; each stays stale until its next `snapshot` event (a live
 * connector resubscribes). `new_quantity` is absolute; a zero for an unknown level is normal.
 * Legacy: no sequence and no checksum; books resync on reconnect and are invalidated when crossed.
 * Updates for a book that is not in sync are dropped (the venue always sends a snapshot first).
 * No buffering: the snapshot comes on the socket itself.
 */
import { isQobError, type QobError, qobError } from '../../core/errors.ts';
import { type FeedHandlerOptions, type FrameCounters, TrackedBook, type VenueFeedHandler } from '../feed-handler.ts';
import { type CoinbaseBookEvent, parseFrame } from './wire.ts';

interface ProductState {
  readonly tb: TrackedBook;
  conn: string;
}

export class CoinbaseFeedHandler implements VenueFeedHandler {
  readonly venue = 'coinbase';
  readonly counters: FrameCounters = { malformed: 0, unknown: 0 };
  /** Sequence gaps seen per connection (each invalidates every book of the connection). */
  sequenceGaps = 0;
  private readonly options: FeedHandlerOptions;
  private readonly products = new Map<string, ProductState>();
  /** Last `sequence_num` per connection. */
  private readonly lastSeq = new Map<string, number>();

  constructor(options: FeedHandlerOptions = {}) {
    this.options = options;
  }

  books(): Iterable<TrackedBook> {
    return [...this.products.values()].map((p) => p.tb);
  }

  book(productId: string): TrackedBook | undefined {
    return this.products.get(productId)?.tb;
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.lastSeq.delete(conn);
    for (const p of this.products.values()) {
      if (p.conn === conn) p.tb.invalidate('reconnect', tsRecvMs);
    }
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {}

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Books come from the socket; REST bodies (products) are not needed.
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      const f = parseFrame(data);
      switch (f.kind) {
        case 'ignored':
          return;
        case 'unknown':
          this.counters.unknown++;
          this.options.onBadFrame?.(
            qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown coinbase frame: ${f.what}`, { venue: this.venue }),
            conn,
          );
          return;
        case 'advanced':
          if (f.sequenceNum !== undefined) this.checkSequence(conn, f.sequenceNum, f.channel, tsRecvMs);
          for (const ev of f.events) this.onBook(conn, ev, tsRecvMs);
          return;
        case 'legacy':
          this.onBook(conn, f.event, tsRecvMs);
          return;
      }
    } catch (e) {
      this.counters.malformed++;
      const err: QobError = isQobError(e)
        ? e
        : qobError('QOB_ERR_INTERNAL', `coinbase handler failed: ${String(e)}`, { venue: this.venue }, e);
      this.options.onBadFrame?.(err, conn);
    }
  }

  private checkSequence(conn: string, seq: number, channel: string, tsMs: number): void {
    const last = this.lastSeq.get(conn);
    this.lastSeq.set(conn, seq);
    if (last === undefined || seq === last + 1) return;
    this.sequenceGaps++;
    const reason = `sequence_num ${seq} on ${channel} after ${last} (connection ${conn})`;
    for (const p of this.products.values()) {
      if (p.conn === conn && p.tb.status !== 'stale') p.tb.gap(reason, tsMs);
    }
  }

  private onBook(conn: string, ev: CoinbaseBookEvent, tsMs: number): void {
    let p = this.products.get(ev.productId);
    if (p === undefined) {
      p = { tb: new TrackedBook(this.venue, ev.productId, ev.productId, this.options), conn };
      this.products.set(ev.productId, p);
    }
    p.conn = conn;
    const tb = p.tb;
    if (ev.snapshot) {
      tb.book.applySnapshot(ev.bids, ev.asks); // atomic on bad input
      tb.beginResync(tsMs);
      tb.updates++;
      tb.setStatus('in_sync', 'snapshot', tsMs);
      tb.checkCrossed(tsMs);
      return;
    }
    if (tb.status !== 'in_sync') return; // waiting for a snapshot
    try {
      tb.book.applyDelta(ev.bids, ev.asks); // atomic on bad input
    } catch (e) {
      // The frame's sequence_num was fine (or there is none): nothing later would reveal this lost update.
      tb.invalidate('unusable update', tsMs);
      throw e;
    }
    tb.updates++;
    tb.checkCrossed(tsMs);
  }
}

export function createCoinbaseFeedHandler(options: FeedHandlerOptions = {}): CoinbaseFeedHandler {
  return new CoinbaseFeedHandler(options);
}
