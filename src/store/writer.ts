/**
 * A bounded batch queue in front of a slow sink (the database). `append` never blocks and never throws:
 * when the queue is full it refuses the item, counts it as overflow and returns false. An item is
 * acknowledged when the sink committed it; a failed batch goes back to the head of the queue and is
 * retried on the next flush, so nothing acknowledged (nor anything accepted) is dropped by the writer.
 * Flushes start when `batchSize` items wait or every `flushIntervalMs` on the injected clock. With
 * `pipeline` > 1 the next batches are handed to the sink before the earlier ones are committed (the sink
 * keeps their order where it matters); each batch is acknowledged when its own call resolves, and the
 * batches that failed go back to the head of the queue in their order.
 */
import { qobError } from '../core/errors.ts';

/** The timers the writer needs (src/ingest/clock.ts `Clock` and `ManualClock` fit). */
export interface StoreClock {
  nowMs(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
}

export const systemStoreClock: StoreClock = {
  nowMs: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface BatchWriterOptions {
  /** Items accepted but not yet acknowledged, at most (default 100,000). */
  readonly maxQueued?: number;
  /** Items per sink call, and the queue length that starts a flush (default 5,000). */
  readonly batchSize?: number;
  /** Flush whatever waits this often (default 250 ms); 0 disables the timer. */
  readonly flushIntervalMs?: number;
  /** Sink calls in flight at once (default 1: the next batch starts when the previous one resolved). */
  readonly pipeline?: number;
  readonly clock?: StoreClock;
  /** Told about every failed sink call (the batch stays queued). */
  readonly onError?: (error: unknown) => void;
}

export interface WriterStats {
  /** Accepted, waiting for a flush. */
  readonly queued: number;
  /** Being written by the sink right now. */
  readonly inFlight: number;
  /** Committed by the sink. */
  readonly acked: number;
  /** Refused because the queue was full. */
  readonly overflow: number;
  /** Refused because the writer was closed. */
  readonly refusedClosed: number;
  readonly flushes: number;
  readonly flushErrors: number;
  readonly lastError: string | undefined;
}

export class BatchWriter<T> {
  private readonly sink: (batch: readonly T[]) => Promise<void>;
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly pipeline: number;
  private readonly clock: StoreClock;
  private readonly onError: ((e: unknown) => void) | undefined;
  private queue: T[] = [];
  private inFlight = 0;
  private acked = 0;
  private overflow = 0;
  private refusedClosed = 0;
  private flushes = 0;
  private flushErrors = 0;
  private lastError: string | undefined;
  private draining: Promise<void> | undefined;
  private timer: unknown;
  private closing: Promise<void> | undefined;

  constructor(sink: (batch: readonly T[]) => Promise<void>, options: BatchWriterOptions = {}) {
    this.sink = sink;
    this.maxQueued = positiveInt(options.maxQueued ?? 100_000, 'maxQueued');
    this.batchSize = positiveInt(options.batchSize ?? 5_000, 'batchSize');
    this.intervalMs = options.flushIntervalMs ?? 250;
    this.pipeline = positiveInt(options.pipeline ?? 1, 'pipeline');
    this.clock = options.clock ?? systemStoreClock;
    this.onError = options.onError;
    this.arm();
  }

  /** Queues an item; false (and counted) when the queue is full or the writer closed. Never throws. */
  append(item: T): boolean {
    if (this.closing !== undefined) {
      this.refusedClosed++;
      return false;
    }
    if (this.queue.length + this.inFlight >= this.maxQueued) {
      this.overflow++;
      return false;
    }
    this.queue.push(item);
    if (this.queue.length >= this.batchSize && this.draining === undefined) this.kick();
    return true;
  }

  /** Resolves when everything appended before the call is acknowledged; rejects with the sink's error. */
  flush(): Promise<void> {
    const prev = this.draining ?? Promise.resolve();
    const p = prev.catch(() => {}).then(() => this.drain());
    this.draining = p;
    p.then(
      () => this.settle(p),
      () => this.settle(p),
    );
    return p;
  }

  stats(): WriterStats {
    return {
      queued: this.queue.length,
      inFlight: this.inFlight,
      acked: this.acked,
      overflow: this.overflow,
      refusedClosed: this.refusedClosed,
      flushes: this.flushes,
      flushErrors: this.flushErrors,
      lastError: this.lastError,
    };
  }

  /** Stops the timer and flushes what is queued. Idempotent. Rejects if the final flush fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== undefined) this.clock.clearTimeout(this.timer as never);
      this.timer = undefined;
      await this.flush();
    })();
    return this.closing;
  }

  private settle(p: Promise<void>): void {
    if (this.draining === p) this.draining = undefined;
  }

  private kick(): void {
    this.flush().catch((e: unknown) => this.onError?.(e));
  }

  private arm(): void {
    if (this.intervalMs <= 0 || this.closing !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.closing !== undefined) return;
      if (this.queue.length > 0 && this.draining === undefined) this.kick();
      this.arm();
    }, this.intervalMs);
  }

  private async drain(): Promise<void> {
    const running: { readonly batch: T[]; readonly done: Promise<void> }[] = [];
    const failed: T[][] = [];
    let failure: unknown;
    let hasFailed = false;
    while (running.length > 0 || (!hasFailed && this.queue.length > 0)) {
      while (!hasFailed && this.queue.length > 0 && running.length < this.pipeline) {
        const batch = this.queue.length <= this.batchSize ? this.queue : this.queue.slice(0, this.batchSize);
        this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
        this.inFlight += batch.length;
        const done = this.sink(batch);
        // Awaited below, in order; until then a rejection must not count as unhandled.
        done.catch(() => {});
        running.push({ batch, done });
      }
      const head = running.shift() as (typeof running)[number];
      try {
        await head.done;
        this.acked += head.batch.length;
        this.flushes++;
      } catch (e) {
        failed.push(head.batch);
        if (!hasFailed) failure = e;
        hasFailed = true;
        this.flushErrors++;
        this.lastError = e instanceof Error ? e.message : String(e);
      } finally {
        this.inFlight -= head.batch.length;
      }
    }
    if (hasFailed) {
      this.queue = failed.flat().concat(this.queue);
      throw failure;
    }
  }
}

function positiveInt(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${field} must be a positive integer, got ${v}`, { field, value: v });
  }
  return v;
}
