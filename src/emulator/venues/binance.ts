/**
 * Binance spot (`/binance`) and USD-M futures (`/binance-usdm`) as the emulator speaks them.
 *
 * WebSocket (developers.binance.com, "WebSocket Streams" / "Live Subscribing/Unsubscribing"):
 * - `/stream?streams=btcusdt@depth@100ms/...` (combined: `{"stream","data"}`), `/ws` and `/ws/<stream>`
 *   (raw events); `{"method":"SUBSCRIBE","params":[...],"id":1}` -> `{"result":null,"id":1}`, also
 *   UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY/GET_PROPERTY `combined`; bad requests get
 *   `{"error":{"code":2,"msg":...},"id":...}`.
 * - Diff depth events: spot `{"e":"depthUpdate","E","s","U","u","b","a"}` with `U == previous u + 1`;
 *   USD-M adds `T` and `pu` (`pu == previous u`) and its ids skip, so `U != previous u + 1` as in the
 *   real capture. No snapshot on the socket.
 * - Trades of the symbol's L3 true book (matching engine + agent flow): spot `<sym>@trade`
 *   `{"e":"trade","E","s","t","p","q","T","m","M"}`, USD-M `<sym>@aggTrade`
 *   `{"e":"aggTrade","E","a","s","p","q","f","l","T","m"}`; `m` is true when the buyer was the maker.
 * - The server may send WebSocket ping frames (emulator option `serverPingMs`).
 * REST: `GET /api/v3/depth` (`/fapi/v1/depth`) -> `{"lastUpdateId",("E","T",)"bids","asks"}` consistent
 * with the stream; `GET /api/v3/exchangeInfo` (`/fapi/v1/exchangeInfo`), `ping`, `time`. Rate-limit faults
 * answer 429/418 with `{"code":-1003,...}` and `Retry-After`.
 */
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent } from '../../sim/matching-engine.ts';
import type { L3TrueBook } from '../l3-true-book.ts';
import { defaultInstrument, type TrueBook } from '../true-book.ts';
import {
  type EmulatorConnection,
  type EmulatorVenue,
  type EmulatorVenueModule,
  json,
  type RestReply,
  type VenueContext,
} from '../venue.ts';
import { baseQuote, isRecord, padDecimals, tryJson } from './common.ts';

/** First update id of every book (ids then grow with each change). */
const FIRST_UPDATE_ID = 1_000_000;
const MAX_STREAMS = 1024;
const TRADE_STREAM = /^([a-z0-9_]+)@(trade|aggTrade)$/;
const DEPTH_STREAM = /^([a-z0-9_]+)@depth(@(100|250|500|1000)ms)?$/;
const STREAM_NAME = /^[a-z0-9_!]+@[A-Za-z0-9_@]+$/;

interface BookIds {
  lastId: number;
}

class BinanceVenue implements EmulatorVenue {
  private readonly ctx: VenueContext;
  private readonly futures: boolean;
  private readonly ids = new Map<string, BookIds>();

  constructor(ctx: VenueContext, futures: boolean) {
    this.ctx = ctx;
    this.futures = futures;
    for (const sym of ctx.books.keys()) this.ids.set(sym, { lastId: FIRST_UPDATE_ID });
  }

  acceptsWs(path: string): boolean {
    return path === '/stream' || path === '/ws' || /^\/ws\/[^/]+$/.test(path);
  }

  onOpen(conn: EmulatorConnection): void {
    const combined = conn.path === '/stream';
    conn.settings.set('combined', combined);
    const streams = combined
      ? (conn.query.get('streams') ?? '').split('/')
      : conn.path.startsWith('/ws/')
        ? [decodeURIComponent(conn.path.slice(4))]
        : [];
    for (const s of streams) {
      if (s !== '' && conn.subscriptions.size < MAX_STREAMS) conn.subscriptions.add(s);
    }
    this.startTrades(conn.subscriptions);
  }

  /** Trade streams draw on the symbol's L3 true book: it starts with the first subscription. */
  private startTrades(streams: Iterable<string>): void {
    for (const s of streams) {
      const m = TRADE_STREAM.exec(s);
      if (m?.[1] !== undefined) this.ctx.l3Book(m[1].toUpperCase());
    }
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const stream = `${book.symbol.toLowerCase()}@${this.futures ? 'aggTrade' : 'trade'}`;
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      const id = Number(e.tradeId);
      const m = e.aggressor === 'sell';
      const data = this.futures
        ? `{"e":"aggTrade","E":${e.tsMs},"a":${id},"s":"${book.symbol}","p":"${e.price}","q":"${e.size}","f":${id},"l":${id},"T":${e.tsMs},"m":${m}}`
        : `{"e":"trade","E":${e.tsMs},"s":"${book.symbol}","t":${id},"p":"${e.price}","q":"${e.size}","T":${e.tsMs},"m":${m},"M":true}`;
      for (const conn of this.ctx.connections()) {
        if (!conn.subscriptions.has(stream)) continue;
        conn.sendUpdate(conn.settings.get('combined') === true ? `{"stream":"${stream}","data":${data}}` : data);
      }
    }
  }

  onMessage(conn: EmulatorConnection, text: string): void {
    const o = tryJson(text);
    if (!isRecord(o)) {
      conn.sendReply(JSON.stringify({ error: { code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' } }));
      return;
    }
    const id = o.id;
    const err = (code: number, msg: string) =>
      conn.sendReply(JSON.stringify({ error: { code, msg }, id: id === undefined ? null : id }));
    if (!(typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) && typeof id !== 'string') {
      err(2, 'Invalid request: request ID must be an unsigned integer');
      return;
    }
    const params = o.params;
    const names = (): string[] | undefined => {
      if (!Array.isArray(params) || !params.every((p) => typeof p === 'string' && STREAM_NAME.test(p))) {
        err(2, 'Invalid request: invalid stream name in params');
        return undefined;
      }
      return params as string[];
    };
    switch (o.method) {
      case 'SUBSCRIBE': {
        const ns = names();
        if (ns === undefined) return;
        if (conn.subscriptions.size + ns.length > MAX_STREAMS) {
          err(2, `Invalid request: too many streams (max ${MAX_STREAMS} per connection)`);
          return;
        }
        for (const n of ns) conn.subscriptions.add(n);
        this.startTrades(ns);
        conn.sendReply(JSON.stringify({ result: null, id }));
        return;
      }
      case 'UNSUBSCRIBE': {
        const ns = names();
        if (ns === undefined) return;
        for (const n of ns) conn.subscriptions.delete(n);
        conn.sendReply(JSON.stringify({ result: null, id }));
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        conn.sendReply(JSON.stringify({ result: [...conn.subscriptions], id }));
        return;
      case 'SET_PROPERTY': {
        if (!Array.isArray(params) || params[0] !== 'combined') {
          err(0, 'Unknown property');
          return;
        }
        if (typeof params[1] !== 'boolean') {
          err(1, 'Invalid value type: expected Boolean');
          return;
        }
        conn.settings.set('combined', params[1]);
        conn.sendReply(JSON.stringify({ result: null, id }));
        return;
      }
      case 'GET_PROPERTY':
        if (!Array.isArray(params) || params[0] !== 'combined') {
          err(0, 'Unknown property');
          return;
        }
        conn.sendReply(JSON.stringify({ result: conn.settings.get('combined') === true, id }));
        return;
      default:
        err(
          2,
          `Invalid request: unknown variant ${JSON.stringify(String(o.method))}, expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY`,
        );
    }
  }

  onAdvance(book: TrueBook, delta: L2StreamDelta): void {
    const ids = this.ids.get(book.symbol) as BookIds;
    const changes = Math.max(1, delta.bids.length + delta.asks.length);
    const prev = ids.lastId;
    // USD-M ids are shared across symbols upstream, so consecutive events skip ids: U != previous u + 1.
    const first = this.futures ? prev + 2 : prev + 1;
    const last = first + changes - 1;
    ids.lastId = last;
    const lower = book.symbol.toLowerCase();
    let data: string | undefined;
    for (const conn of this.ctx.connections()) {
      for (const stream of conn.subscriptions) {
        const m = DEPTH_STREAM.exec(stream);
        if (m?.[1] !== lower) continue;
        if (data === undefined) {
          const E = this.ctx.nowMs();
          const head = this.futures
            ? `{"e":"depthUpdate","E":${E},"T":${E},"s":"${book.symbol}","U":${first},"u":${last},"pu":${prev},`
            : `{"e":"depthUpdate","E":${E},"s":"${book.symbol}","U":${first},"u":${last},`;
          data = `${head}"b":${JSON.stringify(delta.bids)},"a":${JSON.stringify(delta.asks)}}`;
        }
        conn.sendUpdate(conn.settings.get('combined') === true ? `{"stream":"${stream}","data":${data}}` : data);
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return path === (this.futures ? '/fapi/v1/depth' : '/api/v3/depth');
  }

  restFault(status: 429 | 418, retryAfterS: number): RestReply {
    const msg =
      status === 429
        ? 'Too many requests; current limit of IP(127.0.0.1) is 6000 requests per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.'
        : `Way too many requests; IP(127.0.0.1) banned until ${this.ctx.nowMs() + retryAfterS * 1000}. Please use WebSocket Streams for live updates to avoid bans.`;
    return json(status, { code: -1003, msg });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    const api = this.futures ? '/fapi/v1' : '/api/v3';
    switch (path) {
      case `${api}/ping`:
        return json(200, {});
      case `${api}/time`:
        return json(200, { serverTime: this.ctx.nowMs() });
      case `${api}/depth`:
        return this.depth(q);
      case `${api}/exchangeInfo`:
        return this.exchangeInfo(q);
      default:
        return { status: 404, body: '' };
    }
  }

  private depth(q: URLSearchParams): RestReply {
    const symbol = q.get('symbol');
    if (symbol === null || symbol === '') {
      return json(400, {
        code: -1102,
        msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
      });
    }
    const book = this.ctx.books.get(symbol);
    if (book === undefined) return json(400, { code: -1121, msg: 'Invalid symbol.' });
    const limitText = q.get('limit');
    let limit = this.futures ? 500 : 100;
    if (limitText !== null) {
      if (!/^[0-9]{1,20}$/.test(limitText) || Number(limitText) < 1) {
        return json(400, {
          code: -1100,
          msg: "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
        });
      }
      limit = Math.min(Number(limitText), this.futures ? 1000 : 5000);
    }
    const top = book.top(limit);
    const lastUpdateId = (this.ids.get(symbol) as BookIds).lastId;
    this.ctx.snapshotServed();
    const weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    const E = this.ctx.nowMs();
    const body = this.futures
      ? { lastUpdateId, E, T: E, bids: top.bids, asks: top.asks }
      : { lastUpdateId, bids: top.bids, asks: top.asks };
    return json(200, body, { 'x-mbx-used-weight-1m': String(weight) });
  }

  private exchangeInfo(q: URLSearchParams): RestReply {
    const only = q.get('symbol');
    if (only !== null && !this.ctx.books.has(only)) return json(400, { code: -1121, msg: 'Invalid symbol.' });
    const symbols = [...this.ctx.books.values()]
      .filter((b) => only === null || b.symbol === only)
      .map((b) => {
        const [base, quote] = baseQuote(b.symbol);
        const { tick, lot } = b.instrument;
        const filters = [
          {
            filterType: 'PRICE_FILTER',
            minPrice: padDecimals(tick, 8),
            maxPrice: '1000000.00000000',
            tickSize: padDecimals(tick, 8),
          },
          {
            filterType: 'LOT_SIZE',
            minQty: padDecimals(lot, 8),
            maxQty: '9000.00000000',
            stepSize: padDecimals(lot, 8),
          },
        ];
        return this.futures
          ? {
              symbol: b.symbol,
              pair: b.symbol,
              contractType: 'PERPETUAL',
              status: 'TRADING',
              baseAsset: base,
              quoteAsset: quote,
              marginAsset: quote,
              pricePrecision: 2,
              quantityPrecision: 3,
              baseAssetPrecision: 8,
              quotePrecision: 8,
              underlyingType: 'COIN',
              filters,
            }
          : {
              symbol: b.symbol,
              status: 'TRADING',
              baseAsset: base,
              baseAssetPrecision: 8,
              quoteAsset: quote,
              quotePrecision: 8,
              quoteAssetPrecision: 8,
              orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
              isSpotTradingAllowed: true,
              isMarginTradingAllowed: false,
              permissions: [],
              filters,
            };
      });
    return json(200, {
      timezone: 'UTC',
      serverTime: this.ctx.nowMs(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.futures ? 2400 : 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
      ],
      exchangeFilters: [],
      symbols,
    });
  }
}

function module(id: string, futures: boolean): EmulatorVenueModule {
  return {
    id,
    defaultSymbols: ['BTCUSDT', 'ETHUSDT'],
    hasChecksum: false,
    serverPings: true,
    instrument: (symbol) => defaultInstrument(baseQuote(symbol)[0]),
    create: (ctx) => new BinanceVenue(ctx, futures),
  };
}

export const binanceEmulator: EmulatorVenueModule = module('binance', false);
export const binanceUsdmEmulator: EmulatorVenueModule = module('binance-usdm', true);
