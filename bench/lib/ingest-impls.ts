/**
 * The ingestion paths the ingestion benchmark compares, each fed the same transport events:
 * - qob: our venue feed handler (`handler.onFrame(conn, text, ts)`: JSON parse, sync rules, exact book
 *   update, checksum verification);
 * - tardis-dev: its real-time path as `streamNormalized` runs it: `JSON.parse(frame)`, the exchange's
 *   `normalizeBookChanges` mapper (`canHandle` then `map(message, localTimestamp)`), then its `OrderBook`
 *   `update(bookChange)`; REST snapshots become the generated snapshot messages its real-time feeds inject;
 * - ccxt: ccxt pro's watchOrderBook handler, driven offline: `new ccxt.pro.<id>()` with the market set
 *   by hand, `exchange.handleMessage(client, JSON.parse(frame))` with a minimal client object, the book
 *   seeded from the REST snapshot as its `fetchOrderBookSnapshot` does.
 * Each implementation also emits one top-of-book event per frame (best bid and ask, price and size), the
 * way a consumer would read the book after every update.
 */
import { createRequire } from 'node:module';
import type { L2Book } from '../../src/book/l2-book.ts';
import type { VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { venueById } from '../../src/venues/index.ts';
import type { Ev, Workload } from './ingest-frames.ts';

export type NumLevel = [number, number];
export interface TopBook {
  bids: NumLevel[];
  asks: NumLevel[];
}

export interface Runner {
  /** Feeds one transport event. */
  feed(ev: Ev): void;
  /** The top-of-book event after a frame (synthetic workloads: their one book); returns a number to keep it alive. */
  emit(): number;
  /** The `n` best levels per side of every book, keyed by a normalized symbol. */
  books(n: number): Map<string, TopBook>;
  /** Ours only: integrity problems seen (gaps, checksum failures, bad frames), or undefined. */
  integrity?(): string | undefined;
}

export interface Impl {
  readonly name: string;
  /** A runner for the workload, or the reason it cannot run it. */
  create(w: Workload): Runner | string;
}

/** Upper case, letters and digits only, category prefixes removed (`linear:BTCUSDT`, `tBTCUSD`). */
export function normSymbol(venue: string, s: string): string {
  let k = s.replace(/^(spot|linear|inverse|option):/, '');
  if (venue === 'bitfinex' && k.startsWith('t')) k = k.slice(1);
  return k.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

const require = createRequire(import.meta.url);

// ---- ours ------------------------------------------------------------------------------------------

export const qobImpl: Impl = {
  name: 'qob',
  create(w) {
    const reg = venueById(w.venue);
    if (reg === undefined) return `no venue ${w.venue}`;
    const h: VenueFeedHandler = reg.createFeedHandler();
    let book: L2Book | undefined;
    return {
      feed(ev) {
        switch (ev.k) {
          case 'recv':
            h.onFrame(ev.conn, ev.data, ev.tsMs);
            return;
          case 'http':
            h.onHttp(ev.url, ev.data, ev.tsMs);
            return;
          case 'connect':
            h.onConnect(ev.conn, ev.url, ev.tsMs);
            return;
          case 'send':
            h.onSend(ev.conn, ev.data, ev.tsMs);
            return;
        }
      },
      emit() {
        if (book === undefined) {
          for (const tb of h.books()) book = tb.book;
          if (book === undefined) return 0;
        }
        const b = book.bestBid();
        const a = book.bestAsk();
        return (b?.price.length ?? 0) + (b?.size.length ?? 0) + (a?.price.length ?? 0) + (a?.size.length ?? 0);
      },
      books(n) {
        const out = new Map<string, TopBook>();
        for (const tb of h.books()) {
          if (tb.status !== 'in_sync') continue;
          const lv = (side: 'bid' | 'ask') =>
            tb.book.levels(side, n).map((l): NumLevel => [Number(l.price), Number(l.size)]);
          out.set(normSymbol(w.venue, tb.symbol), { bids: lv('bid'), asks: lv('ask') });
        }
        return out;
      },
      integrity() {
        const problems: string[] = [];
        if (h.counters.malformed + h.counters.unknown > 0) problems.push(JSON.stringify(h.counters));
        for (const tb of h.books()) {
          const r = tb.report();
          if (r.gaps + r.checksumFailures + r.crossed > 0 || r.status !== 'in_sync') {
            problems.push(`${r.symbol}: ${r.status}, gaps ${r.gaps}, checksum failures ${r.checksumFailures}`);
          }
        }
        return problems.length === 0 ? undefined : problems.join('; ');
      },
    };
  },
};

// ---- tardis-dev --------------------------------------------------------------------------------------

interface TardisLevel {
  price: number;
  amount: number;
}
interface TardisBookChange {
  type: string;
  symbol: string;
  isSnapshot: boolean;
  bids: TardisLevel[];
  asks: TardisLevel[];
}
interface TardisMapper {
  canHandle(message: unknown): boolean;
  map(message: unknown, localTimestamp: Date): IterableIterator<TardisBookChange>;
}
interface TardisOrderBook {
  update(change: TardisBookChange): void;
  bestBid(): TardisLevel | undefined;
  bestAsk(): TardisLevel | undefined;
  bids(): IterableIterator<TardisLevel>;
  asks(): IterableIterator<TardisLevel>;
}

/** Our venue id -> tardis-dev exchange id. Coinbase: tardis-dev maps the legacy Exchange level2 feed only. */
const TARDIS_EXCHANGE: Readonly<Record<string, string>> = {
  binance: 'binance',
  'binance-usdm': 'binance-futures',
  bybit: 'bybit',
  okx: 'okex',
  kraken: 'kraken',
  bitstamp: 'bitstamp',
  bitfinex: 'bitfinex',
};

/** REST snapshots as tardis-dev's real-time feeds inject them into the stream (`generated: true`). */
function tardisSnapshotMessage(venue: string, ev: Ev): unknown {
  if (venue === 'binance' || venue === 'binance-usdm') {
    const m = /\/(?:api\/v3|fapi\/v1)\/depth\?symbol=([A-Z0-9]+)/.exec(ev.url);
    if (m?.[1] === undefined) return undefined;
    return { stream: `${m[1].toLowerCase()}@depthSnapshot`, generated: true, data: JSON.parse(ev.data) };
  }
  if (venue === 'bitstamp') {
    const m = /\/api\/v2\/order_book\/([a-z0-9]+)/.exec(ev.url);
    if (m?.[1] === undefined) return undefined;
    return { channel: `diff_order_book_${m[1]}`, event: 'snapshot', generated: true, data: JSON.parse(ev.data) };
  }
  return undefined;
}

export function loadTardis(): Impl | string {
  let normalizeBookChanges: (exchange: string, localTimestamp: Date) => TardisMapper;
  let OrderBook: new () => TardisOrderBook;
  let BybitV5BookChangeMapper: new (exchange: string, depth: number) => TardisMapper;
  try {
    ({ BybitV5BookChangeMapper } = require('tardis-dev/dist/mappers/bybit.js') as {
      BybitV5BookChangeMapper: typeof BybitV5BookChangeMapper;
    });
    ({ normalizeBookChanges } = require('tardis-dev/dist/mappers/index.js') as {
      normalizeBookChanges: typeof normalizeBookChanges;
    });
    ({ OrderBook } = require('tardis-dev/dist/orderbook.js') as { OrderBook: typeof OrderBook });
  } catch (e) {
    return `tardis-dev not installed (${(e as Error).message.split('\n')[0]})`;
  }
  return {
    name: 'tardis-dev',
    create(w) {
      const exchange = TARDIS_EXCHANGE[w.venue];
      if (exchange === undefined) return "tardis-dev maps only Coinbase's legacy Exchange level2 feed, not l2_data";
      // tardis-dev's real-time bybit mapper subscribes to orderbook.50; the same class reads orderbook.200.
      const mapper =
        exchange === 'bybit' ? new BybitV5BookChangeMapper('bybit', 200) : normalizeBookChanges(exchange, new Date());
      const books = new Map<string, TardisOrderBook>();
      let last: TardisOrderBook | undefined;
      const apply = (message: unknown, ts: Date) => {
        if (!mapper.canHandle(message)) return;
        for (const bc of mapper.map(message, ts)) {
          let b = books.get(bc.symbol);
          if (b === undefined) books.set(bc.symbol, (b = new OrderBook()));
          b.update(bc);
          last = b;
        }
      };
      return {
        feed(ev) {
          if (ev.k === 'recv') {
            // As its real-time feed does: one local timestamp and one JSON.parse per frame.
            apply(JSON.parse(ev.data), new Date());
          } else if (ev.k === 'http') {
            const m = tardisSnapshotMessage(w.venue, ev);
            if (m !== undefined) apply(m, new Date());
          }
        },
        emit() {
          const b = last?.bestBid();
          const a = last?.bestAsk();
          return (b?.price ?? 0) + (b?.amount ?? 0) + (a?.price ?? 0) + (a?.amount ?? 0);
        },
        books(n) {
          const out = new Map<string, TopBook>();
          const top = (it: IterableIterator<TardisLevel>) => {
            const r: NumLevel[] = [];
            for (const l of it) {
              if (r.length === n) break;
              r.push([l.price, l.amount]);
            }
            return r;
          };
          for (const [sym, b] of books) out.set(normSymbol(w.venue, sym), { bids: top(b.bids()), asks: top(b.asks()) });
          return out;
        },
      };
    },
  };
}

// ---- ccxt pro ----------------------------------------------------------------------------------------

type CcxtSide = NumLevel[];
interface CcxtOrderBook {
  bids: CcxtSide;
  asks: CcxtSide;
  reset(snapshot: unknown): void;
  nonce?: number;
  cache: unknown[];
  symbol?: string;
}
interface CcxtExchange {
  orderbooks: Record<string, CcxtOrderBook>;
  setMarkets(markets: unknown[]): void;
  handleMessage(client: unknown, message: unknown): void;
  orderBook(snapshot: unknown, limit?: number): CcxtOrderBook;
  parseOrderBook(o: unknown, symbol: string, ts?: number, bidsKey?: string, asksKey?: string): unknown;
}
type CcxtPro = Record<string, new (config?: unknown) => CcxtExchange>;

interface CcxtVenue {
  readonly id: string;
  readonly url: string;
  readonly market: Record<string, unknown>;
  /** The watchOrderBook subscription key ccxt looks up in `client.subscriptions`. */
  readonly messageHash: string;
  /** Seeds the book as ccxt's own subscription flow does before the first frame. */
  seed?(ex: CcxtExchange, ev: Ev): void;
}

function market(id: string, symbol: string, type: 'spot' | 'swap', extra: Record<string, unknown> = {}) {
  const [base, rest] = symbol.split('/') as [string, string];
  const quote = rest.split(':')[0] as string;
  return {
    id,
    symbol,
    base,
    quote,
    baseId: base,
    quoteId: quote,
    type,
    spot: type === 'spot',
    swap: type === 'swap',
    future: false,
    option: false,
    contract: type === 'swap',
    linear: type === 'swap' ? true : undefined,
    inverse: type === 'swap' ? false : undefined,
    settle: type === 'swap' ? quote : undefined,
    settleId: type === 'swap' ? quote : undefined,
    active: true,
    precision: { price: 0.1, amount: 0.00001 },
    limits: { amount: {}, price: {}, cost: {} },
    info: {},
    ...extra,
  };
}

/** Binance: the REST snapshot seeds the book (fetchOrderBookSnapshot: `orderbook.reset(snapshot)`, nonce). */
function binanceSeed(symbol: string) {
  return (ex: CcxtExchange, ev: Ev) => {
    if (ev.k !== 'http') return;
    const body = JSON.parse(ev.data) as { lastUpdateId: number };
    const ob = ex.orderBook({}, 1000);
    ob.reset(ex.parseOrderBook(body, symbol));
    ob.nonce = body.lastUpdateId;
    ex.orderbooks[symbol] = ob;
  };
}

const CCXT_VENUES: Readonly<Record<string, readonly [string, CcxtVenue]>> = {
  binance: [
    'binance',
    {
      id: 'binance',
      url: 'wss://stream.binance.com:9443/stream',
      market: market('BTCUSDT', 'BTC/USDT', 'spot'),
      messageHash: 'orderbook::BTC/USDT',
      seed: binanceSeed('BTC/USDT'),
    },
  ],
  'binance-usdm': [
    'binanceusdm',
    {
      id: 'binanceusdm',
      url: 'wss://fstream.binance.com/ws',
      market: market('BTCUSDT', 'BTC/USDT:USDT', 'swap'),
      messageHash: 'orderbook::BTC/USDT:USDT',
      seed: binanceSeed('BTC/USDT:USDT'),
    },
  ],
  bybit: [
    'bybit',
    {
      id: 'bybit',
      url: 'wss://stream.bybit.com/v5/public/spot',
      market: market('BTCUSDT', 'BTC/USDT', 'spot'),
      messageHash: 'orderbook:BTC/USDT',
    },
  ],
  okx: [
    'okx',
    {
      id: 'okx',
      url: 'wss://ws.okx.com:8443/ws/v5/public',
      market: market('BTC-USDT', 'BTC/USDT', 'spot'),
      messageHash: 'books:BTC/USDT',
    },
  ],
};

export async function loadCcxt(): Promise<Impl | string> {
  let pro: CcxtPro;
  try {
    const mod = (await import('ccxt')) as unknown as { pro?: CcxtPro; default?: { pro?: CcxtPro } };
    const p = mod.pro ?? mod.default?.pro;
    if (p === undefined) return 'ccxt installed without ccxt.pro';
    pro = p;
  } catch (e) {
    return `ccxt not installed (${(e as Error).message.split('\n')[0]})`;
  }
  return {
    name: 'ccxt',
    create(w) {
      const spec = CCXT_VENUES[w.venue];
      if (spec === undefined) return 'not driven offline here (binance, binance-usdm, bybit and okx are)';
      if (w.source !== 'synthetic') return 'synthetic frames only (markets are set by hand)';
      const [cls, v] = spec;
      const Ctor = pro[cls];
      if (Ctor === undefined) return `ccxt.pro.${cls} missing`;
      const ex = new Ctor({ enableRateLimit: false });
      ex.setMarkets([v.market]);
      const symbol = v.market.symbol as string;
      const noop = () => {};
      // The few members ccxt's handlers touch on a ws Client: url, subscriptions, resolve, reject.
      const client = { url: v.url, subscriptions: { [v.messageHash]: true }, resolve: noop, reject: noop, futures: {} };
      return {
        feed(ev) {
          if (ev.k === 'recv') ex.handleMessage(client, JSON.parse(ev.data));
          else if (ev.k === 'http') v.seed?.(ex, ev);
        },
        emit() {
          const ob = ex.orderbooks[symbol];
          const b = ob?.bids[0];
          const a = ob?.asks[0];
          return (b?.[0] ?? 0) + (b?.[1] ?? 0) + (a?.[0] ?? 0) + (a?.[1] ?? 0);
        },
        books(n) {
          const out = new Map<string, TopBook>();
          const ob = ex.orderbooks[symbol];
          if (ob !== undefined) {
            const top = (s: CcxtSide) => s.slice(0, n).map((l): NumLevel => [l[0], l[1]]);
            out.set(normSymbol(w.venue, v.market.id as string), { bids: top(ob.bids), asks: top(ob.asks) });
          }
          return out;
        },
      };
    },
  };
}
