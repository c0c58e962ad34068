/**
 * The Binance diff-depth book handler shared by spot and USD-M futures: buffer diff events per symbol,
 * bridge them to a REST snapshot, then chain them. Only the bridging and chaining rules differ
 * (`DepthRules`, see spot.ts and usdm.ts; ../shared/design/venue-sync-rules.md).
 *
 * Connection epochs: `onConnect` starts a new epoch for the symbols streamed on that connection; their
 * books are invalidated, except a snapshot received at or after the connect time (its request may have
 * been sent for this connection: in the captures the REST lines precede the connect line in file order
 * but carry later receive times). A snapshot received before its connection's connect time is discarded.
 *
 * Bounds: at most `maxBuffered` events are buffered per symbol while waiting for a snapshot. When the
 * buffer is full it is dropped and the book marked stale; buffering restarts with the next event.
 */
import { qobError } from '../../core/errors.ts';
import { trade } from '../../domain/events.ts';
import { BookFeedHandler } from '../book-feed-handler.ts';
import { splitConcatenatedPair } from '../concat-symbol.ts';
import type { FeedHandlerOptions, TrackedBook } from '../feed-handler.ts';
import { scanDepthFrame } from './fast-depth.ts';
import {
  type BinanceDepthEvent,
  type BinanceDepthSnapshot,
  type BinanceTrade,
  depthUrlSymbol,
  malformed,
  parseDepthSnapshot,
  parseFrame,
  streamsOfUrl,
  subscribedSymbols,
} from './wire.ts';

export interface DepthRules {
  /** USD-M events carry `pu` and must have it. */
  readonly futures: boolean;
  /** The event lies wholly at or before the snapshot `lastUpdateId`: drop it. */
  isBeforeSnapshot(ev: BinanceDepthEvent, lastUpdateId: number): boolean;
  /** The first event to apply on top of the snapshot. */
  bridges(ev: BinanceDepthEvent, lastUpdateId: number): boolean;
  /** The event directly follows the previously applied one (whose `u` is `prevLastId`). */
  follows(ev: BinanceDepthEvent, prevLastId: number): boolean;
}

export interface DepthHandlerLimits {
  /** Events buffered per symbol while waiting for a snapshot (default 5000, about 8 minutes at 100 ms). */
  readonly maxBuffered?: number;
}

type Phase = 'await_snapshot' | 'bridging' | 'live';

interface SymbolState {
  readonly tb: TrackedBook;
  phase: Phase;
  buffer: BinanceDepthEvent[];
  /** `lastUpdateId` of the snapshot the book was built from (bridging and live). */
  snapshotId: number;
  snapshotTsMs: number;
  conn: string | undefined;
}

export class BinanceDepthHandler extends BookFeedHandler<SymbolState> {
  /** REST snapshots rejected because they did not overlap the stream or predate the connection. */
  staleSnapshots = 0;
  private readonly rules: DepthRules;
  private readonly maxBuffered: number;
  private readonly connectTs = new Map<string, number>();
  /** Venue symbol -> normalized symbol, learnt on first use. */
  private readonly normalized = new Map<string, string>();

  constructor(venue: string, rules: DepthRules, options: FeedHandlerOptions = {}, limits: DepthHandlerLimits = {}) {
    super(venue, options);
    this.rules = rules;
    this.maxBuffered = limits.maxBuffered ?? 5000;
  }

  /** The tracked book of a symbol (upper-case venue symbol), if any. */
  override book(symbol: string): TrackedBook | undefined {
    return super.book(symbol.toUpperCase());
  }

  onConnect(conn: string, url: string, tsRecvMs: number): void {
    this.connectTs.set(conn, tsRecvMs);
    for (const sym of streamsOfUrl(url)) this.state(sym).conn = conn;
    for (const st of this.tracksOn(conn)) {
      // A snapshot fetched for this connection and not yet bridged survives the new epoch.
      if (st.phase === 'bridging' && st.snapshotTsMs >= tsRecvMs) continue;
      this.reset(st, 'reconnect', tsRecvMs);
    }
  }

  onSend(conn: string, data: string, tsMs: number): void {
    for (const sym of subscribedSymbols(data)) this.link(this.state(sym), conn, tsMs);
  }

  protected handleFrame(conn: string, data: string, tsRecvMs: number): void {
    // Diff depth frames in the exact venue layout skip JSON.parse; anything else takes the full parser.
    let ev = scanDepthFrame(data, this.rules.futures);
    if (ev === undefined) {
      const f = parseFrame(data, this.rules.futures);
      if (f.kind === 'ignored') return;
      if (f.kind === 'unknown') {
        this.frames.unknown(f.what, conn);
        return;
      }
      if (f.kind === 'trade') {
        this.onTrade(f.trade, tsRecvMs);
        return;
      }
      ev = f.event;
    }
    const st = this.state(ev.symbol);
    this.link(st, conn, tsRecvMs);
    this.onEvent(st, ev, tsRecvMs);
  }

  onHttp(url: string, body: string, tsRecvMs: number): void {
    try {
      const sym = depthUrlSymbol(url);
      if (sym === undefined) return; // exchangeInfo and other metadata
      if (sym === '') throw malformed('depth URL without symbol', { url: url.slice(0, 120) });
      const snap = parseDepthSnapshot(body);
      const st = this.state(sym);
      const epoch = st.conn === undefined ? undefined : this.connectTs.get(st.conn);
      if (epoch !== undefined && tsRecvMs < epoch) {
        this.rejectSnapshot(st, snap.lastUpdateId, 'snapshot predates the connection', tsRecvMs);
        return;
      }
      this.applySnapshot(st, snap, tsRecvMs);
    } catch (e) {
      this.frames.failed(e, 'http');
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /**
   * Builds the domain event (it validates price and size: a bad one throws and is counted as malformed),
   * then counts and emits it. Trades do not depend on the book's sync state.
   */
  private onTrade(t: BinanceTrade, tsRecvMs: number): void {
    const ev = trade({
      venue: this.venue,
      symbol: this.normalize(t.symbol),
      price: t.price,
      size: t.size,
      aggressor: t.buyerIsMaker ? 'sell' : 'buy',
      // Spot carries two id spaces (trade ids and aggregate ids) for the same symbol: aggregates get a prefix.
      tradeId: t.aggregate && !this.rules.futures ? `a${t.tradeId}` : t.tradeId,
      tsEventMs: t.tsEventMs,
      tsRecvMs,
    });
    this.emitTrade(ev);
  }

  /** `NKNUSDT` -> `NKN-USDT` (spot); `BTCUSDT` -> `BTC-USDT-PERP`, `BTCUSDT_250328` -> `BTC-USDT-20250328` (USD-M). */
  private normalize(venueSymbol: string): string {
    let n = this.normalized.get(venueSymbol);
    if (n !== undefined) return n;
    if (!this.rules.futures) n = splitConcatenatedPair(this.venue, venueSymbol);
    else {
      const m = /^([A-Z0-9]+?)(?:_(\d{6}))?$/.exec(venueSymbol);
      if (m?.[1] === undefined) {
        throw qobError('QOB_ERR_INVALID_SYMBOL', `${this.venue}: cannot name ${venueSymbol.slice(0, 40)}`, {
          venue: this.venue,
        });
      }
      const pair = splitConcatenatedPair(this.venue, m[1]);
      n = m[2] === undefined ? `${pair}-PERP` : `${pair}-20${m[2]}`;
    }
    if (this.normalized.size < 10_000) this.normalized.set(venueSymbol, n);
    return n;
  }

  private state(symbol: string): SymbolState {
    return this.track(symbol, symbol, (tb) => ({
      tb,
      phase: 'await_snapshot',
      buffer: [],
      snapshotId: -1,
      snapshotTsMs: Number.NaN,
      conn: undefined,
    }));
  }

  /** Records which connection streams a symbol; a held snapshot older than that connection is discarded. */
  private link(st: SymbolState, conn: string, tsMs: number): void {
    if (st.conn === conn) return;
    st.conn = conn;
    const epoch = this.connectTs.get(conn);
    if (st.phase === 'bridging' && epoch !== undefined && st.snapshotTsMs < epoch) {
      this.rejectSnapshot(st, st.snapshotId, 'snapshot predates the connection', tsMs);
    }
  }

  private reset(st: SymbolState, reason: string, tsMs: number): void {
    if (st.phase !== 'await_snapshot' || !st.tb.book.isEmpty || st.tb.status === 'in_sync') {
      st.tb.invalidate(reason, tsMs);
    }
    st.phase = 'await_snapshot';
    st.buffer = [];
  }

  private rejectSnapshot(st: SymbolState, lastUpdateId: number, reason: string, tsMs: number): void {
    this.staleSnapshots++;
    if (st.phase === 'bridging') {
      st.tb.invalidate(reason, tsMs);
      st.phase = 'await_snapshot';
    }
    this.options.onBadFrame?.(
      qobError('QOB_ERR_SNAPSHOT_STALE', `${this.venue} ${st.tb.symbol}: ${reason}`, {
        venue: this.venue,
        symbol: st.tb.symbol,
        lastUpdateId,
        firstBufferedId: st.buffer[0]?.firstId,
      }),
      'http',
    );
  }

  private applySnapshot(st: SymbolState, snap: BinanceDepthSnapshot, tsMs: number): void {
    const L = snap.lastUpdateId;
    // Check the buffered events overlap the snapshot before touching the book.
    for (const ev of st.buffer) {
      if (this.rules.isBeforeSnapshot(ev, L)) continue;
      if (!this.rules.bridges(ev, L)) {
        this.rejectSnapshot(st, L, `snapshot ${L} is older than the buffered event U=${ev.firstId}`, tsMs);
        return;
      }
      break;
    }
    st.tb.book.applySnapshot(snap.bids, snap.asks); // atomic: throws before changing anything
    st.tb.beginResync(tsMs);
    st.tb.updates++;
    // A book already in sync stays so while the new snapshot bridges: a crossed snapshot must not be served.
    if (st.tb.checkCrossed(tsMs)) {
      st.phase = 'await_snapshot'; // the buffered events wait for the next snapshot
      return;
    }
    st.tb.lastSeq = L;
    st.phase = 'bridging';
    st.snapshotId = L;
    st.snapshotTsMs = tsMs;
    const buffered = st.buffer;
    st.buffer = [];
    for (const ev of buffered) this.guard(st.conn ?? 'buffer', () => this.onEvent(st, ev, tsMs));
  }

  private onEvent(st: SymbolState, ev: BinanceDepthEvent, tsMs: number): void {
    const tb = st.tb;
    switch (st.phase) {
      case 'await_snapshot':
        this.buffer(st, ev, tsMs);
        return;
      case 'bridging': {
        const L = st.snapshotId;
        if (this.rules.isBeforeSnapshot(ev, L)) return;
        if (!this.rules.bridges(ev, L)) {
          this.rejectSnapshot(st, L, `snapshot ${L} does not reach event U=${ev.firstId} u=${ev.lastId}`, tsMs);
          st.buffer = [ev];
          return;
        }
        this.apply(st, ev);
        st.phase = 'live';
        tb.setStatus('in_sync', 'bridged', tsMs);
        if (tb.checkCrossed(tsMs)) st.phase = 'await_snapshot';
        return;
      }
      case 'live':
        if (!this.rules.follows(ev, tb.lastSeq)) {
          const expected = this.rules.futures ? `pu=${tb.lastSeq}` : `U=${tb.lastSeq + 1}`;
          tb.gap(`expected ${expected}, got U=${ev.firstId} u=${ev.lastId} pu=${ev.prevLastId}`, tsMs);
          // A live connector refetches the snapshot; until one arrives the book stays stale.
          st.phase = 'await_snapshot';
          st.buffer = [ev];
          return;
        }
        this.apply(st, ev);
        if (tb.checkCrossed(tsMs)) st.phase = 'await_snapshot';
        return;
    }
  }

  private apply(st: SymbolState, ev: BinanceDepthEvent): void {
    st.tb.book.applyDelta(ev.bids, ev.asks); // atomic: a bad level throws before the book changes
    st.tb.updates++;
    st.tb.lastSeq = ev.lastId;
  }

  private buffer(st: SymbolState, ev: BinanceDepthEvent, tsMs: number): void {
    if (st.buffer.length >= this.maxBuffered) {
      st.buffer = [];
      st.tb.invalidate(`more than ${this.maxBuffered} events buffered without a snapshot`, tsMs);
    }
    st.buffer.push(ev);
  }
}
