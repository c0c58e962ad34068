/**
 * Bitfinex v2 raw books (`book` with `prec: "R0"`): order by order, kept in an exact L3 book whose derived
 * L2 view is the tracked book's `book`.
 *
 * Wire (docs.bitfinex.com/reference/ws-public-raw-books): `{"event":"subscribe","channel":"book",
 * "symbol":"tBTCUSD","prec":"R0","len":"250"}` -> `subscribed` with a `chanId`, then a snapshot
 * `[chanId,[[ORDER_ID,PRICE,AMOUNT],..]]` and one frame per order change `[chanId,[ORDER_ID,PRICE,AMOUNT]]`:
 * AMOUNT > 0 is a bid, < 0 an ask; PRICE 0 removes the order (AMOUNT 1 or -1 names the side). `len` bounds
 * the orders per side: an order leaving that view is removed, one entering it is sent.
 *
 * Sync rules (../shared/design/venue-sync-rules.md): with conf flag 65536 every channel frame ends with a
 * sequence number, one counter per connection; a gap invalidates every book of the connection until a new
 * connection resubscribes (the connector's recovery is a reconnect). With conf flag 131072 a
 * `[chanId,"cs",CRC]` frame follows updates: for raw books the CRC32 (signed) of the 25 best bid orders and
 * the 25 best ask orders interleaved `bidId:bidAmount:askId:askAmount:..` (docs.bitfinex.com/docs/
 * ws-websocket-checksum: "the calculation will be done based on order IDs and amount values"), ask amounts
 * negative, numbers as JS `String(n)`. Within a price the orders are taken in time order (the order they
 * were received), which is also the venue's queue order.
 */
import { crc32 } from 'node:zlib';
import type { L3Book, L3SnapshotOrder } from '../../book/l3-book.ts';
import { Decimal } from '../../core/fixed.ts';
import {
  type FeedHandlerOptions,
  type FrameCounters,
  FrameReporter,
  type TrackedBook,
  type VenueFeedHandler,
} from '../feed-handler.ts';
import { L3TrackedBook } from '../l3-tracked-book.ts';
import { BitfinexConnections, type BitfinexConnState, bitfinexUnknown, onBitfinexEvent } from './connections.ts';
import { BITFINEX_VENUE } from './feed-handler.ts';
import { bitfinexTradeEvents } from './trades.ts';
import { FLAG_SEQ_ALL, isRecord, malformed, parseChannelFrame, parseTradesBody, type TradesBody } from './wire.ts';

export const BITFINEX_RAW_CHECKSUM_ORDERS = 25;

/** A raw book entry `[ORDER_ID, PRICE, AMOUNT]`: id and numbers as the venue's `String(n)` text. */
export interface RawOrderEntry {
  readonly id: string;
  /** `"0"` removes the order. */
  readonly price: string;
  /** Signed: positive is a bid, negative an ask. */
  readonly amount: string;
}

interface RawBook {
  readonly tb: L3TrackedBook;
  conn: string;
}

interface Channel {
  readonly symbol: string;
  readonly book: RawBook | undefined;
  /** A trading-pair `trades` channel. */
  readonly trades: boolean;
}

type ConnState = BitfinexConnState<Channel>;

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${what} must be a finite number`);
  return v;
}

export function parseRawEntry(v: unknown): RawOrderEntry {
  if (!Array.isArray(v) || v.length !== 3) throw malformed('a raw book entry must be [ORDER_ID, PRICE, AMOUNT]');
  const id = num(v[0], 'ORDER_ID');
  const price = num(v[1], 'PRICE');
  const amount = num(v[2], 'AMOUNT');
  if (!Number.isSafeInteger(id) || id <= 0) throw malformed('ORDER_ID must be a positive integer', { id });
  if (price < 0) throw malformed('PRICE must not be negative', { id });
  if (amount === 0) throw malformed('AMOUNT must not be zero', { id });
  return { id: String(id), price: String(price), amount: String(amount) };
}

function isAsk(amount: string): boolean {
  return amount.charCodeAt(0) === 45; /* - */
}

function abs(amount: string): string {
  return isAsk(amount) ? amount.slice(1) : amount;
}

/** The raw-book checksum text of an L3 book (see the file comment). */
export function bitfinexRawChecksumText(l3: L3Book): string {
  const take = (side: 'bid' | 'ask') => {
    const out: { id: string; size: string }[] = [];
    for (const level of l3.l2.levels(side, BITFINEX_RAW_CHECKSUM_ORDERS)) {
      for (const o of l3.queue(side, level.price)) {
        out.push(o);
        if (out.length === BITFINEX_RAW_CHECKSUM_ORDERS) return out;
      }
    }
    return out;
  };
  const bids = take('bid');
  const asks = take('ask');
  const parts: string[] = [];
  for (let i = 0; i < BITFINEX_RAW_CHECKSUM_ORDERS; i++) {
    const b = bids[i];
    const a = asks[i];
    if (b !== undefined) parts.push(b.id, String(Number(b.size)));
    if (a !== undefined) parts.push(a.id, String(-Number(a.size)));
  }
  return parts.join(':');
}

export function bitfinexRawChecksum(l3: L3Book): number {
  return crc32(bitfinexRawChecksumText(l3)) | 0;
}

export class BitfinexRawBookHandler implements VenueFeedHandler {
  readonly venue = BITFINEX_VENUE;
  readonly counters: FrameCounters;
  private readonly frames: FrameReporter;
  private readonly options: FeedHandlerOptions;
  private readonly conns = new BitfinexConnections<Channel>();
  private readonly tracked = new Map<string, RawBook>();
  /** Public trades emitted through `options.onTrade`. */
  trades = 0;

  constructor(options: FeedHandlerOptions = {}) {
    this.options = options;
    this.frames = new FrameReporter(BITFINEX_VENUE, options);
    this.counters = this.frames.counters;
  }

  books(): Iterable<TrackedBook> {
    return [...this.tracked.values()].map((b) => b.tb);
  }

  /** The L3 book of a trading symbol (`tBTCUSD`), if tracked. */
  l3(symbol: string): L3Book | undefined {
    return this.tracked.get(symbol)?.tb.l3;
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.conns.reset(conn);
    for (const b of this.tracked.values()) {
      if (b.conn === conn && b.tb.status !== 'stale') b.tb.invalidate('new connection', tsRecvMs);
    }
  }

  onSend(conn: string, data: string, _tsMs: number): void {
    this.conns.onSend(conn, data);
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Raw books come from the socket.
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      this.handleFrame(conn, data, tsRecvMs);
    } catch (e) {
      this.frames.failed(e, conn);
    }
  }

  private handleFrame(conn: string, data: string, ts: number): void {
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch (e) {
      throw malformed(`not JSON: ${(e as Error).message}`, { text: data.slice(0, 80) });
    }
    const state = this.conns.get(conn);
    if (isRecord(o)) {
      if (onBitfinexEvent(state, o, ts)) this.onSubscribed(conn, state, o);
      return;
    }
    if (!Array.isArray(o)) throw malformed('expected a JSON object or array');
    const f = parseChannelFrame(o, (state.flags & FLAG_SEQ_ALL) !== 0);
    if (f.seq !== undefined && !this.checkSequence(state, f.seq, ts)) return;
    const ch = state.channels.get(f.chanId);
    if (ch === undefined) throw bitfinexUnknown(`frame on unknown channel ${f.chanId}`);
    if (ch.trades) {
      this.onTrades(ch.symbol, parseTradesBody(o, f.end), ts);
      return;
    }
    const b0 = o[1];
    if (b0 === 'hb') return;
    if (ch.book === undefined) throw bitfinexUnknown(`frame on channel ${f.chanId} (${ch.symbol})`);
    const tb = ch.book.tb;
    if (b0 === 'cs') {
      const cs = f.end > 2 ? o[2] : undefined;
      if (typeof cs !== 'number' || !Number.isInteger(cs) || cs < -0x80000000 || cs > 0x7fffffff) {
        throw malformed('a checksum must be a signed 32-bit integer');
      }
      if (!tb.inSync) return;
      const got = bitfinexRawChecksum(tb.l3);
      if (got === cs) tb.checksumsVerified++;
      else tb.checksumFailed(`raw checksum ${got} != venue ${cs}`, ts);
      return;
    }
    if (!Array.isArray(b0) || f.end !== 2) throw malformed('a raw book frame must carry one array');
    if (b0.length === 0 || Array.isArray(b0[0])) this.snapshot(tb, b0.map(parseRawEntry), ts);
    else this.update(tb, parseRawEntry(b0), ts);
  }

  /**
   * One counter for the whole connection: any frame out of order means frames were lost, and every book
   * of the connection is invalidated. A frame at or below the last number (a repeat, or one overtaken) is
   * not used at all, so a repeated trade is never emitted twice. Returns whether to use the frame.
   */
  private checkSequence(state: ConnState, seq: number, ts: number): boolean {
    const last = state.lastSeq;
    if (last === undefined || seq === last + 1) {
      state.lastSeq = seq;
      return true;
    }
    for (const ch of state.channels.values()) {
      if (ch.book !== undefined && ch.book.tb.status !== 'stale') ch.book.tb.gap(`sequence ${seq} after ${last}`, ts);
    }
    if (seq <= last) return false;
    state.lastSeq = seq;
    return true;
  }

  /** A `subscribed` event: records the channel, and the raw book it feeds when it is one we keep. */
  private onSubscribed(conn: string, state: ConnState, o: Record<string, unknown>): void {
    const chanId = o.chanId;
    if (typeof chanId !== 'number' || !Number.isSafeInteger(chanId)) {
      throw malformed('"subscribed" needs a numeric chanId');
    }
    const symbol = typeof o.symbol === 'string' ? o.symbol : '';
    let book: RawBook | undefined;
    if (o.channel === 'book' && o.prec === 'R0' && symbol.startsWith('t')) {
      book = this.tracked.get(symbol);
      if (book === undefined) {
        book = { tb: new L3TrackedBook(BITFINEX_VENUE, symbol, symbol, this.options), conn };
        this.tracked.set(symbol, book);
      }
      book.conn = conn;
    }
    state.channels.set(chanId, { symbol, book, trades: o.channel === 'trades' && symbol.startsWith('t') });
  }

  /** Public trades (trades.ts), whatever the books' state. */
  private onTrades(symbol: string, body: TradesBody, ts: number): void {
    const events = bitfinexTradeEvents(BITFINEX_VENUE, symbol, body, ts);
    this.trades += events.length;
    const on = this.options.onTrade;
    if (on !== undefined) for (const e of events) on(e);
  }

  private snapshot(tb: L3TrackedBook, entries: readonly RawOrderEntry[], ts: number): void {
    const bids: L3SnapshotOrder[] = [];
    const asks: L3SnapshotOrder[] = [];
    for (const e of entries) {
      if (e.price === '0') continue;
      (isAsk(e.amount) ? asks : bids).push([e.price, abs(e.amount), e.id]);
    }
    tb.l3.applySnapshot(bids, asks); // validated first: a typed error leaves the book as it was
    tb.beginResync(ts);
    tb.updates++;
    tb.setStatus('in_sync', 'snapshot', ts);
    tb.checkCrossed(ts);
  }

  private update(tb: L3TrackedBook, e: RawOrderEntry, ts: number): void {
    if (!tb.inSync) return; // waiting for a snapshot
    const l3 = tb.l3;
    if (e.price === '0') {
      l3.remove(e.id); // an order we do not hold is normal (unknownOrders counts it)
    } else {
      const side = isAsk(e.amount) ? 'ask' : 'bid';
      const size = abs(e.amount);
      const held = l3.order(e.id);
      if (held === undefined) l3.add(e.id, side, e.price, size);
      else if (held.side !== side || Decimal.parse(e.price).normalize().toString() !== held.price) {
        // Moved: it joins the back of its new level. Validate the new level before touching the old one.
        l3.l2.parsePrice(e.price);
        l3.remove(e.id);
        l3.add(e.id, side, e.price, size);
      } else l3.change(e.id, size);
    }
    tb.updates++;
    tb.checkCrossed(ts);
  }
}

export function createBitfinexRawBookHandler(options?: FeedHandlerOptions): VenueFeedHandler {
  return new BitfinexRawBookHandler(options);
}
