/**
 * The REST side of a venue connector: GET requests over the global `fetch`, paced by a weight-based
 * rolling-window rate limiter, with timeouts, bounded retries and the venue's Retry-After honoured.
 *
 * - Requests go through the limiter in FIFO order; a request heavier than the whole window still goes
 *   alone when the window is empty (otherwise it could never run).
 * - 429 (rate limited) and 418 (Binance: IP banned after ignoring 429s) pause the whole client for at
 *   least Retry-After (seconds or an HTTP date); the pause is cancelled by `close()` or the request's
 *   AbortSignal. A Retry-After above `maxRetryAfterMs` is not waited out: the request fails with
 *   QOB_ERR_RATE_LIMITED at once and says how long the venue asked for.
 * - Network errors, timeouts and 5xx are retried with jittered backoff up to `maxTries` in total (GET is
 *   idempotent; nothing else goes through this client). Other 4xx fail at once (QOB_ERR_VENUE_REJECTED).
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { RestRequest } from '../venues/connector-spec.ts';
import { type BackoffOptions, backoffDelayMs, type Clock, type Random, TimerSet } from './clock.ts';

export interface RestResponse {
  readonly url: string;
  readonly status: number;
  readonly body: string;
  /** When the request was sent (the last try) and when the body was received, epoch ms. */
  readonly startedMs: number;
  readonly tsRecvMs: number;
  /** Tries used (1 when the first one succeeded). */
  readonly tries: number;
}

export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface RestClientOptions {
  readonly venue: string;
  readonly clock: Clock;
  readonly random: Random;
  /** The venue's budget: total request weight per rolling window. */
  readonly limit: { readonly weight: number; readonly windowMs: number };
  readonly fetch?: FetchLike;
  /** Per-try timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Tries in total per request (default 4). */
  readonly maxTries?: number;
  readonly backoff?: BackoffOptions;
  /** Longest Retry-After the client waits out (default 10 minutes). */
  readonly maxRetryAfterMs?: number;
  readonly signal?: AbortSignal;
}

const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ECONNRESET|ETIMEDOUT/;

/** Weight-based rolling-window limiter: at most `weight` units within any `windowMs`. */
export class WeightLimiter {
  private readonly limit: { readonly weight: number; readonly windowMs: number };
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  private readonly spent: { ts: number; w: number }[] = [];
  private used = 0;
  private pausedUntilMs = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    limit: { readonly weight: number; readonly windowMs: number },
    clock: Clock,
    sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>,
  ) {
    if (!(limit.weight > 0) || !(limit.windowMs > 0)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'rate limit weight and window must be positive', { ...limit });
    }
    this.limit = limit;
    this.clock = clock;
    this.sleep = sleep;
  }

  /** Weight spent within the current window. */
  get usedWeight(): number {
    this.prune(this.clock.nowMs());
    return this.used;
  }

  /** Nothing is sent before `untilMs` (Retry-After). */
  pauseUntil(untilMs: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, untilMs);
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** Resolves when `weight` may be spent now (and spends it); FIFO among callers. */
  acquire(weight: number, signal?: AbortSignal): Promise<void> {
    const run = this.tail.then(() => this.take(weight, signal));
    this.tail = run.catch(() => {});
    return run;
  }

  private prune(now: number): void {
    while (this.spent.length > 0 && (this.spent[0] as { ts: number }).ts <= now - this.limit.windowMs) {
      this.used -= (this.spent.shift() as { w: number }).w;
    }
  }

  private async take(weight: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const now = this.clock.nowMs();
      this.prune(now);
      if (now < this.pausedUntilMs) {
        await this.sleep(this.pausedUntilMs - now, signal);
        continue;
      }
      if (this.used === 0 || this.used + weight <= this.limit.weight) {
        this.spent.push({ ts: now, w: weight });
        this.used += weight;
        return;
      }
      const oldest = this.spent[0] as { ts: number };
      await this.sleep(Math.max(1, oldest.ts + this.limit.windowMs - now), signal);
    }
  }
}

/** Milliseconds a Retry-After header asks for (delta seconds or an HTTP date), or undefined. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

export class RestClient {
  readonly venue: string;
  readonly limiter: WeightLimiter;
  private readonly o: RestClientOptions;
  private readonly clock: Clock;
  private readonly timers: TimerSet;
  private readonly closeCtl = new AbortController();
  private readonly abortListener: (() => void) | undefined;
  private readonly fetchFn: FetchLike;

  constructor(options: RestClientOptions) {
    this.o = options;
    this.venue = options.venue;
    this.clock = options.clock;
    this.timers = new TimerSet(options.clock);
    this.fetchFn = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
    this.limiter = new WeightLimiter(options.limit, options.clock, (ms, s) => this.sleep(ms, s));
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.closeCtl.abort();
      else {
        this.abortListener = () => this.close();
        options.signal.addEventListener('abort', this.abortListener, { once: true });
      }
    }
  }

  get closed(): boolean {
    return this.closeCtl.signal.aborted;
  }

  /** Timers held right now (waits and timeouts), for tests. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Cancels every wait and request in flight (they reject with QOB_ERR_CLOSED). Idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.abortListener !== undefined) this.o.signal?.removeEventListener('abort', this.abortListener);
    this.closeCtl.abort();
    this.timers.clearAll();
  }

  /** Waits `ms` on the injected clock; rejects when the client closes or `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = this.stopped(signal);
      if (stop !== undefined) {
        reject(stop);
        return;
      }
      const onAbort = () => {
        this.timers.clear(h);
        cleanup();
        reject(this.stopped(signal));
      };
      const cleanup = () => {
        this.closeCtl.signal.removeEventListener('abort', onAbort);
        signal?.removeEventListener('abort', onAbort);
      };
      const h = this.timers.set(() => {
        cleanup();
        resolve();
      }, ms);
      this.closeCtl.signal.addEventListener('abort', onAbort, { once: true });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private stopped(signal: AbortSignal | undefined): QobError | undefined {
    if (this.closed) return qobError('QOB_ERR_CLOSED', `${this.venue} REST client closed`, { venue: this.venue });
    if (signal?.aborted)
      return qobError('QOB_ERR_ABORTED', `${this.venue} REST request aborted`, { venue: this.venue });
    return undefined;
  }

  /** GET `req.url`; resolves with a 2xx response or rejects with a typed error (see the module comment). */
  async get(req: RestRequest, signal?: AbortSignal): Promise<RestResponse> {
    const maxTries = this.o.maxTries ?? 4;
    const backoff = this.o.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const ctx = { venue: this.venue, url: req.url };
    let last: QobError | undefined;
    for (let attempt = 1; attempt <= maxTries; attempt++) {
      await this.limiter.acquire(req.weight, signal);
      const startedMs = this.clock.nowMs();
      const r = await this.once(req.url, signal);
      if ('error' in r) {
        last = r.error;
      } else if (r.status >= 200 && r.status < 300) {
        return { url: req.url, status: r.status, body: r.body, startedMs, tsRecvMs: r.tsRecvMs, tries: attempt };
      } else if (r.status === 429 || r.status === 418) {
        const asked = parseRetryAfterMs(r.retryAfter, this.clock.nowMs());
        const waitMs = Math.max(asked ?? 0, backoffDelayMs(attempt - 1, backoff, this.o.random));
        const maxWait = this.o.maxRetryAfterMs ?? 10 * 60_000;
        last = qobError(
          'QOB_ERR_RATE_LIMITED',
          `${this.venue}: HTTP ${r.status}, retry after ${Math.round(waitMs)} ms`,
          {
            ...ctx,
            status: r.status,
            retryAfterMs: asked,
            attempt,
          },
        );
        if (waitMs > maxWait) throw last;
        this.limiter.pauseUntil(this.clock.nowMs() + waitMs);
        continue; // the limiter waits out the pause before the next try
      } else if (r.status >= 500) {
        last = qobError('QOB_ERR_VENUE_UNAVAILABLE', `${this.venue}: HTTP ${r.status}`, {
          ...ctx,
          status: r.status,
          attempt,
          body: r.body.slice(0, 200),
        });
      } else {
        throw qobError('QOB_ERR_VENUE_REJECTED', `${this.venue}: HTTP ${r.status}`, {
          ...ctx,
          status: r.status,
          body: r.body.slice(0, 200),
        });
      }
      if (attempt < maxTries) await this.sleep(backoffDelayMs(attempt - 1, backoff, this.o.random), signal);
    }
    throw last ?? qobError('QOB_ERR_INTERNAL', 'no tries made', ctx);
  }

  private async once(
    url: string,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; body: string; retryAfter: string | null; tsRecvMs: number } | { error: QobError }> {
    const stop = this.stopped(signal);
    if (stop !== undefined) throw stop;
    const timeoutMs = this.o.timeoutMs ?? 10_000;
    const timeoutCtl = new AbortController();
    const h = this.timers.set(() => timeoutCtl.abort(), timeoutMs);
    const signals = [this.closeCtl.signal, timeoutCtl.signal];
    if (signal !== undefined) signals.push(signal);
    try {
      const res = await this.fetchFn(url, {
        signal: AbortSignal.any(signals),
        headers: { accept: 'application/json' },
      });
      const body = await res.text();
      return { status: res.status, body, retryAfter: res.headers.get('retry-after'), tsRecvMs: this.clock.nowMs() };
    } catch (e) {
      const stopped = this.stopped(signal);
      if (stopped !== undefined) throw stopped;
      if (isQobError(e)) throw e;
      if (timeoutCtl.signal.aborted) {
        return {
          error: qobError('QOB_ERR_VENUE_UNAVAILABLE', `${this.venue}: no response within ${timeoutMs} ms`, {
            venue: this.venue,
            url,
            timeoutMs,
          }),
        };
      }
      const cause = (e as { cause?: { code?: unknown; message?: unknown } })?.cause;
      const text = `${String((e as Error)?.message ?? e)} ${String(cause?.code ?? '')} ${String(cause?.message ?? '')}`;
      const m = UNREACHABLE.exec(text);
      const reason = m === null ? text.trim() : `network unreachable (${m[0]})`;
      return {
        error: qobError(
          'QOB_ERR_VENUE_UNAVAILABLE',
          `${this.venue}: ${reason}`,
          { venue: this.venue, url, unreachable: m !== null },
          e,
        ),
      };
    } finally {
      this.timers.clear(h);
    }
  }
}
