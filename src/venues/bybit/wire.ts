/**
 * Bybit v5 public WebSocket wire shapes and parsers
 * (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook).
 * `{"topic":"orderbook.200.BTCUSDT","type":"snapshot"|"delta","ts":..,"cts":..,
 *   "data":{"s":"BTCUSDT","b":[[price,size]],"a":[[price,size]],"u":..,"seq":..}}`
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { qobError } from '../../core/errors.ts';
import { malformedMessage, textLevels } from '../wire-common.ts';

export interface BybitBookMessage {
  readonly topic: string;
  /** From the topic: `orderbook.{depth}.{symbol}`. */
  readonly depth: number;
  readonly symbol: string;
  readonly type: 'snapshot' | 'delta';
  /** `u`: update id, per topic. */
  readonly updateId: number;
  /** `seq`: cross sequence (informational). */
  readonly seq: number | undefined;
  /** `ts`: when the system generated the data, ms. */
  readonly tsEventMs: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}

/**
 * One public trade of `publicTrade.{symbol}` (v5 docs, "Trade"): `S` is the taker's side, `i` the trade
 * id (text), `T` the trade time in ms, `p`/`v` price and size as the venue's text.
 */
export interface BybitTrade {
  readonly symbol: string;
  readonly taker: 'buy' | 'sell';
  readonly tradeId: string;
  readonly price: string;
  readonly size: string;
  readonly tsEventMs: number;
}

export type BybitFrame =
  | { readonly kind: 'book'; readonly msg: BybitBookMessage }
  | { readonly kind: 'trades'; readonly trades: readonly BybitTrade[] }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

/** Public topics a book handler does not use. */
const IGNORED_TOPIC =
  /^(tickers|kline|kline_lt|tickers_lt|lt|liquidation|allLiquidation|insurance|priceLimit|adlAlert|orderbook_rpi)\./;

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('bybit', message, context);
}

export function levels(v: unknown, field: string): RawLevel[] {
  return textLevels<RawLevel>('bybit', v, field);
}

/** The last topic that matched the book topic pattern, with its groups (a pure memo of that match). */
let lastBookTopic: RegExpExecArray | undefined;

export function parseFrame(text: string): BybitFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `not JSON: ${(e as Error).message}`,
      { venue: 'bybit', text: text.slice(0, 80) },
      e,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed('frame is not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.topic !== 'string') {
    // Replies: {"success":true,"op":"subscribe",...}, {"op":"pong",...}
    if (typeof o.op === 'string' || typeof o.success === 'boolean') return { kind: 'ignored' };
    return { kind: 'unknown', what: 'frame without topic or op' };
  }
  // A socket carries the same few topics over and over: the last book topic skips the regex.
  const m = o.topic === lastBookTopic?.[0] ? lastBookTopic : /^orderbook\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(o.topic);
  if (m !== null) lastBookTopic = m;
  if (m === null) {
    if (o.topic.startsWith('publicTrade.')) return { kind: 'trades', trades: parseTrades(o) };
    if (IGNORED_TOPIC.test(o.topic)) return { kind: 'ignored' };
    return { kind: 'unknown', what: `topic ${o.topic.slice(0, 64)}` };
  }
  const depth = Number(m[1]);
  if (!Number.isSafeInteger(depth) || depth <= 0) throw malformed('bad orderbook depth', { topic: o.topic });
  if (o.type !== 'snapshot' && o.type !== 'delta') {
    throw malformed('orderbook message type must be snapshot or delta', { type: String(o.type).slice(0, 32) });
  }
  const d = o.data;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw malformed('orderbook message without "data"');
  const data = d as Record<string, unknown>;
  const u = data.u;
  if (typeof u !== 'number' || !Number.isSafeInteger(u) || u < 0) {
    throw malformed('"u" must be a non-negative safe integer', { value: String(u).slice(0, 32) });
  }
  if (typeof data.s !== 'string' || data.s !== m[2])
    throw malformed('"s" does not match the topic', { topic: o.topic });
  return {
    kind: 'book',
    msg: {
      topic: o.topic,
      depth,
      symbol: data.s,
      type: o.type,
      updateId: u,
      seq: typeof data.seq === 'number' ? data.seq : undefined,
      tsEventMs: typeof o.ts === 'number' ? o.ts : Number.NaN,
      bids: levels(data.b, 'b'),
      asks: levels(data.a, 'a'),
    },
  };
}

/** Parses the `data` array of a `publicTrade.{symbol}` push (shape only: the domain event checks decimals). */
export function parseTrades(o: Record<string, unknown>): BybitTrade[] {
  const topicSymbol = String(o.topic).slice('publicTrade.'.length);
  if (!Array.isArray(o.data)) throw malformed('publicTrade push without a "data" array', { topic: String(o.topic) });
  const out: BybitTrade[] = [];
  for (let i = 0; i < o.data.length; i++) {
    const t: unknown = o.data[i];
    if (typeof t !== 'object' || t === null || Array.isArray(t))
      throw malformed(`publicTrade data[${i}] must be an object`);
    const r = t as Record<string, unknown>;
    if (r.s !== topicSymbol) throw malformed(`publicTrade data[${i}].s does not match the topic`, { topic: o.topic });
    if (r.S !== 'Buy' && r.S !== 'Sell') throw malformed(`publicTrade data[${i}].S must be Buy or Sell`, { index: i });
    if (typeof r.p !== 'string' || typeof r.v !== 'string') {
      throw malformed(`publicTrade data[${i}] "p" and "v" must be decimal strings`, { index: i });
    }
    if (typeof r.i !== 'string' || r.i.length === 0) throw malformed(`publicTrade data[${i}] without trade id "i"`);
    const T = r.T;
    if (typeof T !== 'number' || !Number.isSafeInteger(T) || T < 0) {
      throw malformed(`publicTrade data[${i}].T must be epoch milliseconds`, { index: i });
    }
    out.push({
      symbol: topicSymbol,
      taker: r.S === 'Buy' ? 'buy' : 'sell',
      tradeId: r.i,
      price: r.p,
      size: r.v,
      tsEventMs: T,
    });
  }
  return out;
}

/** The category of a v5 public socket from its URL (`wss://stream.bybit.com/v5/public/linear`). */
export function categoryOfUrl(url: string): string | undefined {
  const m = /\/v5\/public\/(spot|linear|inverse|option)(?:[/?]|$)/.exec(url);
  return m?.[1];
}
