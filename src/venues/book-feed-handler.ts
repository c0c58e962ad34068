/**
 * What every venue book handler shares: the options and frame reporter, the books it tracks keyed by book
 * key together with the connection that streams each, invalidating a connection's books, counting emitted
 * trades, and the try/catch that keeps `onFrame` from throwing. Venue sync rules stay in the venue's handler.
 */
import type { TradeEvent } from '../domain/events.ts';
import {
  type FeedHandlerOptions,
  type FrameCounters,
  FrameReporter,
  TrackedBook,
  type VenueFeedHandler,
} from './feed-handler.ts';

/** A tracked book plus the connection streaming it (undefined until one is known) and venue state. */
export interface ConnectionBook {
  readonly tb: TrackedBook;
  conn: string | undefined;
}

export abstract class BookFeedHandler<S extends ConnectionBook> implements VenueFeedHandler {
  readonly venue: string;
  readonly counters: FrameCounters;
  protected readonly frames: FrameReporter;
  protected readonly options: FeedHandlerOptions;
  /** Public trades parsed and emitted through `options.onTrade`. */
  trades = 0;
  /** Book key -> the book's state. */
  private readonly tracked = new Map<string, S>();

  constructor(venue: string, options: FeedHandlerOptions = {}) {
    this.venue = venue;
    this.options = options;
    this.frames = new FrameReporter(venue, options);
    this.counters = this.frames.counters;
  }

  abstract onConnect(conn: string, url: string, tsRecvMs: number): void;
  abstract onSend(conn: string, data: string, tsMs: number): void;
  abstract onHttp(url: string, body: string, tsRecvMs: number): void;
  /** Handles one received frame; may throw (the error is counted and reported by `onFrame`). */
  protected abstract handleFrame(conn: string, data: string, tsRecvMs: number): void;

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      this.handleFrame(conn, data, tsRecvMs);
    } catch (e) {
      this.frames.failed(e, conn);
    }
  }

  books(): Iterable<TrackedBook> {
    return [...this.tracked.values()].map((s) => s.tb);
  }

  /** The tracked book with this key, if any. */
  book(key: string): TrackedBook | undefined {
    return this.tracked.get(key)?.tb;
  }

  /** The state of the book `key`, created the first time with a new TrackedBook named `symbol`. */
  protected track(key: string, symbol: string, make: (tb: TrackedBook) => S): S {
    let s = this.tracked.get(key);
    if (s === undefined) {
      s = make(new TrackedBook(this.venue, symbol, key, this.options));
      this.tracked.set(key, s);
    }
    return s;
  }

  /** The states of the books streamed on `conn`. */
  protected *tracksOn(conn: string): Generator<S> {
    for (const s of this.tracked.values()) if (s.conn === conn) yield s;
  }

  /**
   * Invalidates every book streamed on `conn` that is not already stale (a stale book is already cleared
   * and waiting for a snapshot), calling `after` for each one invalidated.
   */
  protected invalidateConnection(conn: string, reason: string, tsRecvMs: number, after?: (s: S) => void): void {
    for (const s of this.tracksOn(conn)) {
      if (s.tb.status === 'stale') continue;
      s.tb.invalidate(reason, tsRecvMs);
      after?.(s);
    }
  }

  /** Counts a validated trade and emits it through `options.onTrade`. */
  protected emitTrade(ev: TradeEvent): void {
    this.trades++;
    this.options.onTrade?.(ev);
  }

  /** Runs `fn`, counting and reporting what it throws as a bad frame on `conn` (snapshots, buffered replays). */
  protected guard(conn: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.frames.failed(e, conn);
    }
  }
}
