/**
 * OKX v5 public (`/okx`) as the emulator speaks it (www.okx.com/docs-v5/en/#overview-websocket and the
 * order book channel).
 *
 * WebSocket `/ws/v5/public`:
 * - `{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}` -> per arg
 *   `{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":..}` (with `"id"` when
 *   the request had one), then `{"arg",..,"action":"snapshot","data":[{"asks","bids","ts","checksum",
 *   "prevSeqId":-1,"seqId"}]}` and `update`s with `prevSeqId` = previous `seqId` (`seqId` may jump by
 *   more than one). Levels are `[px, sz, "0", orders]`; a delete has size `"0"`. The checksum is the real
 *   one (CRC32 of the top 25 levels interleaved, signed), computed from the text sent.
 * - Errors: `{"event":"error","code":"60012"|"60018","msg":..,"connId":..}`.
 * - Text `ping` -> text `pong`.
 * Channels: `books` and `books-l2-tbt` (400 levels), `books50-l2-tbt` (50): updates describe the
 * fixed-depth view, so a level leaving it is deleted.
 * - `trades`: the trades of the symbol's L3 true book (matching engine + agent flow), one push per trade
 *   `{"arg":{"channel":"trades","instId"},"data":[{"instId","tradeId","px","sz","side","ts","count":"1"}]}`,
 *   `side` the taker's.
 * REST: `GET /api/v5/public/instruments?instType=SPOT`, `GET /api/v5/market/books?instId=&sz=`.
 */
import type { L2StreamDelta } from '../../sim/l2-stream.ts';
import type { EngineEvent } from '../../sim/matching-engine.ts';
import { okxChecksum } from '../../venues/okx/checksum.ts';
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

const CHANNEL_DEPTH: ReadonlyMap<string, number> = new Map([
  ['books', 400],
  ['books-l2-tbt', 400],
  ['books50-l2-tbt', 50],
]);
const FIRST_SEQ = 100_000;

interface ChannelState {
  readonly channel: string;
  readonly instId: string;
  readonly depth: number;
  seqId: number;
  view: TextBook;
}

/** OKX level: `[px, sz, liquidated orders (deprecated, "0"), orders]`. */
function okxLevels(levels: readonly (readonly [string, string])[]): string[][] {
  return levels.map(([px, sz]) => {
    if (sz === '0' || /^0(\.0*)?$/.test(sz)) return [px, '0', '0', '0'];
    let h = 0;
    for (let i = 0; i < sz.length; i++) h = (h * 31 + sz.charCodeAt(i)) % 97;
    return [px, sz, '0', String(1 + (h % 9))];
  });
}

class OkxVenue implements EmulatorVenue {
  private readonly ctx: VenueContext;
  private readonly channels = new Map<string, ChannelState[]>();

  constructor(ctx: VenueContext) {
    this.ctx = ctx;
  }

  acceptsWs(path: string): boolean {
    return path === '/ws/v5/public';
  }

  onOpen(_conn: EmulatorConnection): void {}

  onMessage(conn: EmulatorConnection, text: string): void {
    if (text === 'ping') {
      this.ctx.pingReceived();
      conn.pong('pong');
      return;
    }
    const o = tryJson(text);
    const id = isRecord(o) && typeof o.id === 'string' ? o.id : undefined;
    const withId = (v: Record<string, unknown>) => JSON.stringify(id === undefined ? v : { id, ...v });
    const error = (code: string, msg: string) => conn.sendReply(withId({ event: 'error', code, msg, connId: conn.id }));
    if (!isRecord(o) || (o.op !== 'subscribe' && o.op !== 'unsubscribe') || !Array.isArray(o.args)) {
      error('60012', `Invalid request: ${text.slice(0, 200)}`);
      return;
    }
    const args = o.args as unknown[];
    if (!args.every((a) => isRecord(a) && typeof a.channel === 'string' && typeof a.instId === 'string')) {
      error('60012', `Invalid request: ${text.slice(0, 200)}`);
      return;
    }
    for (const a of args as { channel: string; instId: string }[]) {
      const arg = { channel: a.channel, instId: a.instId };
      const key = `${a.channel}:${a.instId}`;
      if (o.op === 'unsubscribe') {
        conn.subscriptions.delete(key);
        conn.sendReply(withId({ event: 'unsubscribe', arg, connId: conn.id }));
        continue;
      }
      if (a.channel === 'trades' && this.ctx.l3Book(a.instId) !== undefined) {
        conn.subscriptions.add(key);
        conn.sendReply(withId({ event: 'subscribe', arg, connId: conn.id }));
        continue;
      }
      const depth = CHANNEL_DEPTH.get(a.channel);
      if (depth === undefined || !this.ctx.books.has(a.instId)) {
        error(
          '60018',
          `Wrong URL or channel:${a.channel},instId:${a.instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
        );
        continue;
      }
      conn.subscriptions.add(key);
      conn.sendReply(withId({ event: 'subscribe', arg, connId: conn.id }));
      const st = this.state(a.channel, a.instId, depth);
      conn.sendData(this.push(st, 'snapshot', -1, st.view.bids, st.view.asks));
      this.ctx.snapshotServed();
    }
  }

  onAdvanceL3(book: L3TrueBook, events: readonly EngineEvent[]): void {
    const key = `trades:${book.symbol}`;
    for (const e of events) {
      if (e.kind !== 'trade') continue;
      const frame = `{"arg":{"channel":"trades","instId":"${book.symbol}"},"data":[{"instId":"${book.symbol}","tradeId":"${Number(e.tradeId)}","px":"${e.price}","sz":"${e.size}","side":"${e.aggressor}","ts":"${e.tsMs}","count":"1"}]}`;
      for (const conn of this.ctx.connections()) if (conn.subscriptions.has(key)) conn.sendUpdate(frame);
    }
  }

  onAdvance(book: TrueBook, _delta: L2StreamDelta): void {
    const states = this.channels.get(book.symbol);
    if (states === undefined) return;
    for (const st of states) {
      const change = advanceView(st, book, st.depth);
      if (change === undefined) continue;
      const { bids, asks } = change;
      const prev = st.seqId;
      st.seqId += 1 + ((bids.length + asks.length) % 3); // seqId may jump by more than one
      const key = `${st.channel}:${st.instId}`;
      let frame: string | undefined;
      let corrupt: (() => string) | undefined;
      for (const conn of this.ctx.connections()) {
        if (!conn.subscriptions.has(key)) continue;
        if (frame === undefined) {
          frame = this.push(st, 'update', prev, bids, asks);
          const f = frame;
          corrupt = () => {
            const m = /"checksum":(-?\d+)/.exec(f);
            const bad = (Number(m?.[1] ?? 0) ^ 0x5a5a5a5a) | 0 || 1;
            return f.replace(/"checksum":-?\d+/, `"checksum":${bad}`);
          };
        }
        conn.sendUpdate(frame, corrupt === undefined ? {} : { corrupt });
      }
    }
  }

  isSnapshotRequest(path: string): boolean {
    return path === '/api/v5/market/books';
  }

  restFault(status: 429 | 418): RestReply {
    return json(status, { msg: 'Too Many Requests', code: '50011' });
  }

  rest(path: string, q: URLSearchParams): RestReply {
    const ok = (data: unknown[]) => json(200, { code: '0', msg: '', data });
    switch (path) {
      case '/api/v5/public/instruments': {
        const instType = q.get('instType');
        if (instType === null || instType === '') {
          return json(400, { code: '50014', msg: 'Parameter instType can not be empty.', data: [] });
        }
        if (instType !== 'SPOT') return ok([]);
        const only = q.get('instId');
        return ok(
          [...this.ctx.books.values()]
            .filter((b) => only === null || b.symbol === only)
            .map((b) => {
              const [baseCcy, quoteCcy] = baseQuote(b.symbol);
              return {
                instType: 'SPOT',
                instId: b.symbol,
                uly: '',
                instFamily: '',
                baseCcy,
                quoteCcy,
                settleCcy: '',
                ctVal: '',
                ctMult: '',
                ctValCcy: '',
                optType: '',
                stk: '',
                listTime: '1606468572000',
                expTime: '',
                lever: '10',
                tickSz: b.instrument.tick,
                lotSz: b.instrument.lot,
                minSz: b.instrument.lot,
                ctType: '',
                alias: '',
                state: 'live',
                maxLmtSz: '9999999999',
                maxMktSz: '1000000',
              };
            }),
        );
      }
      case '/api/v5/market/books': {
        const instId = q.get('instId');
        const book = instId === null ? undefined : this.ctx.books.get(instId);
        if (book === undefined) {
          return json(400, { code: '51001', msg: "Instrument ID doesn't exist.", data: [] });
        }
        const sz = Math.min(Math.max(Number(q.get('sz') ?? 1) || 1, 1), 400);
        const top = book.top(sz);
        this.ctx.snapshotServed();
        return ok([{ asks: okxLevels(top.asks), bids: okxLevels(top.bids), ts: String(this.ctx.nowMs()) }]);
      }
      default:
        return json(404, { code: '404', msg: 'Not Found', data: [] });
    }
  }

  private state(channel: string, instId: string, depth: number): ChannelState {
    const list = this.channels.get(instId) ?? [];
    this.channels.set(instId, list);
    let st = list.find((s) => s.channel === channel);
    if (st === undefined) {
      const book = this.ctx.books.get(instId) as TrueBook;
      st = { channel, instId, depth, seqId: FIRST_SEQ, view: book.top(depth) };
      list.push(st);
    }
    return st;
  }

  private push(
    st: ChannelState,
    action: 'snapshot' | 'update',
    prevSeqId: number,
    bids: readonly (readonly [string, string])[],
    asks: readonly (readonly [string, string])[],
  ): string {
    const checksum = okxChecksum(st.view.bids, st.view.asks);
    const data = {
      asks: okxLevels(asks),
      bids: okxLevels(bids),
      ts: String(this.ctx.nowMs()),
      checksum,
      prevSeqId,
      seqId: st.seqId,
    };
    return JSON.stringify({ arg: { channel: st.channel, instId: st.instId }, action, data: [data] });
  }
}

export const okxEmulator: EmulatorVenueModule = {
  id: 'okx',
  defaultSymbols: ['BTC-USDT', 'ETH-USDT'],
  hasChecksum: true,
  wsBasePath: '/ws/v5/public',
  serverPings: false,
  instrument: (symbol) => defaultInstrument(baseQuote(symbol)[0]),
  create: (ctx) => new OkxVenue(ctx),
};
