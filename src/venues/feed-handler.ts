/**
 * The contract every venue implements: a transport-free protocol handler that turns the raw text a venue
 * sends (WebSocket frames and REST bodies, verbatim) into exact books, following the venue's sync rules
 * (../shared/design/venue-sync-rules.md). The live connector and the capture replay both drive it, so the
 * code that keeps a book in sync is the same in production, in tests and in replays.
 */

import { L2Book, type L2BookOptions } from '../book/l2-book.ts';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { TradeEvent } from '../domain/events.ts';

export type BookSyncStatus = 'syncing' | 'in_sync' | 'stale' | 'failed';

/** What a replay reports for one book (the `qob replay --json` contract). */
export interface BookReport {
  readonly venue: string;
  readonly symbol: string;
  /** Book messages applied (snapshots and deltas). */
  readonly updates: number;
  readonly checksumsVerified: number;
  readonly checksumFailures: number;
  readonly gaps: number;
  readonly resyncs: number;
  /** Times the book was found crossed (bid above ask) after an update. */
  readonly crossed: number;
  readonly bestBid: string | null;
  readonly bestAsk: string | null;
  readonly hash: string;
  readonly status: BookSyncStatus;
}

export interface BookStatusChange {
  readonly venue: string;
  readonly symbol: string;
  readonly key: string;
  readonly status: BookSyncStatus;
  readonly reason: string;
  readonly tsRecvMs: number;
}

export interface FeedHandlerOptions {
  /** Called on every book status transition (syncing -> in_sync -> stale -> ...). */
  readonly onStatus?: (change: BookStatusChange) => void;
  /** Called once per malformed or unknown frame, with the typed error; the handler keeps going. */
  readonly onBadFrame?: (error: QobError, conn: string) => void;
  /**
   * Called once per public trade the venue reports, in the venue's order, as a validated domain event
   * (exact decimal price and size, aggressor = the taker's side). Trades are independent of book sync: they
   * are emitted whatever the book's status. A trade frame that fails validation is counted as malformed.
   */
  readonly onTrade?: (trade: TradeEvent) => void;
}

/**
 * A book plus its sync state and integrity counters. Venue handlers own one per (connection kind, symbol).
 * The book is cleared whenever its integrity is lost, so a book that is not `in_sync` never holds
 * levels that could be served as if they were true.
 */
export class TrackedBook {
  readonly venue: string;
  readonly symbol: string;
  /** Unique within the handler (for example `linear:orderbook.200.BTCUSDT`). */
  readonly key: string;
  readonly book: L2Book;
  status: BookSyncStatus = 'syncing';
  updates = 0;
  checksumsVerified = 0;
  checksumFailures = 0;
  gaps = 0;
  resyncs = 0;
  crossed = 0;
  /** Venue sequence id of the last applied update (venue-specific meaning), or -1. */
  lastSeq = -1;
  private readonly onStatus: ((change: BookStatusChange) => void) | undefined;

  constructor(venue: string, symbol: string, key: string, options: FeedHandlerOptions = {}, book?: L2BookOptions) {
    this.venue = venue;
    this.symbol = symbol;
    this.key = key;
    this.book = new L2Book(book);
    this.onStatus = options.onStatus;
  }

  get inSync(): boolean {
    return this.status === 'in_sync';
  }

  setStatus(status: BookSyncStatus, reason: string, tsRecvMs: number): void {
    if (this.status === status) return;
    this.status = status;
    this.onStatus?.({ venue: this.venue, symbol: this.symbol, key: this.key, status, reason, tsRecvMs });
  }

  /** A sequence gap: the book is cleared and marked stale until the handler resyncs it. */
  gap(reason: string, tsRecvMs: number): void {
    this.gaps++;
    this.invalidate(reason, tsRecvMs);
  }

  /** A checksum mismatch: same treatment as a gap. */
  checksumFailed(reason: string, tsRecvMs: number): void {
    this.checksumFailures++;
    this.invalidate(reason, tsRecvMs);
  }

  /**
   * Counts a crossed book (bid above ask) as a desync and invalidates the book. Returns true when crossed.
   * A locked book (bid == ask) is accepted.
   */
  checkCrossed(tsRecvMs: number): boolean {
    if (!this.book.isCrossed()) return false;
    this.crossed++;
    this.invalidate('crossed book', tsRecvMs);
    return true;
  }

  /** Clears the book and marks it stale; the next snapshot starts a resync. */
  invalidate(reason: string, tsRecvMs: number): void {
    this.book.clear();
    this.lastSeq = -1;
    this.setStatus('stale', reason, tsRecvMs);
  }

  /** A fresh snapshot is being applied after a loss of sync. */
  beginResync(tsRecvMs: number): void {
    if (this.status === 'stale' || this.status === 'failed') {
      this.resyncs++;
      this.setStatus('syncing', 'resync', tsRecvMs);
    }
  }

  report(): BookReport {
    const bb = this.book.bestBid();
    const ba = this.book.bestAsk();
    return {
      venue: this.venue,
      symbol: this.symbol,
      updates: this.updates,
      checksumsVerified: this.checksumsVerified,
      checksumFailures: this.checksumFailures,
      gaps: this.gaps,
      resyncs: this.resyncs,
      crossed: this.crossed,
      bestBid: bb === undefined ? null : bb.price,
      bestAsk: ba === undefined ? null : ba.price,
      hash: this.book.hash(),
      status: this.status,
    };
  }
}

/** Counters of frames the handler could not use. */
export interface FrameCounters {
  /** Frames that were not valid JSON or lacked required fields. */
  malformed: number;
  /** Frames of a type the handler does not know (and does not need). */
  unknown: number;
}

export interface VenueFeedHandler {
  readonly venue: string;
  readonly counters: FrameCounters;
  /** A WebSocket connection opened: a new connection epoch for `conn`. */
  onConnect(conn: string, url: string, tsRecvMs: number): void;
  /** A frame we sent on `conn` (subscriptions tell the handler depths, flags and channels). */
  onSend(conn: string, data: string, tsMs: number): void;
  /** A frame received on `conn`, verbatim. Never throws: bad frames are counted and reported. */
  onFrame(conn: string, data: string, tsRecvMs: number): void;
  /** A REST response body, verbatim (snapshots, metadata). Never throws. */
  onHttp(url: string, body: string, tsRecvMs: number): void;
  /** Every book the handler tracks. */
  books(): Iterable<TrackedBook>;
}

export type FeedHandlerFactory = (options?: FeedHandlerOptions) => VenueFeedHandler;

/**
 * Counts and reports the frames a handler cannot use, the same way for every venue: unknown frame types
 * as QOB_ERR_UNKNOWN_MESSAGE, everything else as the typed error that was thrown (an untyped one is a bug
 * and becomes QOB_ERR_INTERNAL). Handlers catch, call `failed`, and keep going.
 */
export class FrameReporter {
  readonly counters: FrameCounters = { malformed: 0, unknown: 0 };
  private readonly venue: string;
  private readonly onBadFrame: ((error: QobError, conn: string) => void) | undefined;

  constructor(venue: string, options: FeedHandlerOptions = {}) {
    this.venue = venue;
    this.onBadFrame = options.onBadFrame;
  }

  /** A frame of a type the handler does not know. */
  unknown(what: string, conn: string): void {
    this.counters.unknown++;
    this.onBadFrame?.(
      qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown ${this.venue} frame: ${what}`, { venue: this.venue }),
      conn,
    );
  }

  /** A frame whose handling threw. */
  failed(e: unknown, conn: string): void {
    const err = isQobError(e)
      ? e
      : qobError('QOB_ERR_INTERNAL', `${this.venue} handler failed: ${String(e)}`, { venue: this.venue }, e);
    if (err.code === 'QOB_ERR_UNKNOWN_MESSAGE') this.counters.unknown++;
    else this.counters.malformed++;
    this.onBadFrame?.(err, conn);
  }
}
