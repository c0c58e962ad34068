/**
 * Replay speed control. A replay reads records strictly in file order and hands each one to the handlers
 * before reading the next; the pacer only decides how long to wait before a record, from its recorded
 * timestamp. Timing therefore never changes the order of records, and the output of a replay is the same
 * at any speed.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { qobError } from '../core/errors.ts';

/** `'max'`: as fast as possible; a number N: N times the recorded speed (1 is the original speed). */
export type ReplaySpeed = number | 'max';

/** The time source of a paced replay, injected so tests run instantly with a fake clock. */
export interface ReplayClock {
  /** A monotonic time in milliseconds (any origin). */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and timers. */
export const systemClock: ReplayClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepMs(ms, undefined, signal === undefined ? undefined : { signal }),
};

/** Waits shorter than this are not slept (timers are not finer); they are caught up by the next wait. */
const MIN_SLEEP_MS = 1;

/** Parses `--speed`: a positive finite number or `max`. */
export function parseSpeed(text: string): ReplaySpeed {
  if (text === 'max') return 'max';
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw qobError(
      'QOB_ERR_INVALID_ARGUMENT',
      `--speed expects a positive number or "max", got ${JSON.stringify(text)}`,
      {
        option: 'speed',
      },
    );
  }
  return n;
}

/**
 * Keeps a replay on the recorded schedule, scaled by the speed: the record stamped `ts` is released at
 * `start + (ts - firstTs) / speed` on the clock. Records stamped earlier than a previous one (clock steps,
 * interleaved connections) are released at once. Anchoring every wait to the first record keeps sleep
 * overshoot from accumulating.
 */
export class Pacer {
  readonly speed: ReplaySpeed;
  private readonly clock: ReplayClock;
  private readonly signal: AbortSignal | undefined;
  private firstTsMs = Number.NaN;
  private startMs = 0;

  constructor(speed: ReplaySpeed, clock: ReplayClock = systemClock, signal?: AbortSignal) {
    if (speed !== 'max' && !(Number.isFinite(speed) && speed > 0)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `replay speed must be positive or "max", got ${speed}`, { speed });
    }
    this.speed = speed;
    this.clock = clock;
    this.signal = signal;
  }

  /**
   * Call before handing over the record stamped `tsMs`. Returns a promise to await when the record is not
   * due yet, otherwise undefined (so an unpaced replay costs no promise per record). Throws
   * QOB_ERR_ABORTED once the signal has aborted.
   */
  wait(tsMs: number): Promise<void> | undefined {
    if (this.signal?.aborted === true) throw aborted();
    if (this.speed === 'max' || !Number.isFinite(tsMs)) return undefined;
    if (Number.isNaN(this.firstTsMs)) {
      this.firstTsMs = tsMs;
      this.startMs = this.clock.now();
      return undefined;
    }
    const due = this.startMs + (tsMs - this.firstTsMs) / this.speed;
    const ms = due - this.clock.now();
    if (ms < MIN_SLEEP_MS) return undefined;
    return this.clock.sleep(ms, this.signal).catch((e: unknown) => {
      if (this.signal?.aborted === true) throw aborted();
      throw e;
    });
  }
}

function aborted() {
  return qobError('QOB_ERR_ABORTED', 'replay aborted', {});
}
