/**
 * Bitfinex v2 book handler (price-level books P0..P4; raw R0 books and funding books are not handled).
 * Sync rules (../shared/design/venue-sync-rules.md): the sequence number (conf flag 65536) is one counter
 * per connection, checked on the whole unfiltered stream (ticker, trades and heartbeats included); a gap
 * invalidates every book of the connection until it reconnects. `count > 0` sets a level (the sign of the
 * amount picks the side), `count == 0` deletes it. Books are fixed-depth (`len`): truncate after each
 * message. With conf flag 131072, `["cs", value]` frames carry a checksum of the top 25 levels.
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import type { FeedHandlerOptions, TrackedBook, VenueFeedHandler } from '../feed-handler.ts';
import { truncateBook } from '../frame-scan.ts';
import { BitfinexChecksumBuilder } from './checksum.ts';
import { BitfinexConnections, type BitfinexConnState, bitfinexUnknown, onBitfinexEvent } from './connections.ts';
import {
  BitfinexSmallFrame,
  SMALL_CHECKSUM,
  SMALL_UPDATE,
  scanBitfinexBookFrame,
  scanBitfinexSmallFrame,
} from './fast-book.ts';
import { BitfinexFastChecksum } from './fast-checksum.ts';
import { bitfinexTradeEvents } from './trades.ts';
import {
  type BookBody,
  type BookEntry,
  FLAG_SEQ_ALL,
  isRecord,
  malformed,
  parseBookBody,
  parseChannelFrame,
  parseTradesBody,
  type TradesBody,
} from './wire.ts';

export const BITFINEX_VENUE = 'bitfinex';
/** Bitfinex's default book length when a subscription names none. */
const DEFAULT_LEN = 25;
const PRICE_LEVEL_PRECS: ReadonlySet<string> = new Set(['P0', 'P1', 'P2', 'P3', 'P4']);

interface BfxBook {
  readonly tb: TrackedBook;
  readonly cs: BitfinexChecksumBuilder;
  /** The checksum of the book's top levels, kept up to date from its last computation. */
  readonly fast: BitfinexFastChecksum;
  len: number;
  conn: string;
}

interface Channel {
  readonly channel: string;
  readonly symbol: string;
  /** Set for price-level books we keep. */
  readonly book: BfxBook | undefined;
  /** Set for trading-pair `trades` channels. */
  readonly trades: boolean;
}

type ConnState = BitfinexConnState<Channel>;

export class BitfinexFeedHandler extends BookFeedHandler<BfxBook> {
  private readonly conns = new BitfinexConnections<Channel>();
  /** The reusable result of the small-frame scanner. */
  private readonly small = new BitfinexSmallFrame();

  constructor(options: FeedHandlerOptions = {}) {
    super(BITFINEX_VENUE, options);
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.conns.reset(conn);
    this.invalidateConnection(conn, 'new connection', tsRecvMs);
  }

  onSend(conn: string, data: string, _tsMs: number): void {
    this.conns.onSend(conn, data);
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Reference lists (pairs, currencies) are not needed to keep books.
  }

  protected handleFrame(conn: string, data: string, ts: number): void {
    const state = this.conns.get(conn);
    const seqAll = (state.flags & FLAG_SEQ_ALL) !== 0;
    // A live book's updates, checksums and heartbeats: read in place, no body objects.
    const sf = this.small;
    if (scanBitfinexSmallFrame(data, seqAll, sf)) {
      const b = state.channels.get(sf.chanId)?.book;
      if (b !== undefined) {
        if (seqAll) this.checkSequence(state, sf.seq, ts);
        if (sf.kind === SMALL_UPDATE) this.update(b, sf.price, sf.count, sf.amount, ts);
        else if (sf.kind === SMALL_CHECKSUM) this.verify(b, sf.checksum, ts);
        return;
      }
    }
    // Book frames in the venue's exact layout, without JSON.parse (other channels take the path below).
    const fast = scanBitfinexBookFrame(data, seqAll);
    if (fast !== undefined) {
      const ch = state.channels.get(fast.chanId);
      if (ch?.book !== undefined) {
        if (fast.seq !== undefined) this.checkSequence(state, fast.seq, ts);
        this.onBookBody(ch.book, fast.body, ts);
        return;
      }
    }
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch (e) {
      throw malformed(`not JSON: ${(e as Error).message}`, { text: data.slice(0, 80) });
    }
    if (isRecord(o)) {
      if (onBitfinexEvent(state, o, ts)) this.onSubscribed(conn, state, o);
      return;
    }
    if (!Array.isArray(o)) throw malformed('expected a JSON object or array');
    const f = parseChannelFrame(o, (state.flags & FLAG_SEQ_ALL) !== 0);
    if (f.seq !== undefined) this.checkSequence(state, f.seq, ts);
    const ch = state.channels.get(f.chanId);
    if (ch === undefined) throw bitfinexUnknown(`frame on unknown channel ${f.chanId}`);
    if (ch.trades) {
      this.onTrades(ch.symbol, parseTradesBody(o, f.end), ts);
      return;
    }
    if (ch.book === undefined) {
      if (o[1] === 'hb') return;
      throw bitfinexUnknown(`${ch.channel} frame (${ch.symbol})`);
    }
    this.onBookBody(ch.book, parseBookBody(o, f.end), ts);
  }

  private onBookBody(b: BfxBook, body: BookBody, ts: number): void {
    switch (body.kind) {
      case 'heartbeat':
        return;
      case 'checksum':
        this.verify(b, body.checksum, ts);
        return;
      case 'snapshot':
        this.snapshot(b, body.entries, ts);
        return;
      case 'update':
        this.update(b, body.entry.price, body.entry.count, body.entry.amount, ts);
        return;
    }
  }

  /** One counter for the whole connection: any frame out of order means frames were lost. */
  private checkSequence(state: ConnState, seq: number, ts: number): void {
    const last = state.lastSeq;
    state.lastSeq = seq;
    if (last === undefined || seq === last + 1) return;
    for (const ch of state.channels.values()) {
      if (ch.book !== undefined && ch.book.tb.status !== 'stale') {
        ch.book.tb.gap(`sequence ${seq} after ${last}`, ts);
      }
    }
  }

  private onSubscribed(conn: string, state: ConnState, o: Record<string, unknown>): void {
    const chanId = o.chanId;
    if (typeof chanId !== 'number' || !Number.isSafeInteger(chanId) || typeof o.channel !== 'string') {
      throw malformed('"subscribed" needs a numeric chanId and a channel');
    }
    const symbol = typeof o.symbol === 'string' ? o.symbol : typeof o.key === 'string' ? o.key : '';
    let book: BfxBook | undefined;
    const prec = typeof o.prec === 'string' ? o.prec : 'P0';
    // Price-level trading books only: funding books ("f...") have four fields per level, R0 is raw orders.
    if (o.channel === 'book' && PRICE_LEVEL_PRECS.has(prec) && symbol.startsWith('t')) {
      const len = o.len === undefined ? DEFAULT_LEN : Number(o.len);
      if (!Number.isSafeInteger(len) || len <= 0) throw malformed('book "len" must be a positive integer', { symbol });
      const key = prec === 'P0' ? symbol : `${symbol}:${prec}`;
      book = this.track(key, symbol, (tb) => ({
        tb,
        cs: new BitfinexChecksumBuilder(),
        fast: new BitfinexFastChecksum(),
        len,
        conn,
      }));
      book.len = len;
      book.conn = conn;
    }
    const trades = o.channel === 'trades' && symbol.startsWith('t');
    state.channels.set(chanId, { channel: o.channel, symbol, book, trades });
  }

  /** Trades are emitted whatever the books' state (trades.ts). */
  private onTrades(symbol: string, body: TradesBody, ts: number): void {
    const events = bitfinexTradeEvents(BITFINEX_VENUE, symbol, body, ts);
    this.trades += events.length;
    const on = this.options.onTrade;
    if (on !== undefined) for (const e of events) on(e);
  }

  private snapshot(b: BfxBook, entries: readonly BookEntry[], ts: number): void {
    const bids: RawLevel[] = [];
    const asks: RawLevel[] = [];
    for (const e of entries) {
      if (e.count === 0) continue; // a snapshot lists live levels only
      (isAsk(e) ? asks : bids).push([e.price, absText(e.amount)]);
    }
    const tb = b.tb;
    tb.book.applySnapshot(bids, asks); // validated first: a typed error leaves the book as it was
    b.fast.bookReplaced();
    tb.beginResync(ts);
    tb.book.truncate(b.len);
    tb.updates++;
    tb.setStatus('in_sync', 'snapshot', ts);
    tb.checkCrossed(ts);
  }

  private update(b: BfxBook, price: string, count: number, amount: string, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return; // waiting for a snapshot
    // count == 0 deletes: amount 1 from the bids, -1 from the asks.
    // One level: the book's single-level set is atomic too (a typed error leaves the book as it was).
    const book = tb.book;
    const ask = amount.charCodeAt(0) === 45; /* - */
    const p = book.parsePrice(price);
    book.setScaled(ask ? 'ask' : 'bid', p, count === 0 ? '0' : absText(amount));
    b.fast.touched(ask ? 1 : 0, p); // the checksum compares only the levels this change can reach
    truncateBook(book, b.len); // tb.book.truncate, cheaper for the level a delta pushes out
    b.fast.truncated(b.len);
    tb.updates++;
    tb.checkCrossed(ts);
  }

  private verify(b: BfxBook, expected: number, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return;
    const got = b.fast.checksum(tb.book) ?? b.cs.checksum(tb.book);
    if (got === expected) tb.checksumsVerified++;
    else tb.checksumFailed(`checksum ${got} != venue ${expected}`, ts);
  }
}

function isAsk(e: BookEntry): boolean {
  return e.amount.charCodeAt(0) === 45; /* - */
}

function absText(amount: string): string {
  return amount.charCodeAt(0) === 45 ? amount.slice(1) : amount;
}

export function createBitfinexFeedHandler(options?: FeedHandlerOptions): VenueFeedHandler {
  return new BitfinexFeedHandler(options);
}
