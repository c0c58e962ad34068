/**
 * What the history routes (src/gateway/routes/history.ts) need from storage, and nothing more: stored
 * trades by page, candles and the book at a past instant. The store (src/store/, `Store`) fits this
 * shape; the gateway never imports it, and the platform hands it over (`GatewayDeps.history`). Without
 * one, the history routes answer 503 QOB_ERR_STORE_DISABLED.
 */
import { qobError } from '../core/errors.ts';
import type { Level, TradeEvent } from '../domain/index.ts';

/** Candle intervals the API serves (the store keeps more). */
export const HISTORY_INTERVALS = ['1s', '1m', '5m', '15m', '1h', '4h', '1d'] as const;
export type HistoryInterval = (typeof HISTORY_INTERVALS)[number];

/** Most rows one history request returns, and the default. */
export const HISTORY_MAX_LIMIT = 10_000;
export const HISTORY_DEFAULT_LIMIT = 1000;

export interface HistoryTradeQuery {
  readonly venue: string;
  readonly symbol: string;
  /** Inclusive, epoch ms (venue time, else receive time). */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface HistoryTradePage {
  readonly trades: readonly TradeEvent[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

export interface HistoryCandleQuery {
  readonly venue: string;
  readonly symbol: string;
  readonly interval: HistoryInterval;
  /** Inclusive bucket start, epoch ms. */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly limit?: number;
}

/** One candle; decimals are exact text. */
export interface HistoryCandle {
  readonly openTimeMs: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  /** Sum of price x size. */
  readonly notional: string;
  readonly vwap: string;
  readonly tradeCount: number;
}

export interface HistoryBookAtQuery {
  readonly venue: string;
  readonly symbol: string;
  /** Every event received at or before this epoch ms is applied. */
  readonly atMs: number;
  readonly depth?: number;
}

export interface HistoryBookAt {
  readonly atMs: number;
  /** Receive time of the snapshot the book was rebuilt from. */
  readonly snapshotAtMs: number;
  readonly snapshotSource: 'venue' | 'periodic';
  /** Levels per side the snapshot kept; null for the whole book. */
  readonly snapshotDepth: number | null;
  readonly deltasApplied: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface HistorySource {
  trades(q: HistoryTradeQuery): Promise<HistoryTradePage>;
  candles(q: HistoryCandleQuery): Promise<readonly HistoryCandle[]>;
  /** QOB_ERR_NOT_FOUND when no snapshot of the book was stored at or before `atMs`. */
  bookAt(q: HistoryBookAtQuery): Promise<HistoryBookAt>;
}

/** "No end": past any instant the store keeps (year 9999). */
export const OPEN_END_MS = 253_402_300_800_000;

const EPOCH_MS = /^[0-9]{1,15}$/;
/** ISO 8601 instants with a date, a time and a zone (`2026-11-25T04:00:00Z`, `...00.123+01:00`), or a date alone. */
const ISO =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:[0-9]{2}))?$/;

/**
 * A time parameter as epoch ms: integer epoch milliseconds (`1764043200000`) or an ISO 8601 instant with
 * its zone (`2026-11-25T04:00:00Z`) or a date (`2026-11-25`, midnight UTC). QOB_ERR_INVALID_ARGUMENT naming
 * `field` otherwise.
 */
export function parseTimeParam(text: string, field: string): number {
  let ms = Number.NaN;
  if (EPOCH_MS.test(text)) ms = Number(text);
  else if (ISO.test(text)) ms = Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= OPEN_END_MS) {
    throw qobError(
      'QOB_ERR_INVALID_ARGUMENT',
      `query ${field} must be epoch milliseconds or an ISO 8601 instant with a zone (2026-11-25T04:00:00Z)`,
      { field, in: 'query', problem: 'is not a time', value: text.slice(0, 64) },
    );
  }
  return ms;
}

/** `from` and `to` (both optional) as a half-open range; QOB_ERR_INVALID_ARGUMENT when from is after to. */
export function parseTimeRange(from: string | undefined, to: string | undefined): { fromMs: number; toMs: number } {
  const fromMs = from === undefined ? 0 : parseTimeParam(from, 'from');
  const toMs = to === undefined ? OPEN_END_MS : parseTimeParam(to, 'to');
  if (fromMs > toMs) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `query from (${fromMs}) is after to (${toMs})`, {
      field: 'from',
      in: 'query',
      problem: 'must not be after to',
      fromMs,
      toMs,
    });
  }
  return { fromMs, toMs };
}
