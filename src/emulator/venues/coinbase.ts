/**
 * Coinbase Advanced Trade (`/coinbase`) as the emulator speaks it (docs.cdp.coinbase.com/advanced-trade/
 * docs/ws-channels and the real capture in ../shared/fixtures/coinbase).
 *
 * WebSocket `/ws` (stands for wss://advanced-trade-ws.coinbase.com):
 * - `{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}` -> an `l2_data` snapshot per
 *   product, then `{"channel":"subscriptions",..,"events":[{"subscriptions":{"level2":[..],..}}]}` listing
 *   every subscription of the connection, then `l2_data` update events
 *   `{"type":"update","product_id","updates":[{"side":"bid"|"offer","event_time","price_level",
 *   "new_quantity"}]}`: full depth, absolute quantities, `"0"` deletes.
 * - `{"type":"subscribe","channel":"heartbeats"}` -> `heartbeats` frames (`current_time`,
 *   `heartbeat_counter`) once per 5 steps (Coinbase: once a second).
 * - `{"type":"subscribe","product_ids":[..],"channel":"market_trades"}` -> a `market_trades` snapshot event
 *   (empty here), then the trades of the product's L3 true book (matching engine + agent flow), one frame
 *   per step `{"type":"update","trades":[{"trade_id","product_id","price","size","side","time"}]}`; `side`
 *   is the MAKER's side (as the real feed: a taker buy shows as SELL).
 * - Every frame carries `sequence_num`: ONE counter per connection across all channels, from 0 (replies
 *   included), so any lost frame shows as a gap.
 * - Bad requests: `{"type":"error","message":..}`.
 * REST: `GET /api/v3/brokerage/market/products` (public), `GET /api/v3/brokerage/market/product_book?
 * product_id=&limit=` (the snapshot route for REST faults).
 */
import { canonicalDecimal } from '../../core/fixed.ts';
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
import { baseQuote, isRecord, SinglePathVenue, tryJson } from './common.ts';

const CHANNELS: ReadonlySet<string> = new Set(['level2', 'heartbeats', 'market_trades']);
/** Steps between two heartbeats. */
const HEARTBEAT_STEPS = 5;

type Levels = readonly (readonly [string, string])[];

interface ConnState {
  /** Next `sequence_num` of this connection. */
  seq: number;
  /** Subscribed products by channel. */
  readonly channels: Map<string, Set<string>>;
}

function stateOf(conn: EmulatorConnection): ConnState {
  return conn.settings.get('state') as ConnState;
}

class CoinbaseVenue extends SinglePathVenue implements EmulatorVenue {
  private heartbeatCounter = 1000;

  constructor(ctx: VenueContext) {
    super(ctx, '/ws', HEARTBEAT_STEPS);
  }

  onOpen(conn: EmulatorConnection): void {
    conn.settings.set('state', { seq: 0, channels: new Map() } satisfies ConnState);
  }

  onMessage(conn: EmulatorConnection, text: string): void {
    const st = stateOf(conn);
    const o = tryJson(text);
    const error = (message: string) => conn.sendReply(JSON.stringify({ type: 'error', message }));
    if (!isRecord(o) || (o.type !== 'subscribe' && o.type !== 'unsubscribe')) {
      error('Failed to parse request: type must be subscribe or unsubscribe');
      return;
    }
    const channel = o.channel;
    if (typeof channel !== 'string' || !CHANNELS.has(channel)) {
      error(`Failed to subscribe: channel ${JSON.stringify(String(channel)).slice(0, 40)} is not supported`);
      return;
    }
    const ids = o.product_ids ?? [];
    if (!Array.isArray(ids) || !ids.every((p) => typeof p === 'string')) {
      error('Failed to parse request: product_ids must be a list of strings');
      return;
    }
    if (channel !== 'heartbeats' && ids.length === 0) {
      error(`Failed to subscribe: ${channel} needs product_ids`);
      return;
    }
    const unknown = (ids as string[]).find((p) => !this.ctx.books.has(p));
    if (channel !== 'heartbeats' && unknown !== undefined) {
      error(`Failed to subscribe: unknown product ${unknown}`);
      return;
    }
    const set = st.channels.get(channel) ?? new Set<string>();
    st.channels.set(channel, set);
    if (o.type === 'unsubscribe') {
      if (channel === 'heartbeats') set.clear();
      for (const p of ids as string[]) set.delete(p);
      if (set.size === 0) st.channels.delete(channel);
    } else if (channel === 'heartbeats') {
      set.add('heartbeats');
    } else if (channel === 'market_trades') {
      for (const p of ids as string[]) {
        if (set.has(p)) continue;
        set.add(p);
        this.ctx.l3Book(p);
        conn.sendData(this.frame(st, 'market_trades', [{ type: 'snapshot', trades: [] }]));
      }
    } else {
      for (const p of ids as string[]) {
        if (set.has(p)) continue;
        set.add(p);
        const top = (this.ctx.books.get(p) as TrueBook).top();
        conn.sendData(this.frame(st, 'l2_data', [this.l2Event('snapshot', p, top.bids, top.asks)]));
        this.ctx.snapshotServed();
      }
    }
    conn.subscriptions.clear();
    for (const [ch, ps] of st.channels) for (const p of ps) conn.subscriptions.add(`${ch}:${p}`);
    const subs: Record<string, string[]> = {};
    for (const ch of [...st.channels.keys()].sort()) subs[ch] = [...(st.channels.get(ch) as Set<string>)];
    conn.sendReply(this.frame(st, 'subscriptions', [{ subscriptions: subs }]));
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const trades: Record<string, string>[] = [];
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      trades.push({
        trade_id: String(Number(e.tradeId)),
        product_id: book.symbol,
        price: e.price,
        size: e.size,
        side: e.aggressor === 'buy' ? 'SELL' : 'BUY', // the maker's side
        time: new Date(e.tsMs).toISOString(),
      });
    }
    if (trades.length === 0) return;
    for (const conn of this.ctx.connections()) {
      const st = stateOf(conn);
      if (st.channels.get('market_trades')?.has(book.symbol) !== true) continue;
      conn.sendUpdate(this.frame(st, 'market_trades', [{ type: 'update', trades }]));
    }
  }

  onAdvance(book: TrueBook, delta: L2StreamDelta): void {
    let event: unknown;
    for (const conn of this.ctx.connections()) {
      const st = stateOf(conn);
      if (st.channels.get('level2')?.has(book.symbol) !== true) continue;
      event ??= this.l2Event('update', book.symbol, delta.bids, delta.asks);
      conn.sendUpdate(this.frame(st, 'l2_data', [event]));
    }
    if (this.heartbeat.due(book.symbol)) {
      this.heartbeatCounter++;
      for (const conn of this.ctx.connections()) {
        const st = stateOf(conn);
        if (!st.channels.has('heartbeats')) continue;
        const now = new Date(this.ctx.nowMs()).toISOString();
        const currentTime = `${now.slice(0, 10)} ${now.slice(11, 23)}000000 +0000 UTC m=+${this.heartbeatCounter}.000000001`;
        conn.sendData(
          this.frame(st, 'heartbeats', [{ current_time: currentTime, heartbeat_counter: this.heartbeatCounter }]),
        );
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return path === '/api/v3/brokerage/market/product_book';
  }

  restFault(): RestReply {
    return json(429, {
      error: 'rate_limit_exceeded',
      error_details: 'Too many requests',
      message: 'Too many requests',
    });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    switch (path) {
      case '/api/v3/brokerage/market/products': {
        const only = q.getAll('product_ids');
        const products = [...this.ctx.books.values()]
          .filter((b) => only.length === 0 || only.includes(b.symbol))
          .map((b) => this.product(b));
        return json(200, { products, num_products: products.length });
      }
      case '/api/v3/brokerage/market/product_book': {
        const id = q.get('product_id');
        const book = id === null ? undefined : this.ctx.books.get(id);
        if (book === undefined) {
          return json(404, {
            error: 'NOT_FOUND',
            error_details: 'ProductID is invalid',
            message: 'ProductID is invalid',
          });
        }
        const limit = Number(q.get('limit') ?? 0);
        const top = book.top(Number.isSafeInteger(limit) && limit > 0 ? limit : undefined);
        const side = (ls: Levels) => ls.map(([p, s]) => ({ price: canonicalDecimal(p), size: canonicalDecimal(s) }));
        this.ctx.snapshotServed();
        return json(200, {
          pricebook: {
            product_id: book.symbol,
            bids: side(top.bids),
            asks: side(top.asks),
            time: new Date(this.ctx.nowMs()).toISOString(),
          },
        });
      }
      default:
        return json(404, { error: 'NOT_FOUND', error_details: 'Not Found', message: 'Not Found' });
    }
  }

  private product(b: TrueBook): Record<string, unknown> {
    const [base, quote] = baseQuote(b.symbol);
    const top = b.top(1);
    const price = top.bids[0]?.[0] ?? b.instrument.mid;
    return {
      product_id: b.symbol,
      price,
      price_percentage_change_24h: '0',
      volume_24h: '1000',
      volume_percentage_change_24h: '0',
      base_increment: b.instrument.lot,
      quote_increment: b.instrument.tick,
      quote_min_size: '1',
      quote_max_size: '150000000',
      base_min_size: b.instrument.lot,
      base_max_size: '3400',
      base_name: base,
      quote_name: quote,
      watched: false,
      is_disabled: false,
      new: false,
      status: 'online',
      cancel_only: false,
      limit_only: false,
      post_only: false,
      trading_disabled: false,
      auction_mode: false,
      product_type: 'SPOT',
      quote_currency_id: quote,
      base_currency_id: base,
      fcm_trading_session_details: null,
      mid_market_price: '',
      alias: '',
      alias_to: [],
      base_display_symbol: base,
      quote_display_symbol: quote,
      view_only: false,
      price_increment: b.instrument.tick,
      display_name: b.symbol,
      product_venue: 'CBE',
      approximate_quote_24h_volume: '1000000',
      new_at: '2023-01-01T00:00:00Z',
    };
  }

  private l2Event(type: 'snapshot' | 'update', productId: string, bids: Levels, asks: Levels): unknown {
    const eventTime = new Date(this.ctx.nowMs()).toISOString().replace('Z', '000Z');
    const updates: Record<string, string>[] = [];
    const push = (side: string, ls: Levels) => {
      for (const [p, s] of ls) {
        updates.push({
          side,
          event_time: eventTime,
          price_level: canonicalDecimal(p),
          new_quantity: canonicalDecimal(s),
        });
      }
    };
    push('bid', bids);
    push('offer', asks);
    return { type, product_id: productId, updates };
  }

  /** The envelope: one `sequence_num` counter per connection, whatever the channel. */
  private frame(st: ConnState, channel: string, events: unknown[]): string {
    const timestamp = new Date(this.ctx.nowMs()).toISOString().replace('Z', '000000Z');
    return JSON.stringify({ channel, client_id: '', timestamp, sequence_num: st.seq++, events });
  }
}

export const coinbaseEmulator: EmulatorVenueModule = {
  id: 'coinbase',
  defaultSymbols: ['BTC-USD', 'ETH-USD'],
  hasChecksum: false,
  // The connector's wsBase is the whole socket URL (wss://advanced-trade-ws.coinbase.com).
  wsBasePath: '/ws',
  serverPings: false,
  instrument: (symbol) => defaultInstrument(baseQuote(symbol)[0]),
  create: (ctx) => new CoinbaseVenue(ctx),
};
