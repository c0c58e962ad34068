/**
 * The long-tail connector: any venue that ccxt (pro) can watch, added by configuration (venue id
 * `ccxt:<ccxt id>`, e.g. `ccxt:kucoin`) instead of a native folder in src/venues/.
 *
 * Per symbol it loops on ccxt's `watchOrderBook` and REPLACES our tracked book with ccxt's book after every
 * update (snapshot semantics: ccxt keeps and syncs its own book; we keep the best `depth` levels).
 *
 * Exactness is bounded by what ccxt exposes: ccxt hands prices and sizes over as JS numbers, so each one
 * is turned back into text with its shortest round-trip form (`Decimal.fromNumber`). That recovers the
 * venue's value for every decimal of at most 15 significant digits (trailing zeros are lost, which does
 * not change the value); beyond that the float has already rounded it. The sync rules are ccxt's, not
 * ours (../shared/design/venue-sync-rules.md is not applied). So this path is "best effort, not
 * venue-exact": every status it emits carries `source: 'ccxt'`, `exact: false` and a reason ending in
 * `via ccxt (not venue-exact)`.
 *
 * Errors thrown by ccxt are mapped to typed QobErrors (`mapCcxtError`): network-class errors make the book
 * stale and are retried with jittered backoff, at most `maxTries` times in a row before the book is marked
 * failed (with an alert) and tried again after a cooldown; errors that a retry cannot fix (unknown symbol,
 * unsupported method, rejected request) fail the book for good, with an alert.
 *
 * ccxt is loaded with a dynamic import on first use, so platforms without `ccxt:*` venues never load it.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import { Decimal } from '../core/fixed.ts';
import { normalizeSymbol, parseNormalizedSymbol } from '../domain/instrument.ts';
import type { CcxtVenueId } from '../domain/venue.ts';
import { TrackedBook } from '../venues/feed-handler.ts';
import { type BackoffOptions, backoffDelayMs, type Clock, type Random, systemRandom, TimerSet } from './clock.ts';
import type { ConnectorAlert, ConnectorState, ConnectorStatus } from './connector.ts';

/** Appended to every status reason of this path. */
export const CCXT_NOT_EXACT = 'via ccxt (not venue-exact)';

const EXCHANGE_ID_RE = /^[a-z0-9_]{1,32}$/;

// ---- the slice of ccxt we use (structural, so ccxt's large typings stay out of this module) -------------

/** A level as ccxt gives it: `[price, amount, ...]` as JS numbers. */
export type CcxtLevel = ArrayLike<unknown>;

export interface CcxtOrderBook {
  readonly bids: ArrayLike<CcxtLevel>;
  readonly asks: ArrayLike<CcxtLevel>;
  readonly timestamp?: number | undefined;
  readonly nonce?: number | undefined;
}

export interface CcxtMarketLike {
  readonly symbol: string;
}

export interface CcxtProExchange {
  readonly id: string;
  readonly has: Readonly<Record<string, unknown>>;
  loadMarkets(reload?: boolean): Promise<Readonly<Record<string, CcxtMarketLike>>>;
  watchOrderBook(symbol: string, limit?: number): Promise<CcxtOrderBook>;
  close(): Promise<unknown>;
  loadHttpProxyAgent?(): Promise<unknown>;
  httpAgent?: { destroy?(): void } | undefined;
}

export type CcxtProExchangeClass = new (config?: Record<string, unknown>) => CcxtProExchange;

/** What we need of the `ccxt` package: its pro namespace (WebSocket exchange classes and their ids). */
export interface CcxtModuleLike {
  readonly pro: Readonly<Record<string, unknown>> & { readonly exchanges: readonly string[] };
}

async function loadCcxt(): Promise<CcxtModuleLike> {
  try {
    const m = (await import('ccxt')) as unknown as { default?: CcxtModuleLike } & CcxtModuleLike;
    return m.default ?? m;
  } catch (e) {
    throw qobError('QOB_ERR_CONFIG_INVALID', 'ccxt:* venues need the ccxt package, which cannot be loaded', {}, e);
  }
}

// ---- symbols ----------------------------------------------------------------------------------------------

function yymmdd(date: string): string {
  return date.slice(2);
}

/**
 * Our normalized symbol as a ccxt unified symbol, by ccxt's conventions: `BTC-USDT` -> `BTC/USDT`,
 * `BTC-USDT-PERP` -> `BTC/USDT:USDT` (linear: settled in the quote), `BTC-USD-20220527` ->
 * `BTC/USD:USD-220527`, `BTC-USD-20240329-60000-C` -> `BTC/USD:USD-240329-60000-C`. Inverse contracts
 * (settled in the base) are found through the loaded markets (`resolveCcxtSymbol`).
 * Throws QOB_ERR_INVALID_SYMBOL for a symbol outside our scheme.
 */
export function toCcxtSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  const pair = `${p.base}/${p.quote}`;
  switch (p.kind) {
    case 'spot':
      return pair;
    case 'perp':
      return `${pair}:${p.quote}`;
    case 'future':
      return `${pair}:${p.quote}-${yymmdd(p.expiryDate as string)}`;
    case 'option':
      return `${pair}:${p.quote}-${yymmdd(p.expiryDate as string)}-${p.strike}-${p.optionType === 'call' ? 'C' : 'P'}`;
  }
}

const CCXT_SYMBOL_RE = /^([^/:]+)\/([^/:]+)(?::([^/:-]+)(?:-(\d{6})(?:-([^-]+)-([CP]))?)?)?$/;

/**
 * A ccxt unified symbol as our normalized symbol (`BTC/USDT:USDT` -> `BTC-USDT-PERP`, inverse
 * `BTC/USD:BTC` -> `BTC-USD-PERP`). Throws QOB_ERR_INVALID_SYMBOL when it is not in ccxt's scheme.
 */
export function fromCcxtSymbol(unified: string): string {
  const m = typeof unified === 'string' ? CCXT_SYMBOL_RE.exec(unified) : null;
  if (m === null) {
    throw qobError('QOB_ERR_INVALID_SYMBOL', `not a ccxt unified symbol: ${String(unified)}`, {
      field: 'symbol',
      value: String(unified),
      problem: 'expected BASE/QUOTE[:SETTLE[-YYMMDD[-STRIKE-C|P]]]',
    });
  }
  const [, base = '', quote = '', settle, date, strike, cp] = m;
  if (settle === undefined) return normalizeSymbol(base, quote, 'spot');
  if (date === undefined) return normalizeSymbol(base, quote, 'perp');
  const expiryMs = Date.UTC(2000 + Number(date.slice(0, 2)), Number(date.slice(2, 4)) - 1, Number(date.slice(4, 6)));
  if (strike === undefined) return normalizeSymbol(base, quote, 'future', expiryMs);
  return normalizeSymbol(base, quote, 'option', expiryMs, { strike, optionType: cp === 'C' ? 'call' : 'put' });
}

/**
 * The ccxt symbol of one of our symbols on an exchange whose markets are loaded: the conventional
 * spelling when the exchange lists it, otherwise the listed market that maps back to our symbol (a linear
 * contract before an inverse one). Throws QOB_ERR_UNKNOWN_INSTRUMENT when the exchange lists none.
 */
export function resolveCcxtSymbol(
  symbol: string,
  markets: Readonly<Record<string, CcxtMarketLike>>,
  venue = 'ccxt',
): string {
  const conventional = toCcxtSymbol(symbol);
  if (Object.hasOwn(markets, conventional)) return conventional;
  const found: string[] = [];
  for (const m of Object.values(markets)) {
    try {
      if (fromCcxtSymbol(m.symbol) === symbol) found.push(m.symbol);
    } catch {
      // a market outside our scheme (leveraged tokens, odd codes): not a candidate
    }
  }
  const quote = parseNormalizedSymbol(symbol).quote;
  found.sort((a, b) => Number(!a.includes(`:${quote}`)) - Number(!b.includes(`:${quote}`)) || (a < b ? -1 : 1));
  const best = found[0];
  if (best !== undefined) return best;
  throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `${venue} lists no market for ${symbol} (tried ${conventional})`, {
    venue,
    symbol,
    ccxtSymbol: conventional,
  });
}

// ---- numbers ----------------------------------------------------------------------------------------------

/**
 * Exact text of a number ccxt gave us: its shortest round-trip form, canonical (`0.253`, `1e-7` ->
 * `0.0000001`). Exact for venue values of at most 15 significant digits; rejects NaN and Infinity with
 * QOB_ERR_INVALID_DECIMAL.
 */
export function ccxtNumberText(n: unknown, context: Record<string, unknown> = {}): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw qobError('QOB_ERR_INVALID_DECIMAL', `ccxt gave a non-finite or non-number value: ${String(n)}`, {
      ...context,
      value: String(n),
    });
  }
  return Decimal.fromNumber(n).toString();
}

/**
 * The best `depth` levels of one side of a ccxt book as `[price, size]` text, in ccxt's order (best
 * first). Levels of size zero are left out. Throws QOB_ERR_NONPOSITIVE_PRICE, QOB_ERR_NEGATIVE_SIZE,
 * QOB_ERR_INVALID_DECIMAL or QOB_ERR_MALFORMED_MESSAGE (context: side and index) on bad levels.
 */
export function ccxtLevelsToText(
  levels: ArrayLike<CcxtLevel>,
  depth: number,
  context: Record<string, unknown> = {},
): [string, string][] {
  const out: [string, string][] = [];
  if (levels === null || typeof levels !== 'object' || typeof levels.length !== 'number') {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'ccxt order book side is not an array', context);
  }
  for (let i = 0; i < levels.length && out.length < depth; i++) {
    const l = levels[i];
    const ctx = { ...context, index: i };
    if (l === null || typeof l !== 'object' || typeof l.length !== 'number' || l.length < 2) {
      throw qobError('QOB_ERR_MALFORMED_MESSAGE', `ccxt level ${i} is not [price, amount]`, ctx);
    }
    const price = ccxtNumberText(l[0], { ...ctx, field: 'price' });
    const size = ccxtNumberText(l[1], { ...ctx, field: 'size' });
    if (!((l[0] as number) > 0)) {
      throw qobError('QOB_ERR_NONPOSITIVE_PRICE', `price must be positive: ${price}`, { ...ctx, price });
    }
    if ((l[1] as number) < 0) throw qobError('QOB_ERR_NEGATIVE_SIZE', `size is negative: ${size}`, { ...ctx, size });
    if ((l[1] as number) === 0) continue;
    out.push([price, size]);
  }
  return out;
}

// ---- errors -----------------------------------------------------------------------------------------------

/** ccxt error class names (its `errorHierarchy`) -> our codes, looked up from the most derived class up. */
const CCXT_ERROR_CODES: Readonly<Record<string, QobError['code']>> = Object.freeze({
  BadSymbol: 'QOB_ERR_UNKNOWN_INSTRUMENT',
  MarketClosed: 'QOB_ERR_UNKNOWN_INSTRUMENT',
  NotSupported: 'QOB_ERR_INVALID_ARGUMENT',
  ArgumentsRequired: 'QOB_ERR_INVALID_ARGUMENT',
  ExchangeClosedByUser: 'QOB_ERR_CLOSED',
  RateLimitExceeded: 'QOB_ERR_RATE_LIMITED',
  DDoSProtection: 'QOB_ERR_RATE_LIMITED',
  ChecksumError: 'QOB_ERR_CHECKSUM_MISMATCH',
  InvalidNonce: 'QOB_ERR_SEQUENCE_GAP',
  OnMaintenance: 'QOB_ERR_VENUE_UNAVAILABLE',
  ExchangeNotAvailable: 'QOB_ERR_VENUE_UNAVAILABLE',
  RequestTimeout: 'QOB_ERR_VENUE_UNAVAILABLE',
  NetworkError: 'QOB_ERR_VENUE_UNAVAILABLE',
  BadResponse: 'QOB_ERR_MALFORMED_MESSAGE',
  OperationFailed: 'QOB_ERR_VENUE_UNAVAILABLE',
  ExchangeError: 'QOB_ERR_VENUE_REJECTED',
});

/** Codes a retry cannot fix: the book fails for good. Everything else is retried with backoff. */
const TERMINAL: ReadonlySet<QobError['code']> = new Set([
  'QOB_ERR_UNKNOWN_INSTRUMENT',
  'QOB_ERR_INVALID_SYMBOL',
  'QOB_ERR_INVALID_ARGUMENT',
  'QOB_ERR_VENUE_REJECTED',
  'QOB_ERR_UNKNOWN_VENUE',
  'QOB_ERR_CLOSED',
  'QOB_ERR_ABORTED',
]);

function classNames(e: object): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(e); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const n = (p as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof n === 'string') names.push(n);
  }
  return names;
}

/**
 * A typed QobError for anything ccxt (or our conversion of its data) threw. QobErrors pass through;
 * ccxt's errors map by class (table above; context `ccxtError` names the class); anything else is
 * QOB_ERR_INTERNAL. The original error is the `cause`.
 */
export function mapCcxtError(e: unknown, context: Record<string, unknown> = {}): QobError {
  if (isQobError(e)) return e;
  if (e !== null && typeof e === 'object') {
    const names = classNames(e);
    const message = e instanceof Error ? e.message : String(e);
    for (const n of names) {
      const code = CCXT_ERROR_CODES[n];
      if (code !== undefined) {
        return qobError(code, `${names[0]}: ${message}`, { ...context, ccxtError: names[0] }, e);
      }
    }
    return qobError('QOB_ERR_INTERNAL', `${names[0] ?? 'error'}: ${message}`, { ...context }, e);
  }
  return qobError('QOB_ERR_INTERNAL', `non-error thrown: ${String(e)}`, { ...context }, e);
}

/** Whether the connector retries after this error (else the book fails for good). */
export function isRetryableCcxtError(e: QobError): boolean {
  return !TERMINAL.has(e.code);
}

// ---- the connector ----------------------------------------------------------------------------------------

/** A status of this path: the native connector's shape, marked as coming through ccxt. */
export type CcxtConnectorStatus = ConnectorStatus & {
  readonly source: 'ccxt';
  readonly exact: false;
  /** Book scope: the ccxt unified symbol, once resolved. */
  readonly ccxtSymbol?: string;
  /** Stale and failed statuses: the typed error behind them. */
  readonly error?: QobError;
};

export interface CcxtRetryOptions {
  /** Failed tries in a row before the book is marked failed (default 5). */
  readonly maxTries?: number;
  /** Backoff between tries (default 1 s doubling up to 30 s). */
  readonly backoff?: BackoffOptions;
  /** A book failed by retryable errors is tried again after this long (default 60 s). */
  readonly failedCooldownMs?: number;
}

export interface CcxtConnectorOptions {
  /** ccxt exchange id (`kucoin`) or our venue id for it (`ccxt:kucoin`). */
  readonly exchangeId: string;
  /** Normalized symbols (`BTC-USDT`, `BTC-USDT-PERP`). */
  readonly symbols: readonly string[];
  /** ccxt exchange config, passed through (e.g. `urls`, `options`, `timeout`). Never put secrets here. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Explicit normalized -> ccxt symbol overrides, for markets the conventions do not find. */
  readonly ccxtSymbols?: Readonly<Record<string, string>>;
  /** Levels per side kept in our book (default 100). */
  readonly depth?: number;
  /** `limit` passed to ccxt's watchOrderBook (default: the exchange's own default). */
  readonly limit?: number;
  readonly clock: Clock;
  /** Jitter of the backoff (default the platform's randomness: pass a SeededRandom in tests). */
  readonly random?: Random;
  readonly retry?: CcxtRetryOptions;
  readonly onStatus?: (status: CcxtConnectorStatus) => void;
  readonly onAlert?: (alert: ConnectorAlert) => void;
  readonly signal?: AbortSignal;
  /** The ccxt module to use (default: `import('ccxt')`). */
  readonly ccxt?: CcxtModuleLike;
}

/** The connector's view of one book. */
export interface CcxtBookState {
  readonly symbol: string;
  readonly ccxtSymbol: string | undefined;
  readonly status: ConnectorState | undefined;
  /** Failed tries in a row. */
  readonly tries: number;
  /** ccxt books applied to our book. */
  readonly updates: number;
  /** Venue event time of the last applied book, when ccxt knows it. */
  readonly tsEventMs: number | undefined;
  readonly tsRecvMs: number | undefined;
  readonly lastError: QobError | undefined;
}

interface Slot {
  readonly symbol: string;
  readonly tb: TrackedBook;
  ccxtSymbol: string | undefined;
  status: ConnectorState | undefined;
  tries: number;
  updates: number;
  tsEventMs: number | undefined;
  tsRecvMs: number | undefined;
  lastError: QobError | undefined;
}

export interface CcxtConnectorCounters {
  /** ccxt books applied, over all symbols. */
  updates: number;
  /** Errors from ccxt or from its data, over all symbols. */
  errors: number;
  /** Tries after an error (backoff waits). */
  retries: number;
  alerts: number;
}

export class CcxtConnector {
  readonly venue: CcxtVenueId;
  readonly exchangeId: string;
  readonly source = 'ccxt' as const;
  /** This path is never venue-exact (module comment). */
  readonly exact = false as const;
  readonly counters: CcxtConnectorCounters = { updates: 0, errors: 0, retries: 0, alerts: 0 };
  private readonly exchange: CcxtProExchange;
  private readonly o: CcxtConnectorOptions;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly timers: TimerSet;
  private readonly slots: Slot[];
  private readonly depth: number;
  private readonly wakers = new Set<() => void>();
  private readonly loops: Promise<void>[] = [];
  private readonly abortListener: (() => void) | undefined;
  private markets: Promise<Readonly<Record<string, CcxtMarketLike>>> | undefined;
  private marketsFailed = false;
  private venueState: ConnectorState | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly closedSignal: Promise<void>;
  private resolveClosed: () => void = () => {};

  /** Use `createCcxtConnector`, which validates the options and loads ccxt. */
  constructor(exchange: CcxtProExchange, symbols: readonly string[], options: CcxtConnectorOptions) {
    this.exchange = exchange;
    this.exchangeId = exchange.id;
    this.venue = `ccxt:${exchange.id}`;
    this.o = options;
    this.clock = options.clock;
    this.random = options.random ?? systemRandom;
    this.timers = new TimerSet(options.clock);
    this.depth = options.depth ?? 100;
    this.closedSignal = new Promise<void>((r) => {
      this.resolveClosed = r;
    });
    this.slots = symbols.map((symbol) => ({
      symbol,
      tb: new TrackedBook(this.venue, symbol, `watchOrderBook:${symbol}`),
      ccxtSymbol: options.ccxtSymbols?.[symbol],
      status: undefined,
      tries: 0,
      updates: 0,
      tsEventMs: undefined,
      tsRecvMs: undefined,
      lastError: undefined,
    }));
    const signal = options.signal;
    if (signal !== undefined) {
      this.abortListener = () => void this.close();
      signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  /** Starts one watch loop per symbol. Idempotent; called by `createCcxtConnector`. */
  start(): this {
    if (this.closed || this.loops.length > 0) return this;
    this.setVenue('connecting', 'loading markets');
    for (const s of this.slots) {
      this.setBook(s, 'connecting', 'starting');
      this.loops.push(this.run(s));
    }
    return this;
  }

  /** Our books, one per symbol (TrackedBook.symbol is the normalized symbol). */
  books(): Iterable<TrackedBook> {
    return this.slots.map((s) => s.tb);
  }

  bookStates(): CcxtBookState[] {
    return this.slots.map((s) => ({
      symbol: s.symbol,
      ccxtSymbol: s.ccxtSymbol,
      status: s.status,
      tries: s.tries,
      updates: s.updates,
      tsEventMs: s.tsEventMs,
      tsRecvMs: s.tsRecvMs,
      lastError: s.lastError,
    }));
  }

  /** Timers held by the connector (backoff waits); a closed connector holds none. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Stops every loop, closes ccxt's sockets (`exchange.close()`) and its agent. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    if (this.abortListener !== undefined) this.o.signal?.removeEventListener('abort', this.abortListener);
    this.timers.clearAll();
    for (const wake of this.wakers) wake();
    this.wakers.clear();
    this.resolveClosed();
    this.closing = (async () => {
      try {
        await this.exchange.close();
      } catch {
        // closing is best effort: the sockets are being torn down either way
      }
      this.exchange.httpAgent?.destroy?.();
      await Promise.allSettled(this.loops);
      for (const s of this.slots) this.setBook(s, 'closed', 'closed');
      this.setVenue('closed', 'closed');
    })();
    return this.closing;
  }

  // ---- loop -------------------------------------------------------------------------------------------

  private async run(s: Slot): Promise<void> {
    while (!this.closed) {
      let delay: number | undefined;
      try {
        const markets = await this.race(this.loadMarkets());
        if (this.closed) return;
        this.setVenue('connected', 'markets loaded');
        if (s.ccxtSymbol === undefined) s.ccxtSymbol = resolveCcxtSymbol(s.symbol, markets, this.venue);
        if (s.status === 'connecting') this.setBook(s, 'syncing', `watching ${s.ccxtSymbol}`);
        const ob = await this.race(this.exchange.watchOrderBook(s.ccxtSymbol, this.o.limit));
        if (this.closed) return;
        this.apply(s, ob);
        continue;
      } catch (e) {
        if (this.closed) return;
        delay = this.onError(s, e);
      }
      if (delay === undefined) return;
      await this.sleep(delay);
    }
  }

  /** Markets are loaded once per exchange; a failed load is retried with `reload` (ccxt caches the failure). */
  private loadMarkets(): Promise<Readonly<Record<string, CcxtMarketLike>>> {
    if (this.markets === undefined) {
      const reload = this.marketsFailed;
      this.markets = (async () => {
        await this.exchange.loadHttpProxyAgent?.(); // lets ccxt open ws:// (non-TLS) URLs, e.g. an emulator
        return this.exchange.loadMarkets(reload);
      })();
      this.markets.catch(() => {
        this.markets = undefined;
        this.marketsFailed = true;
      });
    }
    return this.markets;
  }

  /** Resolves with `p`, or with undefined once the connector closes (p's later rejection is swallowed). */
  private race<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {});
    return Promise.race([p, this.closedSignal as Promise<never>]);
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.wakers.delete(wake);
        this.timers.clear(h);
        resolve();
      };
      const h = this.timers.set(wake, ms);
      this.wakers.add(wake);
    });
  }

  private apply(s: Slot, ob: CcxtOrderBook): void {
    const now = this.clock.nowMs();
    const ctx = { venue: this.venue, symbol: s.symbol };
    if (ob === null || typeof ob !== 'object') {
      throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'ccxt returned no order book', ctx);
    }
    const bids = ccxtLevelsToText(ob.bids, this.depth, { ...ctx, side: 'bid' });
    const asks = ccxtLevelsToText(ob.asks, this.depth, { ...ctx, side: 'ask' });
    const tb = s.tb;
    tb.beginResync(now);
    tb.book.applySnapshot(bids, asks);
    tb.updates++;
    s.updates++;
    this.counters.updates++;
    s.tsRecvMs = now;
    s.tsEventMs = typeof ob.timestamp === 'number' && Number.isFinite(ob.timestamp) ? ob.timestamp : undefined;
    if (typeof ob.nonce === 'number' && Number.isSafeInteger(ob.nonce)) tb.lastSeq = ob.nonce;
    if (tb.book.isCrossed()) {
      // ccxt's book crossed (its sync slipped): serve nothing until a later update uncrosses it.
      tb.crossed++;
      tb.invalidate(note('crossed book'), now);
      this.setBook(s, 'stale', 'crossed book');
      return;
    }
    s.tries = 0;
    s.lastError = undefined;
    tb.setStatus('in_sync', note('snapshot'), now);
    this.setBook(s, 'in_sync', 'snapshot');
  }

  /** Handles one error of a loop; returns the wait before the next try, or undefined to stop the loop. */
  private onError(s: Slot, e: unknown): number | undefined {
    const err = mapCcxtError(e, { venue: this.venue, symbol: s.symbol, ccxtSymbol: s.ccxtSymbol });
    const now = this.clock.nowMs();
    this.counters.errors++;
    s.lastError = err;
    const tb = s.tb;
    if (err.code === 'QOB_ERR_VENUE_UNAVAILABLE' || err.code === 'QOB_ERR_RATE_LIMITED') {
      this.setVenue('disconnected', err.message, err.code === 'QOB_ERR_VENUE_UNAVAILABLE');
    }
    if (!isRetryableCcxtError(err)) {
      this.fail(s, err, `${err.code}: ${err.message}`, now);
      return undefined;
    }
    s.tries++;
    const max = this.o.retry?.maxTries ?? 5;
    if (s.tries >= max) {
      this.fail(s, err, `gave up after ${s.tries} tries: ${err.message}`, now);
      s.tries = 0;
      return this.o.retry?.failedCooldownMs ?? 60_000;
    }
    tb.invalidate(note(err.message), now);
    this.setBook(s, 'stale', err.message, err);
    this.counters.retries++;
    return backoffDelayMs(s.tries - 1, this.o.retry?.backoff ?? { baseMs: 1000, maxMs: 30_000 }, this.random);
  }

  private fail(s: Slot, err: QobError, why: string, now: number): void {
    s.tb.book.clear();
    s.tb.lastSeq = -1;
    s.tb.setStatus('failed', note(why), now);
    this.setBook(s, 'failed', why, err);
    this.counters.alerts++;
    this.o.onAlert?.({
      kind: 'book_failed',
      venue: this.venue,
      symbol: s.symbol,
      conn: `${this.venue}.watchOrderBook`,
      reason: note(why),
      tries: s.tries,
      tsMs: now,
    });
  }

  // ---- statuses ---------------------------------------------------------------------------------------

  private setBook(s: Slot, status: ConnectorState, reason: string, error?: QobError): void {
    if (s.status === status && error === undefined) return;
    s.status = status;
    this.o.onStatus?.({
      scope: 'book',
      venue: this.venue,
      symbol: s.symbol,
      conn: `${this.venue}.watchOrderBook`,
      status,
      reason: note(reason),
      tsMs: this.clock.nowMs(),
      source: 'ccxt',
      exact: false,
      ...(s.ccxtSymbol === undefined ? {} : { ccxtSymbol: s.ccxtSymbol }),
      ...(error === undefined ? {} : { error }),
    });
  }

  private setVenue(status: ConnectorState, reason: string, unreachable?: boolean): void {
    if (this.venueState === status) return;
    this.venueState = status;
    this.o.onStatus?.({
      scope: 'venue',
      venue: this.venue,
      status,
      reason: note(reason),
      tsMs: this.clock.nowMs(),
      source: 'ccxt',
      exact: false,
      ...(unreachable === undefined ? {} : { unreachable }),
    });
  }
}

function note(reason: string): string {
  return `${reason}; ${CCXT_NOT_EXACT}`;
}

function validate(o: CcxtConnectorOptions): { id: string; symbols: string[] } {
  if (typeof o !== 'object' || o === null) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'ccxt connector options must be an object');
  }
  const raw = typeof o.exchangeId === 'string' ? o.exchangeId : '';
  const id = raw.startsWith('ccxt:') ? raw.slice(5) : raw;
  if (!EXCHANGE_ID_RE.test(id)) {
    throw qobError('QOB_ERR_UNKNOWN_VENUE', `not a ccxt exchange id: ${JSON.stringify(o.exchangeId)}`, {
      field: 'exchangeId',
      value: String(o.exchangeId),
    });
  }
  if (!Array.isArray(o.symbols) || o.symbols.length === 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'symbols must be a non-empty list of normalized symbols', {
      field: 'symbols',
    });
  }
  const seen = new Set<string>();
  for (const s of o.symbols) {
    parseNormalizedSymbol(s); // QOB_ERR_INVALID_SYMBOL
    if (seen.has(s)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `symbol listed twice: ${s}`, { field: 'symbols', value: s });
    }
    seen.add(s);
  }
  for (const [name, v, min] of [
    ['depth', o.depth, 1],
    ['limit', o.limit, 1],
    ['retry.maxTries', o.retry?.maxTries, 1],
  ] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got ${v}`, {
        field: name,
        value: v,
      });
    }
  }
  return { id, symbols: [...seen] };
}

/**
 * Builds a ccxt-backed connector and starts it. Rejects with QOB_ERR_UNKNOWN_VENUE when ccxt has no
 * WebSocket (pro) exchange of that id or it cannot watch order books, QOB_ERR_INVALID_SYMBOL for a symbol
 * outside our scheme, QOB_ERR_INVALID_ARGUMENT for bad options. A symbol the exchange does not list is
 * found once markets load: that book's status becomes `failed` (error QOB_ERR_UNKNOWN_INSTRUMENT) with an
 * alert.
 */
export async function createCcxtConnector(options: CcxtConnectorOptions): Promise<CcxtConnector> {
  const { id, symbols } = validate(options);
  if (options.signal?.aborted) throw qobError('QOB_ERR_ABORTED', 'aborted before the ccxt connector started');
  const ccxt = options.ccxt ?? (await loadCcxt());
  const Cls = ccxt.pro.exchanges.includes(id) ? ccxt.pro[id] : undefined;
  if (typeof Cls !== 'function') {
    throw qobError('QOB_ERR_UNKNOWN_VENUE', `ccxt has no WebSocket (pro) exchange ${JSON.stringify(id)}`, {
      venue: `ccxt:${id}`,
      exchangeId: id,
    });
  }
  const exchange = new (Cls as CcxtProExchangeClass)({ enableRateLimit: true, ...options.options });
  if (exchange.has.watchOrderBook !== true) {
    await exchange.close().catch(() => {});
    throw qobError('QOB_ERR_UNKNOWN_VENUE', `ccxt's ${id} cannot watch order books`, {
      venue: `ccxt:${id}`,
      exchangeId: id,
    });
  }
  return new CcxtConnector(exchange, symbols, options).start();
}
