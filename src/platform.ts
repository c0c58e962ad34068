/**
 * The platform is built by one function: `buildPlatform(config)` returns every piece (logger, metrics,
 * the venues it will run) and entry points (`qob start`, later each service) only choose and wire them.
 *
 * Today the only running venue is the built-in simulated exchange (`sim`): matching engines driven by
 * seeded agents (src/sim/), whose wire feed goes through the `sim` feed handler (src/venues/sim/) into
 * exact tracked books, in process. Real venue connectors come later; the configured real venues are
 * reported as not connected.
 */
import type { QobConfig, VenueConfig } from './config/types.ts';
import { qobError } from './core/errors.ts';
import type { Logger } from './observability/logger.ts';
import { createLogger, moduleLogger } from './observability/logger.ts';
import { createMetrics, type PlatformMetrics } from './observability/metrics.ts';
import { type SimConnection, SimExchange } from './sim/exchange.ts';
import type { TrackedBook } from './venues/feed-handler.ts';
import { createSimFeedHandler, type SimFeedHandler } from './venues/sim/index.ts';

export const SIM_VENUE = 'sim';

export interface SimVenueOptions {
  readonly symbols: readonly string[];
  /** Seed of the simulated market (default 1). */
  readonly seed?: number;
  /** Simulated milliseconds per step (default 50). */
  readonly stepMs?: number;
  readonly metrics?: PlatformMetrics;
}

/** One book's live status, as `qob start` prints it. Prices are exact decimal text. */
export interface SimBookStatus {
  readonly venue: string;
  readonly symbol: string;
  readonly bestBid: string | null;
  readonly bestAsk: string | null;
  readonly spread: string | null;
  readonly mid: string | null;
  readonly bidLevels: number;
  readonly askLevels: number;
  readonly updates: number;
  /** Updates per second since the previous status (a statistic). */
  readonly updatesPerSec: number;
  readonly crossed: number;
  readonly gaps: number;
  readonly status: string;
  /** Price of the last trade seen on the feed, exact text. */
  readonly lastTradePrice: string | null;
  readonly lastTradeSide: 'buy' | 'sell' | null;
  readonly trades: number;
  /** Trades per second since the previous status (a statistic). */
  readonly tradesPerSec: number;
}

interface Counts {
  updates: number;
  trades: number;
}

/**
 * The built-in simulated venue, wired like a real one: a `SimExchange` (matching engines and seeded
 * agents, src/sim/) publishes wire frames on an in-process connection, and the `sim` feed handler
 * (src/venues/sim/) turns them into exact tracked books, asking for a fresh snapshot whenever a book goes
 * stale. No timers and no clock inside: the caller decides when to `step` and passes the time to
 * `status`, so runs are reproducible.
 */
export class SimVenue {
  readonly exchange: SimExchange;
  readonly handler: SimFeedHandler;
  private readonly conn: SimConnection;
  private readonly metrics: PlatformMetrics | undefined;
  private readonly last = new Map<string, Counts>();
  private readonly resync = new Set<string>();
  private readonly metricUpdates = new Map<string, number>();
  private delivering = false;
  private lastStatusMs: number | undefined;
  private closed = false;

  constructor(options: SimVenueOptions) {
    this.metrics = options.metrics;
    this.exchange = new SimExchange({
      symbols: options.symbols,
      seed: options.seed ?? 1,
      ...(options.stepMs === undefined ? {} : { stepMs: options.stepMs }),
    });
    this.handler = createSimFeedHandler({
      onStatus: (c) => {
        if (c.status === 'stale') this.resync.add(c.symbol);
      },
    });
    this.handler.onConnect('sim', 'sim://in-process', this.exchange.nowMs);
    this.conn = this.exchange.connect((text) => this.deliver(text));
    for (const s of this.exchange.symbols) this.last.set(s, { updates: 0, trades: 0 });
    this.countMetrics();
  }

  private deliver(text: string): void {
    this.handler.onFrame('sim', text, this.exchange.nowMs);
    if (this.delivering || this.resync.size === 0) return;
    // Ask for snapshots after the frame that lost sync, never from inside the handler.
    this.delivering = true;
    try {
      for (const symbol of [...this.resync]) {
        this.resync.delete(symbol);
        this.conn.send(JSON.stringify({ op: 'snapshot', symbol }));
      }
    } finally {
      this.delivering = false;
    }
  }

  get symbols(): string[] {
    return this.exchange.symbols;
  }

  /** Runs `n` steps of the simulated market; every frame goes through the feed handler. */
  step(n: number): void {
    if (this.closed) throw qobError('QOB_ERR_CLOSED', 'the simulated venue is closed');
    this.exchange.step(n);
    this.countMetrics();
  }

  private countMetrics(): void {
    const m = this.metrics;
    if (m === undefined) return;
    let inSync = 0;
    for (const tb of this.trackedBooks()) {
      const prev = this.metricUpdates.get(tb.symbol) ?? 0;
      if (tb.updates > prev) m.bookUpdates.inc({ venue: SIM_VENUE, symbol: tb.symbol }, tb.updates - prev);
      this.metricUpdates.set(tb.symbol, tb.updates);
      if (tb.inSync) inSync++;
    }
    m.booksInSync.set({ venue: SIM_VENUE }, inSync);
  }

  /** The status of every book; `nowMs` (from the caller's clock) gives the rates. */
  status(nowMs: number): SimBookStatus[] {
    const dtS = this.lastStatusMs === undefined ? 0 : (nowMs - this.lastStatusMs) / 1000;
    this.lastStatusMs = nowMs;
    return this.exchange.symbols.map((symbol) => {
      const t = this.handler.book(symbol);
      const tr = this.handler.trades(symbol);
      const last = this.last.get(symbol) as Counts;
      const updates = t?.updates ?? 0;
      const rate = (now: number, before: number) => (dtS > 0 ? Math.round((now - before) / dtS) : 0);
      const out: SimBookStatus = {
        venue: SIM_VENUE,
        symbol,
        bestBid: t?.book.bestBid()?.price ?? null,
        bestAsk: t?.book.bestAsk()?.price ?? null,
        spread: t?.book.spread()?.toString() ?? null,
        mid: t?.book.mid()?.toString() ?? null,
        bidLevels: t?.book.bids.length ?? 0,
        askLevels: t?.book.asks.length ?? 0,
        updates,
        updatesPerSec: rate(updates, last.updates),
        crossed: t?.crossed ?? 0,
        gaps: t?.gaps ?? 0,
        status: t?.status ?? 'syncing',
        lastTradePrice: tr.lastPrice,
        lastTradeSide: tr.lastSide,
        trades: tr.count,
        tradesPerSec: rate(tr.count, last.trades),
      };
      last.updates = updates;
      last.trades = tr.count;
      return out;
    });
  }

  /** The books themselves (read-only use), in symbol order. */
  trackedBooks(): TrackedBook[] {
    return this.exchange.symbols.flatMap((s) => {
      const b = this.handler.book(s);
      return b === undefined ? [] : [b];
    });
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    this.exchange.close();
    this.metrics?.booksInSync.set({ venue: SIM_VENUE }, 0);
  }
}

export interface PlatformDeps {
  /** A logger to use instead of one built from `config.log`. */
  readonly logger?: Logger;
}

export interface Platform {
  readonly config: QobConfig;
  readonly logger: Logger;
  readonly metrics: PlatformMetrics;
  /** The enabled `sim` venue entry, if any. */
  readonly simVenue: VenueConfig | undefined;
  /** Enabled real venues: configured, but not connected (their live connectors come later). */
  readonly pendingVenues: readonly VenueConfig[];
  /** The simulated venue over the sim venue's configured symbols (or the given ones). */
  createSimVenue(options?: Partial<SimVenueOptions>): SimVenue;
  /** Closes everything it created. Idempotent. */
  close(): void;
}

export function buildPlatform(config: QobConfig, deps: PlatformDeps = {}): Platform {
  const logger = deps.logger ?? createLogger(config.log);
  const metrics = createMetrics({ processMetrics: config.metrics.enabled });
  const enabled = config.venues.filter((v) => v.enabled);
  const simVenue = enabled.find((v) => v.id === SIM_VENUE);
  const pendingVenues = enabled.filter((v) => v.id !== SIM_VENUE);
  const markets: SimVenue[] = [];
  let closed = false;
  const log = moduleLogger(logger, 'platform');

  return {
    config,
    logger,
    metrics,
    simVenue,
    pendingVenues,
    createSimVenue(options = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      const symbols = options.symbols ?? simVenue?.symbols ?? [];
      if (symbols.length === 0) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the sim venue is disabled or has no symbols', {
          venue: SIM_VENUE,
        });
      }
      const m = new SimVenue({ ...options, symbols, metrics });
      markets.push(m);
      log.debug({ symbols }, 'simulated venue started');
      return m;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const m of markets) m.close();
      metrics.close();
      log.debug('platform closed');
    },
  };
}
