/**
 * What the gateway needs from the running system, and nothing more. The platform implements
 * `MarketDataSource` over its venues (src/platform.ts `createMarketData`); the gateway never imports the
 * platform, and tests can hand it any implementation.
 *
 * Every read is synchronous: books are mutated only between event-loop turns, so one request handler sees
 * one consistent book.
 */
import type { L2Book } from '../book/l2-book.ts';

/** One venue the platform runs or lists. */
export interface VenueView {
  readonly id: string;
  /** `sim`: in process; `live`: a live connector runs; `unavailable`: configured but not runnable here. */
  readonly kind: 'sim' | 'live' | 'unavailable';
  /** `connected`, `connecting`, `disconnected`, `closed` or `unavailable`. */
  readonly state: string;
  /** In words: what is open, or why not. */
  readonly reason: string;
  /** Normalized symbols configured for this venue. */
  readonly symbols: readonly string[];
}

/** One book the platform tracks (or plans to), read at call time. */
export interface BookRef {
  readonly venue: string;
  /** Normalized (`BTC-USDT`). */
  readonly symbol: string;
  /** As the venue spells it (`BTCUSDT`). */
  readonly venueSymbol: string;
  /** `in_sync`, `syncing`, `stale`, `failed`, `connecting`, `disconnected` or `unsupported`. */
  readonly status: string;
  /** Why the book is in that state, or null. */
  readonly reason: string | null;
  /** True only when the levels may be served. */
  readonly inSync: boolean;
  /** The book, once the venue's handler created it. Levels are served only when `inSync`. */
  readonly book: L2Book | undefined;
  /** Book messages applied so far. */
  readonly updates: number;
}

/** A venue's status line as the platform computed it at `MarketStatus.tsMs` (src/platform.ts `VenueStatus`). */
export interface VenueStatusView {
  readonly venue: string;
  /** `sim`, `live` or `unavailable` (see `VenueView.kind`). */
  readonly kind: string;
  /** `connected`, `connecting`, `disconnected`, `closed`, or `unavailable`. */
  readonly state: string;
  /** In words: what is open, or why not and when the next try is (`network unreachable (ENOTFOUND), retrying in 8 s`). */
  readonly reason: string;
  /** The network could not be reached on the latest try (the connector keeps retrying with backoff). */
  readonly unreachable: boolean;
  /** Milliseconds until the next connection try, when one is scheduled. */
  readonly retryInMs: number | null;
  /** The newest connection epoch (each socket tried is a new epoch), null before the first. */
  readonly epoch: number | null;
  /** Connection tries since a connection was last open (0 while every connection is open). */
  readonly tries: number;
  /** Frames received, and per second since the previous status (a statistic). */
  readonly frames: number;
  readonly framesPerSec: number;
  readonly books: number;
  readonly booksInSync: number;
}

/** A book's status line as the platform computed it at `MarketStatus.tsMs` (src/platform.ts `BookStatus`). */
export interface BookStatusView {
  readonly venue: string;
  /** Our normalized symbol (`BTC-USDT`). */
  readonly symbol: string;
  /** The symbol as the venue's connector spells it (`BTCUSDT`, `spot:BTCUSDT`); the same for `sim`. */
  readonly venueSymbol: string;
  /**
   * `in_sync`, `syncing`, `stale` or `failed` (the book's own state); live books are `connecting` or
   * `disconnected` while their connection is not open, and `unsupported` when the venue cannot take them.
   */
  readonly status: string;
  /** Why the book is in that state (the latest transition's reason), or null. */
  readonly reason: string | null;
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
  /**
   * Milliseconds since an update was last applied to the book, as of `tsMs` (null: never). Honest
   * staleness: a book whose feed went quiet ages even while it still says in_sync. Sim books are observed
   * once per step.
   */
  readonly ageMs: number | null;
}

/**
 * The status line of a book known only through its `BookRef` (no rate, crossing or gap statistics): its
 * prices when in sync, nothing when not, and `ageMs` as the caller measured it.
 */
export function bookStatusOfRef(ref: BookRef, ageMs: number | null): BookStatusView {
  const book = ref.inSync ? ref.book : undefined;
  return {
    venue: ref.venue,
    symbol: ref.symbol,
    venueSymbol: ref.venueSymbol,
    status: ref.status,
    reason: ref.reason,
    bestBid: book?.bestBid()?.price ?? null,
    bestAsk: book?.bestAsk()?.price ?? null,
    spread: book?.spread()?.toString() ?? null,
    mid: book?.mid()?.toString() ?? null,
    bidLevels: book?.bids.length ?? 0,
    askLevels: book?.asks.length ?? 0,
    updates: ref.updates,
    updatesPerSec: 0,
    crossed: 0,
    gaps: 0,
    ageMs,
  };
}

/** The latest status of every venue and book, and when it was taken (epoch ms). */
export interface MarketStatus {
  readonly tsMs: number;
  readonly venues: readonly VenueStatusView[];
  readonly books: readonly BookStatusView[];
}

export interface Readiness {
  readonly ready: boolean;
  /** Why (not) ready, in words. */
  readonly reason: string;
}

export interface MarketDataSource {
  venues(): readonly VenueView[];
  /** Every book, in venue then symbol order. */
  books(): readonly BookRef[];
  /** The book of one venue and normalized symbol, or undefined when the platform does not track it. */
  book(venue: string, symbol: string): BookRef | undefined;
  /** The latest status the platform took. */
  status(): MarketStatus;
  readiness(): Readiness;
}

/** The Prometheus registry the gateway serves at /metrics (prom-client's `Registry` fits). */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}
