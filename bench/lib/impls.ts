/**
 * The order book implementations the book benchmark compares, each behind one small adapter that feeds
 * it the stream in its own natural input form. Ours (`qob`) takes the venue's decimal text. Each peer runs
 * twice: with JS numbers parsed up front, outside every timed region (its best case), and with the same
 * venue text as ours, converted inside the timed region the way its own adapters do (`(text)` rows).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { L2Book } from '../../src/book/l2-book.ts';

/** A level as the stream gives it: venue text. */
export type TextLevel = readonly [string, string];

export interface BenchDelta {
  readonly bids: readonly TextLevel[];
  readonly asks: readonly TextLevel[];
}

export interface BenchStream {
  readonly name: string;
  readonly snapshot: { readonly bids: readonly TextLevel[]; readonly asks: readonly TextLevel[] };
  readonly deltas: readonly BenchDelta[];
}

export type NumLevel = [number, number];

/**
 * One implementation. `prepare` converts a stream to the implementation's input (untimed). When
 * `freshInputPerRun` is set the implementation keeps or mutates the input it is given, so every run
 * gets a newly prepared copy.
 */
export interface Impl<B = unknown, P = unknown> {
  readonly name: string;
  /** What the implementation is fed, for the report. */
  readonly input: string;
  readonly freshInputPerRun: boolean;
  /** Benchmark only the first N deltas of long synthetic streams (implementations too slow for all). */
  readonly maxDeltas?: number;
  prepare(s: BenchStream): P;
  /** A new book holding the stream's snapshot. */
  create(p: P): B;
  applyDelta(b: B, p: P, i: number): void;
  /** Reads price and size of the best bid and the best ask; returns something to keep the reads alive. */
  readTop(b: B): number;
  /** The `n` best levels of a side as numbers, best first. */
  top(b: B, side: 'bid' | 'ask', n: number): NumLevel[];
}

function impl<B, P>(i: Impl<B, P>): Impl {
  return i as unknown as Impl;
}

const num = (l: TextLevel): NumLevel => [Number(l[0]), Number(l[1])];

// ---- ours ------------------------------------------------------------------------------------------

export const qob = impl<L2Book, BenchStream>({
  name: 'qob',
  input: 'venue text ["price","size"] (parsed exactly inside the timed region)',
  freshInputPerRun: false,
  prepare: (s) => s,
  create(s) {
    const b = new L2Book();
    b.applySnapshot(s.snapshot.bids, s.snapshot.asks);
    return b;
  },
  applyDelta(b, s, i) {
    const d = s.deltas[i] as BenchDelta;
    b.applyDelta(d.bids, d.asks);
  },
  readTop(b) {
    return (
      b.bids.bestPrice() +
      (b.bids.bestSize() as string).length +
      b.asks.bestPrice() +
      (b.asks.bestSize() as string).length
    );
  },
  top(b, side, n) {
    return b.levels(side, n).map((l) => [Number(l.price), Number(l.size)]);
  },
});

/** Our text read (`bestBid()`/`bestAsk()` return exact decimal text) for the top-of-book column. */
export function qobReadTopText(b: L2Book): number {
  const bb = b.bestBid();
  const ba = b.bestAsk();
  return (bb?.price.length ?? 0) + (bb?.size.length ?? 0) + (ba?.price.length ?? 0) + (ba?.size.length ?? 0);
}

// ---- ccxt ------------------------------------------------------------------------------------------

interface CcxtSide extends Array<NumLevel> {
  storeArray(delta: NumLevel): void;
}
interface CcxtOrderBook {
  bids: CcxtSide;
  asks: CcxtSide;
}
type CcxtOrderBookCtor = new (snapshot: { bids: NumLevel[]; asks: NumLevel[] }) => CcxtOrderBook;

interface NumStream {
  snapshot: { bids: NumLevel[]; asks: NumLevel[] };
  deltas: { bids: NumLevel[]; asks: NumLevel[] }[];
}

function toNumbers(s: BenchStream, limit = s.deltas.length): NumStream {
  const deltas = new Array(Math.min(limit, s.deltas.length));
  for (let i = 0; i < deltas.length; i++) {
    const d = s.deltas[i] as BenchDelta;
    deltas[i] = { bids: d.bids.map(num), asks: d.asks.map(num) };
  }
  return { snapshot: { bids: s.snapshot.bids.map(num), asks: s.snapshot.asks.map(num) }, deltas };
}

const require = createRequire(import.meta.url);

async function loadCcxt(): Promise<CcxtOrderBookCtor> {
  // ccxt's package exports only its root (which loads every exchange); its ws OrderBook module is
  // self-contained, so load that file directly.
  const root = dirname(dirname(require.resolve('ccxt')));
  const mod = (await import(pathToFileURL(join(root, 'js/src/base/ws/OrderBook.js')).href)) as {
    OrderBook: CcxtOrderBookCtor;
  };
  return mod.OrderBook;
}

/**
 * ccxt fed the venue's text: each level is converted with Number() inside the timed region, as ccxt's
 * exchange classes do (safeFloat/parseNumber) before storeArray().
 */
function ccxtTextImpl(OrderBook: CcxtOrderBookCtor): Impl {
  return impl<CcxtOrderBook, BenchStream>({
    name: 'ccxt (text)',
    input: 'venue text, converted with Number() per level inside the timed region, then storeArray()',
    freshInputPerRun: false,
    maxDeltas: CCXT_TEXT_DELTAS,
    prepare: (s) => s,
    create: (s) => new OrderBook({ bids: s.snapshot.bids.map(num), asks: s.snapshot.asks.map(num) }),
    applyDelta(b, s, i) {
      const d = s.deltas[i] as BenchDelta;
      const bids = b.bids;
      const asks = b.asks;
      for (let j = 0; j < d.bids.length; j++) bids.storeArray(num(d.bids[j] as TextLevel));
      for (let j = 0; j < d.asks.length; j++) asks.storeArray(num(d.asks[j] as TextLevel));
    },
    readTop(b) {
      const bb = b.bids[0] as NumLevel;
      const ba = b.asks[0] as NumLevel;
      return bb[0] + bb[1] + ba[0] + ba[1];
    },
    top(b, side, n) {
      return (side === 'bid' ? b.bids : b.asks).slice(0, n).map((l) => [l[0], l[1]]);
    },
  });
}

/** ccxt is slow on deep books: its text variant gets a prefix of the stream (its row says so). */
const CCXT_TEXT_DELTAS = 5000;

function ccxtImpl(OrderBook: CcxtOrderBookCtor): Impl {
  return impl<CcxtOrderBook, NumStream>({
    name: 'ccxt',
    input: 'numbers [price, size] per level, as ccxt exchanges pass them to storeArray()',
    // storeArray keeps the array it is given as the book row and later writes sizes into it.
    freshInputPerRun: true,
    prepare: (s) => toNumbers(s),
    create: (p) => new OrderBook({ bids: p.snapshot.bids, asks: p.snapshot.asks }),
    applyDelta(b, p, i) {
      const d = p.deltas[i] as NumStream['deltas'][number];
      const bids = b.bids;
      const asks = b.asks;
      for (let j = 0; j < d.bids.length; j++) bids.storeArray(d.bids[j] as NumLevel);
      for (let j = 0; j < d.asks.length; j++) asks.storeArray(d.asks[j] as NumLevel);
    },
    readTop(b) {
      const bb = b.bids[0] as NumLevel;
      const ba = b.asks[0] as NumLevel;
      return bb[0] + bb[1] + ba[0] + ba[1];
    },
    top(b, side, n) {
      return (side === 'bid' ? b.bids : b.asks).slice(0, n).map((l) => [l[0], l[1]]);
    },
  });
}

// ---- tardis-dev ------------------------------------------------------------------------------------

interface TardisLevel {
  price: number;
  amount: number;
}
interface TardisChange {
  isSnapshot: boolean;
  bids: TardisLevel[];
  asks: TardisLevel[];
}
interface TardisOrderBook {
  update(change: TardisChange): void;
  bestBid(): TardisLevel | undefined;
  bestAsk(): TardisLevel | undefined;
  bids(): IterableIterator<TardisLevel>;
  asks(): IterableIterator<TardisLevel>;
}
type TardisCtor = new () => TardisOrderBook;

interface TardisStream {
  snapshot: TardisChange;
  deltas: TardisChange[];
}

function tardisImpl(OrderBook: TardisCtor): Impl {
  const lv = (l: TextLevel): TardisLevel => ({ price: Number(l[0]), amount: Number(l[1]) });
  return impl<TardisOrderBook, TardisStream>({
    name: 'tardis-dev',
    input: 'numbers {price, amount} per level in a book_change, as tardis-dev normalizers emit them',
    freshInputPerRun: false,
    prepare: (s) => ({
      snapshot: { isSnapshot: true, bids: s.snapshot.bids.map(lv), asks: s.snapshot.asks.map(lv) },
      deltas: s.deltas.map((d) => ({ isSnapshot: false, bids: d.bids.map(lv), asks: d.asks.map(lv) })),
    }),
    create(p) {
      const b = new OrderBook();
      b.update(p.snapshot);
      return b;
    },
    applyDelta(b, p, i) {
      b.update(p.deltas[i] as TardisChange);
    },
    readTop(b) {
      const bb = b.bestBid() as TardisLevel;
      const ba = b.bestAsk() as TardisLevel;
      return bb.price + bb.amount + ba.price + ba.amount;
    },
    top(b, side, n) {
      const out: NumLevel[] = [];
      for (const l of side === 'bid' ? b.bids() : b.asks()) {
        if (out.length === n) break;
        out.push([l.price, l.amount]);
      }
      return out;
    },
  });
}

/**
 * tardis-dev fed the venue's text: levels become {price, amount} numbers inside the timed region, as its
 * real-time normalizers do with `Number(...)` before `OrderBook.update`.
 */
function tardisTextImpl(OrderBook: TardisCtor): Impl {
  const lv = (l: TextLevel): TardisLevel => ({ price: Number(l[0]), amount: Number(l[1]) });
  return impl<TardisOrderBook, BenchStream>({
    name: 'tardis-dev (text)',
    input: 'venue text, mapped to {price: Number, amount: Number} inside the timed region, then update()',
    freshInputPerRun: false,
    prepare: (s) => s,
    create(s) {
      const b = new OrderBook();
      b.update({ isSnapshot: true, bids: s.snapshot.bids.map(lv), asks: s.snapshot.asks.map(lv) });
      return b;
    },
    applyDelta(b, s, i) {
      const d = s.deltas[i] as BenchDelta;
      b.update({ isSnapshot: false, bids: d.bids.map(lv), asks: d.asks.map(lv) });
    },
    readTop(b) {
      const bb = b.bestBid() as TardisLevel;
      const ba = b.bestAsk() as TardisLevel;
      return bb.price + bb.amount + ba.price + ba.amount;
    },
    top(b, side, n) {
      const out: NumLevel[] = [];
      for (const l of side === 'bid' ? b.bids() : b.asks()) {
        if (out.length === n) break;
        out.push([l.price, l.amount]);
      }
      return out;
    },
  });
}

// ---- orderbooks (tiagosiebler) ---------------------------------------------------------------------

/** `[symbol, price, side, qty]` */
type ObLevel = [string, number, 'Buy' | 'Sell', number];
interface ObOrderBook {
  book: ObLevel[];
  handleSnapshot(levels: ObLevel[]): unknown;
  handleDelta(deletes: ObLevel[], upserts: ObLevel[]): unknown;
  getBestBid(): number | null;
  getBestAsk(): number | null;
}
type ObCtor = new (symbol: string, options: { maxDepth: number; checkTimestamps: boolean }) => ObOrderBook;

interface ObStream {
  snapshot: ObLevel[];
  deltas: { deletes: ObLevel[]; upserts: ObLevel[] }[];
}

const OB_DELTAS = 500;

function orderbooksImpl(OrderBook: ObCtor): Impl {
  const lv = (l: TextLevel, side: 'Buy' | 'Sell'): ObLevel => ['X', Number(l[0]), side, Number(l[1])];
  return impl<ObOrderBook, ObStream>({
    name: 'orderbooks',
    input: 'numbers [symbol, price, side, qty] split into deletes and upserts, as its README shows',
    // handleSnapshot adopts (and sorts) the array it is given.
    freshInputPerRun: true,
    // Every delta runs a linear search per level and a sort of the whole book: far too slow for long
    // streams of a 10,000-level book, so it gets a prefix of the same stream.
    maxDeltas: OB_DELTAS,
    prepare(s) {
      const deltas: ObStream['deltas'] = [];
      const n = Math.min(s.deltas.length, OB_DELTAS);
      for (let i = 0; i < n; i++) {
        const d = s.deltas[i] as BenchDelta;
        const deletes: ObLevel[] = [];
        const upserts: ObLevel[] = [];
        for (const l of d.bids) (Number(l[1]) === 0 ? deletes : upserts).push(lv(l, 'Buy'));
        for (const l of d.asks) (Number(l[1]) === 0 ? deletes : upserts).push(lv(l, 'Sell'));
        deltas.push({ deletes, upserts });
      }
      const snapshot = [...s.snapshot.bids.map((l) => lv(l, 'Buy')), ...s.snapshot.asks.map((l) => lv(l, 'Sell'))];
      return { snapshot, deltas };
    },
    create(p) {
      const b = new OrderBook('X', { maxDepth: Number.MAX_SAFE_INTEGER, checkTimestamps: false });
      b.handleSnapshot(p.snapshot.slice());
      return b;
    },
    applyDelta(b, p, i) {
      const d = p.deltas[i] as ObStream['deltas'][number];
      b.handleDelta(d.deletes, d.upserts);
    },
    readTop(b) {
      return (b.getBestBid() ?? 0) + (b.getBestAsk() ?? 0);
    },
    top(b, side, n) {
      // The book is one array sorted by price, highest first: asks on top, then bids.
      const levels = b.book.filter((l) => l[2] === (side === 'bid' ? 'Buy' : 'Sell'));
      const best = side === 'bid' ? levels : levels.reverse();
      return best.slice(0, n).map((l) => [l[1], l[3]]);
    },
  });
}

/** Every implementation that is installed, ours first. */
export async function loadImpls(): Promise<{ impls: Impl[]; missing: string[] }> {
  const impls: Impl[] = [qob];
  const missing: string[] = [];
  try {
    const OrderBook = await loadCcxt();
    impls.push(ccxtImpl(OrderBook), ccxtTextImpl(OrderBook));
  } catch {
    missing.push('ccxt');
  }
  try {
    const { OrderBook } = require('tardis-dev/dist/orderbook.js') as { OrderBook: TardisCtor };
    impls.push(tardisImpl(OrderBook), tardisTextImpl(OrderBook));
  } catch {
    missing.push('tardis-dev');
  }
  try {
    impls.push(orderbooksImpl((require('orderbooks') as { OrderBook: ObCtor }).OrderBook));
  } catch {
    missing.push('orderbooks');
  }
  return { impls, missing };
}
