/**
 * The platform is built by one function: `buildPlatform(config)` returns every piece (logger, metrics,
 * the venues it will run) and entry points (`qob start`, later each service) only choose and wire them.
 *
 * Today the only running venue is the built-in synthetic one (`sim`): a deterministic seeded L2 stream
 * (src/sim/l2-stream.ts) applied to exact L2 books. Real venue connectors come later; the configured real
 * venues are reported as not connected.
 */
import type { QobConfig, VenueConfig } from './config/types.ts';
import { qobError } from './core/errors.ts';
import type { Logger } from './observability/logger.ts';
import { createLogger, moduleLogger } from './observability/logger.ts';
import { createMetrics, type PlatformMetrics } from './observability/metrics.ts';
import { L2StreamGenerator } from './sim/l2-stream.ts';
import { TrackedBook } from './venues/feed-handler.ts';

export const SIM_VENUE = 'sim';

/** Instruments of the synthetic venue: starting best bid, price tick and size lot (all exact text). */
const SIM_INSTRUMENTS: Readonly<Record<string, { mid: string; tick: string; lot: string }>> = {
  'BTC-USDT': { mid: '65000.00', tick: '0.01', lot: '0.00001' },
  'ETH-USDT': { mid: '3400.00', tick: '0.01', lot: '0.0001' },
  'SOL-USDT': { mid: '150.000', tick: '0.001', lot: '0.01' },
  'BTC-USD': { mid: '65000.00', tick: '0.01', lot: '0.00001' },
  'ETH-USD': { mid: '3400.00', tick: '0.01', lot: '0.0001' },
};
const SIM_DEFAULT_INSTRUMENT = { mid: '100.00', tick: '0.01', lot: '0.001' };

export interface SyntheticMarketOptions {
  readonly symbols: readonly string[];
  /** Seed of the first symbol's stream; symbol i uses seed + i. */
  readonly seed?: number;
  /** Levels per side in each snapshot. */
  readonly levels?: number;
  readonly metrics?: PlatformMetrics;
}

/** One book's live status, as `qob start` prints it. Prices are exact decimal text. */
export interface SyntheticBookStatus {
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
  readonly status: string;
}

interface SimBook {
  readonly tracked: TrackedBook;
  readonly stream: L2StreamGenerator;
  lastUpdates: number;
}

/**
 * Several exact L2 books fed by the deterministic synthetic stream. No timers and no clock inside: the
 * caller decides when to `step` and passes the time to `status`, so runs are reproducible.
 */
export class SyntheticMarket {
  private readonly books: SimBook[];
  private readonly metrics: PlatformMetrics | undefined;
  private lastStatusMs: number | undefined;
  private closed = false;

  constructor(options: SyntheticMarketOptions) {
    const seed = options.seed ?? 1;
    const levels = options.levels ?? 1000;
    this.metrics = options.metrics;
    this.books = options.symbols.map((symbol, i) => {
      const inst = SIM_INSTRUMENTS[symbol] ?? SIM_DEFAULT_INSTRUMENT;
      const stream = new L2StreamGenerator({ seed: seed + i, levels, deltas: 0, ...inst });
      const tracked = new TrackedBook(SIM_VENUE, symbol, `sim:${symbol}`);
      const snap = stream.snapshot();
      tracked.book.applySnapshot(snap.bids, snap.asks);
      tracked.updates++;
      tracked.setStatus('in_sync', 'snapshot', 0);
      this.metrics?.bookUpdates.inc({ venue: SIM_VENUE, symbol });
      return { tracked, stream, lastUpdates: 0 };
    });
    this.metrics?.booksInSync.set({ venue: SIM_VENUE }, this.books.length);
  }

  get symbols(): string[] {
    return this.books.map((b) => b.tracked.symbol);
  }

  /** Applies the next `n` deltas to every book. */
  step(n: number): void {
    if (this.closed) throw qobError('QOB_ERR_CLOSED', 'the synthetic market is closed');
    for (const b of this.books) {
      const t = b.tracked;
      for (let i = 0; i < n; i++) {
        const d = b.stream.nextDelta();
        t.book.applyDelta(d.bids, d.asks);
        t.updates++;
        t.checkCrossed(0);
      }
      this.metrics?.bookUpdates.inc({ venue: SIM_VENUE, symbol: t.symbol }, n);
    }
  }

  /** The status of every book; `nowMs` (from the caller's clock) gives the update rates. */
  status(nowMs: number): SyntheticBookStatus[] {
    const dtS = this.lastStatusMs === undefined ? 0 : (nowMs - this.lastStatusMs) / 1000;
    this.lastStatusMs = nowMs;
    return this.books.map((b) => {
      const t = b.tracked;
      const bk = t.book;
      const rate = dtS > 0 ? (t.updates - b.lastUpdates) / dtS : 0;
      b.lastUpdates = t.updates;
      return {
        venue: t.venue,
        symbol: t.symbol,
        bestBid: bk.bestBid()?.price ?? null,
        bestAsk: bk.bestAsk()?.price ?? null,
        spread: bk.spread()?.toString() ?? null,
        mid: bk.mid()?.toString() ?? null,
        bidLevels: bk.bids.length,
        askLevels: bk.asks.length,
        updates: t.updates,
        updatesPerSec: Math.round(rate),
        crossed: t.crossed,
        status: t.status,
      };
    });
  }

  /** The books themselves (read-only use). */
  trackedBooks(): readonly TrackedBook[] {
    return this.books.map((b) => b.tracked);
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
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
  /** A synthetic market over the sim venue's symbols (or the given ones). */
  createSyntheticMarket(options?: Partial<SyntheticMarketOptions>): SyntheticMarket;
  /** Closes everything it created. Idempotent. */
  close(): void;
}

export function buildPlatform(config: QobConfig, deps: PlatformDeps = {}): Platform {
  const logger = deps.logger ?? createLogger(config.log);
  const metrics = createMetrics({ processMetrics: config.metrics.enabled });
  const enabled = config.venues.filter((v) => v.enabled);
  const simVenue = enabled.find((v) => v.id === SIM_VENUE);
  const pendingVenues = enabled.filter((v) => v.id !== SIM_VENUE);
  const markets: SyntheticMarket[] = [];
  let closed = false;
  const log = moduleLogger(logger, 'platform');

  return {
    config,
    logger,
    metrics,
    simVenue,
    pendingVenues,
    createSyntheticMarket(options = {}) {
      if (closed) throw qobError('QOB_ERR_CLOSED', 'the platform is closed');
      const symbols = options.symbols ?? simVenue?.symbols ?? [];
      if (symbols.length === 0) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the sim venue is disabled or has no symbols', {
          venue: SIM_VENUE,
        });
      }
      const m = new SyntheticMarket({ ...options, symbols, metrics });
      markets.push(m);
      log.debug({ symbols }, 'synthetic market started');
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
