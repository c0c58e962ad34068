import { qobError } from '../../core/errors.ts';
import { type TradeEvent, trade } from '../../domain/events.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import { splitConcatenatedPair } from '../concat-symbol.ts';
import type { FeedHandlerOptions, TrackedBook } from '../feed-handler.ts';
import { truncateBook } from '../frame-scan.ts';
import { type ScannedBybitBook, scanBookFrameFlat } from './fast-book.ts';
import { type BybitBookMessage, type BybitTrade, categoryOfUrl, parseFrame } from './wire.ts';

/** A book, keyed `${category}:${topic}` (for example `linear:orderbook.200.BTCUSDT`). */
interface TopicState {
  readonly tb: TrackedBook;
  conn: string;
}

export class BybitFeedHandler extends BookFeedHandler<TopicState> {
  private readonly categories = new Map<string, string>();
  /** The book of the last push, with its connection and topic (cleared when a connection's category changes). */
  private lastState: TopicState | undefined;
  private lastConn = '';
  private lastTopic = '';

  constructor(options: FeedHandlerOptions = {}) {
    super('bybit', options);
  }

  onConnect(conn: string, url: string, tsRecvMs: number): void {
    this.lastState = undefined; // the connection's category may change
    this.categories.set(conn, categoryOfUrl(url) ?? conn);
    this.invalidateConnection(conn, 'reconnect', tsRecvMs);
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {
    // The depth comes from the topic name itself; nothing to learn from subscriptions.
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Books come from the socket; REST bodies (instruments-info) are not needed.
  }

  protected handleFrame(conn: string, data: string, tsRecvMs: number): void {
    // Book pushes in the exact venue layout skip JSON.parse; anything else takes the full parser.
    const fast = scanBookFrameFlat(data);
    if (fast !== undefined) {
      this.onBook(conn, fast, tsRecvMs);
      return;
    }
    const f = parseFrame(data);
    if (f.kind === 'ignored') return;
    if (f.kind === 'unknown') {
      this.frames.unknown(f.what, conn);
      return;
    }
    if (f.kind === 'trades') {
      this.onTrades(conn, f.trades, tsRecvMs);
      return;
    }
    this.onBook(conn, f.msg, tsRecvMs);
  }

  /** Every trade of the push is validated before any is emitted. Independent of book sync. */
  private onTrades(conn: string, list: readonly BybitTrade[], tsRecvMs: number): void {
    const category = this.categories.get(conn) ?? conn;
    const events: TradeEvent[] = list.map((t) =>
      trade({
        venue: this.venue,
        symbol: normalizedSymbol(category, t.symbol),
        price: t.price,
        size: t.size,
        aggressor: t.taker,
        tradeId: t.tradeId,
        tsEventMs: t.tsEventMs,
        tsRecvMs,
      }),
    );
    for (const ev of events) this.emitTrade(ev);
  }

  private onBook(conn: string, msg: BybitBookMessage | ScannedBybitBook, tsMs: number): void {
    let t = this.lastState;
    // A stream's pushes come one after another on one connection: the last book found is most often it.
    if (t === undefined || conn !== this.lastConn || msg.topic !== this.lastTopic) {
      const category = this.categories.get(conn) ?? conn;
      const key = `${category}:${msg.topic}`;
      t = this.track(key, `${category}:${msg.symbol}`, (tb) => ({ tb, conn }));
      this.lastState = t;
      this.lastConn = conn;
      this.lastTopic = msg.topic;
    }
    t.conn = conn;
    const tb = t.tb;
    // u == 1: Bybit restarted the service; the message is a full book (v5 docs, "Process snapshot/delta").
    if (msg.type === 'snapshot' || msg.updateId === 1) {
      if ('levels' in msg)
        tb.book.applySnapshot(msg.levels.bids, msg.levels.asks); // atomic on bad input
      else tb.book.applySnapshot(msg.bids, msg.asks);
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
    if ('levels' in msg)
      msg.levels.apply(tb.book); // applyDelta's result, errors and atomicity
    else tb.book.applyDelta(msg.bids, msg.asks);
    tb.lastSeq = msg.updateId;
    tb.updates++;
    truncateBook(tb.book, msg.depth); // tb.book.truncate, cheaper for the few levels a delta pushes out
    tb.checkCrossed(tsMs);
  }
}

/** `spot` `BTCUSDT` -> `BTC-USDT`; `linear` `BTCUSDT` -> `BTC-USDT-PERP`; anything else is refused. */
function normalizedSymbol(category: string, symbol: string): string {
  if (category === 'spot') return splitConcatenatedPair('bybit', symbol);
  if (category === 'linear' && /^[A-Z0-9]+$/.test(symbol)) return `${splitConcatenatedPair('bybit', symbol)}-PERP`;
  throw qobError('QOB_ERR_INVALID_SYMBOL', `bybit: no trade symbol mapping for ${category} ${symbol.slice(0, 40)}`, {
    venue: 'bybit',
    category,
  });
}

export function createBybitFeedHandler(options: FeedHandlerOptions = {}): BybitFeedHandler {
  return new BybitFeedHandler(options);
}
