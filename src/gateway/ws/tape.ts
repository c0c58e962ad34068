/**
 * Recent trades and candles per venue book, kept in memory from the platform's trade stream. Bounded: the
 * newest `maxTrades` trades and `maxCandles` candles per interval; older ones are dropped. Candles are
 * bucketed by `tsMs` (epoch-aligned, as the store buckets them), prices and sizes stay exact (`Decimal`), and
 * a candle equals the REST candle (src/gateway/routes/history.ts) the store computes from the same trades.
 */
import { Decimal } from '../../core/fixed.ts';
import { CANDLE_INTERVALS, type CandleInterval } from './protocol.ts';

export interface WsTrade {
  readonly id: string;
  readonly price: string;
  readonly size: string;
  /** The aggressor's side. */
  readonly side: 'buy' | 'sell';
  /** The venue's event time, else the receive time (as the store times trades), epoch ms. */
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
  /** Sum of price x size. */
  readonly notional: string;
  readonly vwap: string;
  readonly trades: number;
}

/** Fraction digits of a candle's VWAP, as the REST candles (src/store: `round(notional / volume, 18)`). */
export const VWAP_DECIMALS = 18;
/** Fraction digits PostgreSQL computes the store's `notional / volume` quotient at before rounding it. */
const STORE_QUOTIENT_DECIMALS = 40;

/** `num / den` (den > 0) rounded half away from zero, as PostgreSQL numeric rounds. */
function divHalfAway(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r = num - q * den;
  if ((r < 0n ? -r : r) * 2n >= den) return q + (num < 0n ? -1n : 1n);
  return q;
}

/**
 * `notional / volume` (volume > 0) as the store computes a candle's VWAP, so live and stored candles agree to
 * the digit: PostgreSQL takes the quotient at 40 fraction digits (or the operands' scale when larger), then
 * `round(..., 18)`; both steps round half away from zero.
 */
export function candleVwap(notional: Decimal, volume: Decimal): Decimal {
  let num = notional.coef;
  let den = volume.coef;
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const wide = Math.max(STORE_QUOTIENT_DECIMALS, notional.scale, volume.scale);
  // (n / 10^ns) / (v / 10^vs) * 10^wide = n * 10^(wide + vs - ns) / v, and wide >= ns.
  const q = divHalfAway(num * 10n ** BigInt(wide + volume.scale - notional.scale), den);
  return Decimal.of(divHalfAway(q, 10n ** BigInt(wide - VWAP_DECIMALS)), VWAP_DECIMALS);
}

/**
 * One bucket. Open and close follow the trades' time, not their arrival, as in the store: the open is the
 * earliest trade (the first to arrive among equal times), the close the latest (the last to arrive among
 * equal times), so a late trade folded into an older bucket lands where the store puts it.
 */
class CandleBuilder {
  readonly t: number;
  private open: Decimal;
  private openTs: number;
  private high: Decimal;
  private low: Decimal;
  private close: Decimal;
  private closeTs: number;
  private volume = Decimal.ZERO;
  private notional = Decimal.ZERO;
  private count = 0;
  private cached: Candle | undefined;

  constructor(t: number, price: Decimal, tsMs: number) {
    this.t = t;
    this.open = price;
    this.openTs = tsMs;
    this.high = price;
    this.low = price;
    this.close = price;
    this.closeTs = tsMs;
  }

  add(price: Decimal, size: Decimal, notional: Decimal, tsMs: number): void {
    if (price.cmp(this.high) > 0) this.high = price;
    if (price.cmp(this.low) < 0) this.low = price;
    if (tsMs < this.openTs) {
      this.open = price;
      this.openTs = tsMs;
    }
    if (tsMs >= this.closeTs) {
      this.close = price;
      this.closeTs = tsMs;
    }
    this.volume = this.volume.add(size);
    this.notional = this.notional.add(notional);
    this.count++;
    this.cached = undefined;
  }

  value(): Candle {
    if (this.cached !== undefined) return this.cached;
    const vwap = this.volume.sign() > 0 ? candleVwap(this.notional, this.volume) : this.close;
    this.cached = {
      t: this.t,
      open: this.open.toString(),
      high: this.high.toString(),
      low: this.low.toString(),
      close: this.close.toString(),
      volume: this.volume.toString(),
      notional: this.notional.toString(),
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

  add(tsMs: number, price: Decimal, size: Decimal, notional: Decimal, max: number): void {
    const t = Math.floor(tsMs / this.ms) * this.ms;
    let last = this.candles.at(-1);
    // A late trade goes into its own bucket while that bucket is still kept; older than that, it is dropped.
    if (last !== undefined && t < last.t) {
      const older = this.candles.find((c) => c.t === t);
      if (older === undefined) return;
      older.add(price, size, notional, tsMs);
      this.changed.add(older);
      return;
    }
    if (last === undefined || t > last.t) {
      last = new CandleBuilder(t, price, tsMs);
      this.candles.push(last);
      if (this.candles.length > max) this.candles.splice(0, this.candles.length - max);
    }
    last.add(price, size, notional, tsMs);
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

  /**
   * Takes trades from the platform; prices and sizes must be exact decimal text and `tsMs` a finite time (else
   * the trade is dropped).
   */
  add(batch: TradeBatch): void {
    const tape = this.tape(batch.venue, batch.symbol);
    for (const trade of batch.trades) {
      if (!Number.isFinite(trade.tsMs)) continue;
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
      const notional = price.mul(size);
      for (const s of tape.series.values()) s.add(trade.tsMs, price, size, notional, this.maxCandles);
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
