/**
 * Workloads for the ingestion benchmark: each venue's exact raw text, built in memory from one seeded
 * true book (src/sim/l2-stream.ts), and the real captures in ../shared/fixtures (their REST snapshots and
 * received frames, in order). Nothing is copied into the repository.
 *
 * Synthetic frames are valid for the venue's sync rules: sequence ids chain (Binance U/u/pu, Bybit u,
 * OKX seqId/prevSeqId, Coinbase sequence_num, Bitfinex per-connection sequence), checksums are real
 * (OKX top 25, Kraken top 10, Bitfinex top 25, computed with the venue's algorithm from a mirror of the
 * true book), and fixed-depth feeds (Bybit 200, Kraken 100, Bitfinex 100) send what the venue sends for
 * its window: changes inside it, levels entering it (republished), deletes of levels that left the book,
 * and nothing for levels pushed out of it (the client truncates).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { L2Book } from '../../src/book/l2-book.ts';
import { canonicalDecimal, formatScaled } from '../../src/core/fixed.ts';
import { type L2StreamDelta, L2StreamGenerator, type L2StreamLevel } from '../../src/sim/l2-stream.ts';
import { bitfinexChecksum } from '../../src/venues/bitfinex/checksum.ts';
import { krakenChecksum } from '../../src/venues/kraken/checksum.ts';
import { okxChecksum } from '../../src/venues/okx/checksum.ts';

/** One transport event, as a live connector (or a capture) hands it to the feed handler. */
export interface Ev {
  readonly k: 'connect' | 'send' | 'http' | 'recv';
  readonly conn: string;
  /** The URL of a connect or an http event. */
  readonly url: string;
  readonly data: string;
  readonly tsMs: number;
  /** Level changes the frame carries (0 for non-book frames). */
  readonly levels: number;
  /** Whether the event is inside the timed region (received frames after the initial snapshot). */
  readonly timed: boolean;
}

export interface Workload {
  /** Our venue id (src/venues/index.ts). */
  readonly venue: string;
  readonly source: 'synthetic' | 'capture';
  readonly name: string;
  readonly events: readonly Ev[];
  /** Timed frames and the level changes they carry. */
  readonly frames: number;
  readonly levelChanges: number;
  /** For synthetic workloads: the one book, as venue symbol. */
  readonly symbol?: string;
  /** For synthetic workloads: the true book's 10 best levels per side after the last frame (venue text). */
  readonly truth?: { readonly bids: readonly L2StreamLevel[]; readonly asks: readonly L2StreamLevel[] };
}

const PRICE_TICK = '0.1';
const MID = '65000.0';

function finish(
  venue: string,
  source: Workload['source'],
  name: string,
  events: Ev[],
  t?: TrueBook,
  symbol?: string,
): Workload {
  let frames = 0;
  let levelChanges = 0;
  for (const e of events) {
    if (!e.timed) continue;
    frames++;
    levelChanges += e.levels;
  }
  const extra = t === undefined || symbol === undefined ? {} : { symbol, truth: t.snapshot(10) };
  return { venue, source, name, events, frames, levelChanges, ...extra };
}

/** The generator plus a mirror of the true book (for checksums and fixed-depth windows). */
class TrueBook {
  readonly gen: L2StreamGenerator;
  readonly mirror = new L2Book();
  readonly zero: string;

  constructor(seed: number, levels: number, lot = '0.00001') {
    this.gen = new L2StreamGenerator({ seed, levels, deltas: 0, levelsPerDelta: 20, tick: PRICE_TICK, lot, mid: MID });
    const s = this.gen.snapshot();
    this.mirror.applySnapshot(s.bids, s.asks);
    this.zero = formatScaled(0, this.gen.sizeDecimals);
  }

  snapshot(depth = Number.POSITIVE_INFINITY): { bids: [string, string][]; asks: [string, string][] } {
    return { bids: this.top('bid', depth), asks: this.top('ask', depth) };
  }

  next(): L2StreamDelta {
    const d = this.gen.nextDelta();
    this.mirror.applyDelta(d.bids, d.asks);
    return d;
  }

  /** The `n` best levels of a side as the venue's text (prices with the tick's digits). */
  top(side: 'bid' | 'ask', n: number): [string, string][] {
    const s = this.mirror.side(side);
    const len = Math.min(n, s.length);
    const out: [string, string][] = new Array(len);
    for (let i = 0; i < len; i++) out[i] = [this.priceText(s.priceAt(i)), s.sizeAt(i)];
    return out;
  }

  priceText(scaled: number): string {
    return formatScaled(scaled, this.mirror.priceScale, this.gen.priceDecimals);
  }

  /**
   * Applies the next delta and returns what a venue publishing only its best `depth` levels sends: levels
   * that changed or entered the window, and deletes of levels in the old window that left the book.
   * With `single`, each level of the delta is applied and windowed on its own (one-level venues);
   * `check` runs on the mirror after each step (checksums).
   */
  nextWindowed(depth: number, single: boolean, check: () => number = () => 0): (L2StreamDelta & { check: number })[] {
    const d = this.gen.nextDelta();
    const steps: L2StreamDelta[] = single
      ? [...d.bids.map((l) => ({ bids: [l], asks: [] })), ...d.asks.map((l) => ({ bids: [], asks: [l] }))]
      : [d];
    const out: (L2StreamDelta & { check: number })[] = [];
    for (const step of steps) {
      const oldB = this.windowMap('bid', depth);
      const oldA = this.windowMap('ask', depth);
      this.mirror.applyDelta(step.bids, step.asks);
      out.push({
        bids: this.windowDiff('bid', depth, oldB, step.bids),
        asks: this.windowDiff('ask', depth, oldA, step.asks),
        check: check(),
      });
    }
    return out;
  }

  private windowMap(side: 'bid' | 'ask', depth: number): Map<number, string> {
    const s = this.mirror.side(side);
    const m = new Map<number, string>();
    const n = Math.min(depth, s.length);
    for (let i = 0; i < n; i++) m.set(s.priceAt(i), s.sizeAt(i));
    return m;
  }

  private windowDiff(
    side: 'bid' | 'ask',
    depth: number,
    old: Map<number, string>,
    changed: readonly L2StreamLevel[],
  ): [string, string][] {
    const out: [string, string][] = [];
    const s = this.mirror.side(side);
    const n = Math.min(depth, s.length);
    const now = new Set<number>();
    for (let i = 0; i < n; i++) {
      const p = s.priceAt(i);
      now.add(p);
      const size = s.sizeAt(i);
      if (old.get(p) !== size) out.push([this.priceText(p), size]);
    }
    for (const l of changed) {
      if (Number(l[1]) !== 0) continue;
      const p = this.mirror.parsePrice(l[0]);
      if (old.has(p) && !now.has(p)) out.push([l[0], this.zero]);
    }
    return out;
  }
}

export interface SynthOptions {
  readonly seed: number;
  /** Timed frames (about; fixed-depth venues may send a few empty updates less). */
  readonly frames: number;
}

// ---- Binance spot and USD-M ------------------------------------------------------------------------

function binance(o: SynthOptions, futures: boolean): Workload {
  const venue = futures ? 'binance-usdm' : 'binance';
  const t = new TrueBook(o.seed, 1000);
  const conn = `${venue}.ws.0`;
  const url = futures
    ? 'wss://fstream.binance.com/stream?streams=btcusdt@depth@100ms'
    : 'wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms';
  const snap = t.snapshot();
  let U = 7_000_000_001;
  const L = futures ? U + 3 : U - 1; // spot: U == L + 1; USD-M: U <= L <= u
  const rest = futures
    ? `https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000`
    : `https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000`;
  const restBody = JSON.stringify(
    futures
      ? { lastUpdateId: L, E: 1_700_000_000_000, T: 1_700_000_000_000, bids: snap.bids, asks: snap.asks }
      : { lastUpdateId: L, bids: snap.bids, asks: snap.asks },
  );
  const events: Ev[] = [
    { k: 'connect', conn, url, data: '', tsMs: 0, levels: 0, timed: false },
    { k: 'http', conn: 'http', url: rest, data: restBody, tsMs: 1, levels: 0, timed: false },
  ];
  let pu = L - 7;
  for (let i = 0; i < o.frames; i++) {
    const d = t.next();
    const n = d.bids.length + d.asks.length;
    const u = U + n + 4; // ids are per order-book event, more than one per level
    const E = 1_700_000_000_100 + i * 100;
    const data = futures
      ? { e: 'depthUpdate', E, T: E - 2, s: 'BTCUSDT', U, u, pu, b: d.bids, a: d.asks }
      : { e: 'depthUpdate', E, s: 'BTCUSDT', U, u, b: d.bids, a: d.asks };
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({ stream: 'btcusdt@depth@100ms', data }),
      tsMs: 2 + i,
      levels: n,
      timed: true,
    });
    pu = u;
    U = futures ? u + 3 : u + 1; // USD-M chains on pu only (U != previous u + 1 in the real capture)
  }
  return finish(venue, 'synthetic', `${venue} BTCUSDT depth@100ms`, events, t, 'BTCUSDT');
}

// ---- Bybit v5 orderbook.200 ------------------------------------------------------------------------

function bybit(o: SynthOptions): Workload {
  const depth = 200;
  const t = new TrueBook(o.seed + 1, 260, '0.000001');
  const conn = 'bybit.ws.0';
  const topic = `orderbook.${depth}.BTCUSDT`;
  const events: Ev[] = [
    { k: 'connect', conn, url: 'wss://stream.bybit.com/v5/public/spot', data: '', tsMs: 0, levels: 0, timed: false },
  ];
  const snap = t.snapshot(depth);
  let u = 1_000_000;
  let seq = 50_000_000_000;
  const frame = (type: string, b: unknown, a: unknown, ts: number) =>
    JSON.stringify({ topic, ts, type, data: { s: 'BTCUSDT', b, a, u, seq }, cts: ts - 3 });
  events.push({
    k: 'recv',
    conn,
    url: '',
    data: frame('snapshot', snap.bids, snap.asks, 1_700_000_000_000),
    tsMs: 1,
    levels: snap.bids.length + snap.asks.length,
    timed: false,
  });
  for (let i = 0; events.length - 2 < o.frames; i++) {
    const [d] = t.nextWindowed(depth, false);
    if (d === undefined || d.bids.length + d.asks.length === 0) continue;
    u++;
    seq += 7;
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: frame('delta', d.bids, d.asks, 1_700_000_000_020 + i * 20),
      tsMs: 2 + i,
      levels: d.bids.length + d.asks.length,
      timed: true,
    });
  }
  return finish('bybit', 'synthetic', `bybit BTCUSDT ${topic} (spot)`, events, t, 'BTCUSDT');
}

// ---- OKX books (400 levels, checksum on every push) -------------------------------------------------

function okx(o: SynthOptions): Workload {
  const t = new TrueBook(o.seed + 2, 380, '0.00000001');
  const conn = 'okx.ws.0';
  const arg = { channel: 'books', instId: 'BTC-USDT' };
  // OKX writes prices and sizes in their shortest form (`30244`, `0.08`, `0` for a delete), as in the real
  // capture (../shared/fixtures/okx); the checksum is over that same text.
  const canon = (l: readonly [string, string]): [string, string] => [canonicalDecimal(l[0]), canonicalDecimal(l[1])];
  const ext = (l: L2StreamLevel) => [...canon(l), '0', Number(l[1]) === 0 ? '0' : '3'];
  const checksum = () => okxChecksum(t.top('bid', 25).map(canon), t.top('ask', 25).map(canon));
  let seqId = 9_000_000;
  const snap = t.snapshot();
  const events: Ev[] = [
    { k: 'connect', conn, url: 'wss://ws.okx.com:8443/ws/v5/public', data: '', tsMs: 0, levels: 0, timed: false },
    {
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({
        arg,
        action: 'snapshot',
        data: [
          {
            asks: snap.asks.map(ext),
            bids: snap.bids.map(ext),
            ts: '1700000000000',
            checksum: checksum(),
            prevSeqId: -1,
            seqId,
          },
        ],
      }),
      tsMs: 1,
      levels: snap.bids.length + snap.asks.length,
      timed: false,
    },
  ];
  for (let i = 0; i < o.frames; i++) {
    const d = t.next();
    const prevSeqId = seqId;
    seqId += 1 + (i % 3); // seqId may jump by more than one
    const data = [
      {
        asks: d.asks.map(ext),
        bids: d.bids.map(ext),
        ts: String(1_700_000_000_100 + i * 100),
        checksum: checksum(),
        prevSeqId,
        seqId,
      },
    ];
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({ arg, action: 'update', data }),
      tsMs: 2 + i,
      levels: d.bids.length + d.asks.length,
      timed: true,
    });
  }
  return finish('okx', 'synthetic', 'okx BTC-USDT books (checksums)', events, t, 'BTC-USDT');
}

// ---- Kraken WS v1 book-100 (checksum on every update) -----------------------------------------------

function kraken(o: SynthOptions): Workload {
  const depth = 100;
  const t = new TrueBook(o.seed + 3, 140, '0.00000001');
  const conn = 'kraken.ws.0';
  const pair = 'XBT/USD';
  const chan = 336;
  const name = `book-${depth}`;
  // v1 writes fixed decimals: prices with 5 here ("65000.10000"), volumes with 8.
  const pd = 5;
  const px = (p: string) => `${p}0000`;
  const ts = (i: number) => (1_700_000_000 + i / 10).toFixed(6);
  const lv = (l: L2StreamLevel, i: number): string[] => [px(l[0]), l[1], ts(i)];
  const snap = t.snapshot(depth);
  const events: Ev[] = [
    { k: 'connect', conn, url: 'wss://ws.kraken.com', data: '', tsMs: 0, levels: 0, timed: false },
    {
      k: 'send',
      conn,
      url: '',
      data: JSON.stringify({ event: 'subscribe', pair: [pair], subscription: { name: 'book', depth } }),
      tsMs: 0,
      levels: 0,
      timed: false,
    },
    {
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({
        channelID: chan,
        channelName: name,
        event: 'subscriptionStatus',
        pair,
        status: 'subscribed',
        subscription: { depth, name: 'book' },
      }),
      tsMs: 1,
      levels: 0,
      timed: false,
    },
    {
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify([
        chan,
        { as: snap.asks.map((l) => lv(l, 0)), bs: snap.bids.map((l) => lv(l, 0)) },
        name,
        pair,
      ]),
      tsMs: 1,
      levels: snap.bids.length + snap.asks.length,
      timed: false,
    },
  ];
  for (let i = 0; events.length - 4 < o.frames; i++) {
    const [d] = t.nextWindowed(depth, false);
    if (d === undefined || d.bids.length + d.asks.length === 0) continue;
    const c = String(krakenChecksum(t.mirror, pd, 8));
    const a = d.asks.map((l) => lv(l, i + 1));
    const b = d.bids.map((l) => lv(l, i + 1));
    const body = a.length > 0 && b.length > 0 ? [{ a }, { b, c }] : a.length > 0 ? [{ a, c }] : [{ b, c }];
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify([chan, ...body, name, pair]),
      tsMs: 2 + i,
      levels: a.length + b.length,
      timed: true,
    });
  }
  return finish('kraken', 'synthetic', `kraken ${pair} ${name} v1 (checksums)`, events, t, pair);
}

// ---- Coinbase Advanced Trade level2 (l2_data) -------------------------------------------------------

function coinbase(o: SynthOptions): Workload {
  const t = new TrueBook(o.seed + 4, 1000, '0.00000001');
  const conn = 'coinbase.ws.0';
  let seq = 0;
  const upd = (side: 'bid' | 'offer', l: L2StreamLevel, time: string) => ({
    side,
    event_time: time,
    price_level: l[0],
    new_quantity: l[1],
  });
  const frame = (type: string, bids: readonly L2StreamLevel[], asks: readonly L2StreamLevel[], i: number) => {
    const time = new Date(1_700_000_000_000 + i * 50).toISOString();
    return JSON.stringify({
      channel: 'l2_data',
      client_id: '',
      timestamp: time,
      sequence_num: seq++,
      events: [
        {
          type,
          product_id: 'BTC-USD',
          updates: [...bids.map((l) => upd('bid', l, time)), ...asks.map((l) => upd('offer', l, time))],
        },
      ],
    });
  };
  const snap = t.snapshot();
  const events: Ev[] = [
    {
      k: 'connect',
      conn,
      url: 'wss://advanced-trade-ws.coinbase.com',
      data: '',
      tsMs: 0,
      levels: 0,
      timed: false,
    },
    {
      k: 'recv',
      conn,
      url: '',
      data: frame('snapshot', snap.bids, snap.asks, 0),
      tsMs: 1,
      levels: snap.bids.length + snap.asks.length,
      timed: false,
    },
  ];
  for (let i = 0; i < o.frames; i++) {
    const d = t.next();
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: frame('update', d.bids, d.asks, i + 1),
      tsMs: 2 + i,
      levels: d.bids.length + d.asks.length,
      timed: true,
    });
  }
  return finish('coinbase', 'synthetic', 'coinbase BTC-USD level2 (l2_data)', events, t, 'BTC-USD');
}

// ---- Bitstamp diff_order_book -------------------------------------------------------------------------

function bitstamp(o: SynthOptions): Workload {
  const t = new TrueBook(o.seed + 5, 1000, '0.00000001');
  const conn = 'bitstamp.ws.0';
  const channel = 'diff_order_book_btcusd';
  const micros0 = 1_700_000_000_000_000;
  const snap = t.snapshot();
  const events: Ev[] = [
    { k: 'connect', conn, url: 'wss://ws.bitstamp.net/', data: '', tsMs: 0, levels: 0, timed: false },
    {
      k: 'send',
      conn,
      url: '',
      data: JSON.stringify({ event: 'bts:subscribe', data: { channel } }),
      tsMs: 0,
      levels: 0,
      timed: false,
    },
    {
      k: 'http',
      conn: 'http',
      url: 'https://www.bitstamp.net/api/v2/order_book/btcusd/',
      data: JSON.stringify({
        timestamp: String(Math.floor(micros0 / 1e6)),
        microtimestamp: String(micros0),
        bids: snap.bids,
        asks: snap.asks,
      }),
      tsMs: 1,
      levels: 0,
      timed: false,
    },
  ];
  for (let i = 0; i < o.frames; i++) {
    const d = t.next();
    const micros = micros0 + 1000 + i * 997;
    events.push({
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({
        data: {
          timestamp: String(Math.floor(micros / 1e6)),
          microtimestamp: String(micros),
          bids: d.bids,
          asks: d.asks,
        },
        channel,
        event: 'data',
      }),
      tsMs: 2 + i,
      levels: d.bids.length + d.asks.length,
      timed: true,
    });
  }
  return finish('bitstamp', 'synthetic', 'bitstamp btcusd diff_order_book', events, t, 'btcusd');
}

// ---- Bitfinex book P0 len 100 (one level per frame, "cs" checksum after each) -----------------------

function bitfinex(o: SynthOptions): Workload {
  const len = 100;
  // Bitfinex writes numbers as JS String(n): sizes with few digits.
  const t = new TrueBook(o.seed + 6, 140, '0.0001');
  const conn = 'bitfinex.ws.0';
  const chanId = 17470;
  let seq = 1;
  const entry = (l: L2StreamLevel, ask: boolean): [number, number, number] => {
    const price = Number(l[0]);
    const amount = Number(l[1]);
    if (amount === 0) return [price, 0, ask ? -1 : 1];
    return [price, 1 + (Math.round(price * 10) % 5), ask ? -amount : amount];
  };
  const snap = t.snapshot(len);
  const events: Ev[] = [
    { k: 'connect', conn, url: 'wss://api-pub.bitfinex.com/ws/2', data: '', tsMs: 0, levels: 0, timed: false },
    {
      k: 'send',
      conn,
      url: '',
      data: JSON.stringify({ event: 'conf', flags: 65536 + 131072 }),
      tsMs: 0,
      levels: 0,
      timed: false,
    },
    {
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify({
        event: 'subscribed',
        channel: 'book',
        chanId,
        symbol: 'tBTCUSD',
        prec: 'P0',
        freq: 'F0',
        len: String(len),
        pair: 'BTCUSD',
      }),
      tsMs: 1,
      levels: 0,
      timed: false,
    },
    {
      k: 'recv',
      conn,
      url: '',
      data: JSON.stringify([
        chanId,
        [...snap.bids.map((l) => entry(l, false)), ...snap.asks.map((l) => entry(l, true))],
        seq++,
      ]),
      tsMs: 1,
      levels: snap.bids.length + snap.asks.length,
      timed: false,
    },
  ];
  let updates = 0;
  for (let i = 0; updates < o.frames; i++) {
    for (const d of t.nextWindowed(len, true, () => bitfinexChecksum(t.mirror))) {
      const levels = [...d.bids.map((l) => entry(l, false)), ...d.asks.map((l) => entry(l, true))];
      if (levels.length === 0) continue;
      for (const e of levels) {
        updates++;
        events.push({
          k: 'recv',
          conn,
          url: '',
          data: JSON.stringify([chanId, e, seq++]),
          tsMs: 2 + i,
          levels: 1,
          timed: true,
        });
      }
      const cs = d.check;
      events.push({
        k: 'recv',
        conn,
        url: '',
        data: JSON.stringify([chanId, 'cs', cs, seq++]),
        tsMs: 2 + i,
        levels: 0,
        timed: true,
      });
    }
  }
  return finish('bitfinex', 'synthetic', 'bitfinex tBTCUSD book P0 len 100 (checksums)', events, t, 'tBTCUSD');
}

export const SYNTHETIC: Readonly<Record<string, (o: SynthOptions) => Workload>> = {
  binance: (o) => binance(o, false),
  'binance-usdm': (o) => binance(o, true),
  bybit,
  okx,
  kraken,
  coinbase,
  bitstamp,
  bitfinex,
};

// ---- real captures ----------------------------------------------------------------------------------

interface Rec {
  t: string;
  conn?: string;
  ts?: number;
  url?: string;
  addr?: string;
  data?: string;
}

/** Level changes carried by one received frame of `venue` (0 for frames that are not book data). */
function countLevels(venue: string, text: string): number {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return 0;
  }
  const len = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  const o = m as Record<string, unknown> & { data?: unknown; events?: unknown };
  switch (venue) {
    case 'binance':
    case 'binance-usdm': {
      const d = (o.data ?? o) as Record<string, unknown>;
      return d.e === 'depthUpdate' ? len(d.b) + len(d.a) : 0;
    }
    case 'bybit': {
      const d = o.data as Record<string, unknown> | undefined;
      return typeof o.topic === 'string' && o.topic.startsWith('orderbook.') && d ? len(d.b) + len(d.a) : 0;
    }
    case 'okx':
      return Array.isArray(o.data) && (o.arg as { channel?: string } | undefined)?.channel === 'books'
        ? (o.data as Record<string, unknown>[]).reduce((a, d) => a + len(d.bids) + len(d.asks), 0)
        : 0;
    case 'kraken': {
      if (!Array.isArray(m) || !String(m[m.length - 2]).startsWith('book')) return 0;
      let n = 0;
      for (const p of m.slice(1, -2) as Record<string, unknown>[]) n += len(p.as) + len(p.bs) + len(p.a) + len(p.b);
      return n;
    }
    case 'coinbase':
      if (o.channel === 'l2_data' && Array.isArray(o.events)) {
        return (o.events as Record<string, unknown>[]).reduce((a, e) => a + len(e.updates), 0);
      }
      if (o.type === 'l2update') return len(o.changes);
      if (o.type === 'snapshot') return len(o.bids) + len(o.asks);
      return 0;
    case 'bitstamp': {
      const d = o.data as Record<string, unknown> | undefined;
      return o.event === 'data' && d ? len(d.bids) + len(d.asks) : 0;
    }
    case 'bitfinex': {
      if (!Array.isArray(m)) return 0;
      const b = m[1];
      if (!Array.isArray(b)) return 0;
      return Array.isArray(b[0]) ? b.length : 1;
    }
    default:
      return 0;
  }
}

function readLines(path: string): Rec[] {
  const raw = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const out: Rec[] = [];
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    out.push(JSON.parse(l) as Rec);
  }
  return out;
}

/** venue id -> capture file under ../shared/fixtures. */
const CAPTURES: readonly (readonly [string, string])[] = [
  ['binance', 'binance/cryptofeed_BINANCE.books.jsonl'],
  ['binance-usdm', 'binance_futures/cryptofeed_BINANCE_FUTURES.books.jsonl'],
  ['bybit', 'bybit/cryptofeed_BYBIT.books.jsonl'],
  ['okx', 'okx/cryptofeed_OKX.books.jsonl'],
  ['kraken', 'kraken/cryptofeed_KRAKEN.books.jsonl'],
  ['coinbase', 'coinbase/cryptofeed_COINBASE.jsonl.gz'],
  ['bitstamp', 'bitstamp/cryptofeed_BITSTAMP.books.jsonl'],
  ['bitfinex', 'bitfinex/cryptofeed_BITFINEX.jsonl'],
];

/** The real captures, one workload per venue, or the reason they are absent. */
export function loadCaptureWorkloads(fixtures: string): { workloads: Workload[] } | { absent: string } {
  if (!existsSync(fixtures)) return { absent: `${fixtures} absent` };
  const workloads: Workload[] = [];
  for (const [venue, rel] of CAPTURES) {
    const path = join(fixtures, rel);
    if (!existsSync(path)) continue;
    const events: Ev[] = [];
    for (const r of readLines(path)) {
      const tsMs = (r.ts ?? 0) * 1000;
      const conn = r.conn ?? '';
      switch (r.t) {
        case 'connect':
          events.push({ k: 'connect', conn, url: r.addr ?? '', data: '', tsMs, levels: 0, timed: false });
          break;
        case 'send':
          events.push({ k: 'send', conn, url: '', data: r.data ?? '', tsMs, levels: 0, timed: false });
          break;
        case 'http':
          events.push({ k: 'http', conn, url: r.url ?? '', data: r.data ?? '', tsMs, levels: 0, timed: false });
          break;
        case 'recv': {
          const data = r.data ?? '';
          events.push({ k: 'recv', conn, url: '', data, tsMs, levels: countLevels(venue, data), timed: true });
          break;
        }
      }
    }
    workloads.push(finish(venue, 'capture', `${venue} capture (${rel.split('/')[1]})`, events));
  }
  return { workloads };
}
