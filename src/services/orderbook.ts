/**
 * The orderbook service: a member of one consumer group on the book topics (snapshots, deltas, statuses).
 * Kafka hands each member the partitions it owns, so two instances split the instruments. For each book it
 * owns it rebuilds the full book (`ServedBook`), then, after every batch, writes the top `depth` levels to
 * the Redis cache (versioned by the stream sequence: the cache never goes backwards, whichever instance
 * writes) and publishes the change of those top levels over Redis pub/sub for the gateways.
 *
 * Exactly-once effect over at-least-once delivery: redelivered events are dropped by id (a `Deduplicator`,
 * which a restarted instance may be handed) and by sequence (`ServedBook`). An instance taking a book over
 * reads the version the cache already serves and counts as applied only what goes beyond it, so no event
 * is applied to the served state twice. A book not in sync (waiting for its next snapshot after a
 * takeover, a gap or a venue loss of sync) is written to the cache as not in sync, never with levels.
 */
import type { BookLevel } from '../book/l2-book.ts';
import type { Bus } from '../bus/bus.ts';
import { Deduplicator, type Subscription } from '../bus/bus.ts';
import type { RedisCache } from '../bus/redis-cache.ts';
import { BUS_TOPICS, keyOf } from '../bus/topics.ts';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import {
  type BookDeltaEvent,
  type BookSnapshotEvent,
  bookDelta,
  bookSnapshot,
  type MarketEvent,
  status,
} from '../domain/events.ts';
import type { ServiceMetrics } from './runtime.ts';
import { ServedBook } from './served-book.ts';

export interface OrderbookServiceOptions {
  readonly bus: Bus;
  readonly cache: RedisCache;
  /** Consumer group (default `qob-orderbook`): every instance of one deployment uses the same. */
  readonly group?: string;
  /** Levels per side written to the cache and published (default 50). */
  readonly depth?: number;
  /** Shared with a restarted instance to drop redeliveries by id (default: a new one). */
  readonly dedup?: Deduplicator;
  readonly metrics?: ServiceMetrics;
  readonly onError?: (err: QobError) => void;
  /** Told about every book event applied to the served state (tests count applications by id). */
  readonly onApplied?: (event: BookSnapshotEvent | BookDeltaEvent) => void;
  /** Epoch-ms clock for the status entries (default Date.now). */
  readonly nowMs?: () => number;
  readonly signal?: AbortSignal;
  readonly maxBatch?: number;
}

interface Owned {
  readonly served: ServedBook;
  /** Version the cache serves for this book (what was applied by anyone), -1 when unknown/none. */
  frontier: number;
  /** Whether `frontier` was read from the cache since this instance took the book. */
  known: boolean;
  /** Top levels and version last written by this instance (null: publish a resync marker next). */
  published: { version: number; bids: BookLevel[]; asks: BookLevel[] } | null;
  /** Status last written to the cache. */
  cachedStatus: string | null;
  /** Events applied in the current batch, waiting for the cache write. */
  batch: (BookSnapshotEvent | BookDeltaEvent)[];
}

export interface OrderbookStats {
  batches: number;
  events: number;
  applied: number;
  malformed: number;
  errors: number;
}

export class OrderbookService {
  readonly #o: OrderbookServiceOptions;
  readonly #books = new Map<string, Owned>();
  readonly #dedup: Deduplicator;
  readonly #depth: number;
  #sub: Subscription | undefined;
  #closing: Promise<void> | undefined;
  readonly stats: OrderbookStats = { batches: 0, events: 0, applied: 0, malformed: 0, errors: 0 };

  private constructor(o: OrderbookServiceOptions) {
    this.#o = o;
    this.#dedup = o.dedup ?? new Deduplicator();
    this.#depth = o.depth ?? 50;
  }

  static async start(o: OrderbookServiceOptions): Promise<OrderbookService> {
    const s = new OrderbookService(o);
    s.#sub = await o.bus.subscribe(
      [BUS_TOPICS['book.snapshot'], BUS_TOPICS['book.delta'], BUS_TOPICS.status],
      o.group ?? 'qob-orderbook',
      (events) => s.#handle(events),
      {
        dedup: s.#dedup,
        ...(o.maxBatch === undefined ? {} : { maxBatch: o.maxBatch }),
        onError: (err) => s.#report(err),
      },
    );
    if (o.signal !== undefined) {
      if (o.signal.aborted) await s.close();
      else o.signal.addEventListener('abort', () => void s.close(), { once: true });
    }
    return s;
  }

  #report(err: QobError): void {
    if (err.code === 'QOB_ERR_MALFORMED_MESSAGE') this.stats.malformed++;
    else this.stats.errors++;
    this.#o.metrics?.errors.inc({ service: 'orderbook', code: err.code });
    this.#o.onError?.(err);
  }

  /** The books this instance rebuilt (read-only use). */
  books(): ServedBook[] {
    return [...this.#books.values()].map((b) => b.served);
  }

  book(venue: string, symbol: string): ServedBook | undefined {
    return this.#books.get(`${venue}|${symbol}`)?.served;
  }

  subscriptionStats() {
    return this.#sub?.stats();
  }

  #owned(e: MarketEvent & { symbol: string }): Owned {
    const key = keyOf(e);
    let b = this.#books.get(key);
    if (b === undefined) {
      const owned: Owned = {
        served: new ServedBook(e.venue, e.symbol, { onApplied: (ev) => owned.batch.push(ev) }),
        frontier: -1,
        known: false,
        published: null,
        cachedStatus: null,
        batch: [],
      };
      b = owned;
      this.#books.set(key, b);
    }
    return b;
  }

  async #handle(events: readonly MarketEvent[]): Promise<void> {
    this.stats.batches++;
    const touched = new Set<Owned>();
    for (const e of events) {
      if (e.symbol === null) continue; // a venue-wide status: nothing to rebuild
      this.stats.events++;
      const b = this.#owned(e as MarketEvent & { symbol: string });
      b.served.apply(e);
      touched.add(b);
    }
    // The books' writes go out together (one round trip for the batch, not one per book).
    await Promise.all([...touched].map((b) => this.#write(b)));
    this.#o.metrics?.booksInSync.set(
      { service: 'orderbook' },
      [...this.#books.values()].filter((b) => b.served.inSync).length,
    );
  }

  /** Writes one book's state to the cache after a batch; throws (so the batch is retried) when Redis fails. */
  async #write(b: Owned): Promise<void> {
    const s = b.served;
    const cache = this.#o.cache;
    const now = (this.#o.nowMs ?? Date.now)();
    if (!b.known) {
      const cur = await cache.getBook(s.venue, s.symbol);
      b.frontier = cur?.version ?? -1;
      b.known = true;
    }
    const applied = b.batch.splice(0);
    if (!s.inSync || s.seq === null) {
      b.published = null;
      const version = s.maxSeen;
      if (b.cachedStatus !== s.status && version >= 0) {
        // Sent together (one round trip, executed in order): the marker is heard after the status is there.
        await Promise.all([
          cache.putStatus(
            status({
              venue: s.venue,
              symbol: s.symbol,
              tsRecvMs: now,
              recvSeq: version,
              status: s.status === 'stale' ? 'stale' : 'syncing',
              reason: s.reason,
            }),
            statusVersion(version, false),
          ),
          cache.publishDeltas([marker(s, version, now)]),
        ]);
        b.cachedStatus = s.status;
      }
      return;
    }
    const version = s.seq;
    if (version <= b.frontier) return; // already served (by this instance, or another before a takeover)
    const bids = s.book.levels('bid', this.#depth);
    const asks = s.book.levels('ask', this.#depth);
    const snap = bookSnapshot({
      venue: s.venue,
      symbol: s.symbol,
      tsRecvMs: now,
      recvSeq: version,
      seq: version,
      bids: bids.map((l) => [l.price, l.size] as const),
      asks: asks.map((l) => [l.price, l.size] as const),
    });
    const prev = b.published;
    const changes = prev === null ? [] : [...diff('bid', prev.bids, bids), ...diff('ask', prev.asks, asks)];
    // One round trip: the versioned write, the in-sync status and the pub/sub change are sent
    // together on the cache's one connection, which Redis executes in order, so a gateway that hears the
    // change and re-reads the cache finds this version already there. A change published for a version
    // that was refused (another instance serves a newer one) is still exact: every instance holds the
    // same levels at one sequence, and a mirror beyond it ignores it.
    // The in-sync status goes with every write, not only when this instance's status changed: the book
    // may have been served by another instance meanwhile (a partition that moved away and back), which
    // left its own newer "syncing" status in the cache.
    const [put] = await Promise.all([
      cache.putBookVersioned(snap, version),
      cache.putStatus(
        status({
          venue: s.venue,
          symbol: s.symbol,
          tsRecvMs: now,
          recvSeq: version,
          status: 'in_sync',
          reason: s.reason,
        }),
        statusVersion(version, true),
      ),
      cache.publishDeltas([
        bookDelta({
          venue: s.venue,
          symbol: s.symbol,
          tsRecvMs: now,
          recvSeq: version,
          firstSeq: version,
          lastSeq: version,
          prevSeq: prev === null ? null : prev.version,
          changes,
        }),
      ]),
    ]);
    b.cachedStatus = 'in_sync';
    if (!put.stored) {
      // Someone else serves a newer version: re-read it next time.
      b.known = false;
      b.published = null;
      return;
    }
    // Counted from the version this instance last knew (b.frontier). Counting from `put.previous` instead
    // (what the write replaced) removes a rare double count during a takeover, but lost counts in the
    // broker-restart test when the other writer's batch did not hold every event it served; kept as it was.
    for (const e of applied) {
      if (seqOf(e) > b.frontier) {
        this.stats.applied++;
        this.#o.metrics?.applied.inc({ service: 'orderbook' });
        this.#o.onApplied?.(e);
      }
    }
    b.frontier = version;
    b.published = { version, bids, asks };
  }

  /** Idempotent: leaves the group (uncommitted events are redelivered to the others). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#sub?.close();
    })();
    return this.#closing;
  }
}

/** Status versions: at one sequence, "in sync" is newer than "not in sync". */
export function statusVersion(seq: number, inSync: boolean): number {
  return seq * 2 + (inSync ? 1 : 0);
}

function seqOf(e: BookSnapshotEvent | BookDeltaEvent): number {
  return e.type === 'book.snapshot' ? (e.seq ?? e.recvSeq) : (e.lastSeq ?? e.recvSeq);
}

/** A delta that tells gateways to re-read the cache (no chain: `prevSeq` null, no changes). */
function marker(s: ServedBook, version: number, now: number): BookDeltaEvent {
  return bookDelta({
    venue: s.venue,
    symbol: s.symbol,
    tsRecvMs: now,
    recvSeq: version,
    firstSeq: version,
    lastSeq: version,
    prevSeq: null,
    changes: [],
  });
}

function diff(side: 'bid' | 'ask', before: readonly BookLevel[], after: readonly BookLevel[]) {
  const old = new Map<string, string>();
  for (const l of before) old.set(l.price, l.size);
  const out: { side: 'bid' | 'ask'; price: string; size: string }[] = [];
  for (const l of after) {
    if (old.get(l.price) !== l.size) out.push({ side, price: l.price, size: l.size });
    old.delete(l.price);
  }
  for (const p of old.keys()) out.push({ side, price: p, size: '0' });
  return out;
}

/** Wraps what a handler threw as a typed error (for callers that log it). */
export function serviceError(e: unknown, service: string): QobError {
  return isQobError(e) ? e : qobError('QOB_ERR_INTERNAL', `${service} failed: ${String(e)}`, { service }, e);
}
