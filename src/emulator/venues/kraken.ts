/**
 * Kraken spot WebSocket v2 (`/kraken`) as the emulator speaks it (docs.kraken.com/exchange/api-reference/
 * spot-websocket-v2/book and the guide "Book checksum (WebSocket v2)").
 *
 * WebSocket `/v2`:
 * - On open: `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id",..}]}`.
 * - `{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":1}` -> per
 *   symbol `{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol"},
 *   "success":true,"time_in","time_out"}` (plus `req_id`), then `{"channel":"book","type":"snapshot",
 *   "data":[{"symbol","bids","asks","checksum","timestamp"}]}` and `update`s. Levels are
 *   `{"price":65000.1,"qty":0.50000000}`: JSON numbers written with the pair's `price_precision` and
 *   `qty_precision` decimals. Depths 10, 25, 100, 500, 1000.
 * - Fixed depth: updates carry the levels of the subscribed top-N view that changed or entered it (a
 *   level moving back into range is re-published); `qty: 0` only for levels deleted from the book, never
 *   for levels pushed out of range (the client truncates).
 * - `checksum`: CRC32 (unsigned) of the top 10 asks (lowest first) then top 10 bids (highest first), each
 *   price then qty written with the pair's precision, `.` and leading zeros removed; snapshots too.
 * - `{"params":{"channel":"instrument"}}` -> a snapshot of `pairs` (`price_precision`, `qty_precision`..).
 * - `{"params":{"channel":"heartbeat"}}`; any subscription also brings `{"channel":"heartbeat"}` once per
 *   5 steps (Kraken: about once a second).
 * - `{"params":{"channel":"trade","symbol":[..],"snapshot":false}}` -> per symbol a subscribe result, then
 *   the trades of the symbol's L3 true book (matching engine + agent flow), one message per step
 *   `{"channel":"trade","type":"update","data":[{"symbol","side","price","qty","ord_type","trade_id",
 *   "timestamp"}]}` (numbers as JSON numbers, `side` the taker's).
 * - `{"method":"ping","req_id":n}` -> `{"method":"pong","req_id":n,"time_in","time_out"}`.
 * REST: `GET /0/public/AssetPairs` (`pair=` filter), `GET /0/public/Depth?pair=&count=` (the snapshot route
 * for REST faults).
 */
import { crc32 } from 'node:zlib';
import { writtenFractionDigits } from '../../core/fixed.ts';
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent } from '../../sim/matching-engine.ts';
import type { L3TrueBook } from '../l3-true-book.ts';
import type { SimInstrument, TextBook, TextLevel, TrueBook } from '../true-book.ts';
import {
  type EmulatorConnection,
  type EmulatorVenue,
  type EmulatorVenueModule,
  json,
  type RestReply,
  type VenueContext,
} from '../venue.ts';
import {
  baseQuote,
  type InstrumentShapes,
  instrumentFor,
  isRecord,
  padDecimals,
  SinglePathVenue,
  tryJson,
} from './common.ts';

const DEPTHS: ReadonlySet<number> = new Set([10, 25, 100, 500, 1000]);
const DEFAULT_DEPTH = 10;
const CHECKSUM_LEVELS = 10;
const QTY_PRECISION = 8;
/** Steps between two heartbeats. */
const HEARTBEAT_STEPS = 5;

interface Sub {
  readonly symbol: string;
  readonly depth: number;
  view: TextBook;
}

/** Kraken's REST names: `BTC/USD` -> `XXBTZUSD`, altname `XBTUSD`. */
function restNames(symbol: string): { key: string; altname: string; wsname: string; base: string; quote: string } {
  const [b, q] = baseQuote(symbol);
  const kb = b === 'BTC' ? 'XBT' : b;
  const base = kb.length === 3 && kb !== 'DOT' && kb !== 'SOL' ? `X${kb}` : kb;
  const quote = q === 'USD' || q === 'EUR' || q === 'GBP' ? `Z${q}` : q;
  return { key: `${base}${quote}`, altname: `${kb}${q}`, wsname: `${kb}/${q}`, base, quote };
}

/** `"65000.10"` -> `"6500010"`: the `.` and the leading zeros removed. */
function digits(text: string): string {
  return text.replace('.', '').replace(/^0+/, '');
}

/** Per connection, per symbol: the view the client holds. */
function booksOf(conn: EmulatorConnection): Map<string, Sub> {
  return conn.settings.get('books') as Map<string, Sub>;
}

class KrakenVenue extends SinglePathVenue implements EmulatorVenue {
  constructor(ctx: VenueContext) {
    super(ctx, '/v2', HEARTBEAT_STEPS);
  }

  onOpen(conn: EmulatorConnection): void {
    conn.settings.set('books', new Map<string, Sub>());
    const connectionId = 1_000_000 + Number(conn.id.split('#')[1] ?? 0);
    conn.sendReply(
      JSON.stringify({
        channel: 'status',
        type: 'update',
        data: [{ version: '2.0.9', system: 'online', api_version: 'v2', connection_id: connectionId }],
      }),
    );
  }

  onMessage(conn: EmulatorConnection, text: string): void {
    const timeIn = this.iso();
    const o = tryJson(text);
    if (!isRecord(o)) {
      conn.sendReply(
        JSON.stringify({ error: 'Malformed request', success: false, time_in: timeIn, time_out: this.iso() }),
      );
      return;
    }
    const reqId = typeof o.req_id === 'number' ? { req_id: o.req_id } : {};
    const method = typeof o.method === 'string' ? o.method : '';
    const reply = (v: Record<string, unknown>) =>
      conn.sendReply(JSON.stringify({ method, ...v, ...reqId, time_in: timeIn, time_out: this.iso() }));
    if (method === 'ping') {
      this.ctx.pingReceived();
      conn.pong(JSON.stringify({ method: 'pong', ...reqId, time_in: timeIn, time_out: this.iso() }));
      return;
    }
    if (method !== 'subscribe' && method !== 'unsubscribe') {
      reply({ error: `Method not found: ${method.slice(0, 32)}`, success: false });
      return;
    }
    const params = isRecord(o.params) ? o.params : {};
    const channel = params.channel;
    if (channel === 'heartbeat' || channel === 'instrument') {
      if (method === 'unsubscribe') conn.subscriptions.delete(channel);
      else conn.subscriptions.add(channel);
      reply({ result: { channel, ...(channel === 'instrument' ? { snapshot: true } : {}) }, success: true });
      if (channel === 'instrument' && method === 'subscribe') conn.sendData(this.instrumentSnapshot());
      return;
    }
    if (channel === 'trade') {
      const list = Array.isArray(params.symbol) ? (params.symbol as unknown[]) : [];
      if (list.length === 0 || !list.every((x) => typeof x === 'string')) {
        reply({ error: 'symbol: field is required and must be a list of pairs', success: false });
        return;
      }
      for (const symbol of list as string[]) {
        if (this.ctx.l3Book(symbol) === undefined) {
          reply({ error: `Currency pair not supported ${symbol}`, success: false, symbol });
          continue;
        }
        if (method === 'unsubscribe') conn.subscriptions.delete(`trade:${symbol}`);
        else conn.subscriptions.add(`trade:${symbol}`);
        reply({ result: { channel: 'trade', snapshot: false, symbol }, success: true });
      }
      return;
    }
    if (channel !== 'book') {
      reply({ error: `Channel not found: ${String(channel).slice(0, 32)}`, success: false });
      return;
    }
    const symbols = params.symbol;
    if (!Array.isArray(symbols) || symbols.length === 0 || !symbols.every((s) => typeof s === 'string')) {
      reply({ error: 'symbol: field is required and must be a list of pairs', success: false });
      return;
    }
    const depth = params.depth === undefined ? DEFAULT_DEPTH : params.depth;
    if (typeof depth !== 'number' || !DEPTHS.has(depth)) {
      reply({ error: `depth: must be one of 10, 25, 100, 500, 1000`, success: false });
      return;
    }
    const mine = booksOf(conn);
    for (const symbol of symbols as string[]) {
      const book = this.ctx.books.get(symbol);
      if (book === undefined) {
        reply({ error: `Currency pair not supported ${symbol}`, success: false, symbol });
        continue;
      }
      if (method === 'unsubscribe') {
        mine.delete(symbol);
        conn.subscriptions.delete(`book:${symbol}`);
        reply({ result: { channel: 'book', depth, symbol }, success: true });
        continue;
      }
      if (mine.has(symbol)) {
        reply({ error: 'Already subscribed', success: false, symbol });
        continue;
      }
      const sub: Sub = { symbol, depth, view: book.top(depth) };
      mine.set(symbol, sub);
      conn.subscriptions.add(`book:${symbol}`);
      reply({ result: { channel: 'book', depth, snapshot: true, symbol }, success: true });
      conn.sendData(this.bookFrame(book, 'snapshot', sub.view.bids, sub.view.asks, sub.view));
      this.ctx.snapshotServed();
    }
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const data: string[] = [];
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      data.push(
        `{"symbol":"${book.symbol}","side":"${e.aggressor}","price":${e.price},"qty":${e.size},"ord_type":"limit","trade_id":${Number(e.tradeId)},"timestamp":"${new Date(e.tsMs).toISOString()}"}`,
      );
    }
    if (data.length === 0) return;
    const frame = `{"channel":"trade","type":"update","data":[${data.join(',')}]}`;
    for (const conn of this.ctx.connections())
      if (conn.subscriptions.has(`trade:${book.symbol}`)) conn.sendUpdate(frame);
  }

  onAdvance(book: TrueBook, _delta: L2StreamDelta): void {
    for (const conn of this.ctx.connections()) {
      const sub = booksOf(conn).get(book.symbol);
      if (sub === undefined) continue;
      const next = book.top(sub.depth);
      const all = book.levels();
      const bids = krakenDiff(sub.view.bids, next.bids, all.bids);
      const asks = krakenDiff(sub.view.asks, next.asks, all.asks);
      sub.view = next;
      if (bids.length === 0 && asks.length === 0) continue;
      const frame = this.bookFrame(book, 'update', bids, asks, next);
      conn.sendUpdate(frame, {
        corrupt: () => {
          const m = /"checksum":(\d+)/.exec(frame);
          const bad = (Number(m?.[1] ?? 0) ^ 0x5a5a5a5a) >>> 0;
          return frame.replace(/"checksum":\d+/, `"checksum":${bad}`);
        },
      });
    }
    if (this.heartbeat.due(book.symbol)) {
      for (const conn of this.ctx.connections()) {
        if (conn.subscriptions.size > 0) conn.sendData('{"channel":"heartbeat"}');
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return path === '/0/public/Depth';
  }

  restFault(): RestReply {
    return json(429, { error: ['EGeneral:Too many requests'] });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    const bySymbol = (pair: string | null): TrueBook | undefined =>
      [...this.ctx.books.values()].find((b) => {
        const n = restNames(b.symbol);
        return pair === b.symbol || pair === n.key || pair === n.altname || pair === n.wsname;
      });
    switch (path) {
      case '/0/public/AssetPairs': {
        const only = q.get('pair');
        const books = only === null ? [...this.ctx.books.values()] : only.split(',').map((p) => bySymbol(p));
        if (books.some((b) => b === undefined)) return json(200, { error: ['EQuery:Unknown asset pair'] });
        const result: Record<string, unknown> = {};
        for (const b of books as TrueBook[]) {
          const n = restNames(b.symbol);
          const pd = writtenFractionDigits(b.instrument.tick);
          result[n.key] = {
            altname: n.altname,
            wsname: n.wsname,
            aclass_base: 'currency',
            base: n.base,
            aclass_quote: 'currency',
            quote: n.quote,
            lot: 'unit',
            cost_decimals: 5,
            pair_decimals: pd,
            lot_decimals: QTY_PRECISION,
            lot_multiplier: 1,
            leverage_buy: [2, 3, 4, 5],
            leverage_sell: [2, 3, 4, 5],
            fees: [
              [0, 0.4],
              [10000, 0.35],
            ],
            fees_maker: [
              [0, 0.25],
              [10000, 0.2],
            ],
            fee_volume_currency: 'ZUSD',
            margin_call: 80,
            margin_stop: 40,
            ordermin: b.instrument.lot,
            costmin: '0.5',
            tick_size: b.instrument.tick,
            status: 'online',
          };
        }
        return json(200, { error: [], result });
      }
      case '/0/public/Depth': {
        const book = bySymbol(q.get('pair'));
        if (book === undefined) return json(200, { error: ['EQuery:Unknown asset pair'] });
        const count = Math.min(Math.max(Number(q.get('count') ?? 100) || 100, 1), 500);
        const top = book.top(count);
        const pd = writtenFractionDigits(book.instrument.tick);
        const ts = Math.floor(this.ctx.nowMs() / 1000);
        const side = (ls: TextLevel[]) => ls.map(([p, s]) => [padDecimals(p, pd), padDecimals(s, QTY_PRECISION), ts]);
        this.ctx.snapshotServed();
        return json(200, {
          error: [],
          result: { [restNames(book.symbol).key]: { asks: side(top.asks), bids: side(top.bids) } },
        });
      }
      default:
        return json(404, { error: ['EGeneral:Unknown method'] });
    }
  }

  private iso(): string {
    return new Date(this.ctx.nowMs()).toISOString().replace('Z', '000Z');
  }

  private instrumentSnapshot(): string {
    const pairs = [...this.ctx.books.values()].map((b) => {
      const [base, quote] = baseQuote(b.symbol);
      const pd = writtenFractionDigits(b.instrument.tick);
      return (
        `{"symbol":"${b.symbol}","base":"${base}","quote":"${quote}","status":"online",` +
        `"qty_precision":${QTY_PRECISION},"qty_increment":0.${'0'.repeat(QTY_PRECISION - 1)}1,` +
        `"price_precision":${pd},"cost_precision":5,"marginable":true,"has_index":true,"cost_min":0.5,` +
        `"tick_size":${b.instrument.tick},"price_increment":${b.instrument.tick},"qty_min":${b.instrument.lot}}`
      );
    });
    const assets = [...new Set([...this.ctx.books.keys()].flatMap((s) => baseQuote(s)))].map(
      (a) => `{"id":"${a}","status":"enabled","precision":10,"precision_display":5,"borrowable":true}`,
    );
    return `{"channel":"instrument","type":"snapshot","data":{"assets":[${assets.join(',')}],"pairs":[${pairs.join(',')}]}}`;
  }

  /** A `book` frame; `view` is the client's book after it, for the checksum. */
  private bookFrame(
    book: TrueBook,
    type: 'snapshot' | 'update',
    bids: readonly (readonly [string, string])[],
    asks: readonly (readonly [string, string])[],
    view: TextBook,
  ): string {
    const pd = writtenFractionDigits(book.instrument.tick);
    const px = (p: string) => padDecimals(p, pd);
    const qty = (s: string) => padDecimals(s, QTY_PRECISION);
    const side = (ls: readonly (readonly [string, string])[]) =>
      `[${ls.map(([p, s]) => `{"price":${px(p)},"qty":${qty(s)}}`).join(',')}]`;
    let text = '';
    for (const [p, s] of view.asks.slice(0, CHECKSUM_LEVELS)) text += digits(px(p)) + digits(qty(s));
    for (const [p, s] of view.bids.slice(0, CHECKSUM_LEVELS)) text += digits(px(p)) + digits(qty(s));
    const checksum = crc32(text) >>> 0;
    const ts = type === 'update' ? `,"timestamp":"${new Date(this.ctx.nowMs()).toISOString()}"` : '';
    return `{"channel":"book","type":"${type}","data":[{"symbol":"${book.symbol}","bids":${side(bids)},"asks":${side(asks)},"checksum":${checksum}${ts}}]}`;
  }
}

/**
 * Kraken's change of a fixed-depth view: levels that entered it or changed, and `0` for levels deleted
 * from the book (`all`); a level that only fell out of range is not sent (the client truncates).
 */
function krakenDiff(prev: readonly TextLevel[], next: readonly TextLevel[], all: readonly TextLevel[]): TextLevel[] {
  const before = new Map<string, string>();
  for (const l of prev) before.set(l[0], l[1]);
  const out: TextLevel[] = [];
  const now = new Set<string>();
  for (const l of next) {
    now.add(l[0]);
    if (before.get(l[0]) !== l[1]) out.push([l[0], l[1]]);
  }
  let live: Set<string> | undefined;
  for (const l of prev) {
    if (now.has(l[0])) continue;
    live ??= new Set(all.map((a) => a[0]));
    if (!live.has(l[0])) out.push([l[0], '0']);
  }
  return out;
}

const INSTRUMENTS: InstrumentShapes = {
  BTC: { mid: '65000.0', tick: '0.1', lot: '0.00001' },
  ETH: { mid: '3500.00', tick: '0.01', lot: '0.0001' },
  other: { mid: '1.00000', tick: '0.00001', lot: '0.1' },
};

function krakenInstrument(symbol: string): SimInstrument {
  return instrumentFor(baseQuote(symbol)[0], INSTRUMENTS);
}

export const krakenEmulator: EmulatorVenueModule = {
  id: 'kraken',
  defaultSymbols: ['BTC/USD', 'ETH/USD'],
  hasChecksum: true,
  serverPings: false,
  instrument: krakenInstrument,
  create: (ctx) => new KrakenVenue(ctx),
};
