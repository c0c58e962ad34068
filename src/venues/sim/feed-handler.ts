/**
 * Feed handler of the built-in simulated venue (`sim`, protocol in docs/SIM.md). It parses the frames like
 * any real venue's: it never sees the exchange, only its text.
 *
 * - A `snapshot` replaces the book and sets its sequence. Each `l2update` needs `seq == last seq + 1`;
 *   otherwise it is a gap: the book is cleared and stays stale until the next snapshot (the connector asks
 *   for one with `{"op":"snapshot","symbol":...}`). Updates before the first snapshot are dropped.
 * - Sizes are absolute; a zero size deletes the level. The book is checked for crossing after every message.
 * - `trades` frames are validated and counted per symbol (last price, size and aggressor side).
 */
import { isQobError, type QobError, qobError } from '../../core/errors.ts';
import { type FeedHandlerOptions, type FrameCounters, TrackedBook, type VenueFeedHandler } from '../feed-handler.ts';
import { parseFrame, type SimBookMessage, type SimTradesMessage } from './wire.ts';

/** Trades seen for one symbol. */
export interface SimTradeStats {
  readonly count: number;
  readonly lastPrice: string | null;
  readonly lastSize: string | null;
  readonly lastSide: 'buy' | 'sell' | null;
  readonly lastTsMs: number | null;
}

interface BookState {
  readonly tb: TrackedBook;
  conn: string;
}

export class SimFeedHandler implements VenueFeedHandler {
  readonly venue = 'sim';
  readonly counters: FrameCounters = { malformed: 0, unknown: 0 };
  private readonly options: FeedHandlerOptions;
  private readonly bookStates = new Map<string, BookState>();
  private readonly tradeStats = new Map<string, SimTradeStats>();

  constructor(options: FeedHandlerOptions = {}) {
    this.options = options;
  }

  books(): Iterable<TrackedBook> {
    return [...this.bookStates.values()].map((b) => b.tb);
  }

  /** A book by symbol (`BTC-USDT`). */
  book(symbol: string): TrackedBook | undefined {
    return this.bookStates.get(symbol)?.tb;
  }

  /** Trades seen for a symbol. */
  trades(symbol: string): SimTradeStats {
    return this.tradeStats.get(symbol) ?? { count: 0, lastPrice: null, lastSize: null, lastSide: null, lastTsMs: null };
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    for (const b of this.bookStates.values()) {
      if (b.conn === conn) b.tb.invalidate('reconnect', tsRecvMs);
    }
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {
    // Nothing to learn from requests: every book frame names its symbol and sequence.
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // The simulated venue pushes snapshots on the feed itself.
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      const f = parseFrame(data);
      if (f.kind === 'ignored') return;
      if (f.kind === 'unknown') {
        this.counters.unknown++;
        this.options.onBadFrame?.(
          qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown sim frame: ${f.what}`, { venue: this.venue }),
          conn,
        );
        return;
      }
      if (f.kind === 'trades') this.onTrades(f.msg);
      else this.onBook(conn, f.msg, tsRecvMs);
    } catch (e) {
      this.counters.malformed++;
      const err: QobError = isQobError(e)
        ? e
        : qobError('QOB_ERR_INTERNAL', `sim handler failed: ${String(e)}`, { venue: this.venue }, e);
      this.options.onBadFrame?.(err, conn);
    }
  }

  private onTrades(msg: SimTradesMessage): void {
    const last = msg.trades.at(-1);
    if (last === undefined) return;
    const prev = this.trades(msg.symbol);
    this.tradeStats.set(msg.symbol, {
      count: prev.count + msg.trades.length,
      lastPrice: last.price,
      lastSize: last.size,
      lastSide: last.side,
      lastTsMs: msg.tsEventMs,
    });
  }

  private onBook(conn: string, msg: SimBookMessage, tsMs: number): void {
    let b = this.bookStates.get(msg.symbol);
    if (b === undefined) {
      b = { tb: new TrackedBook(this.venue, msg.symbol, msg.symbol, this.options), conn };
      this.bookStates.set(msg.symbol, b);
    }
    b.conn = conn;
    const tb = b.tb;
    if (msg.type === 'snapshot') {
      tb.book.applySnapshot(msg.bids, msg.asks); // atomic on bad input
      tb.beginResync(tsMs);
      tb.lastSeq = msg.seq;
      tb.updates++;
      tb.setStatus('in_sync', 'snapshot', tsMs);
      tb.checkCrossed(tsMs);
      return;
    }
    if (tb.lastSeq < 0) return; // no snapshot yet, or stale after a gap: wait for the next snapshot
    if (msg.seq <= tb.lastSeq) return; // already in the snapshot
    if (msg.seq !== tb.lastSeq + 1) {
      tb.gap(`expected seq=${tb.lastSeq + 1}, got seq=${msg.seq}`, tsMs);
      return;
    }
    tb.book.applyDelta(msg.bids, msg.asks);
    tb.lastSeq = msg.seq;
    tb.updates++;
    tb.checkCrossed(tsMs);
  }
}

export function createSimFeedHandler(options: FeedHandlerOptions = {}): SimFeedHandler {
  return new SimFeedHandler(options);
}
