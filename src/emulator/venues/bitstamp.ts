/**
 * Bitstamp (`/bitstamp`) as the emulator speaks it (www.bitstamp.net/websocket/v2/ and
 * www.bitstamp.net/api/, checked against the real capture in ../shared/fixtures/bitstamp).
 *
 * WebSocket `/` (wss://ws.bitstamp.net):
 * - `{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}` ->
 *   `{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}`, then
 *   `{"data":{"timestamp","microtimestamp","bids","asks"},"channel":"diff_order_book_btcusd","event":"data"}`
 *   (full depth, amounts absolute with 8 decimals, `"0.00000000"` deletes). No snapshot on the socket, no
 *   sequence, no checksum: `microtimestamp` orders diffs against the REST snapshot.
 * - `bts:unsubscribe` -> `bts:unsubscription_succeeded`; `{"event":"bts:heartbeat"}` ->
 *   `{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}`; bad requests get `bts:error`.
 * - `live_trades_<pair>`: the trades of the pair's L3 true book (matching engine + agent flow),
 *   `{"data":{"id","timestamp","amount","amount_str","price","price_str","type","microtimestamp",
 *   "buy_order_id","sell_order_id"},"channel":"live_trades_<pair>","event":"trade"}`, `type` 0 when the
 *   taker bought, 1 when it sold.
 * - `live_orders_<pair>`: the orders of the pair's L3 true book, one event per engine change,
 *   `{"data":{"id","id_str","order_type","datetime","microtimestamp","amount","amount_str","price",
 *   "price_str"},"channel":"live_orders_<pair>","event":"order_created"|"order_changed"|"order_deleted"}`
 *   (`order_type` 0 buy, 1 sell; `order_changed` carries the remaining amount; each event its own
 *   increasing `microtimestamp`). `GET /api/v2/order_book/<pair>/?group=2` lists the L3 true book's orders
 *   `[price, amount, order_id]` (priority order) with the `microtimestamp` of the last order event.
 * - The `rotate` fault sends `{"event":"bts:request_reconnect","channel":"","data":""}` before closing.
 * REST: `GET /api/v2/order_book/<pair>/` (`timestamp`, `microtimestamp` of the last diff in it, `bids`,
 * `asks` as strings; the snapshot route for REST faults), `GET /api/v2/trading-pairs-info/`.
 */
import { writtenFractionDigits } from '../../core/fixed.ts';
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent } from '../../sim/matching-engine.ts';
import type { L3TrueBook } from '../l3-true-book.ts';
import type { SimInstrument, TrueBook } from '../true-book.ts';
import {
  type EmulatorConnection,
  type EmulatorVenue,
  type EmulatorVenueModule,
  json,
  type RestReply,
  type VenueContext,
} from '../venue.ts';
import { baseQuote, type InstrumentShapes, instrumentFor, isRecord, padDecimals, tryJson } from './common.ts';

const AMOUNT_DECIMALS = 8;
const CHANNEL = /^(?:diff_order_book|live_trades|live_orders)_([a-z0-9]+)$/;
const REQUEST_RECONNECT = '{"event":"bts:request_reconnect","channel":"","data":""}';

type Levels = readonly (readonly [string, string])[];

class BitstampVenue implements EmulatorVenue {
  private readonly ctx: VenueContext;
  /** `microtimestamp` of the last diff of each pair (what its REST snapshot includes). */
  private readonly micros = new Map<string, number>();
  /** `microtimestamp` of the last `live_orders` event of each pair (what its `group=2` snapshot includes). */
  private readonly l3Micros = new Map<string, number>();

  constructor(ctx: VenueContext) {
    this.ctx = ctx;
    for (const pair of ctx.books.keys()) this.micros.set(pair, ctx.nowMs() * 1000);
  }

  acceptsWs(path: string): boolean {
    return path === '/' || path === '';
  }

  onOpen(_conn: EmulatorConnection): void {}

  onMessage(conn: EmulatorConnection, text: string): void {
    const o = tryJson(text);
    const error = (message: string, channel = '') =>
      conn.sendReply(JSON.stringify({ event: 'bts:error', channel, data: { code: null, message } }));
    if (!isRecord(o) || typeof o.event !== 'string') {
      error('Bad request. Request must be JSON with an "event".');
      return;
    }
    if (o.event === 'bts:heartbeat') {
      this.ctx.pingReceived();
      conn.pong(JSON.stringify({ event: 'bts:heartbeat', channel: '', data: { status: 'success' } }));
      return;
    }
    if (o.event !== 'bts:subscribe' && o.event !== 'bts:unsubscribe') {
      error(`Bad request. Unknown event ${o.event.slice(0, 40)}.`);
      return;
    }
    const channel = isRecord(o.data) && typeof o.data.channel === 'string' ? o.data.channel : '';
    const pair = CHANNEL.exec(channel)?.[1];
    if (pair === undefined || !this.ctx.books.has(pair)) {
      error('Bad subscription string.', channel);
      return;
    }
    if (o.event === 'bts:subscribe') {
      if (channel.startsWith('live_trades_') || channel.startsWith('live_orders_')) this.ctx.l3Book(pair);
      conn.subscriptions.add(channel);
      conn.sendReply(JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }));
    } else {
      conn.subscriptions.delete(channel);
      conn.sendReply(JSON.stringify({ event: 'bts:unsubscription_succeeded', channel, data: {} }));
    }
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const orders = `live_orders_${book.symbol}`;
    const pd = writtenFractionDigits(book.engine.tickSize);
    for (const e of events) {
      if (e.kind !== 'l3') continue;
      const micros = Math.max((this.l3Micros.get(book.symbol) ?? 0) + 1, this.ctx.nowMs() * 1000);
      this.l3Micros.set(book.symbol, micros);
      const deleted = e.action === 'delete';
      const frame = JSON.stringify({
        data: {
          id: Number(e.orderId),
          id_str: e.orderId,
          order_type: e.side === 'bid' ? 0 : 1,
          datetime: String(Math.floor(micros / 1_000_000)),
          microtimestamp: String(micros),
          amount: Number(e.size),
          amount_str: padDecimals(e.size, AMOUNT_DECIMALS),
          price: Number(e.price),
          price_str: padDecimals(e.price, pd),
        },
        channel: orders,
        event: e.action === 'add' ? 'order_created' : deleted ? 'order_deleted' : 'order_changed',
      });
      for (const conn of this.ctx.connections()) if (conn.subscriptions.has(orders)) conn.sendUpdate(frame);
    }
    const channel = `live_trades_${book.symbol}`;
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      const micros = e.tsMs * 1000;
      const buy = e.aggressor === 'buy';
      const frame = JSON.stringify({
        data: {
          id: Number(e.tradeId),
          timestamp: String(Math.floor(e.tsMs / 1000)),
          amount: Number(e.size),
          amount_str: e.size,
          price: Number(e.price),
          price_str: e.price,
          type: buy ? 0 : 1,
          microtimestamp: String(micros),
          buy_order_id: Number(buy ? e.takerOrderId : e.makerOrderId),
          sell_order_id: Number(buy ? e.makerOrderId : e.takerOrderId),
        },
        channel,
        event: 'trade',
      });
      for (const conn of this.ctx.connections()) if (conn.subscriptions.has(channel)) conn.sendUpdate(frame);
    }
  }

  onAdvance(book: TrueBook, delta: L2StreamDelta): void {
    const micros = Math.max((this.micros.get(book.symbol) ?? 0) + 1, this.ctx.nowMs() * 1000);
    this.micros.set(book.symbol, micros);
    const channel = `diff_order_book_${book.symbol}`;
    let frame: string | undefined;
    for (const conn of this.ctx.connections()) {
      if (!conn.subscriptions.has(channel)) continue;
      frame ??= JSON.stringify({
        data: {
          timestamp: String(Math.floor(micros / 1_000_000)),
          microtimestamp: String(micros),
          bids: this.levels(book, delta.bids),
          asks: this.levels(book, delta.asks),
        },
        channel,
        event: 'data',
      });
      conn.sendUpdate(frame, { farewell: REQUEST_RECONNECT });
    }
  }

  isSnapshotRequest(path: string): boolean {
    return /^\/api\/v2\/order_book\/[a-z0-9]+\/?$/.test(path);
  }

  restFault(): RestReply {
    return json(429, { status: 'error', reason: 'Rate limit exceeded', code: 'API0005' });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    if (path === '/api/v2/trading-pairs-info/' || path === '/api/v2/trading-pairs-info') {
      return json(
        200,
        [...this.ctx.books.values()].map((b) => {
          const [base, quote] = baseQuote(b.symbol);
          return {
            name: `${base}/${quote}`,
            url_symbol: b.symbol,
            base_decimals: AMOUNT_DECIMALS,
            counter_decimals: writtenFractionDigits(b.instrument.tick),
            instant_order_counter_decimals: 2,
            minimum_order: `10.00 ${quote}`,
            trading: 'Enabled',
            instant_and_market_orders: 'Enabled',
            description: `${base} / ${quote}`,
          };
        }),
      );
    }
    const m = /^\/api\/v2\/order_book\/([a-z0-9]+)\/?$/.exec(path);
    if (m?.[1] !== undefined) {
      const book = this.ctx.books.get(m[1]);
      if (book === undefined) return json(404, { status: 'error', reason: 'Not Found', code: 'API0003' });
      if (q.get('group') === '2') return this.ordersSnapshot(m[1]);
      const top = book.top();
      const micros = this.micros.get(book.symbol) as number;
      this.ctx.snapshotServed();
      // Bitstamp writes this body with a space after each separator, as in the real capture.
      const body = JSON.stringify({
        timestamp: String(Math.floor(micros / 1_000_000)),
        microtimestamp: String(micros),
        bids: this.levels(book, top.bids),
        asks: this.levels(book, top.asks),
      })
        .replaceAll('","', '", "')
        .replaceAll('],[', '], [')
        .replaceAll('":', '": ');
      return { status: 200, body };
    }
    return json(404, { status: 'error', reason: 'Not Found', code: 'API0003' });
  }

  /** `order_book?group=2`: every order of the L3 true book as `[price, amount, order_id]`. */
  private ordersSnapshot(pair: string): RestReply {
    const l3 = this.ctx.l3Book(pair) as L3TrueBook;
    const micros = this.l3Micros.get(pair) ?? this.ctx.nowMs() * 1000;
    this.l3Micros.set(pair, micros);
    const pd = writtenFractionDigits(l3.engine.tickSize);
    const side = (s: 'bid' | 'ask') =>
      l3.orders(s).map((o) => [padDecimals(o.price, pd), padDecimals(o.size, AMOUNT_DECIMALS), o.id]);
    this.ctx.snapshotServed();
    return json(200, {
      timestamp: String(Math.floor(micros / 1_000_000)),
      microtimestamp: String(micros),
      bids: side('bid'),
      asks: side('ask'),
    });
  }

  private levels(book: TrueBook, ls: Levels): [string, string][] {
    const pd = writtenFractionDigits(book.instrument.tick);
    return ls.map(([p, s]) => [padDecimals(p, pd), padDecimals(s, AMOUNT_DECIMALS)]);
  }
}

const INSTRUMENTS: InstrumentShapes = {
  BTC: { mid: '65000', tick: '1', lot: '0.0001' },
  ETH: { mid: '3500.0', tick: '0.1', lot: '0.001' },
  other: { mid: '1.00000', tick: '0.00001', lot: '0.1' },
};

function bitstampInstrument(pair: string): SimInstrument {
  return instrumentFor(baseQuote(pair.toUpperCase())[0], INSTRUMENTS);
}

export const bitstampEmulator: EmulatorVenueModule = {
  id: 'bitstamp',
  defaultSymbols: ['btcusd', 'ethusd'],
  hasChecksum: false,
  serverPings: false,
  instrument: bitstampInstrument,
  create: (ctx) => new BitstampVenue(ctx),
};
