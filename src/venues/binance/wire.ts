/**
 * Binance wire shapes (spot and USD-M futures share them) and their parsers. Parsers check the shape and
 * the sequence ids; prices and sizes stay venue text and are validated by the book when applied.
 *
 * Spot: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams (diff depth) and
 * REST GET /api/v3/depth. USD-M: .../derivatives/usds-margined-futures/websocket-market-streams/Diff-Book-Depth-Streams
 * and REST GET /fapi/v1/depth (adds `pu`, `E`, `T`).
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { malformedMessage, parseJsonObject as parseJsonObject_, textLevels } from '../wire-common.ts';

/** A `depthUpdate` event (`<symbol>@depth` or `<symbol>@depth@100ms`). */
export interface BinanceDepthEvent {
  /** Upper-case venue symbol (`BTCUSDT`). */
  readonly symbol: string;
  /** `U`: first update id in the event. */
  readonly firstId: number;
  /** `u`: final update id in the event. */
  readonly lastId: number;
  /** `pu`: final update id of the previous event (USD-M only). */
  readonly prevLastId: number | undefined;
  /** `E`: event time, ms since epoch. */
  readonly tsEventMs: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}

/** The REST depth snapshot (`{lastUpdateId, bids, asks}`). */
export interface BinanceDepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}

/**
 * One public trade: `trade` (spot `<symbol>@trade`, id `t`) or `aggTrade` (`<symbol>@aggTrade`, id `a`:
 * one aggregate per taker order and price). `m` is "the buyer is the market maker", so the taker sold when
 * it is true. Price and size are the venue's text, validated when the domain event is built.
 */
export interface BinanceTrade {
  readonly symbol: string;
  readonly aggregate: boolean;
  readonly tradeId: number;
  readonly price: string;
  readonly size: string;
  readonly buyerIsMaker: boolean;
  /** `T`: trade time, ms since epoch. */
  readonly tsEventMs: number;
}

export type BinanceFrame =
  | { readonly kind: 'depth'; readonly event: BinanceDepthEvent }
  | { readonly kind: 'trade'; readonly trade: BinanceTrade }
  /** Known streams and replies this handler does not use (klines, tickers, subscribe results). */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

/** Stream types a Binance combined stream may carry that a book handler does not need. */
const IGNORED_STREAM =
  /^(kline_\w+|continuousKline_\w+|bookTicker|ticker|ticker_\w+|miniTicker|avgPrice|markPrice(@1s)?|forceOrder|depth(5|10|20)(@\d+ms)?|compositeIndex|contractInfo|assetIndex(@1s)?)$/;
const IGNORED_EVENT = new Set([
  'kline',
  'continuous_kline',
  '24hrTicker',
  '24hrMiniTicker',
  'bookTicker',
  'markPriceUpdate',
  'forceOrder',
  'avgPrice',
  'compositeIndex',
  'contractInfo',
]);

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('binance', message, context);
}

export function parseJsonObject(text: string): Record<string, unknown> {
  return parseJsonObject_('binance', text);
}

function seqId(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw malformed(`"${field}" must be a non-negative safe integer`, { field, value: String(v).slice(0, 32) });
  }
  return v;
}

/** Checks `[[price, size], ...]` with text fields (the book checks the decimals). */
export function levels(v: unknown, field: string): RawLevel[] {
  return textLevels<RawLevel>('binance', v, field);
}

function parseDepthEvent(d: Record<string, unknown>, futures: boolean): BinanceDepthEvent {
  if (typeof d.s !== 'string' || d.s.length === 0) throw malformed('depthUpdate without symbol "s"');
  const firstId = seqId(d, 'U');
  const lastId = seqId(d, 'u');
  if (lastId < firstId) throw malformed('depthUpdate with u < U', { U: firstId, u: lastId });
  const prevLastId = futures ? seqId(d, 'pu') : undefined;
  const E = d.E;
  return {
    symbol: d.s.toUpperCase(),
    firstId,
    lastId,
    prevLastId,
    tsEventMs: typeof E === 'number' && Number.isFinite(E) ? E : Number.NaN,
    bids: levels(d.b, 'b'),
    asks: levels(d.a, 'a'),
  };
}

/** The last stream name found to be a diff depth stream (a pure memo of the test below). */
let lastDepthStream = '';

/**
 * Parses a frame from a combined stream (`{"stream","data"}`) or a raw stream (the event itself).
 * `futures` requires the `pu` field of USD-M diff events.
 */
export function parseFrame(text: string, futures: boolean): BinanceFrame {
  const o = parseJsonObject(text);
  if (typeof o.stream === 'string') {
    const d = o.data;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw malformed('combined frame without "data"');
    // A socket carries the same few streams over and over: the last depth stream name skips the regex.
    if (o.stream === lastDepthStream) return depthOrThrow(d as Record<string, unknown>, futures);
    const at = o.stream.indexOf('@');
    const type = at < 0 ? o.stream : o.stream.slice(at + 1);
    if (/^depth(@\d+ms)?$/.test(type)) {
      lastDepthStream = o.stream;
      return depthOrThrow(d as Record<string, unknown>, futures);
    }
    if (type === 'aggTrade' || type === 'trade') return tradeOrThrow(d as Record<string, unknown>, type);
    if (IGNORED_STREAM.test(type) || o.stream.startsWith('!')) return { kind: 'ignored' };
    return { kind: 'unknown', what: `stream ${o.stream.slice(0, 64)}` };
  }
  if (typeof o.e === 'string') {
    if (o.e === 'depthUpdate') return depthOrThrow(o, futures);
    if (o.e === 'aggTrade' || o.e === 'trade') return tradeOrThrow(o, o.e);
    if (IGNORED_EVENT.has(o.e)) return { kind: 'ignored' };
    return { kind: 'unknown', what: `event ${o.e.slice(0, 64)}` };
  }
  // Replies to SUBSCRIBE / LIST_SUBSCRIPTIONS: {"result":null,"id":1}; spot bookTicker has no "e".
  if ('id' in o && ('result' in o || 'error' in o)) return { kind: 'ignored' };
  if ('u' in o && 's' in o && 'b' in o && 'B' in o) return { kind: 'ignored' };
  return { kind: 'unknown', what: 'frame without stream or event type' };
}

function depthOrThrow(d: Record<string, unknown>, futures: boolean): BinanceFrame {
  if (d.e !== 'depthUpdate') throw malformed('depth stream frame is not a depthUpdate', { e: String(d.e) });
  return { kind: 'depth', event: parseDepthEvent(d, futures) };
}

function tradeOrThrow(d: Record<string, unknown>, type: 'aggTrade' | 'trade'): BinanceFrame {
  if (d.e !== type) throw malformed(`${type} stream frame is not a ${type} event`, { e: String(d.e).slice(0, 32) });
  return { kind: 'trade', trade: parseTrade(d, type === 'aggTrade') };
}

/** Parses a `trade` or `aggTrade` event body. Shape only: the decimals are checked by the domain event. */
export function parseTrade(d: Record<string, unknown>, aggregate: boolean): BinanceTrade {
  if (typeof d.s !== 'string' || d.s.length === 0) throw malformed('trade without symbol "s"');
  const tradeId = seqId(d, aggregate ? 'a' : 't');
  const T = seqId(d, 'T');
  if (typeof d.p !== 'string' || typeof d.q !== 'string') {
    throw malformed('trade "p" and "q" must be decimal strings', { symbol: d.s.slice(0, 32), tradeId });
  }
  if (typeof d.m !== 'boolean') throw malformed('trade "m" must be a boolean', { symbol: d.s.slice(0, 32), tradeId });
  return {
    symbol: d.s.toUpperCase(),
    aggregate,
    tradeId,
    price: d.p,
    size: d.q,
    buyerIsMaker: d.m,
    tsEventMs: T,
  };
}

export function parseDepthSnapshot(text: string): BinanceDepthSnapshot {
  const o = parseJsonObject(text);
  return { lastUpdateId: seqId(o, 'lastUpdateId'), bids: levels(o.bids, 'bids'), asks: levels(o.asks, 'asks') };
}

/** The upper-case symbol of a REST depth URL (`...depth?symbol=BTCUSDT&limit=1000`), or undefined if not one. */
export function depthUrlSymbol(url: string): string | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!/\/(api\/v3|fapi\/v1)\/depth$/.test(path)) return undefined;
  const sym = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).get('symbol');
  return sym === null || sym === '' ? '' : sym.toUpperCase();
}

/** Symbols whose diff depth stream a connection URL (`/stream?streams=a@depth@100ms/b@aggTrade`) names. */
export function depthStreamsOf(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const m = /^([a-z0-9_]+)@depth(@\d+ms)?$/i.exec(n);
    if (m?.[1] !== undefined) out.push(m[1].toUpperCase());
  }
  return out;
}

export function streamsOfUrl(url: string): string[] {
  const q = url.indexOf('?');
  const s = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('streams');
  if (s !== null) return depthStreamsOf(s.split('/'));
  // Raw stream endpoint: wss://host/ws/<stream>
  const m = /\/ws\/([^/?]+)$/.exec(q < 0 ? url : url.slice(0, q));
  return m?.[1] === undefined ? [] : depthStreamsOf([m[1]]);
}

/** Symbols a SUBSCRIBE request we sent names (`{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"]}`). */
export function subscribedSymbols(text: string): string[] {
  try {
    const o = JSON.parse(text) as { method?: unknown; params?: unknown };
    if (o.method !== 'SUBSCRIBE' || !Array.isArray(o.params)) return [];
    return depthStreamsOf(o.params.filter((p): p is string => typeof p === 'string'));
  } catch {
    return [];
  }
}
