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
import { detach, FlatLevels } from '../frame-scan.ts';
import { OKX_CHECKSUM_LEVELS, okxChecksumOfFragments } from './checksum.ts';
import { type ScannedOkxPush, scanOkxBookPushFlat } from './fast-book.ts';
import { OkxFastChecksum } from './fast-checksum.ts';
import {
  isRecord,
  malformed,
  OKX_BOOK_CHANNELS,
  OKX_TRADE_CHANNELS,
  type OkxBookData,
  type OkxBookPush,
  type OkxLevel,
  okxNormalizedSymbol,
  parseBookPush,
  parseTradePush,
} from './wire.ts';

export const OKX_VENUE = 'okx';

/** What an update needs besides its levels. */
type OkxBookHead = Pick<OkxBookData, 'checksum' | 'seqId' | 'prevSeqId'>;

/** Books are keyed by instId on `books`, by `channel:instId` on the other book channels. */
function bookKey(channel: string, instId: string): string {
  return channel === 'books' ? instId : `${channel}:${instId}`;
}

/**
 * The venue's price text of the levels whose text is not the canonical text of their price (`30261.0`
 * for 30261), keyed by scaled price at `scale`: the checksum needs the venue's strings, the book keeps
 * the size text but not the price text, and OKX writes canonical prices, so this map is almost always
 * empty. `version` changes whenever the map does (it is part of the checksum memo's key).
 */
class LevelTexts {
  bids = new Map<number, string>();
  asks = new Map<number, string>();
  scale = 0;
  version = 0;

  clear(): void {
    if (this.bids.size + this.asks.size > 0) this.version++;
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
    this.version++;
  }
}

interface OkxBook {
  readonly tb: TrackedBook;
  readonly texts: LevelTexts;
  /** The checksum of the book's top levels, kept up to date from its last computation. */
  readonly fast: OkxFastChecksum;
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
    const fast = scanOkxBookPushFlat(data); // book pushes in the venue's exact layout, without JSON.parse
    if (fast !== undefined) {
      this.onScannedPush(conn, fast, ts);
      return;
    }
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
    this.onBookPush(conn, parseBookPush(o, arg), ts);
  }

  private onBookPush(conn: string, push: OkxBookPush, ts: number): void {
    const b = this.bookFor(bookKey(push.channel, push.instId), push.instId, conn);
    for (const d of push.data) {
      if (push.action === 'snapshot') this.snapshot(b, d, ts);
      else this.update(b, d, d, ts);
    }
  }

  /** A scanned push (one data element): an update is applied from its flat levels, with no arrays. */
  private onScannedPush(conn: string, m: ScannedOkxPush, ts: number): void {
    const b = this.bookFor(bookKey(m.channel, m.instId), m.instId, conn);
    if (m.action === 'update') {
      this.update(b, m, m.levels, ts);
      return;
    }
    const { checksum, seqId, prevSeqId } = m;
    const asks = m.levels.asks as OkxLevel[]; // `[px, sz]` texts
    const bids = m.levels.bids as OkxLevel[];
    this.snapshot(b, { asks, bids, checksum, seqId, prevSeqId }, ts);
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
    const b = this.track(key, instId, (tb) => ({
      tb,
      texts: new LevelTexts(),
      fast: new OkxFastChecksum(),
      conn,
    }));
    b.conn = conn;
    return b;
  }

  private snapshot(b: OkxBook, d: OkxBookData, ts: number): void {
    const tb = b.tb;
    tb.book.applySnapshot(d.bids, d.asks); // validated first: a typed error leaves the book as it was
    tb.beginResync(ts);
    b.texts.clear();
    b.fast.bookReplaced();
    recordTexts(b, d);
    tb.updates++;
    tb.lastSeq = d.seqId ?? -1;
    if (!this.verify(b, d, ts)) return;
    tb.setStatus('in_sync', 'snapshot', ts);
    tb.checkCrossed(ts);
  }

  /** `d`'s sequence numbers and checksum, its levels as arrays (the JSON.parse path) or flat (scanned). */
  private update(b: OkxBook, d: OkxBookHead, levels: OkxBookData | FlatLevels, ts: number): void {
    const tb = b.tb;
    if (!tb.inSync) return; // waiting for a snapshot
    if (d.seqId !== undefined && d.prevSeqId !== undefined && d.prevSeqId !== tb.lastSeq) {
      tb.gap(`prevSeqId ${d.prevSeqId} != last seqId ${tb.lastSeq}`, ts);
      b.texts.clear();
      return;
    }
    if (levels instanceof FlatLevels) {
      levels.apply(tb.book); // applyDelta's result, errors and atomicity
      recordFlatTexts(b, levels, d.checksum !== undefined && d.checksum !== 0);
    } else {
      tb.book.applyDelta(levels.bids, levels.asks);
      recordTexts(b, levels);
    }
    tb.updates++;
    if (d.seqId !== undefined) tb.lastSeq = d.seqId;
    if (!this.verify(b, d, ts)) return;
    tb.checkCrossed(ts);
  }

  private verify(b: OkxBook, d: OkxBookHead, ts: number): boolean {
    if (d.checksum === undefined || d.checksum === 0) return true;
    const book = b.tb.book;
    const texts = b.texts;
    let got = b.fast.checksum(book, texts.version, texts.bids, texts.asks);
    if (got === undefined) {
      // A text outside ASCII: CRC-32 of the UTF-8 text, as the venue computes it.
      const nb = topFragments(book.bids, texts.bids, book, BID_FRAGS);
      const na = topFragments(book.asks, texts.asks, book, ASK_FRAGS);
      got = okxChecksumOfFragments(BID_FRAGS, nb, ASK_FRAGS, na);
    }
    if (got === d.checksum) {
      b.tb.checksumsVerified++;
      return true;
    }
    b.tb.checksumFailed(`checksum ${got} != venue ${d.checksum}`, ts);
    b.texts.clear();
    return false;
  }
}

/** After the book applied `d` (its scales are final now), keep the venue's non-canonical price texts. */
function recordTexts(b: OkxBook, d: OkxBookData): void {
  const book = b.tb.book;
  b.texts.rescale(book.priceScale);
  putTexts(book, b.texts, b.texts.bids, d.bids);
  putTexts(book, b.texts, b.texts.asks, d.asks);
}

/**
 * `recordTexts` for a scanned update's levels (asks first, as OKX writes them), read in the frame: a
 * canonical price text (the usual case) is neither sliced nor parsed while no odd text is kept. With
 * `report`, each level applied is reported to the book's checksum (`touched`), which then reads only the
 * top positions the changes can have reached.
 */
function recordFlatTexts(b: OkxBook, flat: FlatLevels, report: boolean): void {
  const book = b.tb.book;
  const texts = b.texts;
  texts.rescale(book.priceScale);
  const asksFirst = flat.asksFirst;
  const first = asksFirst ? texts.asks : texts.bids;
  const second = asksFirst ? texts.bids : texts.asks;
  const split = flat.split;
  const n = flat.n;
  if (report && flat.appliedScaled) {
    const fast = b.fast;
    const s0: 0 | 1 = asksFirst ? 1 : 0;
    const s1: 0 | 1 = asksFirst ? 0 : 1;
    for (let k = 0; k < n; k++) fast.touched(k < split ? s0 : s1, flat.scaledPrice(k));
  }
  if (first.size + second.size === 0) {
    for (let k = 0; k < n; k++) {
      if (!flat.priceIsCanonical(k))
        putText(book, texts, k < split ? first : second, flat.priceText(k), flat.sizeText(k));
    }
    return;
  }
  for (let k = 0; k < n; k++) {
    putText(book, texts, k < split ? first : second, flat.priceText(k), flat.sizeText(k));
  }
}

function putTexts(book: L2Book, texts: LevelTexts, m: Map<number, string>, levels: readonly OkxLevel[]): void {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as OkxLevel;
    putText(book, texts, m, l[0], l[1]);
  }
}

/** Keeps (or forgets) the venue's text of one level's price, as applied to the book. */
function putText(book: L2Book, texts: LevelTexts, m: Map<number, string>, pt: string, size: string): void {
  if (isCanonicalPrice(pt)) {
    // The book's own formatting gives this text: nothing to keep, only an older odd text to forget.
    if (m.size > 0 && m.delete(book.parsePrice(pt))) texts.version++;
    return;
  }
  const p = book.parsePrice(pt);
  if (!book.checkSize(size)) {
    if (m.delete(p)) texts.version++;
  } else if (m.get(p) !== pt) {
    m.set(p, detach(pt));
    texts.version++;
  }
}

/**
 * Whether `t` is the book's canonical text of its value (`formatPrice`): digits with no redundant leading
 * zero and, if it has a dot, at least one fraction digit and no trailing zero.
 */
export function isCanonicalPrice(t: string): boolean {
  const n = t.length;
  if (n === 0) return false;
  if (t.charCodeAt(0) === 48 /* 0 */ && n > 1 && t.charCodeAt(1) !== 46 /* . */) return false;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0 || i === 0) return false;
      dot = i;
    } else if (c < 48 || c > 57) {
      return false;
    }
  }
  return dot < 0 || (dot < n - 1 && t.charCodeAt(n - 1) !== 48);
}

// Scratch space for one checksum at a time (handlers run synchronously, one frame at a time).
const TOP_PRICES = new Float64Array(OKX_CHECKSUM_LEVELS);
const TOP_SIZES: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');
const BID_FRAGS: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');
const ASK_FRAGS: string[] = new Array<string>(OKX_CHECKSUM_LEVELS).fill('');
/** Canonical price texts by scaled price at `PRICE_MEMO_SCALE` (a pure function of both: never stale). */
const PRICE_MEMO = new Map<number, string>();
let PRICE_MEMO_SCALE = -1;

/** The `px:sz` fragments of the side's best levels into `out`; returns how many. */
function topFragments(side: BookSide, texts: Map<number, string>, book: L2Book, out: string[]): number {
  const n = side.top(OKX_CHECKSUM_LEVELS, TOP_PRICES, TOP_SIZES);
  if (book.priceScale !== PRICE_MEMO_SCALE || PRICE_MEMO.size > 4096) {
    PRICE_MEMO.clear();
    PRICE_MEMO_SCALE = book.priceScale;
  }
  const odd = texts.size > 0;
  for (let i = 0; i < n; i++) {
    const p = TOP_PRICES[i] as number;
    let pt = odd ? texts.get(p) : undefined;
    if (pt === undefined) {
      pt = PRICE_MEMO.get(p);
      if (pt === undefined) {
        pt = book.formatPrice(p);
        PRICE_MEMO.set(p, pt);
      }
    }
    out[i] = `${pt}:${TOP_SIZES[i] as string}`;
  }
  return n;
}

export function createOkxFeedHandler(options?: FeedHandlerOptions): OkxFeedHandler {
  return new OkxFeedHandler(options);
}
