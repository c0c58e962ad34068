/**
 * The storage service: one consumer group on trades, book snapshots and deltas, written with the store's
 * bounded writer (PostgreSQL when configured, the embedded engine otherwise). A batch is acknowledged only
 * after the store has flushed it, so a crash redelivers what was not durable; redeliveries to a running
 * instance are dropped by id.
 *
 * Exactly once across restarts: the stored rows are their own idempotency record. Within one topic and
 * key (`venue|symbol`), Kafka delivers events in the ingestion stream's order (`recvSeq` grows), and the
 * store commits what it is handed in order, each writer batch in one transaction (a writer batch, at most
 * 5,000 rows by default, stays under the size at which the store splits a batch into parallel
 * transactions). So what is stored of each (table, key) is always a prefix of what was delivered, and
 * at start the highest `recv_seq` stored per (table, key) (`storedHighWater`) says exactly which
 * redelivered events are already there: those at or below it are dropped, the rest are written.
 */

import type { Bus } from '../bus/bus.ts';
import { Deduplicator, type Subscription } from '../bus/bus.ts';
import { BUS_TOPICS } from '../bus/topics.ts';
import { type QobError, qobError } from '../core/errors.ts';
import type { MarketEvent } from '../domain/events.ts';
import type { SqlStore } from '../store/index.ts';
import type { ServiceMetrics } from './runtime.ts';

export interface StorageServiceOptions {
  readonly bus: Bus;
  readonly store: SqlStore;
  /** Consumer group (default `qob-storage`). */
  readonly group?: string;
  readonly dedup?: Deduplicator;
  readonly metrics?: ServiceMetrics;
  readonly onError?: (err: QobError) => void;
  readonly maxBatch?: number;
  /**
   * Read the stored high-water marks at start and drop redelivered events already stored (default true;
   * false only for a store that other writers fill too).
   */
  readonly resume?: boolean;
  /** Told after each batch is durable, before it is acknowledged (tests use it to crash at that point). */
  readonly afterFlush?: (events: readonly MarketEvent[]) => void;
}

/** The store tables of the events this service writes. */
const TABLES = { trade: 'trades', 'book.delta': 'book_deltas', 'book.snapshot': 'book_snapshots' } as const;

/**
 * Per `type|venue|symbol`, the highest `recv_seq` stored from the bus (`trade`, `book.delta`,
 * `book.snapshot`; the store's own periodic snapshots are left out). One scan of each table, at start.
 */
export async function storedHighWater(store: SqlStore): Promise<Map<string, number>> {
  const rows = await store.sqlEngine.query(
    `select 'trade' as t, venue, symbol, max(recv_seq)::text as hw from ${TABLES.trade} group by venue, symbol
     union all
     select 'book.delta', venue, symbol, max(recv_seq)::text from ${TABLES['book.delta']} group by venue, symbol
     union all
     select 'book.snapshot', venue, symbol, max(recv_seq)::text from ${TABLES['book.snapshot']}
       where source = 'venue' group by venue, symbol`,
  );
  const out = new Map<string, number>();
  for (const r of rows) out.set(`${String(r.t)}|${String(r.venue)}|${String(r.symbol)}`, Number(r.hw));
  return out;
}

export class StorageService {
  readonly #o: StorageServiceOptions;
  #sub: Subscription | undefined;
  #closing: Promise<void> | undefined;
  #stored = new Map<string, number>();
  /** `skipped`: redelivered events found already stored (at or below the high-water mark read at start). */
  readonly stats = { stored: 0, skipped: 0, batches: 0, malformed: 0, errors: 0 };

  private constructor(o: StorageServiceOptions) {
    this.#o = o;
  }

  static async start(o: StorageServiceOptions): Promise<StorageService> {
    const s = new StorageService(o);
    if (o.resume !== false) s.#stored = await storedHighWater(o.store);
    s.#sub = await o.bus.subscribe(
      [BUS_TOPICS.trade, BUS_TOPICS['book.snapshot'], BUS_TOPICS['book.delta']],
      o.group ?? 'qob-storage',
      (events) => s.#handle(events),
      {
        dedup: o.dedup ?? new Deduplicator(),
        ...(o.maxBatch === undefined ? {} : { maxBatch: o.maxBatch }),
        onError: (err) => {
          if (err.code === 'QOB_ERR_MALFORMED_MESSAGE') s.stats.malformed++;
          else s.stats.errors++;
          o.metrics?.errors.inc({ service: 'storage', code: err.code });
          o.onError?.(err);
        },
      },
    );
    return s;
  }

  /** Whether the store already holds `e` (written before this instance started, not acknowledged). */
  #already(e: MarketEvent): boolean {
    if (this.#stored.size === 0) return false;
    const hw = this.#stored.get(`${e.type}|${e.venue}|${e.symbol}`);
    return hw !== undefined && e.recvSeq <= hw;
  }

  async #handle(events: readonly MarketEvent[]): Promise<void> {
    const store = this.#o.store;
    let written = 0;
    for (const e of events) {
      if (this.#already(e)) {
        this.stats.skipped++;
        continue;
      }
      written++;
      if (!store.append(e)) {
        // The writer's queue is full: let it drain, then try once more; still full fails the batch (retried).
        await store.flush();
        if (!store.append(e)) {
          throw qobError('QOB_ERR_QUEUE_FULL', 'the store writer refused an event', { id: e.id });
        }
      }
    }
    await store.flush();
    this.#o.afterFlush?.(events);
    this.stats.stored += written;
    this.stats.batches++;
    this.#o.metrics?.events.inc({ service: 'storage', topic: events[0]?.type ?? 'none' }, written);
  }

  subscriptionStats() {
    return this.#sub?.stats();
  }

  /** Idempotent; the store stays open (its owner closes it). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#sub?.close();
    })();
    return this.#closing;
  }
}
