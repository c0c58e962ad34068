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
 * - The `rotate` fault sends `{"event":"bts:request_reconnect","channel":"","data":""}` before closing.
 * REST: `GET /api/v2/order_book/<pair>/` (`timestamp`, `microtimestamp` of the last diff in it, `bids`,
 * `asks` as strings; the snapshot route for REST faults), `GET /api/v2/trading-pairs-info/`.
 */
import { writtenFractionDigits } from '../../core/fixed.ts';
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
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
const CHANNEL = /^diff_order_book_([a-z0-9]+)$/;
const REQUEST_RECONNECT = '{"event":"bts:request_reconnect","channel":"","data":""}';

type Levels = readonly (readonly [string, string])[];

class BitstampVenue implements EmulatorVenue {
  private readonly ctx: VenueContext;
  /** `microtimestamp` of the last diff of each pair (what its REST snapshot includes). */
  private readonly micros = new Map<string, number>();

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
      conn.subscriptions.add(channel);
      conn.sendReply(JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }));
    } else {
      conn.subscriptions.delete(channel);
      conn.sendReply(JSON.stringify({ event: 'bts:unsubscription_succeeded', channel, data: {} }));
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

  rest(path: string, _q: URLSearchParams): RestReply {
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
