/**
 * Turns a venue feed handler into a stream of normalized market events for the bus (the ingestion
 * service). The venue's own handler keeps its books exact (sync rules, checksums, gaps); after every frame
 * the tap compares each in-sync book with what it last published and emits:
 *
 * - `book.snapshot` when a book (re)gains sync, and every `snapshotEvery` deltas (so a consumer that takes
 *   over an instrument, or lost its place, rebuilds from the next one);
 * - `book.delta` with the level changes (absolute sizes, `0` deletes);
 * - `status` when a book loses sync (its levels are then withheld until the next snapshot);
 * - `trade` for every trade the handler reports.
 *
 * Sequencing: one counter per tap, starting at `seqBase`, numbers every event (`recvSeq`). A book event's
 * sequence (`seq` of a snapshot, `firstSeq`=`lastSeq` of a delta) is that same number, and a delta's
 * `prevSeq` is the sequence of the book's previous event, so a consumer orders snapshots, deltas and
 * statuses of one book across topics and detects any gap. These are the ingestion stream's sequence
 * numbers, not the venue's (docs/SERVICES.md). Ids are derived from them, so a replay with the same base
 * yields the same ids.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import { bookDelta, bookSnapshot, type MarketEvent, status, type TradeEvent, trade } from '../domain/events.ts';
import { normalizeAsset, parseNormalizedSymbol } from '../domain/instrument.ts';
import type {
  FeedHandlerFactory,
  FeedHandlerOptions,
  FrameCounters,
  TrackedBook,
  VenueFeedHandler,
} from '../venues/feed-handler.ts';

export interface BookEventTapOptions {
  /** First sequence number (default 1). Services use the start time in microseconds, so a restart moves on. */
  readonly seqBase?: number;
  /** Deltas of one book between periodic snapshots (default 500). */
  readonly snapshotEvery?: number;
  /** Maps a venue symbol (`BTCUSDT`) to a normalized one (`BTC-USDT`); default `guessSymbol`. */
  readonly symbolOf?: (venueSymbol: string) => string;
  /** Receives every event, in sequence order. */
  readonly emit: (event: MarketEvent) => void;
  /** A book whose symbol cannot be normalized, a frame the handler rejects: counted and reported. */
  readonly onError?: (err: QobError) => void;
  /** Options of the wrapped handler (a connector's status and trade listeners), merged with the tap's. */
  readonly handlerOptions?: FeedHandlerOptions;
  /**
   * The sequence counter, shared by the taps of one venue's handlers (a live connector makes a new
   * handler on reconnect); default: the tap's own, starting at `seqBase`.
   */
  readonly sequence?: { next: number };
  /** Emit the handler's trades (default true); a live connector delivers them deduplicated instead (`trade`). */
  readonly trades?: boolean;
}

interface Mirror {
  readonly symbol: string;
  /** The book object the mirror describes (a handler may replace a book's object on resync). */
  book: TrackedBook['book'] | null;
  readonly bids: Map<number, string>;
  readonly asks: Map<number, string>;
  inSync: boolean;
  updates: number;
  lastSeq: number | null;
  sinceSnapshot: number;
}

const QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USD', 'EUR', 'GBP', 'JPY', 'TRY', 'BTC', 'ETH', 'BNB'];

/**
 * Best-effort normalization of a venue symbol: a normalized one is kept; otherwise a `kind:` prefix and
 * separators are dropped and the longest known quote suffix is split off (`NKNUSDT` -> `NKN-USDT`,
 * `XBT/USD` -> `BTC-USD`). Throws QOB_ERR_INVALID_SYMBOL when no split is found.
 */
export function guessSymbol(venueSymbol: string): string {
  try {
    parseNormalizedSymbol(venueSymbol);
    return venueSymbol;
  } catch {
    // not normalized: try to split it
  }
  const bare = venueSymbol
    .replace(/^[a-z]+:/i, '')
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase();
  for (const q of QUOTES) {
    if (bare.length > q.length && bare.endsWith(q)) {
      const s = `${normalizeAsset(bare.slice(0, -q.length))}-${normalizeAsset(q)}`;
      parseNormalizedSymbol(s);
      return s;
    }
  }
  throw qobError('QOB_ERR_INVALID_SYMBOL', `cannot normalize venue symbol ${JSON.stringify(venueSymbol)}`, {
    field: 'symbol',
    value: venueSymbol,
  });
}

export class BookEventTap implements VenueFeedHandler {
  readonly venue: string;
  readonly handler: VenueFeedHandler;
  readonly #emit: (event: MarketEvent) => void;
  readonly #onError: ((err: QobError) => void) | undefined;
  readonly #symbolOf: (venueSymbol: string) => string;
  readonly #snapshotEvery: number;
  readonly #mirrors = new Map<TrackedBook, Mirror | null>();
  readonly #seq: { next: number };
  readonly #trades: boolean;
  #emitted = 0;

  constructor(venue: string, factory: FeedHandlerFactory, options: BookEventTapOptions) {
    this.venue = venue;
    this.#emit = options.emit;
    this.#onError = options.onError;
    this.#symbolOf = options.symbolOf ?? guessSymbol;
    this.#snapshotEvery = options.snapshotEvery ?? 500;
    this.#seq = options.sequence ?? { next: options.seqBase ?? 1 };
    this.#trades = options.trades ?? true;
    if (!Number.isSafeInteger(this.#seq.next) || this.#seq.next < 0 || !(this.#snapshotEvery >= 1)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'seqBase must be a non-negative safe integer, snapshotEvery >= 1', {
        seqBase: this.#seq.next,
        snapshotEvery: this.#snapshotEvery,
      });
    }
    const ho = options.handlerOptions ?? {};
    this.handler = factory({
      ...ho,
      onTrade: (t) => {
        ho.onTrade?.(t);
        if (this.#trades) this.trade(t);
      },
      onBadFrame: (err, conn) => {
        ho.onBadFrame?.(err, conn);
        this.#onError?.(err);
      },
    });
  }

  get counters(): FrameCounters {
    return this.handler.counters;
  }

  books(): Iterable<TrackedBook> {
    return this.handler.books();
  }

  /** Events emitted so far. */
  get emitted(): number {
    return this.#emitted;
  }

  /** The sequence number the next event will get. */
  get nextSeq(): number {
    return this.#seq.next;
  }

  onConnect(conn: string, url: string, tsRecvMs: number): void {
    this.handler.onConnect(conn, url, tsRecvMs);
  }

  onSend(conn: string, data: string, tsMs: number): void {
    this.handler.onSend(conn, data, tsMs);
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    this.handler.onFrame(conn, data, tsRecvMs);
    this.#scan(tsRecvMs);
  }

  onHttp(url: string, body: string, tsRecvMs: number): void {
    this.handler.onHttp(url, body, tsRecvMs);
    this.#scan(tsRecvMs);
  }

  /**
   * Emits a fresh snapshot of every in-sync book now, whatever its count since the last one: a consumer
   * that took a book over, or lost its place, rebuilds from it without waiting for the periodic one.
   */
  resnapshot(tsRecvMs: number): void {
    for (const tb of this.handler.books()) {
      const m = this.#mirror(tb);
      if (m === null || !m.inSync || !tb.inSync) continue;
      try {
        this.#snapshot(tb, m, tsRecvMs);
      } catch (e) {
        m.inSync = false;
        this.#report(e);
      }
    }
  }

  #out(e: MarketEvent): void {
    this.#emitted++;
    this.#emit(e);
  }

  /** Emits a trade of this venue, numbered on the tap's sequence. */
  trade(t: TradeEvent): void {
    try {
      // Re-sequenced on the tap's counter so ids stay unique when the venue sends no trade id.
      this.#out(
        trade({
          venue: t.venue,
          symbol: t.symbol,
          tsEventMs: t.tsEventMs,
          tsRecvMs: t.tsRecvMs,
          recvSeq: this.#seq.next++,
          price: t.price,
          size: t.size,
          aggressor: t.aggressor,
          tradeId: t.tradeId,
        }),
      );
    } catch (e) {
      this.#report(e);
    }
  }

  #report(e: unknown): void {
    this.#onError?.(
      isQobError(e)
        ? e
        : qobError('QOB_ERR_INTERNAL', `ingestion of ${this.venue} failed: ${String(e)}`, { venue: this.venue }, e),
    );
  }

  #mirror(tb: TrackedBook): Mirror | null {
    let m = this.#mirrors.get(tb);
    if (m !== undefined) return m;
    try {
      m = {
        symbol: this.#symbolOf(tb.symbol),
        bids: new Map(),
        asks: new Map(),
        inSync: false,
        book: null,
        updates: -1,
        lastSeq: null,
        sinceSnapshot: 0,
      };
    } catch (e) {
      this.#report(e);
      m = null;
    }
    this.#mirrors.set(tb, m);
    return m;
  }

  #scan(tsRecvMs: number): void {
    for (const tb of this.handler.books()) {
      const m = this.#mirror(tb);
      if (m === null) continue;
      try {
        if (!tb.inSync) {
          if (m.inSync) {
            m.inSync = false;
            m.bids.clear();
            m.asks.clear();
            const seq = this.#seq.next++;
            m.lastSeq = seq;
            this.#out(
              status({
                venue: this.venue,
                symbol: m.symbol,
                tsRecvMs,
                recvSeq: seq,
                status: tb.status === 'failed' ? 'failed' : 'stale',
                reason: `the venue book lost sync (${tb.status})`,
              }),
            );
          }
          continue;
        }
        if (!m.inSync || m.sinceSnapshot >= this.#snapshotEvery) {
          this.#snapshot(tb, m, tsRecvMs);
          continue;
        }
        if (tb.updates === m.updates) continue;
        this.#delta(tb, m, tsRecvMs);
      } catch (e) {
        // Never publish a book we could not describe: withhold it until the next snapshot.
        m.inSync = false;
        this.#report(e);
      }
    }
  }

  #snapshot(tb: TrackedBook, m: Mirror, tsRecvMs: number): void {
    const book = tb.book;
    m.bids.clear();
    m.asks.clear();
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    book.side('bid').visit((p, s) => {
      m.bids.set(p, s);
      bids.push([book.formatPrice(p), s]);
      return true;
    });
    book.side('ask').visit((p, s) => {
      m.asks.set(p, s);
      asks.push([book.formatPrice(p), s]);
      return true;
    });
    // From here on the book journals what changes, so a delta looks only at the touched prices.
    book.side('bid').openJournal();
    book.side('ask').openJournal();
    m.book = book;
    const seq = this.#seq.next++;
    this.#out(bookSnapshot({ venue: this.venue, symbol: m.symbol, tsRecvMs, recvSeq: seq, seq, bids, asks }));
    m.inSync = true;
    m.updates = tb.updates;
    m.lastSeq = seq;
    m.sinceSnapshot = 0;
  }

  #delta(tb: TrackedBook, m: Mirror, tsRecvMs: number): void {
    const book = tb.book;
    const changes: { side: 'bid' | 'ask'; price: string; size: string }[] = [];
    for (const sideName of ['bid', 'ask'] as const) {
      const side = book.side(sideName);
      const mirror = sideName === 'bid' ? m.bids : m.asks;
      const touched = m.book === book ? side.journalPrices() : null;
      if (touched !== null) {
        // Only the journalled prices can differ from the mirror; a repeat finds the mirror already updated.
        for (let i = 0; i < touched.length; i++) {
          const p = touched[i] as number;
          const s = side.sizeOf(p);
          if (s === undefined) {
            if (mirror.delete(p)) changes.push({ side: sideName, price: book.formatPrice(p), size: '0' });
          } else if (mirror.get(p) !== s) {
            mirror.set(p, s);
            changes.push({ side: sideName, price: book.formatPrice(p), size: s });
          }
        }
      } else {
        // No journal to go by (a new book object, a wholesale change, an overflow): compare every level.
        side.visit((p, s) => {
          if (mirror.get(p) !== s) {
            mirror.set(p, s);
            changes.push({ side: sideName, price: book.formatPrice(p), size: s });
          }
          return true;
        });
        if (mirror.size > side.length) {
          // The mirror now holds every level of the book: what else it holds is gone from the book.
          for (const p of [...mirror.keys()]) {
            if (side.sizeOf(p) === undefined) {
              mirror.delete(p);
              changes.push({ side: sideName, price: book.formatPrice(p), size: '0' });
            }
          }
        }
      }
      side.openJournal();
    }
    m.book = book;
    m.updates = tb.updates;
    if (changes.length === 0) return;
    const seq = this.#seq.next++;
    this.#out(
      bookDelta({
        venue: this.venue,
        symbol: m.symbol,
        tsRecvMs,
        recvSeq: seq,
        firstSeq: seq,
        lastSeq: seq,
        prevSeq: m.lastSeq,
        changes,
      }),
    );
    m.lastSeq = seq;
    m.sinceSnapshot++;
  }
}
