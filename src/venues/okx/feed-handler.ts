/**
 * OKX v5 book handler (`books` and the tick-by-tick variants). Sync rules (../shared/design/venue-sync-rules.md):
 * a snapshot has `prevSeqId = -1`; each update needs `prevSeqId == last seqId` (keep-alives repeat the
 * seqId; a maintenance reset has `seqId < prevSeqId` but still chains on prevSeqId); the checksum is over
 * the venue's raw strings and is verified only when non-zero.
 */
import type { BookSide } from '../../book/book-side.ts';
import type { L2Book } from '../../book/l2-book.ts';
import { type QobError, qobError } from '../../core/errors.ts';
import { pow10 } from '../../core/fixed.ts';
import { type TradeEvent, trade } from '../../domain/events.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import type { FeedHandlerOptions, TrackedBook } from '../feed-handler.ts';
import { OKX_CHECKSUM_LEVELS, okxChecksumOfFragments } from './checksum.ts';
import {
  isRecord,
  malformed,
  OKX_BOOK_CHANNELS,
  OKX_TRADE_CHANNELS,
  type OkxBookData,
  type OkxLevel,
  okxNormalizedSymbol,
  parseBookPush,
  parseTradePush,
} from './wire.ts';

export const OKX_VENUE = 'okx';

/**
 * The venue's text of each level as its checksum fragment `px:sz`, keyed by scaled price at `scale` (the
 * checksum needs the raw strings; the book keeps the size text but not the price text).
 */
class LevelTexts {
  bids = new Map<number, string>();
  asks = new Map<number, string>();
  scale = 0;

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** Re-keys after the book's price scale grew. */
  rescale(scale: number): void {
    if (scale === this.scale) return;
    const f = pow10(scale - this.scale);
    const re = (m: Map<number, string>) => new Map([...m].map(([k, v]) => [k * f, v] as const));
    this.bids = re(this.bids);
    this.asks = re(this.asks);
    this.scale = scale;
  }
}

interface OkxBook {
  readonly tb: TrackedBook;
  readonly texts: LevelTexts;
  conn: string;
}

export class OkxFeedHandler extends BookFeedHandler<OkxBook> {
  constructor(options: FeedHandlerOptions = {}) {
    super(OKX_VENUE, options);
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.invalidateConnection(conn, 'new connection', tsRecvMs, (b) => b.texts.clear());
  }

  onSend(_conn: string, _data: string, _tsMs: number): void {
    // Subscriptions name channel and instId, which every push repeats in "arg": nothing to learn here.
  }

  onHttp(_url: string, _body: string, _tsRecvMs: number): void {
    // OKX books come from the WebSocket snapshot.
  }

  private unknown(what: string): QobError {
    return qobError('QOB_ERR_UNKNOWN_MESSAGE', `okx: ${what}`, { venue: OKX_VENUE });
  }

  protected handleFrame(conn: string, data: string, ts: number): void {
    if (data === 'pong') return; // the answer to our text "ping"
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch (e) {
      throw malformed(`not JSON: ${(e as Error).message}`, { text: data.slice(0, 80) });
    }
    if (!isRecord(o)) throw malformed('expected a JSON object');
    if (typeof o.event === 'string') {
      switch (o.event) {
        case 'subscribe':
        case 'unsubscribe':
        case 'error':
        case 'login':
        case 'notice':
        case 'channel-conn-count':
        case 'channel-conn-count-error':
          return;
        default:
          throw this.unknown(`event ${JSON.stringify(o.event).slice(0, 40)}`);
      }
    }
    const arg = o.arg;
    if (!isRecord(arg)) throw malformed('a push without "arg"');
    if (typeof arg.channel === 'string' && OKX_TRADE_CHANNELS.has(arg.channel)) {
      this.onTrades(o, arg, ts);
      return;
    }
    if (typeof arg.channel !== 'string' || !OKX_BOOK_CHANNELS.has(arg.channel)) {
      throw this.unknown(`channel ${JSON.stringify(arg.channel).slice(0, 40)}`);
    }
    const push = parseBookPush(o, arg);
    const key = push.channel === 'books' ? push.instId : `${push.channel}:${push.instId}`;
    const b = this.bookFor(key, push.instId, conn);
    for (const d of push.data) {
      if (push.action === 'snapshot') this.snapshot(b, d, ts);
      else this.update(b, d, ts);
    }
  }

  /** Every trade of the push is validated before any is emitted. Independent of book sync. */
  private onTrades(o: Record<string, unknown>, arg: Record<string, unknown>, tsRecvMs: number): void {
    const events: TradeEvent[] = parseTradePush(o, arg).map((t) =>
      trade({
        venue: OKX_VENUE,
        symbol: okxNormalizedSymbol(t.instId),
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

  private bookFor(key: string, instId: string, conn: string): OkxBook {
    const b = this.track(key, instId, (tb) => ({ tb, texts: new LevelTexts(), conn }));
    b.conn = conn;
    return b;
  }

  private snapshot(b: OkxBook, d: OkxBookData, ts: number): void {
    const tb = b.tb;
    tb.book.applySnapshot(d.bids, d.asks); // validated first: a typed error leaves the book as it was
    tb.beginResync(ts);
    b.texts.clear();
    recordTexts(b, d);
    tb.updates++;
    tb.lastSeq = d.seqId ?? -1;
    if (!this.verify(b, d, ts)) return;
    tb.setStatus('in_sync', 'snapshot', ts);
    tb.checkCrossed(ts);
  }

  private update(b: OkxBook, d: OkxBookData, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return; // waiting for a snapshot
    if (d.seqId !== undefined && d.prevSeqId !== undefined && d.prevSeqId !== tb.lastSeq) {
      tb.gap(`prevSeqId ${d.prevSeqId} != last seqId ${tb.lastSeq}`, ts);
      b.texts.clear();
      return;
    }
    tb.book.applyDelta(d.bids, d.asks);
    recordTexts(b, d);
    tb.updates++;
    if (d.seqId !== undefined) tb.lastSeq = d.seqId;
    if (!this.verify(b, d, ts)) return;
    tb.checkCrossed(ts);
  }

  private verify(b: OkxBook, d: OkxBookData, ts: number): boolean {
    if (d.checksum === undefined || d.checksum === 0) return true;
    const book = b.tb.book;
    const nb = topFragments(book.bids, b.texts.bids, book, BID_FRAGS);
    const na = topFragments(book.asks, b.texts.asks, book, ASK_FRAGS);
    const got = okxChecksumOfFragments(BID_FRAGS, nb, ASK_FRAGS, na);
    if (got === d.checksum) {
      b.tb.checksumsVerified++;
      return true;
    }
    b.tb.checksumFailed(`checksum ${got} != venue ${d.checksum}`, ts);
    b.texts.clear();
    return false;
  }
}

/** After the book applied `d` (its scales are final now), keep the venue's text of each level. */
function recordTexts(b: OkxBook, d: OkxBookData): void {
  const book = b.tb.book;
  b.texts.rescale(book.priceScale);
  putTexts(book, b.texts.bids, d.bids);
  putTexts(book, b.texts.asks, d.asks);
}

function putTexts(book: L2Book, m: Map<number, string>, levels: readonly OkxLevel[]): void {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as OkxLevel;
    const p = book.parsePrice(l[0]);
    if (!book.checkSize(l[1])) m.delete(p);
    else m.set(p, `${l[0]}:${l[1]}`);
  }
}

// Scratch space for one checksum at a time (handlers run synchronously, one frame at a time).
const TOP_PRICES = new Float64Array(OKX_CHECKSUM_LEVELS);
const TOP_SIZES: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');
const BID_FRAGS: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');
const ASK_FRAGS: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');

/** The `px:sz` fragments of the side's best levels into `out`; returns how many. */
function topFragments(side: BookSide, texts: Map<number, string>, book: L2Book, out: string[]): number {
  const n = side.top(OKX_CHECKSUM_LEVELS, TOP_PRICES, TOP_SIZES);
  for (let i = 0; i < n; i++) {
    const p = TOP_PRICES[i] as number;
    // Every level came from a push, so its text is known; canonical text is only a fallback.
    out[i] = texts.get(p) ?? `${book.formatPrice(p)}:${TOP_SIZES[i] as string}`;
  }
  return n;
}

export function createOkxFeedHandler(options?: FeedHandlerOptions): OkxFeedHandler {
  return new OkxFeedHandler(options);
}
