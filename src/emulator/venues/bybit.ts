/**
 * Bybit v5 public (`/bybit`) as the emulator speaks it (bybit-exchange.github.io/docs/v5/ws/connect and
 * .../v5/websocket/public/orderbook).
 *
 * WebSocket `/v5/public/spot` and `/v5/public/linear`:
 * - `{"req_id":"1","op":"subscribe","args":["orderbook.50.BTCUSDT"]}` ->
 *   `{"success":true,"ret_msg":"subscribe","conn_id":..,"req_id":"1","op":"subscribe"}`, then a
 *   `snapshot` of the topic, then `delta`s: `{"topic","type","ts","data":{"s","b","a","u","seq"},"cts"}`
 *   with `u` = previous `u` + 1 per topic and `seq` a cross sequence. Deltas describe the fixed-depth view:
 *   a level that leaves the top `depth` is deleted (`"0"`). Depths: 1, 50, 200, 1000.
 * - `{"op":"ping"}` -> spot `{"success":true,"ret_msg":"pong","conn_id":..,"op":"ping"}`, linear
 *   `{"req_id":..,"op":"pong","args":["<ms>"],"conn_id":..}`.
 * REST: `GET /v5/market/instruments-info?category=`, `GET /v5/market/orderbook?category=&symbol=&limit=`.
 * Symbols are `category:SYMBOL` (`spot:BTCUSDT`, `linear:BTCUSDT`): two different markets.
 * - `publicTrade.{symbol}`: the trades of the symbol's L3 true book (matching engine + agent flow), one
 *   push per step `{"topic","type":"snapshot","ts","data":[{"T","s","S","v","p","L","i","BT"}]}`, `S` the
 *   taker's side.
 * Not emulated: the 3-second snapshot re-send of depth-1 topics.
 */
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent } from '../../sim/matching-engine.ts';
import type { L3TrueBook } from '../l3-true-book.ts';
import { defaultInstrument, type TextBook, type TrueBook } from '../true-book.ts';
import {
  type EmulatorConnection,
  type EmulatorVenue,
  type EmulatorVenueModule,
  json,
  type RestReply,
  type VenueContext,
} from '../venue.ts';
import { advanceView, baseQuote, isRecord, tryJson } from './common.ts';

const DEPTHS: ReadonlySet<number> = new Set([1, 50, 200, 1000]);
const CATEGORIES: ReadonlySet<string> = new Set(['spot', 'linear']);
const FIRST_U = 10_000;
const OTHER_TOPIC = /^(publicTrade|tickers|kline\.\w+|liquidation|allLiquidation)\.([A-Z0-9]+)$/;

interface TopicState {
  readonly topic: string;
  readonly category: string;
  readonly symbol: string;
  readonly depth: number;
  u: number;
  view: TextBook;
}

function bookKey(category: string, symbol: string): string {
  return `${category}:${symbol}`;
}

class BybitVenue implements EmulatorVenue {
  private readonly ctx: VenueContext;
  /** By book key (`linear:BTCUSDT`), every depth subscribed so far. */
  private readonly topics = new Map<string, TopicState[]>();
  private seq = 7_000_000_000;

  constructor(ctx: VenueContext) {
    this.ctx = ctx;
  }

  acceptsWs(path: string): boolean {
    const m = /^\/v5\/public\/([a-z]+)$/.exec(path);
    return m?.[1] !== undefined && CATEGORIES.has(m[1]);
  }

  onOpen(conn: EmulatorConnection): void {
    conn.settings.set('category', conn.path.slice('/v5/public/'.length));
  }

  onMessage(conn: EmulatorConnection, text: string): void {
    const category = conn.settings.get('category') as string;
    const o = tryJson(text);
    if (!isRecord(o)) {
      conn.sendReply(JSON.stringify({ success: false, ret_msg: 'error:request not json', conn_id: conn.id, op: '' }));
      return;
    }
    const reqId = typeof o.req_id === 'string' ? o.req_id : '';
    const reply = (success: boolean, retMsg: string, op: string) =>
      conn.sendReply(JSON.stringify({ success, ret_msg: retMsg, conn_id: conn.id, req_id: reqId, op }));
    switch (o.op) {
      case 'ping':
        this.ctx.pingReceived();
        if (category === 'spot') {
          conn.pong(JSON.stringify({ success: true, ret_msg: 'pong', conn_id: conn.id, op: 'ping' }));
        } else {
          conn.pong(JSON.stringify({ req_id: reqId, op: 'pong', args: [String(this.ctx.nowMs())], conn_id: conn.id }));
        }
        return;
      case 'subscribe':
      case 'unsubscribe': {
        const args = o.args;
        if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
          reply(false, 'error:args must be a non-empty array of topics', o.op);
          return;
        }
        if (category === 'spot' && args.length > 10) {
          reply(false, 'error:args size >10', o.op);
          return;
        }
        if (o.op === 'unsubscribe') {
          for (const t of args as string[]) conn.subscriptions.delete(t);
          reply(true, '', 'unsubscribe');
          return;
        }
        const states: TopicState[] = [];
        for (const t of args as string[]) {
          if (conn.subscriptions.has(t)) {
            reply(false, `error:already subscribed,topic:${t}`, 'subscribe');
            return;
          }
          const m = /^orderbook\.(\d+)\.([A-Z0-9]+)$/.exec(t);
          const depth = Number(m?.[1]);
          const symbol = m?.[2] ?? OTHER_TOPIC.exec(t)?.[2];
          if (
            symbol === undefined ||
            !this.ctx.books.has(bookKey(category, symbol)) ||
            (m !== null && !DEPTHS.has(depth))
          ) {
            reply(false, `error:handler not found,topic:${t}`, 'subscribe');
            return;
          }
          if (m !== null) states.push(this.topicState(category, symbol, depth));
          if (t.startsWith('publicTrade.')) this.ctx.l3Book(bookKey(category, symbol));
        }
        for (const t of args as string[]) conn.subscriptions.add(t);
        reply(true, category === 'spot' ? 'subscribe' : '', 'subscribe');
        for (const st of states) {
          conn.sendData(this.frame(st, 'snapshot', st.view.bids, st.view.asks));
          this.ctx.snapshotServed();
        }
        return;
      }
      default:
        reply(false, `error:invalid op ${String(o.op).slice(0, 32)}`, typeof o.op === 'string' ? o.op : '');
    }
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const colon = book.symbol.indexOf(':');
    const category = book.symbol.slice(0, colon);
    const symbol = book.symbol.slice(colon + 1);
    const topic = `publicTrade.${symbol}`;
    const data: string[] = [];
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      data.push(
        `{"T":${e.tsMs},"s":"${symbol}","S":"${e.aggressor === 'buy' ? 'Buy' : 'Sell'}","v":"${e.size}","p":"${e.price}","L":"ZeroPlusTick","i":"${Number(e.tradeId)}","BT":false}`,
      );
    }
    if (data.length === 0) return;
    const frame = `{"topic":"${topic}","type":"snapshot","ts":${this.ctx.nowMs()},"data":[${data.join(',')}]}`;
    for (const conn of this.ctx.connections()) {
      if (conn.settings.get('category') !== category || !conn.subscriptions.has(topic)) continue;
      conn.sendUpdate(frame);
    }
  }

  onAdvance(book: TrueBook, _delta: L2StreamDelta): void {
    const states = this.topics.get(book.symbol);
    if (states === undefined) return;
    for (const st of states) {
      const change = advanceView(st, book, st.depth);
      if (change === undefined) continue;
      const { bids, asks } = change;
      st.u++;
      let frame: string | undefined;
      for (const conn of this.ctx.connections()) {
        if (conn.settings.get('category') !== st.category || !conn.subscriptions.has(st.topic)) continue;
        frame ??= this.frame(st, 'delta', bids, asks);
        conn.sendUpdate(frame);
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return path === '/v5/market/orderbook';
  }

  restFault(status: 429 | 418): RestReply {
    return json(status, {
      retCode: 10006,
      retMsg: 'Too many visits!',
      result: {},
      retExtInfo: {},
      time: this.ctx.nowMs(),
    });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    const category = q.get('category') ?? '';
    const envelope = (retCode: number, retMsg: string, result: unknown) =>
      json(200, { retCode, retMsg, result, retExtInfo: {}, time: this.ctx.nowMs() });
    if (path !== '/v5/market/instruments-info' && path !== '/v5/market/orderbook') return { status: 404, body: '' };
    if (!CATEGORIES.has(category)) return envelope(10001, 'params error: category is invalid', {});
    const symbol = q.get('symbol');
    if (path === '/v5/market/orderbook') {
      const book = symbol === null ? undefined : this.ctx.books.get(bookKey(category, symbol));
      if (book === undefined || symbol === null) return envelope(10001, 'params error: symbol invalid', {});
      const limit = Math.min(Math.max(Number(q.get('limit') ?? 1) || 1, 1), category === 'spot' ? 200 : 500);
      const top = book.top(limit);
      this.ctx.snapshotServed();
      const ts = this.ctx.nowMs();
      return envelope(0, 'OK', {
        s: symbol,
        b: top.bids,
        a: top.asks,
        ts,
        u: FIRST_U + book.version,
        seq: this.seq,
        cts: ts,
      });
    }
    const list = [...this.ctx.books.values()]
      .filter((b) => b.symbol.startsWith(`${category}:`))
      .map((b) => {
        const sym = b.symbol.slice(category.length + 1);
        const [baseCoin, quoteCoin] = baseQuote(sym);
        const { tick, lot } = b.instrument;
        return category === 'spot'
          ? {
              symbol: sym,
              baseCoin,
              quoteCoin,
              innovation: '0',
              status: 'Trading',
              marginTrading: 'none',
              lotSizeFilter: {
                basePrecision: lot,
                quotePrecision: '0.00000001',
                minOrderQty: lot,
                maxOrderQty: '10000',
                minOrderAmt: '1',
                maxOrderAmt: '2000000',
              },
              priceFilter: { tickSize: tick },
            }
          : {
              symbol: sym,
              contractType: 'LinearPerpetual',
              status: 'Trading',
              baseCoin,
              quoteCoin,
              settleCoin: quoteCoin,
              launchTime: '1585526400000',
              deliveryTime: '0',
              priceScale: String(tick.split('.')[1]?.length ?? 0),
              leverageFilter: { minLeverage: '1', maxLeverage: '100.00', leverageStep: '0.01' },
              priceFilter: { minPrice: tick, maxPrice: '1999999.80', tickSize: tick },
              lotSizeFilter: {
                maxOrderQty: '1190.000',
                minOrderQty: lot,
                qtyStep: lot,
                postOnlyMaxOrderQty: '1190.000',
                maxMktOrderQty: '500.000',
                minNotionalValue: '5',
              },
              fundingInterval: 480,
            };
      })
      .filter((i) => symbol === null || i.symbol === symbol);
    return envelope(0, 'OK', { category, list, nextPageCursor: '' });
  }

  private topicState(category: string, symbol: string, depth: number): TopicState {
    const key = bookKey(category, symbol);
    const list = this.topics.get(key) ?? [];
    this.topics.set(key, list);
    let st = list.find((s) => s.depth === depth);
    if (st === undefined) {
      const book = this.ctx.books.get(key) as TrueBook;
      st = { topic: `orderbook.${depth}.${symbol}`, category, symbol, depth, u: FIRST_U, view: book.top(depth) };
      list.push(st);
    }
    return st;
  }

  private frame(
    st: TopicState,
    type: 'snapshot' | 'delta',
    bids: readonly (readonly [string, string])[],
    asks: readonly (readonly [string, string])[],
  ): string {
    const ts = this.ctx.nowMs();
    this.seq += 1 + (st.u % 5);
    return `{"topic":"${st.topic}","type":"${type}","ts":${ts},"data":{"s":"${st.symbol}","b":${JSON.stringify(bids)},"a":${JSON.stringify(asks)},"u":${st.u},"seq":${this.seq}},"cts":${ts - 2}}`;
  }
}

export const bybitEmulator: EmulatorVenueModule = {
  id: 'bybit',
  defaultSymbols: ['spot:BTCUSDT', 'linear:BTCUSDT', 'linear:ETHUSDT'],
  hasChecksum: false,
  serverPings: false,
  instrument: (symbol) => defaultInstrument(baseQuote(symbol.slice(symbol.indexOf(':') + 1))[0]),
  create: (ctx) => new BybitVenue(ctx),
};
