/**
 * Time and randomness for the live connector, injected so that tests and simulations are deterministic
 * (house style 10). Core ingest logic never calls Date.now(), Math.random() or the global timers itself.
 */

/** An opaque timer handle returned by `Clock.setTimeout`. */
export type TimerHandle = object | number;

export interface Clock {
  /** Epoch milliseconds (may be fractional). */
  nowMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A source of uniform numbers in [0, 1) (`SeededRandom` from src/core/random.ts fits). */
export interface Random {
  next(): number;
}

/** The real clock: wall time with sub-millisecond resolution and the platform's timers. */
export const systemClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

/** The platform's randomness, for production wiring only (tests pass a `SeededRandom`). */
export const systemRandom: Random = { next: () => Math.random() };

interface ManualTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in creation order) during
 * `advance`/`advanceAsync`; `advanceAsync` lets promise callbacks run between timers, so code that awaits
 * between timers (REST retries) progresses as it would in real time.
 */
export class ManualClock implements Clock {
  private now: number;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers not yet fired nor cleared (a closed component must leave none). */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due, or undefined. */
  nextDueMs(): number | undefined {
    return this.next()?.at;
  }

  private next(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers.values()) if (best === undefined || t.at < best.at) best = t;
    return best;
  }

  /** Moves time forward by `ms`, firing due timers synchronously. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const t = this.next();
      if (t === undefined || t.at > end) break;
      this.timers.delete(t.id);
      this.now = Math.max(this.now, t.at);
      t.fn();
    }
    this.now = end;
  }

  /** Like `advance`, but drains pending promise callbacks before and after each timer. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.now + ms;
    await flush();
    for (;;) {
      const t = this.next();
      if (t === undefined || t.at > end) break;
      this.timers.delete(t.id);
      this.now = Math.max(this.now, t.at);
      t.fn();
      await flush();
    }
    this.now = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
}

/**
 * Timers owned by one component, so `close()` can clear every one of them. A fired timer forgets itself.
 */
export class TimerSet {
  private readonly clock: Clock;
  private readonly live = new Set<TimerHandle>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  set(fn: () => void, ms: number): TimerHandle {
    const h = this.clock.setTimeout(() => {
      this.live.delete(h);
      fn();
    }, ms);
    this.live.add(h);
    return h;
  }

  clear(h: TimerHandle | undefined): void {
    if (h === undefined) return;
    if (this.live.delete(h)) this.clock.clearTimeout(h);
  }

  clearAll(): void {
    for (const h of this.live) this.clock.clearTimeout(h);
    this.live.clear();
  }

  get size(): number {
    return this.live.size;
  }
}

export interface BackoffOptions {
  /** Delay bound of the first retry, ms. */
  readonly baseMs: number;
  /** Upper bound of any delay, ms. */
  readonly maxMs: number;
}

/**
 * Jittered exponential backoff ("equal jitter"): retry `attempt` (0-based) waits a uniform delay in
 * [d/2, d] where d = min(maxMs, baseMs * 2^attempt). Never zero, never above `maxMs`.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: Random): number {
  const d = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return d / 2 + (random.next() * d) / 2;
}
