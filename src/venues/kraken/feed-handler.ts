/**
 * Kraken spot book handler: WS v1 `book-N` channels (the captures) and WS v2 `book` (rules in
 * ../shared/design/venue-sync-rules.md). No sequence numbers: the CRC32 checksum is the only gap detector.
 * After every message: apply the levels in order, truncate each side to the subscribed depth, then verify.
 */
import { type QobError, qobError } from '../../core/errors.ts';
import { type TradeEvent, trade } from '../../domain/events.ts';
import { normalizeSymbol } from '../../domain/instrument.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import type { FeedHandlerOptions, TrackedBook, VenueFeedHandler } from '../feed-handler.ts';
import { type FlatLevels, truncateBook } from '../frame-scan.ts';
import { KrakenChecksumBuilder } from './checksum.ts';
import {
  type ScannedKrakenV2Update,
  scanKrakenV1Book,
  scanKrakenV1UpdateFlat,
  scanKrakenV2Book,
  scanKrakenV2UpdateFlat,
} from './fast-book.ts';
import { KrakenFastChecksum } from './fast-checksum.ts';
import {
  isRecord,
  type KrakenTrade,
  type KrakenV1BookFrame,
  type KrakenV2BookMessage,
  type KrakenV2Level,
  malformed,
  parseJson,
  parseLossless,
  parseV1ChannelFrame,
  parseV1Trades,
  parseV2Book,
  parseV2Instruments,
  parseV2Trades,
} from './wire.ts';

export const KRAKEN_VENUE = 'kraken';
/** Kraken's default book depth when a subscription names none. */
const DEFAULT_DEPTH = 10;

interface KrakenBook {
  readonly tb: TrackedBook;
  readonly cs: KrakenChecksumBuilder;
  readonly fast: KrakenFastChecksum;
  depth: number;
  conn: string;
  /** Fraction digits the venue writes for this pair (trailing zeros included), learned from its text. */
  priceDecimals: number;
  qtyDecimals: number;
}

interface ConnState {
  /** v1 channelID -> book. */
  readonly channels: Map<number, KrakenBook>;
  /** Depth of the last subscribe we sent, by pair (v1) or symbol (v2). */
  readonly depthBySymbol: Map<string, number>;
}

/** `[price, qty, ...]` text, validated by the wire parsers. */
type RawLevels = readonly (readonly string[])[];

export class KrakenFeedHandler extends BookFeedHandler<KrakenBook> {
  private readonly conns = new Map<string, ConnState>();
  /** v2 `instrument` precisions by symbol. */
  private readonly precisions = new Map<string, { price: number; qty: number }>();
  /** Normalized symbol by venue pair (`XBT/USD` and `BTC/USD` -> `BTC-USD`). */
  private readonly normalized = new Map<string, string>();

  constructor(options: FeedHandlerOptions = {}) {
    super(KRAKEN_VENUE, options);
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.conns.set(conn, { channels: new Map(), depthBySymbol: new Map() });
    this.invalidateConnection(conn, 'new connection', tsRecvMs);
  }

  onSend(conn: string, data: string, _tsMs: number): void {
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch {
      return; // our own frames; nothing to learn from one that is not JSON
    }
    if (!isRecord(o)) return;
    const state = this.conn(conn);
    // v1: {"event":"subscribe","pair":[...],"subscription":{"name":"book","depth":N}}
    if (o.event === 'subscribe' && isRecord(o.subscription) && o.subscription.name === 'book') {
      const depth = typeof o.subscription.depth === 'number' ? o.subscription.depth : DEFAULT_DEPTH;
      if (Array.isArray(o.pair)) for (const p of o.pair) if (typeof p === 'string') state.depthBySymbol.set(p, depth);
    }
    // v2: {"method":"subscribe","params":{"channel":"book","symbol":[...],"depth":N}}
    if (o.method === 'subscribe' && isRecord(o.params) && o.params.channel === 'book') {
      const depth = typeof o.params.depth === 'number' ? o.params.depth : DEFAULT_DEPTH;
      if (Array.isArray(o.params.symbol)) {
        for (const s of o.params.symbol) if (typeof s === 'string') state.depthBySymbol.set(`v2:${s}`, depth);
      }
    }
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // Kraken books come from the WebSocket snapshot; REST bodies are not used.
  }

  private conn(conn: string): ConnState {
    let s = this.conns.get(conn);
    if (s === undefined) {
      s = { channels: new Map(), depthBySymbol: new Map() };
      this.conns.set(conn, s);
    }
    return s;
  }

  private unknown(what: string): QobError {
    return qobError('QOB_ERR_UNKNOWN_MESSAGE', `kraken: ${what}`, { venue: KRAKEN_VENUE });
  }

  protected handleFrame(conn: string, data: string, ts: number): void {
    const first = data.charCodeAt(0);
    if (first === 91 /* [ */) {
      // v1 updates of a subscribed channel: levels applied straight from the frame text.
      const u = scanKrakenV1UpdateFlat(data);
      if (u !== undefined) {
        const b = this.conns.get(conn)?.channels.get(u.channelId);
        if (b !== undefined) {
          this.applyFlatUpdate(b, u.levels, u.checksum, ts);
          return;
        }
      }
      const fast = scanKrakenV1Book(data); // v1 book frames in the venue's exact layout, without JSON.parse
      if (fast !== undefined) {
        this.onV1Book(conn, fast, ts);
        return;
      }
      const a = parseJson(data);
      if (!Array.isArray(a)) throw malformed('expected an array frame');
      if (a[a.length - 2] === 'trade') this.emitTrades(parseV1Trades(a), ts);
      else this.onV1Channel(conn, a, ts);
      return;
    }
    // v2 updates of one symbol: levels applied straight from the frame text.
    const v2u = scanKrakenV2UpdateFlat(data);
    if (v2u !== undefined) {
      this.onV2FlatUpdate(conn, v2u, ts);
      return;
    }
    const v2 = scanKrakenV2Book(data); // v2 book messages in the venue's exact layout, without JSON.parse
    if (v2 !== undefined) {
      this.onV2Book(conn, v2, ts);
      return;
    }
    // Objects: v1 events are small and v2 needs number text, so every object is parsed losslessly.
    const o = parseLossless(data);
    if (!isRecord(o)) throw malformed('expected a JSON object or array');
    if (typeof o.event === 'string') {
      this.onV1Event(conn, o, ts);
      return;
    }
    if (typeof o.channel === 'string') {
      this.onV2Channel(conn, o, ts);
      return;
    }
    if (typeof o.method === 'string') {
      this.onV2Method(conn, o);
      return;
    }
    throw this.unknown('a frame with neither "event", "channel" nor "method"');
  }

  // ---- v1 ------------------------------------------------------------------------------------------

  private onV1Event(conn: string, o: Record<string, unknown>, ts: number): void {
    switch (o.event) {
      case 'heartbeat':
      case 'systemStatus':
      case 'pong':
        return;
      case 'subscriptionStatus':
        this.onSubscriptionStatus(conn, o, ts);
        return;
      default:
        throw this.unknown(`event ${JSON.stringify(o.event).slice(0, 40)}`);
    }
  }

  /** Lossless parse: numbers (channelID, depth) arrive as text. */
  private onSubscriptionStatus(conn: string, o: Record<string, unknown>, ts: number): void {
    const sub = isRecord(o.subscription) ? o.subscription : undefined;
    if (sub?.name !== 'book') return;
    if (typeof o.pair !== 'string') throw malformed('subscriptionStatus without "pair"');
    const channelId = Number(o.channelID);
    const state = this.conn(conn);
    if (o.status === 'subscribed') {
      if (!Number.isSafeInteger(channelId)) throw malformed('subscriptionStatus without a valid "channelID"');
      const depth = Number(sub.depth ?? state.depthBySymbol.get(o.pair) ?? DEFAULT_DEPTH);
      if (!Number.isSafeInteger(depth) || depth <= 0) throw malformed('subscription depth must be a positive integer');
      state.channels.set(channelId, this.bookFor(`v1:${o.pair}`, o.pair, conn, depth));
    } else if (o.status === 'unsubscribed') {
      const b = state.channels.get(channelId);
      if (b !== undefined) {
        state.channels.delete(channelId);
        b.tb.invalidate('unsubscribed', ts);
      }
    }
  }

  private bookFor(key: string, symbol: string, conn: string, depth: number): KrakenBook {
    const b = this.track(key, symbol, (tb) => ({
      tb,
      cs: new KrakenChecksumBuilder(),
      fast: new KrakenFastChecksum(),
      depth,
      conn,
      priceDecimals: 0,
      qtyDecimals: 0,
    }));
    b.conn = conn;
    b.depth = depth;
    return b;
  }

  private onV1Channel(conn: string, a: unknown[], ts: number): void {
    const f = parseV1ChannelFrame(a);
    if (f === undefined) throw this.unknown(`channel ${String(a[a.length - 2]).slice(0, 40)}`);
    this.onV1Book(conn, f, ts);
  }

  private onV1Book(conn: string, f: KrakenV1BookFrame, ts: number): void {
    const state = this.conn(conn);
    let b = state.channels.get(f.channelId);
    if (b === undefined) {
      // No subscriptionStatus seen: the frame itself names the channel ("book-1000") and the pair.
      const depth = Number(f.channelName.slice(5));
      b = this.bookFor(`v1:${f.pair}`, f.pair, conn, Number.isSafeInteger(depth) && depth > 0 ? depth : DEFAULT_DEPTH);
      state.channels.set(f.channelId, b);
    }
    if (f.snapshot) this.applySnapshot(b, f.bids, f.asks, f.checksum, ts);
    else this.applyUpdate(b, f.bids, f.asks, f.checksum, ts);
  }

  // ---- v2 ------------------------------------------------------------------------------------------

  private onV2Method(conn: string, o: Record<string, unknown>): void {
    if (o.method === 'pong' || o.method === 'unsubscribe') return;
    if (o.method === 'subscribe') {
      // {"method":"subscribe","result":{"channel":"book","depth":10,"symbol":"ALGO/USD"},"success":true}
      const r = o.result;
      if (isRecord(r) && r.channel === 'book' && typeof r.symbol === 'string' && r.depth !== undefined) {
        const depth = Number(r.depth);
        if (Number.isSafeInteger(depth) && depth > 0) this.conn(conn).depthBySymbol.set(`v2:${r.symbol}`, depth);
      }
      return;
    }
    throw this.unknown(`method ${JSON.stringify(o.method).slice(0, 40)}`);
  }

  private onV2Channel(conn: string, o: Record<string, unknown>, ts: number): void {
    switch (o.channel) {
      case 'heartbeat':
      case 'status':
        return;
      case 'instrument':
        for (const p of parseV2Instruments(o)) {
          this.precisions.set(p.symbol, { price: p.pricePrecision, qty: p.qtyPrecision });
        }
        return;
      case 'trade':
        this.emitTrades(parseV2Trades(o), ts);
        return;
      case 'book':
        this.onV2Book(conn, parseV2Book(o), ts);
        return;
      default:
        throw this.unknown(`channel ${JSON.stringify(o.channel).slice(0, 40)}`);
    }
  }

  private onV2Book(conn: string, m: KrakenV2BookMessage, ts: number): void {
    const state = this.conn(conn);
    for (const d of m.data) {
      const depth = state.depthBySymbol.get(`v2:${d.symbol}`) ?? DEFAULT_DEPTH;
      const b = this.bookFor(`v2:${d.symbol}`, d.symbol, conn, depth);
      const p = this.precisions.get(d.symbol);
      if (p !== undefined) {
        b.priceDecimals = Math.max(b.priceDecimals, p.price);
        b.qtyDecimals = Math.max(b.qtyDecimals, p.qty);
      }
      const bids = d.bids.map(v2Raw);
      const asks = d.asks.map(v2Raw);
      if (m.type === 'snapshot') this.applySnapshot(b, bids, asks, d.checksum, ts);
      else this.applyUpdate(b, bids, asks, d.checksum, ts);
    }
  }

  /** `onV2Book` for an update of one symbol scanned flat: the same book, depth, precisions and checks. */
  private onV2FlatUpdate(conn: string, u: ScannedKrakenV2Update, ts: number): void {
    const state = this.conn(conn);
    const depth = state.depthBySymbol.get(`v2:${u.symbol}`) ?? DEFAULT_DEPTH;
    const b = this.bookFor(`v2:${u.symbol}`, u.symbol, conn, depth);
    const p = this.precisions.get(u.symbol);
    if (p !== undefined) {
      b.priceDecimals = Math.max(b.priceDecimals, p.price);
      b.qtyDecimals = Math.max(b.qtyDecimals, p.qty);
    }
    this.applyFlatUpdate(b, u.levels, u.checksum, ts);
  }

  // ---- trades (both versions) ---------------------------------------------------------------------

  /** Builds every event of the frame first, so a bad trade rejects the whole frame (counted as malformed). */
  private emitTrades(trades: readonly KrakenTrade[], ts: number): void {
    const events: TradeEvent[] = new Array(trades.length);
    for (let i = 0; i < trades.length; i++) {
      const t = trades[i] as KrakenTrade;
      events[i] = trade({
        venue: KRAKEN_VENUE,
        symbol: this.symbolOf(t.pair),
        price: t.price,
        size: t.qty,
        aggressor: t.side,
        tradeId: t.tradeId,
        tsEventMs: t.tsEventMs,
        tsRecvMs: ts,
        // v1 trades have no id: the event id falls back to receive order, unique within this handler.
        recvSeq: this.trades + i,
      });
    }
    this.trades += events.length;
    const on = this.options.onTrade;
    if (on !== undefined) for (const e of events) on(e);
  }

  private symbolOf(pair: string): string {
    let s = this.normalized.get(pair);
    if (s === undefined) {
      const slash = pair.indexOf('/');
      if (slash <= 0) throw malformed('a trade pair must be BASE/QUOTE', { pair: pair.slice(0, 40) });
      s = normalizeSymbol(pair.slice(0, slash), pair.slice(slash + 1), 'spot');
      if (this.normalized.size >= 4096) this.normalized.clear(); // bounded: pairs come from the venue
      this.normalized.set(pair, s);
    }
    return s;
  }

  // ---- book sync (both versions) -------------------------------------------------------------------

  private applySnapshot(
    b: KrakenBook,
    bids: RawLevels,
    asks: RawLevels,
    checksum: number | undefined,
    ts: number,
  ): void {
    const tb = b.tb;
    tb.book.applySnapshot(bids, asks); // validated first: a typed error leaves the book as it was
    tb.beginResync(ts);
    learnDecimals(b, bids, asks);
    tb.book.truncate(b.depth);
    tb.updates++;
    if (checksum !== undefined && !this.verify(b, checksum, ts)) return;
    tb.setStatus('in_sync', 'snapshot', ts);
    tb.checkCrossed(ts);
  }

  private applyUpdate(b: KrakenBook, bids: RawLevels, asks: RawLevels, checksum: number | undefined, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return; // waiting for a snapshot
    tb.book.applyDelta(bids, asks);
    learnDecimals(b, bids, asks);
    truncateBook(tb.book, b.depth); // tb.book.truncate, cheaper for the few levels a delta pushes out
    tb.updates++;
    if (checksum !== undefined && !this.verify(b, checksum, ts)) return;
    tb.checkCrossed(ts);
  }

  /** `applyUpdate` for levels scanned from the frame: the same book, decimals learned, checks and errors. */
  private applyFlatUpdate(b: KrakenBook, levels: FlatLevels, checksum: number | undefined, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return; // waiting for a snapshot
    levels.apply(tb.book); // applyDelta's result, errors and atomicity
    learnFlatDecimals(b, levels);
    truncateBook(tb.book, b.depth);
    tb.updates++;
    if (checksum !== undefined && !this.verify(b, checksum, ts)) return;
    tb.checkCrossed(ts);
  }

  private verify(b: KrakenBook, expected: number, ts: number): boolean {
    const book = b.tb.book;
    const got =
      b.fast.checksumOf(book, b.priceDecimals, b.qtyDecimals) ?? b.cs.checksum(book, b.priceDecimals, b.qtyDecimals);
    if (got === expected) {
      b.tb.checksumsVerified++;
      return true;
    }
    b.tb.checksumFailed(`checksum ${got} != venue ${expected}`, ts);
    return false;
  }
}

function v2Raw(l: KrakenV2Level): readonly [string, string] {
  return [l.price, l.qty];
}

/** The venue writes fixed decimals per pair: the widest text seen is the pair's precision. */
function learnDecimals(b: KrakenBook, bids: RawLevels, asks: RawLevels): void {
  learnSide(b, bids);
  learnSide(b, asks);
}

function learnSide(b: KrakenBook, levels: RawLevels): void {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as readonly string[];
    const pd = writtenDecimals(l[0] as string);
    const qd = writtenDecimals(l[1] as string);
    if (pd > b.priceDecimals) b.priceDecimals = pd;
    if (qd > b.qtyDecimals) b.qtyDecimals = qd;
  }
}

/** `learnDecimals` over scanned levels, with the fraction lengths the scanner read. */
function learnFlatDecimals(b: KrakenBook, levels: FlatLevels): void {
  let pdMax = b.priceDecimals;
  let qdMax = b.qtyDecimals;
  const pdScan = levels.maxPriceDecimals;
  const qdScan = levels.maxSizeDecimals;
  if (pdScan >= 0 && qdScan >= 0) {
    // Every level's texts were plain: the scanner's maxima are writtenDecimals'.
    if (pdScan > pdMax) pdMax = pdScan;
    if (qdScan > qdMax) qdMax = qdScan;
  } else {
    for (let k = 0; k < levels.n; k++) {
      let pd = levels.priceDecimals(k);
      if (pd < 0) pd = writtenDecimals(levels.priceText(k));
      let qd = levels.sizeDecimals(k);
      if (qd < 0) qd = writtenDecimals(levels.sizeText(k));
      if (pd > pdMax) pdMax = pd;
      if (qd > qdMax) qdMax = qd;
    }
  }
  b.priceDecimals = pdMax;
  b.qtyDecimals = qdMax;
}

/** Fraction digits as written, trailing zeros included, up to an exponent (`"600.00000000"` -> 8). */
function writtenDecimals(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  const n = text.length;
  for (let i = dot + 1; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 101 /* e */ || c === 69 /* E */) return i - dot - 1;
  }
  return n - dot - 1;
}

export function createKrakenFeedHandler(options?: FeedHandlerOptions): VenueFeedHandler {
  return new KrakenFeedHandler(options);
}
