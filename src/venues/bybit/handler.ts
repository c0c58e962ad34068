/**
 * Bybit v5 `orderbook.{depth}.{symbol}` book handler (../shared/design/venue-sync-rules.md).
 *
 * - The same topic exists on the spot and the linear sockets, so books are keyed by the connection's
 *   category (from the URL given to `onConnect`, else the connection id) and the topic.
 * - A snapshot replaces the book. A delta needs `u == last u + 1`, else it is a gap: the book is cleared
 *   and stays stale until the next snapshot (a live connector resubscribes). `u == 1` is a service
 *   restart: the message overwrites the book like a snapshot. Depth-1 books re-send snapshots with the
 *   same `u`, which is fine since any snapshot replaces.
 * - Each side is truncated to the topic depth after every message, then the book is checked for crossing.
 * No buffering: Bybit pushes the snapshot on the socket itself.
 */
import { isQobError, type QobError, qobError } from '../../core/errors.ts';
import { type FeedHandlerOptions, type FrameCounters, TrackedBook, type VenueFeedHandler } from '../feed-handler.ts';
import { type BybitBookMessage, categoryOfUrl, parseFrame } from './wire.ts';

interface TopicState {
  readonly tb: TrackedBook;
  conn: string;
}

export class BybitFeedHandler implements VenueFeedHandler {
  readonly venue = 'bybit';
  readonly counters: FrameCounters = { malformed: 0, unknown: 0 };
  private readonly options: FeedHandlerOptions;
  private readonly categories = new Map<string, string>();
  private readonly topics = new Map<string, TopicState>();

  constructor(options: FeedHandlerOptions = {}) {
    this.options = options;
  }

  books(): Iterable<TrackedBook> {
    return [...this.topics.values()].map((t) => t.tb);
  }

  /** A book by key: `${category}:${topic}`, for example `linear:orderbook.200.BTCUSDT`. */
  book(key: string): TrackedBook | undefined {
    return this.topics.get(key)?.tb;
  }

  onConnect(conn: string, url: string, tsRecvMs: number): void {
    this.categories.set(conn, categoryOfUrl(url) ?? conn);
    for (const t of this.topics.values()) {
      if (t.conn === conn) t.tb.invalidate('reconnect', tsRecvMs);
    }
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {
    // The depth comes from the topic name itself; nothing to learn from subscriptions.
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Books come from the socket; REST bodies (instruments-info) are not needed.
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      const f = parseFrame(data);
      if (f.kind === 'ignored') return;
      if (f.kind === 'unknown') {
        this.counters.unknown++;
        this.options.onBadFrame?.(
          qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown bybit frame: ${f.what}`, { venue: this.venue }),
          conn,
        );
        return;
      }
      this.onBook(conn, f.msg, tsRecvMs);
    } catch (e) {
      this.counters.malformed++;
      const err: QobError = isQobError(e)
        ? e
        : qobError('QOB_ERR_INTERNAL', `bybit handler failed: ${String(e)}`, { venue: this.venue }, e);
      this.options.onBadFrame?.(err, conn);
    }
  }

  private onBook(conn: string, msg: BybitBookMessage, tsMs: number): void {
    const category = this.categories.get(conn) ?? conn;
    const key = `${category}:${msg.topic}`;
    let t = this.topics.get(key);
    if (t === undefined) {
      t = { tb: new TrackedBook(this.venue, `${category}:${msg.symbol}`, key, this.options), conn };
      this.topics.set(key, t);
    }
    t.conn = conn;
    const tb = t.tb;
    // u == 1: Bybit restarted the service; the message is a full book (v5 docs, "Process snapshot/delta").
    if (msg.type === 'snapshot' || msg.updateId === 1) {
      tb.book.applySnapshot(msg.bids, msg.asks); // atomic on bad input
      tb.beginResync(tsMs);
      tb.lastSeq = msg.updateId;
      tb.updates++;
      tb.book.truncate(msg.depth);
      tb.setStatus('in_sync', msg.type === 'snapshot' ? 'snapshot' : 'service restart (u=1)', tsMs);
      tb.checkCrossed(tsMs);
      return;
    }
    if (tb.lastSeq < 0) return; // no snapshot yet, or stale after a gap: wait for the next snapshot
    if (msg.updateId !== tb.lastSeq + 1) {
      tb.gap(`expected u=${tb.lastSeq + 1}, got u=${msg.updateId}`, tsMs);
      return;
    }
    tb.book.applyDelta(msg.bids, msg.asks);
    tb.lastSeq = msg.updateId;
    tb.updates++;
    tb.book.truncate(msg.depth);
    tb.checkCrossed(tsMs);
  }
}

export function createBybitFeedHandler(options: FeedHandlerOptions = {}): BybitFeedHandler {
  return new BybitFeedHandler(options);
}
