/**
 * Coinbase wire shapes and parsers, two feeds:
 * - Advanced Trade (wss://advanced-trade-ws.coinbase.com, channel `level2` arriving as `l2_data`):
 *   `{"channel","timestamp","sequence_num","events":[{"type":"snapshot"|"update","product_id",
 *   "updates":[{"side":"bid"|"offer","event_time","price_level","new_quantity"}]}]}`.
 * - Legacy Exchange `level2` / `level2_batch` (wss://ws-feed.exchange.coinbase.com):
 *   `{"type":"snapshot","product_id","bids":[[p,s]],"asks":[[p,s]]}` and
 *   `{"type":"l2update","product_id","changes":[["buy"|"sell",p,s]],"time"}`.
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { qobError } from '../../core/errors.ts';
import { malformedMessage, textLevels } from '../wire-common.ts';

export interface CoinbaseBookEvent {
  readonly productId: string;
  readonly snapshot: boolean;
  readonly bids: RawLevel[];
  readonly asks: RawLevel[];
}

/**
 * One public trade. Coinbase's `side` is the MAKER's side, on both feeds (Exchange docs, `match`: "The side
 * field indicates the maker order side"; Advanced Trade `market_trades` behaves the same: in the real
 * capture 17 of 17 BUY trades printed at the best bid and 47 of 47 SELL trades at the best ask), so the
 * taker is the other side.
 */
export interface CoinbaseTrade {
  readonly productId: string;
  readonly tradeId: string;
  readonly price: string;
  readonly size: string;
  readonly taker: 'buy' | 'sell';
  readonly tsEventMs: number;
}

export type CoinbaseFrame =
  /** Advanced Trade envelope: sequence checked on every channel. */
  | {
      readonly kind: 'advanced';
      readonly channel: string;
      readonly sequenceNum: number | undefined;
      readonly events: CoinbaseBookEvent[];
      /**
       * The raw `events` of a `market_trades` frame (else empty): the handler parses them with
       * `parseMarketTrades` after the sequence check, so a bad trade never looks like a lost frame.
       */
      readonly tradeEvents: readonly unknown[];
    }
  | { readonly kind: 'legacy'; readonly event: CoinbaseBookEvent }
  /** Legacy Exchange `match`. */
  | { readonly kind: 'trade'; readonly trade: CoinbaseTrade }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

/** Advanced Trade channels a book handler does not use. */
const IGNORED_CHANNELS = new Set([
  'heartbeats',
  'subscriptions',
  'ticker',
  'ticker_batch',
  'candles',
  'status',
  'user',
  'futures_balance_summary',
]);
/** Legacy Exchange message types a book handler does not use. */
const IGNORED_TYPES = new Set([
  'subscriptions',
  'heartbeat',
  'ticker',
  'last_match',
  'received',
  'open',
  'done',
  'change',
  'activate',
  'status',
  'auction',
  'rfq_match',
]);

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('coinbase', message, context);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function productId(o: Record<string, unknown>): string {
  if (typeof o.product_id !== 'string' || o.product_id.length === 0) throw malformed('missing "product_id"');
  return o.product_id;
}

function levels(v: unknown, field: string): RawLevel[] {
  return textLevels<RawLevel>('coinbase', v, field);
}

function parseL2Event(v: unknown): CoinbaseBookEvent {
  const e = obj(v, 'l2_data event');
  if (e.type !== 'snapshot' && e.type !== 'update') {
    throw malformed('l2_data event type must be snapshot or update', { type: String(e.type).slice(0, 32) });
  }
  const pid = productId(e);
  if (!Array.isArray(e.updates)) throw malformed('l2_data event without "updates"', { product: pid });
  const bids: RawLevel[] = [];
  const asks: RawLevel[] = [];
  for (let i = 0; i < e.updates.length; i++) {
    const u = obj(e.updates[i], `updates[${i}]`);
    const p = u.price_level;
    const q = u.new_quantity;
    if (typeof p !== 'string' || typeof q !== 'string') {
      throw malformed(`updates[${i}] needs price_level and new_quantity strings`, { product: pid, index: i });
    }
    if (u.side === 'bid') bids.push([p, q]);
    else if (u.side === 'offer') asks.push([p, q]);
    else throw malformed(`updates[${i}].side must be bid or offer`, { product: pid, side: String(u.side) });
  }
  return { productId: pid, snapshot: e.type === 'snapshot', bids, asks };
}

const ISO_UTC = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$/;

/** `2026-08-09T21:05:42.514318Z` -> epoch ms (fraction kept to the microsecond). */
function isoMs(v: unknown, what: string): number {
  const m = typeof v === 'string' ? ISO_UTC.exec(v) : null;
  const whole = m?.[1] === undefined ? Number.NaN : Date.parse(`${m[1]}Z`);
  if (m === null || !Number.isFinite(whole)) throw malformed(`${what} must be an ISO 8601 UTC time`);
  const frac = m[2] === undefined ? 0 : Number(`0${m[2].slice(0, 7)}`) * 1000;
  return whole + Math.round(frac * 1000) / 1000;
}

/** One trade of `market_trades` (`trade_id`, `time`) or a legacy `match` (`trade_id` as a number). */
function parseTrade(t: Record<string, unknown>, what: string): CoinbaseTrade {
  const pid = productId(t);
  const id = t.trade_id;
  const tradeId =
    typeof id === 'string' && id !== '' ? id : typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : '';
  if (tradeId === '') throw malformed(`${what} without "trade_id"`, { product: pid });
  if (typeof t.price !== 'string' || typeof t.size !== 'string') {
    throw malformed(`${what} "price" and "size" must be decimal strings`, { product: pid, tradeId });
  }
  const side = typeof t.side === 'string' ? t.side.toLowerCase() : '';
  if (side !== 'buy' && side !== 'sell') throw malformed(`${what} side must be BUY or SELL`, { product: pid, tradeId });
  return {
    productId: pid,
    tradeId,
    price: t.price,
    size: t.size,
    taker: side === 'buy' ? 'sell' : 'buy', // `side` is the maker's
    tsEventMs: isoMs(t.time, `${what} "time"`),
  };
}

/**
 * The trades of a `market_trades` frame's `events`, `update` events only: a `snapshot` replays trades from
 * before the subscription (they would be emitted again after every reconnect).
 */
export function parseMarketTrades(events: readonly unknown[]): CoinbaseTrade[] {
  const out: CoinbaseTrade[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = obj(events[i], `market_trades events[${i}]`);
    if (e.type !== 'snapshot' && e.type !== 'update')
      throw malformed('market_trades event type must be snapshot or update');
    if (!Array.isArray(e.trades)) throw malformed(`market_trades events[${i}] without "trades"`);
    const list = e.trades.map((t, j) => parseTrade(obj(t, `trades[${j}]`), 'market_trades trade'));
    if (e.type === 'update') out.push(...list);
  }
  return out;
}

export function parseFrame(text: string): CoinbaseFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `not JSON: ${(e as Error).message}`,
      { venue: 'coinbase', text: text.slice(0, 80) },
      e,
    );
  }
  const o = obj(v, 'frame');
  if (typeof o.channel === 'string') {
    const s = o.sequence_num;
    let sequenceNum: number | undefined;
    if (s !== undefined) {
      if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) {
        throw malformed('"sequence_num" must be a non-negative safe integer', { value: String(s).slice(0, 32) });
      }
      sequenceNum = s;
    }
    if (o.channel === 'l2_data') {
      if (!Array.isArray(o.events)) throw malformed('l2_data frame without "events"');
      return { kind: 'advanced', channel: o.channel, sequenceNum, events: o.events.map(parseL2Event), tradeEvents: [] };
    }
    if (o.channel === 'market_trades') {
      if (!Array.isArray(o.events)) throw malformed('market_trades frame without "events"');
      return { kind: 'advanced', channel: o.channel, sequenceNum, events: [], tradeEvents: o.events };
    }
    if (IGNORED_CHANNELS.has(o.channel)) {
      return { kind: 'advanced', channel: o.channel, sequenceNum, events: [], tradeEvents: [] };
    }
    return { kind: 'unknown', what: `channel ${o.channel.slice(0, 64)}` };
  }
  if (typeof o.type === 'string') {
    if (o.type === 'snapshot') {
      return {
        kind: 'legacy',
        event: { productId: productId(o), snapshot: true, bids: levels(o.bids, 'bids'), asks: levels(o.asks, 'asks') },
      };
    }
    if (o.type === 'l2update') {
      const pid = productId(o);
      if (!Array.isArray(o.changes)) throw malformed('l2update without "changes"', { product: pid });
      const bids: RawLevel[] = [];
      const asks: RawLevel[] = [];
      for (let i = 0; i < o.changes.length; i++) {
        const c: unknown = o.changes[i];
        if (!Array.isArray(c) || c.length < 3 || typeof c[1] !== 'string' || typeof c[2] !== 'string') {
          throw malformed(`changes[${i}] must be [side, price, size]`, { product: pid, index: i });
        }
        if (c[0] === 'buy') bids.push([c[1], c[2]]);
        else if (c[0] === 'sell') asks.push([c[1], c[2]]);
        else throw malformed(`changes[${i}] side must be buy or sell`, { product: pid, side: String(c[0]) });
      }
      return { kind: 'legacy', event: { productId: pid, snapshot: false, bids, asks } };
    }
    if (o.type === 'match') return { kind: 'trade', trade: parseTrade(o, 'match') };
    if (IGNORED_TYPES.has(o.type)) return { kind: 'ignored' };
    return { kind: 'unknown', what: `type ${o.type.slice(0, 64)}` };
  }
  return { kind: 'unknown', what: 'frame without channel or type' };
}

/**
 * Whether a frame looks like Coinbase (for captures without a header, such as the 2021 legacy level2
 * ndjson): a legacy `snapshot`/`l2update` with `product_id`, a legacy `subscriptions` reply, or an
 * Advanced Trade envelope.
 */
export function sniffCoinbase(frame: string): boolean {
  if (!frame.includes('"type"') && !frame.includes('"channel"')) return false;
  let v: unknown;
  try {
    v = JSON.parse(frame);
  } catch {
    return false;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if ((o.type === 'snapshot' || o.type === 'l2update') && typeof o.product_id === 'string') return true;
  if (o.type === 'subscriptions' && Array.isArray(o.channels)) return true;
  return typeof o.channel === 'string' && typeof o.sequence_num === 'number' && Array.isArray(o.events);
}
