/**
 * Bitfinex v2 public (`/bitfinex`) as the emulator speaks it (docs.bitfinex.com/docs/ws-general,
 * .../reference/ws-public-books and .../docs/ws-websocket-checksum; shapes checked against the real
 * capture in ../shared/fixtures/bitfinex).
 *
 * WebSocket `/ws/2`:
 * - On open: `{"event":"info","version":2,"serverId":..,"platform":{"status":1}}`.
 * - `{"event":"conf","flags":N}` -> `{"event":"conf","status":"OK","flags":N}`; flag 65536 (SEQ_ALL) ends
 *   every channel frame with a sequence number, ONE counter per connection (heartbeats and checksums
 *   included); flag 131072 (OB_CHECKSUM) adds `[chanId,"cs",crc]` after each book update batch.
 * - `{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","len":"25"}` ->
 *   `{"event":"subscribed","channel":"book","chanId","symbol","prec","freq":"F0","len","pair"}`, then the
 *   snapshot `[chanId,[[price,count,amount],..]]` (bids best first, then asks; ask amounts negative) and
 *   one frame per level change `[chanId,[price,count,amount]]`; `count` 0 deletes (amount 1 bids, -1
 *   asks). Numbers are JSON numbers. Only P0; `len` 1, 25, 100, 250: changes of the top-`len` view, a
 *   level leaving it is deleted (deletes come first in a batch).
 * - The checksum: CRC32 (signed) of the top 25 levels interleaved `bidPx:bidAmt:askPx:askAmt`, each
 *   number as JS `String(n)`, ask amounts negative.
 * - `[chanId,"hb"]` on every channel once per 5 steps (Bitfinex: after 15 s without data).
 * - `{"event":"ping","cid":n}` -> `{"event":"pong","ts":..,"cid":n}`; `unsubscribe` by `chanId`.
 * - Errors: `{"event":"error","msg":..,"code":10300|10301|10001}`.
 * - Raw books (docs.bitfinex.com/reference/ws-public-raw-books): `prec: "R0"` streams the orders of the
 *   symbol's L3 true book (matching engine + agent flow): a snapshot `[chanId,[[ORDER_ID,PRICE,AMOUNT],..]]`
 *   of the best `len` orders per side (bids then asks, priority order), then one frame per order that
 *   entered, changed or left that view (`[id,0,±1]` removes; removals first), then, with OB_CHECKSUM, the
 *   raw checksum: CRC32 (signed) of the 25 best bid and ask orders interleaved `id:amount`, asks negative.
 * - `trades` (docs.bitfinex.com/reference/ws-public-trades): `subscribed`, an empty snapshot `[chanId,[]]`,
 *   then for every trade of the symbol's L3 true book `[chanId,"te",[ID,MTS,AMOUNT,PRICE]]` followed by
 *   the same trade as `"tu"`; AMOUNT is positive when the taker bought.
 * REST: `GET /v2/conf/pub:list:pair:exchange`, `GET /v2/book/<symbol>/P0?len=` (the snapshot route for
 * REST faults; 429 body `["error",11010,"ratelimit: error"]`).
 */
import { crc32 } from 'node:zlib';
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent, RestingOrder } from '../../sim/matching-engine.ts';
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
  advanceView,
  baseQuote,
  type InstrumentShapes,
  instrumentFor,
  isRecord,
  SinglePathVenue,
  tryJson,
} from './common.ts';

const FLAG_SEQ_ALL = 65536;
const FLAG_CHECKSUM = 131072;
const LENGTHS: ReadonlySet<number> = new Set([1, 25, 100, 250]);
const DEFAULT_LEN = 25;
const CHECKSUM_LEVELS = 25;
/** Steps between two heartbeats. */
const HEARTBEAT_STEPS = 5;

interface Channel {
  readonly chanId: number;
  readonly symbol: string;
  readonly len: number;
  view: TextBook;
}

/** A raw (R0) book subscription: the orders of the view last sent, by id. */
interface RawChannel {
  readonly chanId: number;
  readonly symbol: string;
  readonly len: number;
  view: Map<string, RestingOrder>;
}

interface TradesChannel {
  readonly chanId: number;
  readonly symbol: string;
}

interface ConnState {
  flags: number;
  /** Next sequence number of this connection. */
  seq: number;
  readonly channels: Map<number, Channel>;
  readonly raw: Map<number, RawChannel>;
  readonly trades: Map<number, TradesChannel>;
}

/** The best `len` orders of each side, priority order. */
function rawView(book: L3TrueBook, len: number): { bids: RestingOrder[]; asks: RestingOrder[] } {
  return { bids: book.orders('bid').slice(0, len), asks: book.orders('ask').slice(0, len) };
}

/** `[ORDER_ID,PRICE,AMOUNT]` of an order (asks negative); numbers as the venue's JSON numbers. */
function rawEntry(o: RestingOrder): string {
  return `[${o.id},${num(o.price)},${o.side === 'ask' ? String(-Number(o.size)) : num(o.size)}]`;
}

/** The raw-book checksum of a view: the 25 best orders per side interleaved `id:amount`, asks negative. */
function rawChecksum(view: { bids: RestingOrder[]; asks: RestingOrder[] }): number {
  const parts: string[] = [];
  for (let i = 0; i < CHECKSUM_LEVELS; i++) {
    const b = view.bids[i];
    const a = view.asks[i];
    if (b !== undefined) parts.push(b.id, num(b.size));
    if (a !== undefined) parts.push(a.id, String(-Number(a.size)));
  }
  return crc32(parts.join(':')) | 0;
}

function stateOf(conn: EmulatorConnection): ConnState {
  return conn.settings.get('state') as ConnState;
}

/** A plausible order count for a level, stable for a given size. */
function orderCount(size: string): number {
  let h = 0;
  for (let i = 0; i < size.length; i++) h = (h * 31 + size.charCodeAt(i)) % 97;
  return 1 + (h % 9);
}

/** The venue's JSON number for decimal text (`"0.50"` -> `0.5`): Bitfinex sends floats. */
function num(text: string): string {
  return String(Number(text));
}

/** `[price,count,amount]` of a level; `size` `"0"` deletes. */
function entry(px: string, size: string, ask: boolean): string {
  const deleted = size === '0' || /^0(\.0*)?$/.test(size);
  if (deleted) return `[${num(px)},0,${ask ? -1 : 1}]`;
  return `[${num(px)},${orderCount(size)},${ask ? String(-Number(size)) : num(size)}]`;
}

function bitfinexViewChecksum(view: TextBook): number {
  const parts: string[] = [];
  for (let i = 0; i < CHECKSUM_LEVELS; i++) {
    const b = view.bids[i];
    const a = view.asks[i];
    if (b !== undefined) parts.push(num(b[0]), num(b[1]));
    if (a !== undefined) parts.push(num(a[0]), String(-Number(a[1])));
  }
  return crc32(parts.join(':')) | 0;
}

class BitfinexVenue extends SinglePathVenue implements EmulatorVenue {
  private nextChanId = 17_000;

  constructor(ctx: VenueContext) {
    super(ctx, '/ws/2', HEARTBEAT_STEPS);
  }

  onOpen(conn: EmulatorConnection): void {
    conn.settings.set('state', {
      flags: 0,
      seq: 1,
      channels: new Map(),
      raw: new Map(),
      trades: new Map(),
    } satisfies ConnState);
    const serverId = `0e1f5c2a-emu-${conn.id.replace('#', '-')}`;
    conn.sendReply(JSON.stringify({ event: 'info', version: 2, serverId, platform: { status: 1 } }));
  }

  onMessage(conn: EmulatorConnection, text: string): void {
    const st = stateOf(conn);
    const o = tryJson(text);
    const error = (code: number, msg: string, extra: Record<string, unknown> = {}) =>
      conn.sendReply(JSON.stringify({ event: 'error', ...extra, msg, code }));
    if (!isRecord(o) || typeof o.event !== 'string') {
      error(10000, 'Unknown event');
      return;
    }
    switch (o.event) {
      case 'ping': {
        this.ctx.pingReceived();
        conn.pong(
          JSON.stringify({ event: 'pong', ts: this.ctx.nowMs(), ...(o.cid === undefined ? {} : { cid: o.cid }) }),
        );
        return;
      }
      case 'conf': {
        if (typeof o.flags !== 'number' || !Number.isSafeInteger(o.flags) || o.flags < 0) {
          error(10305, 'conf: invalid flags');
          return;
        }
        st.flags = o.flags;
        conn.sendReply(JSON.stringify({ event: 'conf', status: 'OK', flags: o.flags }));
        return;
      }
      case 'unsubscribe': {
        const chanId = Number(o.chanId);
        if (!st.channels.delete(chanId) && !st.raw.delete(chanId) && !st.trades.delete(chanId)) {
          error(10400, 'unsubscribe: invalid', { chanId });
          return;
        }
        conn.subscriptions.delete(String(chanId));
        conn.sendReply(JSON.stringify({ event: 'unsubscribed', status: 'OK', chanId }));
        return;
      }
      case 'subscribe':
        this.subscribe(conn, st, o, error);
        return;
      default:
        error(10000, 'Unknown event');
    }
  }

  private subscribe(
    conn: EmulatorConnection,
    st: ConnState,
    o: Record<string, unknown>,
    error: (code: number, msg: string, extra?: Record<string, unknown>) => void,
  ): void {
    const symbol = typeof o.symbol === 'string' ? o.symbol : '';
    const prec = o.prec ?? 'P0';
    const lenText = o.len ?? String(DEFAULT_LEN);
    const len = Number(lenText);
    const echo = { channel: o.channel, symbol, prec, len: String(lenText) };
    if (o.channel === 'trades') {
      this.subscribeTrades(conn, st, symbol, error);
      return;
    }
    if (o.channel !== 'book') {
      error(10300, 'Subscription failed (generic)', echo);
      return;
    }
    const book = this.ctx.books.get(symbol);
    if (book === undefined) {
      error(10300, 'symbol: invalid', echo);
      return;
    }
    if ((prec !== 'P0' && prec !== 'R0') || !LENGTHS.has(len)) {
      error(10300, prec !== 'P0' && prec !== 'R0' ? 'prec: invalid' : 'len: invalid', echo);
      return;
    }
    if ([...st.channels.values(), ...st.raw.values()].some((c) => c.symbol === symbol)) {
      error(10301, 'subscribe: dup', echo);
      return;
    }
    if (prec === 'R0') {
      this.subscribeRaw(conn, st, symbol, len);
      return;
    }
    const ch: Channel = { chanId: this.nextChanId++, symbol, len, view: book.top(len) };
    st.channels.set(ch.chanId, ch);
    conn.subscriptions.add(String(ch.chanId));
    conn.sendReply(
      JSON.stringify({
        event: 'subscribed',
        channel: 'book',
        chanId: ch.chanId,
        symbol,
        prec: 'P0',
        freq: 'F0',
        len: String(len),
        pair: symbol.slice(1),
      }),
    );
    const entries = [
      ...ch.view.bids.map(([p, s]) => entry(p, s, false)),
      ...ch.view.asks.map(([p, s]) => entry(p, s, true)),
    ];
    conn.sendData(this.frame(st, ch.chanId, `[${entries.join(',')}]`));
    this.ctx.snapshotServed();
  }

  private subscribeTrades(
    conn: EmulatorConnection,
    st: ConnState,
    symbol: string,
    error: (code: number, msg: string, extra?: Record<string, unknown>) => void,
  ): void {
    if (this.ctx.l3Book(symbol) === undefined) {
      error(10300, 'symbol: invalid', { channel: 'trades', symbol });
      return;
    }
    if ([...st.trades.values()].some((c) => c.symbol === symbol)) {
      error(10301, 'subscribe: dup', { channel: 'trades', symbol });
      return;
    }
    const ch: TradesChannel = { chanId: this.nextChanId++, symbol };
    st.trades.set(ch.chanId, ch);
    conn.subscriptions.add(String(ch.chanId));
    conn.sendReply(
      JSON.stringify({ event: 'subscribed', channel: 'trades', chanId: ch.chanId, symbol, pair: symbol.slice(1) }),
    );
    conn.sendData(this.frame(st, ch.chanId, '[]'));
  }

  private subscribeRaw(conn: EmulatorConnection, st: ConnState, symbol: string, len: number): void {
    const book = this.ctx.l3Book(symbol) as L3TrueBook;
    const view = rawView(book, len);
    const ch: RawChannel = { chanId: this.nextChanId++, symbol, len, view: new Map() };
    for (const o of [...view.bids, ...view.asks]) ch.view.set(o.id, o);
    st.raw.set(ch.chanId, ch);
    conn.subscriptions.add(String(ch.chanId));
    conn.sendReply(
      JSON.stringify({
        event: 'subscribed',
        channel: 'book',
        chanId: ch.chanId,
        symbol,
        prec: 'R0',
        freq: 'F0',
        len: String(len),
        pair: symbol.slice(1),
      }),
    );
    const entries = [...view.bids, ...view.asks].map(rawEntry);
    conn.sendData(this.frame(st, ch.chanId, `[${entries.join(',')}]`));
    this.ctx.snapshotServed();
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    let view: { bids: RestingOrder[]; asks: RestingOrder[] } | undefined;
    for (const conn of this.ctx.connections()) {
      const st = stateOf(conn);
      for (const ch of st.raw.values()) {
        if (ch.symbol !== book.symbol) continue;
        view ??= rawView(book, Number.POSITIVE_INFINITY);
        const next = { bids: view.bids.slice(0, ch.len), asks: view.asks.slice(0, ch.len) };
        const nextIds = new Set<string>();
        for (const o of next.bids) nextIds.add(o.id);
        for (const o of next.asks) nextIds.add(o.id);
        const frames: string[] = [];
        for (const [id, o] of ch.view) if (!nextIds.has(id)) frames.push(`[${id},0,${o.side === 'ask' ? -1 : 1}]`);
        const changed = (o: RestingOrder) => {
          const was = ch.view.get(o.id);
          return was === undefined || was.priceTicks !== o.priceTicks || was.lots !== o.lots || was.side !== o.side;
        };
        for (const o of [...next.bids, ...next.asks]) if (changed(o)) frames.push(rawEntry(o));
        if (frames.length === 0) continue;
        ch.view = new Map();
        for (const o of [...next.bids, ...next.asks]) ch.view.set(o.id, o);
        for (const f of frames) conn.sendUpdate(this.frame(st, ch.chanId, f));
        if ((st.flags & FLAG_CHECKSUM) !== 0) {
          const cs = rawChecksum(next);
          const seq = st.seq;
          conn.sendUpdate(this.frame(st, ch.chanId, `"cs",${cs}`), {
            corrupt: () => this.frameAt(st, seq, ch.chanId, `"cs",${(cs ^ 0x5a5a5a5a) | 0 || 1}`),
          });
        }
      }
      for (const ch of st.trades.values()) {
        if (ch.symbol !== book.symbol) continue;
        for (const e of events) {
          if (e.kind !== 'trade') continue;
          const amount = e.aggressor === 'buy' ? num(e.size) : String(-Number(e.size));
          const body = `[${Number(e.tradeId)},${e.tsMs},${amount},${num(e.price)}]`;
          conn.sendUpdate(this.frame(st, ch.chanId, `"te",${body}`));
          conn.sendUpdate(this.frame(st, ch.chanId, `"tu",${body}`));
        }
      }
    }
  }

  onAdvance(book: TrueBook, _delta: L2StreamDelta): void {
    for (const conn of this.ctx.connections()) {
      const st = stateOf(conn);
      for (const ch of st.channels.values()) {
        if (ch.symbol !== book.symbol) continue;
        const change = advanceView(ch, book, ch.len);
        if (change === undefined) continue;
        const { bids, asks } = change;
        // Deletes first: the client truncates to `len` after every frame, so an entering level must not
        // arrive while the leaving ones still fill the view.
        const isDel = (l: TextLevel) => l[1] === '0';
        const ordered: [TextLevel, boolean][] = [
          ...bids.filter(isDel).map((l): [TextLevel, boolean] => [l, false]),
          ...asks.filter(isDel).map((l): [TextLevel, boolean] => [l, true]),
          ...bids.filter((l) => !isDel(l)).map((l): [TextLevel, boolean] => [l, false]),
          ...asks.filter((l) => !isDel(l)).map((l): [TextLevel, boolean] => [l, true]),
        ];
        for (const [l, ask] of ordered) conn.sendUpdate(this.frame(st, ch.chanId, entry(l[0], l[1], ask)));
        if ((st.flags & FLAG_CHECKSUM) !== 0) {
          const cs = bitfinexViewChecksum(ch.view);
          const seq = st.seq;
          const frame = this.frame(st, ch.chanId, `"cs",${cs}`);
          conn.sendUpdate(frame, {
            corrupt: () => this.frameAt(st, seq, ch.chanId, `"cs",${(cs ^ 0x5a5a5a5a) | 0 || 1}`),
          });
        }
      }
    }
    if (this.heartbeat.due(book.symbol)) {
      for (const conn of this.ctx.connections()) {
        const st = stateOf(conn);
        for (const ch of st.channels.values()) conn.sendData(this.frame(st, ch.chanId, '"hb"'));
        for (const ch of st.raw.values()) conn.sendData(this.frame(st, ch.chanId, '"hb"'));
        for (const ch of st.trades.values()) conn.sendData(this.frame(st, ch.chanId, '"hb"'));
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return /^\/v2\/book\/[^/]+\/P0$/.test(path);
  }

  restFault(status: 429 | 418): RestReply {
    return { status, body: '["error",11010,"ratelimit: error"]' };
  }

  rest(path: string, q: URLSearchParams): RestReply {
    if (path === '/v2/conf/pub:list:pair:exchange') {
      return json(200, [[...this.ctx.books.keys()].map((s) => s.slice(1))]);
    }
    const m = /^\/v2\/book\/([^/]+)\/(P[0-4]|R0)$/.exec(path);
    if (m?.[1] !== undefined) {
      const book = this.ctx.books.get(m[1]);
      const len = Number(q.get('len') ?? DEFAULT_LEN);
      if (book === undefined || m[2] !== 'P0' || !LENGTHS.has(len)) {
        return { status: 500, body: '["error",10020,"symbol: invalid"]' };
      }
      const top = book.top(len);
      this.ctx.snapshotServed();
      const entries = [...top.bids.map(([p, s]) => entry(p, s, false)), ...top.asks.map(([p, s]) => entry(p, s, true))];
      return { status: 200, body: `[${entries.join(',')}]` };
    }
    return { status: 404, body: '["error",10020,"not found"]' };
  }

  /** A channel frame, with the connection's next sequence number when SEQ_ALL is on. */
  private frame(st: ConnState, chanId: number, body: string): string {
    if ((st.flags & FLAG_SEQ_ALL) === 0) return `[${chanId},${body}]`;
    return this.frameAt(st, st.seq++, chanId, body);
  }

  private frameAt(st: ConnState, seq: number, chanId: number, body: string): string {
    return (st.flags & FLAG_SEQ_ALL) === 0 ? `[${chanId},${body}]` : `[${chanId},${body},${seq}]`;
  }
}

const INSTRUMENTS: InstrumentShapes = {
  BTC: { mid: '65000', tick: '1', lot: '0.0001' },
  ETH: { mid: '3500.0', tick: '0.1', lot: '0.001' },
  other: { mid: '1.0000', tick: '0.0001', lot: '0.1' },
};

function bitfinexInstrument(symbol: string): SimInstrument {
  return instrumentFor(baseQuote(symbol.slice(1))[0], INSTRUMENTS);
}

export const bitfinexEmulator: EmulatorVenueModule = {
  id: 'bitfinex',
  defaultSymbols: ['tBTCUSD', 'tETHUSD'],
  hasChecksum: true,
  serverPings: false,
  instrument: bitfinexInstrument,
  create: (ctx) => new BitfinexVenue(ctx),
};
