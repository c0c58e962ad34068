/**
 * Bitstamp `diff_order_book_<pair>` book handler (../shared/design/venue-sync-rules.md).
 *
 * Diffs are buffered per pair until the REST `order_book` snapshot arrives; diffs whose `microtimestamp`
 * is at or before the snapshot's are dropped, the rest applied in order. There is no sequence and no
 * checksum: books are invalidated on reconnect, on `bts:request_reconnect` and when crossed, and stay
 * stale until another snapshot arrives (a live connector refetches).
 *
 * Epochs: a snapshot must be received at or after the connect time of the connection streaming the pair
 * (in the captures the REST lines precede the connect line in file order but carry later receive times).
 * A book is `in_sync` once its snapshot is applied and the pair is known to stream on such a connection.
 *
 * Bounds: at most `maxBuffered` diffs per pair wait for a snapshot; when full the buffer is dropped, the
 * book marked stale, and buffering restarts with the next diff.
 */
import { qobError } from '../../core/errors.ts';
import { trade } from '../../domain/events.ts';
import { normalizeSymbol } from '../../domain/instrument.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import type { FeedHandlerOptions, TrackedBook } from '../feed-handler.ts';
import type { FlatLevels } from '../frame-scan.ts';
import { scanBitstampDiffFlat } from './fast-book.ts';
import {
  type BitstampBook,
  type BitstampTrade,
  orderBookUrlPair,
  parseFrame,
  parseOrderBook,
  splitBitstampPair,
  subscribedPair,
} from './wire.ts';

interface PairState {
  readonly tb: TrackedBook;
  /** Whether the book holds a snapshot (plus the diffs after it). */
  synced: boolean;
  snapshotMicros: number;
  snapshotTsMs: number;
  buffer: BitstampBook[];
  conn: string | undefined;
}

export interface BitstampLimits {
  /** Diffs buffered per pair while waiting for a snapshot (default 5000). */
  readonly maxBuffered?: number;
}

export class BitstampFeedHandler extends BookFeedHandler<PairState> {
  /** Snapshots discarded because they predate the connection streaming the pair. */
  staleSnapshots = 0;
  /** Normalized symbol by pair (`ethusd` -> `ETH-USD`). */
  private readonly normalized = new Map<string, string>();
  private readonly maxBuffered: number;
  private readonly connectTs = new Map<string, number>();

  constructor(options: FeedHandlerOptions = {}, limits: BitstampLimits = {}) {
    super('bitstamp', options);
    this.maxBuffered = limits.maxBuffered ?? 5000;
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.connectTs.set(conn, tsRecvMs);
    for (const p of this.tracksOn(conn)) {
      if (p.synced && p.snapshotTsMs >= tsRecvMs) continue; // fetched for this epoch
      this.reset(p, 'reconnect', tsRecvMs);
    }
  }

  onSend(conn: string, data: string, tsMs: number): void {
    const pair = subscribedPair(data);
    if (pair !== undefined) this.link(this.state(pair), conn, tsMs);
  }

  protected handleFrame(conn: string, data: string, tsRecvMs: number): void {
    // Diffs in the venue's exact layout skip JSON.parse; anything else takes the full parser.
    const fast = scanBitstampDiffFlat(data);
    if (fast !== undefined) {
      const p = this.state(fast.pair);
      this.link(p, conn, tsRecvMs);
      const { pair, micros, levels } = fast;
      // A synced book applies the levels at once; a diff waiting for a snapshot keeps its own copy.
      if (p.synced) this.onSyncedDiff(p, micros, tsRecvMs, undefined, levels);
      else this.onDiff(p, { pair, micros, bids: levels.bids, asks: levels.asks }, tsRecvMs);
      return;
    }
    const f = parseFrame(data);
    switch (f.kind) {
      case 'ignored':
        return;
      case 'unknown':
        this.frames.unknown(f.what, conn);
        return;
      case 'subscribed':
        this.link(this.state(f.pair), conn, tsRecvMs);
        return;
      case 'reconnect':
        for (const p of this.tracksOn(conn)) this.reset(p, 'bts:request_reconnect', tsRecvMs);
        return;
      case 'trade':
        this.onTrade(f.trade, tsRecvMs);
        return;
      case 'diff': {
        const p = this.state(f.diff.pair);
        this.link(p, conn, tsRecvMs);
        this.onDiff(p, f.diff, tsRecvMs);
        return;
      }
    }
  }

  onHttp(url: string, body: string, tsRecvMs: number): void {
    try {
      const pair = orderBookUrlPair(url);
      if (pair === undefined) return; // trading-pairs-info and other metadata
      const snap = parseOrderBook(pair, body);
      const p = this.state(pair);
      const epoch = p.conn === undefined ? undefined : this.connectTs.get(p.conn);
      if (epoch !== undefined && tsRecvMs < epoch) {
        this.rejectSnapshot(p, 'snapshot predates the connection', tsRecvMs);
        return;
      }
      p.tb.book.applySnapshot(snap.bids, snap.asks); // atomic on bad input
      p.tb.beginResync(tsRecvMs);
      p.tb.updates++;
      // No diff may follow to reveal it: a crossed snapshot must not be marked in sync.
      if (p.tb.checkCrossed(tsRecvMs)) {
        p.synced = false; // the buffered diffs wait for the next snapshot
        return;
      }
      p.tb.lastSeq = snap.micros;
      p.synced = true;
      p.snapshotMicros = snap.micros;
      p.snapshotTsMs = tsRecvMs;
      const buffered = p.buffer;
      p.buffer = [];
      for (const d of buffered) this.guard(p.conn ?? 'buffer', () => this.onDiff(p, d, tsRecvMs));
      this.markInSync(p, tsRecvMs);
    } catch (e) {
      this.frames.failed(e, 'http');
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private state(pair: string): PairState {
    return this.track(pair, pair, (tb) => ({
      tb,
      synced: false,
      snapshotMicros: -1,
      snapshotTsMs: Number.NaN,
      buffer: [],
      conn: undefined,
    }));
  }

  private link(p: PairState, conn: string, tsMs: number): void {
    if (p.conn !== conn) {
      p.conn = conn;
      const epoch = this.connectTs.get(conn);
      if (p.synced && epoch !== undefined && p.snapshotTsMs < epoch) {
        this.rejectSnapshot(p, 'snapshot predates the connection', tsMs);
        return;
      }
    }
    this.markInSync(p, tsMs);
  }

  private markInSync(p: PairState, tsMs: number): void {
    if (p.synced && p.conn !== undefined && p.tb.status === 'syncing') p.tb.setStatus('in_sync', 'snapshot', tsMs);
  }

  private reset(p: PairState, reason: string, tsMs: number): void {
    if (p.synced || p.tb.status === 'in_sync') p.tb.invalidate(reason, tsMs);
    p.synced = false;
    p.buffer = [];
  }

  private rejectSnapshot(p: PairState, reason: string, tsMs: number): void {
    this.staleSnapshots++;
    if (p.synced) this.reset(p, reason, tsMs);
    this.options.onBadFrame?.(
      qobError('QOB_ERR_SNAPSHOT_STALE', `bitstamp ${p.tb.symbol}: ${reason}`, {
        venue: this.venue,
        pair: p.tb.symbol,
        // The connector looks up the book to retry by `symbol`, the same key for every venue.
        symbol: p.tb.symbol,
      }),
      'http',
    );
  }

  private onDiff(p: PairState, d: BitstampBook, tsMs: number): void {
    if (!p.synced) {
      if (p.buffer.length >= this.maxBuffered) {
        p.buffer = [];
        p.tb.invalidate(`more than ${this.maxBuffered} diffs buffered without a snapshot`, tsMs);
      }
      p.buffer.push(d);
      return;
    }
    this.onSyncedDiff(p, d.micros, tsMs, d, undefined);
  }

  /** A diff for a synced book: its levels are `d`'s, or `flat`'s when scanned from the frame. */
  private onSyncedDiff(
    p: PairState,
    micros: number,
    tsMs: number,
    d: BitstampBook | undefined,
    flat: FlatLevels | undefined,
  ): void {
    if (micros <= p.snapshotMicros) return; // already in the snapshot
    try {
      if (flat !== undefined)
        flat.apply(p.tb.book); // applyDelta's result, errors and atomicity
      else p.tb.book.applyDelta(d?.bids, d?.asks); // atomic on bad input
    } catch (e) {
      // No sequence numbers: a diff we cannot apply is lost data that nothing later would reveal.
      this.reset(p, 'unusable diff', tsMs);
      throw e;
    }
    p.tb.updates++;
    p.tb.lastSeq = micros;
    if (p.tb.checkCrossed(tsMs)) {
      p.synced = false;
      p.buffer = [];
    }
  }

  /** Trades do not depend on the book: they are emitted whatever its sync state. */
  private onTrade(t: BitstampTrade, tsRecvMs: number): void {
    const e = trade({
      venue: this.venue,
      symbol: this.symbolOf(t.pair),
      price: t.price,
      size: t.amount,
      aggressor: t.side,
      tradeId: t.id,
      tsEventMs: t.micros / 1000,
      tsRecvMs,
    });
    this.emitTrade(e);
  }

  private symbolOf(pair: string): string {
    let s = this.normalized.get(pair);
    if (s === undefined) {
      const bq = splitBitstampPair(pair);
      if (bq === undefined) {
        throw qobError('QOB_ERR_INVALID_SYMBOL', `bitstamp: no known quote currency ends pair ${pair}`, {
          venue: this.venue,
          pair,
        });
      }
      s = normalizeSymbol(bq[0], bq[1], 'spot');
      if (this.normalized.size >= 4096) this.normalized.clear(); // bounded: pairs come from the venue
      this.normalized.set(pair, s);
    }
    return s;
  }
}

export function createBitstampFeedHandler(
  options: FeedHandlerOptions = {},
  limits: BitstampLimits = {},
): BitstampFeedHandler {
  return new BitstampFeedHandler(options, limits);
}
