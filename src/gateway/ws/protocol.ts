/**
 * The `/ws` wire protocol (docs/WS_PROTOCOL.md): channel names, client frames and their validation. Bad
 * input becomes a QobError with a catalogue code; the connection turns it into an error frame and stays open.
 */
import { type QobError, qobError } from '../../core/errors.ts';
import type { HistoryInterval } from '../history.ts';

/** Bucket length of each candle interval, in ms: the same intervals as the REST candles (`HISTORY_INTERVALS`). */
export const CANDLE_INTERVALS: { readonly [K in HistoryInterval]: number } = {
  '1s': 1_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
};
export type CandleInterval = HistoryInterval;
const INTERVAL_LIST = Object.keys(CANDLE_INTERVALS).join(', ');

export const DEFAULT_DEPTH = 50;
export const MAX_DEPTH = 1000;
/** Client frames are small; anything bigger is refused before parsing. */
export const MAX_CLIENT_FRAME_BYTES = 4096;

export type ChannelSpec =
  | { readonly kind: 'book'; readonly venue: string; readonly symbol: string }
  | { readonly kind: 'consolidated'; readonly symbol: string }
  | { readonly kind: 'trades'; readonly venue: string; readonly symbol: string }
  | { readonly kind: 'candles'; readonly venue: string; readonly symbol: string; readonly interval: CandleInterval }
  | { readonly kind: 'status' };

export type ClientFrame =
  | { readonly op: 'subscribe'; readonly channel: string; readonly depth: number | undefined }
  | { readonly op: 'unsubscribe'; readonly channel: string }
  | { readonly op: 'ping'; readonly id: number | string }
  | { readonly op: 'pong'; readonly id: number | string };

const PART_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function badChannel(channel: string, why: string): QobError {
  return qobError('QOB_ERR_INVALID_ARGUMENT', `channel "${channel}" ${why}`, { channel });
}

/** Parses a channel name (`book.binance.BTC-USDT`, `candles.sim.BTC-USDT.1m`, `status`, ...). */
export function parseChannel(channel: string): ChannelSpec {
  if (channel.length > 200) throw badChannel(channel.slice(0, 64), 'is too long');
  const parts = channel.split('.');
  for (const p of parts) if (!PART_RE.test(p)) throw badChannel(channel, 'has an empty or invalid part');
  const [kind, a, b, c] = parts;
  switch (kind) {
    case 'status':
      if (parts.length !== 1) throw badChannel(channel, 'takes no parameters');
      return { kind: 'status' };
    case 'book':
      if (parts.length !== 3 || a === undefined || b === undefined) {
        throw badChannel(channel, 'must be book.{venue}.{symbol}');
      }
      return a === 'consolidated' ? { kind: 'consolidated', symbol: b } : { kind: 'book', venue: a, symbol: b };
    case 'trades':
      if (parts.length !== 3 || a === undefined || b === undefined) {
        throw badChannel(channel, 'must be trades.{venue}.{symbol}');
      }
      return { kind: 'trades', venue: a, symbol: b };
    case 'candles':
      if (parts.length !== 4 || a === undefined || b === undefined || c === undefined) {
        throw badChannel(channel, 'must be candles.{venue}.{symbol}.{interval}');
      }
      if (!Object.hasOwn(CANDLE_INTERVALS, c)) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', `candle interval "${c}" is not one of ${INTERVAL_LIST}`, {
          channel,
          interval: c,
        });
      }
      return { kind: 'candles', venue: a, symbol: b, interval: c as CandleInterval };
    default:
      throw badChannel(channel, 'is not a book, trades, candles or status channel');
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Parses and validates one client text frame. */
export function parseClientFrame(text: string): ClientFrame {
  if (text.length > MAX_CLIENT_FRAME_BYTES) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `client frames are limited to ${MAX_CLIENT_FRAME_BYTES} bytes`, {
      bytes: text.length,
    });
  }
  let poisoned: string | undefined;
  let v: unknown;
  try {
    // The reviver sees every key, nested ones included, before JSON.parse builds the object.
    v = JSON.parse(text, (key, value) => {
      if (FORBIDDEN_KEYS.has(key)) poisoned = key;
      return value;
    });
  } catch {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'the frame is not JSON', {});
  }
  if (poisoned !== undefined) {
    throw qobError('QOB_ERR_PROTOTYPE_POISONING', `the frame has a forbidden "${poisoned}" key`, { key: poisoned });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'the frame must be a JSON object', {});
  }
  const o = v as Record<string, unknown>;
  const op = o.op;
  if (typeof op !== 'string') throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'the frame needs a string "op"', {});
  switch (op) {
    case 'subscribe':
    case 'unsubscribe': {
      const channel = o.channel;
      if (typeof channel !== 'string') {
        throw qobError('QOB_ERR_MALFORMED_MESSAGE', `"${op}" needs a string "channel"`, { op });
      }
      if (op === 'unsubscribe') return { op, channel };
      const depth = o.depth;
      if (depth !== undefined && (typeof depth !== 'number' || !Number.isInteger(depth))) {
        throw qobError('QOB_ERR_MALFORMED_MESSAGE', '"depth" must be an integer', { channel });
      }
      if (depth !== undefined && (depth < 1 || depth > MAX_DEPTH)) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', `"depth" must be 1..${MAX_DEPTH}`, { channel, depth });
      }
      return { op, channel, depth };
    }
    case 'ping':
    case 'pong': {
      const id = o.id;
      const ok = (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id.length <= 64);
      if (!ok) throw qobError('QOB_ERR_MALFORMED_MESSAGE', `"${op}" needs an integer or short string "id"`, { op });
      return { op, id };
    }
    default:
      throw qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown op "${op.slice(0, 32)}"`, { op: op.slice(0, 32) });
  }
}
