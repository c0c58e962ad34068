/**
 * Bitstamp wire shapes and parsers (https://www.bitstamp.net/websocket/v2/, REST /api/v2/order_book/{pair}).
 * WS: `{"event":"data","channel":"diff_order_book_<pair>","data":{"timestamp","microtimestamp","bids","asks"}}`,
 * absolute amounts, `"0.00000000"` deletes. REST: `{"timestamp","microtimestamp","bids","asks"}`.
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { malformedMessage, parseJsonObject as parseJsonObject_, textLevels } from '../wire-common.ts';

export interface BitstampBook {
  readonly pair: string;
  /** `microtimestamp`: µs since epoch (below 2^53 until the year 2255). */
  readonly micros: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}

/** A `live_trades_<pair>` trade, number text taken from the exact `*_str` fields. */
export interface BitstampTrade {
  readonly pair: string;
  /** `id`, a safe integer. */
  readonly id: number;
  readonly price: string;
  readonly amount: string;
  /** `type` 0 is a buy, 1 a sell (the taker's side). */
  readonly side: 'buy' | 'sell';
  readonly micros: number;
}

export type BitstampFrame =
  | { readonly kind: 'diff'; readonly diff: BitstampBook }
  | { readonly kind: 'trade'; readonly trade: BitstampTrade }
  | { readonly kind: 'subscribed'; readonly pair: string }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

/** Channel prefixes the handler does not use (orders, top-100 snapshots). */
const IGNORED_CHANNEL = /^(live_orders|order_book|detail_order_book|full_order_book)_[a-z0-9]+$/;

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('bitstamp', message, context);
}

function parseObject(text: string): Record<string, unknown> {
  return parseJsonObject_('bitstamp', text);
}

function levels(v: unknown, field: string): RawLevel[] {
  return textLevels<RawLevel>('bitstamp', v, field);
}

function micros(v: unknown): number {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) {
    throw malformed('"microtimestamp" must be a string of digits', { value: String(v).slice(0, 32) });
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw malformed('"microtimestamp" is out of range', { value: v });
  return n;
}

function book(pair: string, o: Record<string, unknown>): BitstampBook {
  return { pair, micros: micros(o.microtimestamp), bids: levels(o.bids, 'bids'), asks: levels(o.asks, 'asks') };
}

export function parseFrame(text: string): BitstampFrame {
  const o = parseObject(text);
  const event = o.event;
  if (typeof event !== 'string') throw malformed('frame without "event"');
  const channel = typeof o.channel === 'string' ? o.channel : '';
  switch (event) {
    case 'data': {
      const m = /^diff_order_book_([a-z0-9]+)$/.exec(channel);
      if (m?.[1] !== undefined) {
        const d = o.data;
        if (typeof d !== 'object' || d === null || Array.isArray(d)) throw malformed('diff without "data"');
        return { kind: 'diff', diff: book(m[1], d as Record<string, unknown>) };
      }
      if (IGNORED_CHANNEL.test(channel)) return { kind: 'ignored' };
      return { kind: 'unknown', what: `channel ${channel.slice(0, 64)}` };
    }
    case 'bts:subscription_succeeded': {
      const m = /^diff_order_book_([a-z0-9]+)$/.exec(channel);
      return m?.[1] === undefined ? { kind: 'ignored' } : { kind: 'subscribed', pair: m[1] };
    }
    case 'bts:request_reconnect':
      return { kind: 'reconnect' };
    case 'trade': {
      const m = /^live_trades_([a-z0-9]+)$/.exec(channel);
      if (m?.[1] === undefined) return { kind: 'unknown', what: `trade on channel ${channel.slice(0, 64)}` };
      return { kind: 'trade', trade: parseTrade(m[1], o.data) };
    }
    case 'order_created':
    case 'order_changed':
    case 'order_deleted':
    case 'bts:unsubscription_succeeded':
    case 'bts:heartbeat':
      return { kind: 'ignored' };
    default:
      return { kind: 'unknown', what: `event ${event.slice(0, 64)}` };
  }
}

/**
 * `{"data":{"id","amount_str","price_str","type","microtimestamp",..},"channel":"live_trades_<pair>",
 * "event":"trade"}`: the `*_str` fields are the exact text (`amount` and `price` are JSON numbers).
 */
function parseTrade(pair: string, d: unknown): BitstampTrade {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw malformed('trade without "data"', { pair });
  const t = d as Record<string, unknown>;
  if (typeof t.price_str !== 'string' || typeof t.amount_str !== 'string') {
    throw malformed('trade "price_str" and "amount_str" must be strings', { pair });
  }
  if (typeof t.id !== 'number' || !Number.isSafeInteger(t.id) || t.id < 0) {
    throw malformed('trade "id" must be a non-negative integer', { pair });
  }
  const side = t.type === 0 ? 'buy' : t.type === 1 ? 'sell' : undefined;
  if (side === undefined) throw malformed('trade "type" must be 0 (buy) or 1 (sell)', { pair, type: String(t.type) });
  return { pair, id: t.id, price: t.price_str, amount: t.amount_str, side, micros: micros(t.microtimestamp) };
}

/** Quote currencies tried, longest first, to split a pair written without a separator (`ethusd`). */
const QUOTES = ['pyusd', 'rlusd', 'usdt', 'usdc', 'usd', 'eur', 'gbp', 'btc', 'eth', 'pax'];

/** `ethusd` -> [`ETH`, `USD`], `usdcusdt` -> [`USDC`, `USDT`]; undefined when no known quote ends it. */
export function splitBitstampPair(pair: string): [string, string] | undefined {
  for (const q of QUOTES) {
    if (pair.length > q.length && pair.endsWith(q)) return [pair.slice(0, -q.length).toUpperCase(), q.toUpperCase()];
  }
  return undefined;
}

/** The pair of a REST order book URL (`.../api/v2/order_book/btcusd/`), or undefined if not one. */
export function orderBookUrlPair(url: string): string | undefined {
  const m = /\/api\/v2\/order_book\/([a-z0-9]+)\/?(?:\?|$)/.exec(url);
  return m?.[1];
}

export function parseOrderBook(pair: string, body: string): BitstampBook {
  return book(pair, parseObject(body));
}

/** Pairs named by a subscribe we sent: `{"event":"bts:subscribe","data":{"channel":"diff_order_book_x"}}`. */
export function subscribedPair(text: string): string | undefined {
  try {
    const o = JSON.parse(text) as { event?: unknown; data?: { channel?: unknown } };
    if (o.event !== 'bts:subscribe' || typeof o.data?.channel !== 'string') return undefined;
    return /^diff_order_book_([a-z0-9]+)$/.exec(o.data.channel)?.[1];
  } catch {
    return undefined;
  }
}
