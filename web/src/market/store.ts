/**
 * Everything the dashboard shows, kept outside React: the selected book, trades, candles, the heatmap
 * history, the platform status and the connection state. The WebSocket feed writes here on every
 * message; canvas panels read it at most once per animation frame, and React components only subscribe
 * to the slow-moving parts (selection, status, connection) through `subscribe`/`getSnapshot`.
 */
import { HeatmapHistory } from '../render/heatmap.ts';
import { BookState } from './book-state.ts';

export const CONSOLIDATED = 'consolidated';
export const MAX_TRADES = 200;

export interface Selection {
  /** A venue id, or `consolidated`. */
  readonly venue: string;
  readonly symbol: string;
}

export interface TradeRow {
  readonly id: string;
  readonly price: string;
  readonly size: string;
  readonly side: 'buy' | 'sell';
  /** Venue event time. */
  readonly tsMs: number;
}

export interface Candle {
  /** Bucket start, epoch ms. */
  readonly t: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
}

export interface VenueStatusRow {
  readonly venue: string;
  readonly kind: string;
  readonly state: string;
  readonly reason: string;
  readonly framesPerSec: number;
  readonly books: number;
  readonly booksInSync: number;
}

export interface BookStatusRow {
  readonly venue: string;
  readonly symbol: string;
  readonly status: string;
  readonly reason: string | null;
  readonly bestBid: string | null;
  readonly bestAsk: string | null;
  readonly updatesPerSec: number;
  readonly ageMs: number | null;
}

export interface PlatformStatus {
  /** When the server took it (epoch ms). */
  readonly tsMs: number;
  /** When we received it (our clock). */
  readonly receivedMs: number;
  readonly venues: readonly VenueStatusRow[];
  readonly books: readonly BookStatusRow[];
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionInfo {
  readonly state: ConnectionState;
  readonly url: string;
  /** Times the socket was (re)opened. */
  readonly opens: number;
  readonly lastError: string | undefined;
}

/** The slow-moving part React renders. Replaced (never mutated) on every change. */
export interface UiSnapshot {
  readonly selection: Selection;
  readonly status: PlatformStatus | undefined;
  readonly connection: ConnectionInfo;
  /** The last error frame about the selection, if any. */
  readonly channelError: string | undefined;
}

export type CandleListener = (kind: 'snapshot' | 'delta', candles: readonly Candle[]) => void;

export class MarketStore {
  book: BookState | undefined;
  readonly heatmap = new HeatmapHistory();
  trades: TradeRow[] = [];
  tradesVersion = 0;
  /** Bumped on every applied message of any channel: the "last message" clock. */
  lastMsgMs: number | undefined;
  private ui: UiSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly candleListeners = new Set<CandleListener>();
  candles: Candle[] = [];

  constructor(selection: Selection, url: string) {
    this.ui = {
      selection,
      status: undefined,
      connection: { state: 'connecting', url, opens: 0, lastError: undefined },
      channelError: undefined,
    };
    this.book = new BookState(bookChannel(selection));
  }

  // React's useSyncExternalStore contract.
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = (): UiSnapshot => this.ui;

  private setUi(patch: Partial<UiSnapshot>): void {
    this.ui = { ...this.ui, ...patch };
    for (const fn of this.listeners) fn();
  }

  get selection(): Selection {
    return this.ui.selection;
  }

  /** Switches market: clears every per-market state (the feed resubscribes). */
  select(selection: Selection): void {
    this.book = new BookState(bookChannel(selection));
    this.trades = [];
    this.tradesVersion++;
    this.candles = [];
    for (const fn of this.candleListeners) fn('snapshot', []);
    this.heatmap.reset();
    this.setUi({ selection, channelError: undefined });
  }

  setConnection(patch: Partial<ConnectionInfo>): void {
    this.setUi({ connection: { ...this.ui.connection, ...patch } });
  }

  setChannelError(message: string | undefined): void {
    this.setUi({ channelError: message });
  }

  setStatus(data: unknown, nowMs: number): void {
    if (data === null || typeof data !== 'object') return;
    const d = data as { tsMs?: unknown; venues?: unknown; books?: unknown };
    this.setUi({
      status: {
        tsMs: typeof d.tsMs === 'number' ? d.tsMs : nowMs,
        receivedMs: nowMs,
        venues: Array.isArray(d.venues) ? (d.venues as VenueStatusRow[]) : [],
        books: Array.isArray(d.books) ? (d.books as BookStatusRow[]) : [],
      },
    });
  }

  addTrades(data: unknown, snapshot: boolean, nowMs: number): void {
    const list = (data as { trades?: unknown } | null)?.trades;
    if (snapshot) this.trades = [];
    if (Array.isArray(list)) {
      for (const t of list as TradeRow[]) {
        this.trades.push(t);
        // Snapshot trades are history: they go on the heatmap only when they are recent.
        if (!snapshot) this.heatmap.addTrade(Number(t.price), Number(t.size), t.side === 'buy', nowMs);
      }
      if (this.trades.length > MAX_TRADES) this.trades.splice(0, this.trades.length - MAX_TRADES);
    }
    this.tradesVersion++;
  }

  onCandles(fn: CandleListener): () => void {
    this.candleListeners.add(fn);
    fn('snapshot', this.candles);
    return () => this.candleListeners.delete(fn);
  }

  addCandles(data: unknown, snapshot: boolean): void {
    const list = (data as { candles?: unknown } | null)?.candles;
    const candles = Array.isArray(list) ? (list as Candle[]) : [];
    if (snapshot) this.candles = [...candles];
    else {
      for (const c of candles) {
        const i = this.candles.findIndex((x) => x.t === c.t);
        if (i >= 0) this.candles[i] = c;
        else this.candles.push(c);
      }
      this.candles.sort((a, b) => a.t - b.t);
      if (this.candles.length > 1000) this.candles.splice(0, this.candles.length - 1000);
    }
    for (const fn of this.candleListeners) fn(snapshot ? 'snapshot' : 'delta', snapshot ? this.candles : candles);
  }
}

export function bookChannel(s: Selection): string {
  return `book.${s.venue}.${s.symbol}`;
}
export function tradesChannel(s: Selection): string | undefined {
  return s.venue === CONSOLIDATED ? undefined : `trades.${s.venue}.${s.symbol}`;
}
export const CANDLE_INTERVAL = '1s';
export function candlesChannel(s: Selection): string | undefined {
  return s.venue === CONSOLIDATED ? undefined : `candles.${s.venue}.${s.symbol}.${CANDLE_INTERVAL}`;
}
