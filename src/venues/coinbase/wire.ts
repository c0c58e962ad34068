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

export type CoinbaseFrame =
  /** Advanced Trade envelope: sequence checked on every channel. */
  | {
      readonly kind: 'advanced';
      readonly channel: string;
      readonly sequenceNum: number | undefined;
      readonly events: CoinbaseBookEvent[];
    }
  | { readonly kind: 'legacy'; readonly event: CoinbaseBookEvent }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

/** Advanced Trade channels a book handler does not use. */
const IGNORED_CHANNELS = new Set([
  'heartbeats',
  'subscriptions',
  'ticker',
  'ticker_batch',
  'market_trades',
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
  'match',
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
      return { kind: 'advanced', channel: o.channel, sequenceNum, events: o.events.map(parseL2Event) };
    }
    if (IGNORED_CHANNELS.has(o.channel)) return { kind: 'advanced', channel: o.channel, sequenceNum, events: [] };
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
