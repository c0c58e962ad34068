/**
 * The storage service: one consumer group on trades, book snapshots and deltas, written with the store's
 * bounded writer (PostgreSQL when configured, the embedded engine otherwise). A batch is acknowledged only
 * after the store has flushed it, so a crash redelivers what was not durable; redeliveries to a running
 * instance are dropped by id. (After a restart, what was written but not acknowledged may be written
 * again: the store's tables do not key rows by event id.)
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
}

export class StorageService {
  readonly #o: StorageServiceOptions;
  #sub: Subscription | undefined;
  #closing: Promise<void> | undefined;
  readonly stats = { stored: 0, batches: 0, malformed: 0, errors: 0 };

  private constructor(o: StorageServiceOptions) {
    this.#o = o;
  }

  static async start(o: StorageServiceOptions): Promise<StorageService> {
    const s = new StorageService(o);
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

  async #handle(events: readonly MarketEvent[]): Promise<void> {
    const store = this.#o.store;
    for (const e of events) {
      if (!store.append(e)) {
        // The writer's queue is full: let it drain, then try once more; still full fails the batch (retried).
        await store.flush();
        if (!store.append(e)) {
          throw qobError('QOB_ERR_QUEUE_FULL', 'the store writer refused an event', { id: e.id });
        }
      }
    }
    await store.flush();
    this.stats.stored += events.length;
    this.stats.batches++;
    this.#o.metrics?.events.inc({ service: 'storage', topic: events[0]?.type ?? 'none' }, events.length);
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
