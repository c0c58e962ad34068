import { trade } from '../../domain/events.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import type { FeedHandlerOptions, TrackedBook } from '../feed-handler.ts';
import { scanCoinbaseL2 } from './fast-book.ts';
import { type CoinbaseBookEvent, type CoinbaseTrade, parseFrame, parseMarketTrades } from './wire.ts';

interface ProductState {
  readonly tb: TrackedBook;
  conn: string;
}

export class CoinbaseFeedHandler extends BookFeedHandler<ProductState> {
  /** Sequence gaps seen per connection (each invalidates every book of the connection). */
  sequenceGaps = 0;
  /** Last `sequence_num` per connection. */
  private readonly lastSeq = new Map<string, number>();

  constructor(options: FeedHandlerOptions = {}) {
    super('coinbase', options);
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.lastSeq.delete(conn);
    this.invalidateConnection(conn, 'reconnect', tsRecvMs);
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {}

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Books come from the socket; REST bodies (products) are not needed.
  }

  protected handleFrame(conn: string, data: string, tsRecvMs: number): void {
    // l2_data frames in the venue's exact layout skip JSON.parse; anything else takes the full parser.
    const f = scanCoinbaseL2(data) ?? parseFrame(data);
    switch (f.kind) {
      case 'ignored':
        return;
      case 'unknown':
        this.frames.unknown(f.what, conn);
        return;
      case 'advanced':
        if (f.sequenceNum !== undefined) this.checkSequence(conn, f.sequenceNum, f.channel, tsRecvMs);
        for (const ev of f.events) this.onBook(conn, ev, tsRecvMs);
        if (f.tradeEvents.length > 0) this.onTrades(parseMarketTrades(f.tradeEvents), tsRecvMs);
        return;
      case 'trade':
        this.onTrades([f.trade], tsRecvMs);
        return;
      case 'legacy':
        this.onBook(conn, f.event, tsRecvMs);
        return;
    }
  }

  /** Every trade of the frame is validated before any is emitted. Independent of book sync. */
  private onTrades(list: readonly CoinbaseTrade[], tsRecvMs: number): void {
    const events = list.map((t) =>
      trade({
        venue: this.venue,
        symbol: t.productId,
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

  private checkSequence(conn: string, seq: number, channel: string, tsMs: number): void {
    const last = this.lastSeq.get(conn);
    this.lastSeq.set(conn, seq);
    if (last === undefined || seq === last + 1) return;
    this.sequenceGaps++;
    const reason = `sequence_num ${seq} on ${channel} after ${last} (connection ${conn})`;
    for (const p of this.tracksOn(conn)) {
      if (p.tb.status !== 'stale') p.tb.gap(reason, tsMs);
    }
  }

  private onBook(conn: string, ev: CoinbaseBookEvent, tsMs: number): void {
    const p = this.track(ev.productId, ev.productId, (tb) => ({ tb, conn }));
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
