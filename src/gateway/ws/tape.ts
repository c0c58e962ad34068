/**
 * Recent trades and candles per venue book, kept in memory from the platform's trade stream. Bounded: the
 * newest `maxTrades` trades and `maxCandles` candles per interval; older ones are dropped. Candles are
 * bucketed by the venue's event time (`tsMs`), prices and sizes stay exact (`Decimal`).
 */
import { Decimal } from '../../core/fixed.ts';
import { CANDLE_INTERVALS, type CandleInterval } from './protocol.ts';

export interface WsTrade {
  readonly id: string;
  readonly price: string;
  readonly size: string;
  /** The aggressor's side. */
  readonly side: 'buy' | 'sell';
  /** The venue's event time, epoch ms. */
  readonly tsMs: number;
}

/** Trades of one venue book, as the platform hands them over (oldest first). */
export interface TradeBatch {
  readonly venue: string;
  /** Normalized symbol. */
  readonly symbol: string;
  readonly trades: readonly WsTrade[];
}

export interface Candle {
  /** Bucket start, epoch ms. */
  readonly t: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly vwap: string;
  readonly trades: number;
}

/** Fraction digits of a candle's VWAP (rounded half-even). */
export const VWAP_DECIMALS = 12;

class CandleBuilder {
  readonly t: number;
  private open: Decimal;
  private high: Decimal;
  private low: Decimal;
  private close: Decimal;
  private volume = Decimal.ZERO;
  private notional = Decimal.ZERO;
  private count = 0;
  private cached: Candle | undefined;

  constructor(t: number, price: Decimal) {
    this.t = t;
    this.open = price;
    this.high = price;
    this.low = price;
    this.close = price;
  }

  add(price: Decimal, size: Decimal): void {
    if (price.cmp(this.high) > 0) this.high = price;
    if (price.cmp(this.low) < 0) this.low = price;
    this.close = price;
    this.volume = this.volume.add(size);
    this.notional = this.notional.add(price.mul(size));
    this.count++;
    this.cached = undefined;
  }

  value(): Candle {
    if (this.cached !== undefined) return this.cached;
    const vwap = this.volume.isZero() ? this.close : this.notional.div(this.volume, VWAP_DECIMALS);
    this.cached = {
      t: this.t,
      open: this.open.toString(),
      high: this.high.toString(),
      low: this.low.toString(),
      close: this.close.toString(),
      volume: this.volume.toString(),
      vwap: vwap.toString(),
      trades: this.count,
    };
    return this.cached;
  }
}

class Series {
  readonly ms: number;
  readonly candles: CandleBuilder[] = [];
  /** Candles touched since the last `takeChanged`. */
  private readonly changed = new Set<CandleBuilder>();

  constructor(ms: number) {
    this.ms = ms;
  }

  add(trade: WsTrade, price: Decimal, size: Decimal, max: number): void {
    const t = Math.floor(trade.tsMs / this.ms) * this.ms;
    let last = this.candles.at(-1);
    // A late trade for a bucket already closed is folded into the newest candle's bucket only if equal.
    if (last !== undefined && t < last.t) {
      const older = this.candles.find((c) => c.t === t);
      if (older === undefined) return;
      older.add(price, size);
      this.changed.add(older);
      return;
    }
    if (last === undefined || t > last.t) {
      last = new CandleBuilder(t, price);
      this.candles.push(last);
      if (this.candles.length > max) this.candles.splice(0, this.candles.length - max);
    }
    last.add(price, size);
    this.changed.add(last);
    // Nobody took the changes (no subscriber): forget them, a new subscriber starts from a snapshot.
    if (this.changed.size > max) this.changed.clear();
  }

  takeChanged(): Candle[] {
    if (this.changed.size === 0) return [];
    const out = [...this.changed].sort((a, b) => a.t - b.t).map((c) => c.value());
    this.changed.clear();
    return out;
  }
}

class BookTape {
  readonly trades: WsTrade[] = [];
  /** Trades since the last `takeNewTrades`. */
  pending: WsTrade[] = [];
  readonly series = new Map<CandleInterval, Series>();

  constructor() {
    for (const [k, ms] of Object.entries(CANDLE_INTERVALS)) this.series.set(k as CandleInterval, new Series(ms));
  }
}

export interface TapeOptions {
  readonly maxTrades?: number;
  readonly maxCandles?: number;
}

/** Recent trades and candles of every venue book that has traded. */
export class Tape {
  private readonly books = new Map<string, BookTape>();
  private readonly maxTrades: number;
  private readonly maxCandles: number;

  constructor(options: TapeOptions = {}) {
    this.maxTrades = options.maxTrades ?? 200;
    this.maxCandles = options.maxCandles ?? 500;
  }

  private tape(venue: string, symbol: string): BookTape {
    const key = `${venue}.${symbol}`;
    let t = this.books.get(key);
    if (t === undefined) {
      t = new BookTape();
      this.books.set(key, t);
    }
    return t;
  }

  /** Takes trades from the platform; prices and sizes must be exact decimal text (else the trade is dropped). */
  add(batch: TradeBatch): void {
    const tape = this.tape(batch.venue, batch.symbol);
    for (const trade of batch.trades) {
      let price: Decimal;
      let size: Decimal;
      try {
        price = Decimal.parse(trade.price);
        size = Decimal.parse(trade.size);
      } catch {
        continue;
      }
      const copy: WsTrade = { id: trade.id, price: trade.price, size: trade.size, side: trade.side, tsMs: trade.tsMs };
      tape.trades.push(copy);
      tape.pending.push(copy);
      for (const s of tape.series.values()) s.add(copy, price, size, this.maxCandles);
    }
    if (tape.trades.length > this.maxTrades) tape.trades.splice(0, tape.trades.length - this.maxTrades);
    // Bounded too: a channel nobody reads never takes its pending trades.
    if (tape.pending.length > this.maxTrades) tape.pending.splice(0, tape.pending.length - this.maxTrades);
  }

  recentTrades(venue: string, symbol: string): WsTrade[] {
    return [...(this.books.get(`${venue}.${symbol}`)?.trades ?? [])];
  }

  /** Trades added since the previous call (for one publisher per venue book). */
  takeNewTrades(venue: string, symbol: string): WsTrade[] {
    const t = this.books.get(`${venue}.${symbol}`);
    if (t === undefined || t.pending.length === 0) return [];
    const out = t.pending;
    t.pending = [];
    return out;
  }

  recentCandles(venue: string, symbol: string, interval: CandleInterval): Candle[] {
    const s = this.books.get(`${venue}.${symbol}`)?.series.get(interval);
    return s === undefined ? [] : s.candles.map((c) => c.value());
  }

  /** Candles created or updated since the previous call (for one publisher per venue book and interval). */
  takeChangedCandles(venue: string, symbol: string, interval: CandleInterval): Candle[] {
    return this.books.get(`${venue}.${symbol}`)?.series.get(interval)?.takeChanged() ?? [];
  }
}
