import { malformedMessage, parseJson as parseJsonCommon } from '../wire-common.ts';

/**
 * `[price, volume, timestamp]`, plus `"r"` when the level is republished (it moved back into range).
 * Validated to hold at least price and volume strings.
 */
export type KrakenV1Level = readonly string[];

export interface KrakenV1BookFrame {
  readonly channelId: number;
  /** `as`/`bs` snapshot, or an `a`/`b` update. */
  readonly snapshot: boolean;
  readonly asks: readonly KrakenV1Level[];
  readonly bids: readonly KrakenV1Level[];
  /** Unsigned CRC32 sent as `"c"` in the last object of an update; snapshots have none. */
  readonly checksum: number | undefined;
  readonly channelName: string;
  readonly pair: string;
}

/** A v2 `book` level with its number tokens kept as text. */
export interface KrakenV2Level {
  readonly price: string;
  readonly qty: string;
}

export interface KrakenV2BookData {
  readonly symbol: string;
  readonly bids: readonly KrakenV2Level[];
  readonly asks: readonly KrakenV2Level[];
  readonly checksum: number | undefined;
}

export interface KrakenV2BookMessage {
  readonly type: 'snapshot' | 'update';
  readonly data: readonly KrakenV2BookData[];
}

/** A pair's precisions from the v2 `instrument` channel. */
export interface KrakenV2Instrument {
  readonly symbol: string;
  readonly pricePrecision: number;
  readonly qtyPrecision: number;
}

const VENUE = 'kraken';

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage(VENUE, message, context);
}

/** JSON.parse that turns a SyntaxError into a typed error. */
export function parseJson(text: string): unknown {
  return parseJsonCommon(VENUE, text);
}

/**
 * Parses JSON keeping every number token as its source text (`600.00000000` stays `"600.00000000"`): a
 * small scan quotes bare number tokens outside strings, then `JSON.parse` does the rest.
 */
export function parseLossless(text: string): unknown {
  const n = text.length;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++;
        else break;
      }
      out += `${text.slice(from, start)}"${text.slice(start, i)}"`;
      from = i;
    } else {
      i++;
    }
  }
  return parseJson(from === 0 ? text : out + text.slice(from));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function v1Levels(v: unknown, field: string): KrakenV1Level[] {
  if (!Array.isArray(v)) throw malformed(`"${field}" must be an array`, { field });
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw malformed(`"${field}"[${i}] must be [price, volume, ...] strings`, { field, index: i });
    }
  }
  return v as KrakenV1Level[];
}

/** Unsigned 32-bit checksum sent as decimal text (v1 `"c"`, v2 lossless `checksum`) or as a number. */
export function parseChecksum(v: unknown): number {
  const n = typeof v === 'string' ? decimalDigits(v) : typeof v === 'number' ? v : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw malformed('checksum must be an unsigned 32-bit integer', { checksum: String(v).slice(0, 20) });
  }
  return n;
}

/** The value of 1 to 10 ASCII digits, or NaN. */
function decimalDigits(s: string): number {
  const n = s.length;
  if (n === 0 || n > 10) return Number.NaN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >>> 0 > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return v;
}

/**
 * A v1 channel frame: `[channelID, payload, (payload2), channelName, pair]`. Returns undefined when it is
 * not a book channel (ticker, trade, spread, ohlc).
 */
export function parseV1ChannelFrame(a: readonly unknown[]): KrakenV1BookFrame | undefined {
  if (a.length < 4 || a.length > 5) throw malformed(`a channel frame has ${a.length} elements`);
  const channelId = a[0];
  const channelName = a[a.length - 2];
  const pair = a[a.length - 1];
  if (typeof channelId !== 'number' || !Number.isSafeInteger(channelId))
    throw malformed('channelID must be an integer');
  if (typeof channelName !== 'string' || typeof pair !== 'string') {
    throw malformed('channel name and pair must be strings', { channelId });
  }
  if (!channelName.startsWith('book')) return undefined;
  const p1 = a[1];
  const p2 = a.length === 5 ? a[2] : undefined;
  if (!isRecord(p1) || (a.length === 5 && !isRecord(p2))) throw malformed('book payload must be objects', { pair });
  if (p1.as !== undefined || p1.bs !== undefined) {
    return {
      channelId,
      snapshot: true,
      asks: p1.as === undefined ? [] : v1Levels(p1.as, 'as'),
      bids: p1.bs === undefined ? [] : v1Levels(p1.bs, 'bs'),
      checksum: undefined,
      channelName,
      pair,
    };
  }
  // One object (asks or bids) or two (asks, then bids with the checksum): no copies for the common one.
  const none: KrakenV1Level[] = [];
  if (p1.a === undefined && p1.b === undefined) throw malformed('a book update has neither "a" nor "b"', { pair });
  let asks = p1.a === undefined ? none : v1Levels(p1.a, 'a');
  let bids = p1.b === undefined ? none : v1Levels(p1.b, 'b');
  let checksum = p1.c === undefined ? undefined : parseChecksum(p1.c);
  if (p2 !== undefined) {
    const q = p2 as Record<string, unknown>;
    if (q.a === undefined && q.b === undefined) throw malformed('a book update has neither "a" nor "b"', { pair });
    if (q.a !== undefined) asks = asks.length === 0 ? v1Levels(q.a, 'a') : [...asks, ...v1Levels(q.a, 'a')];
    if (q.b !== undefined) bids = bids.length === 0 ? v1Levels(q.b, 'b') : [...bids, ...v1Levels(q.b, 'b')];
    if (q.c !== undefined) checksum = parseChecksum(q.c);
  }
  return { channelId, snapshot: false, asks, bids, checksum, channelName, pair };
}

function v2Levels(v: unknown, field: string): KrakenV2Level[] {
  if (!Array.isArray(v)) throw malformed(`"${field}" must be an array`, { field });
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!isRecord(l) || typeof l.price !== 'string' || typeof l.qty !== 'string') {
      throw malformed(`"${field}"[${i}] must be {price, qty} numbers`, { field, index: i });
    }
  }
  return v as KrakenV2Level[];
}

/** A v2 `{"channel":"book",...}` message, parsed by `parseLossless`. */
export function parseV2Book(o: Record<string, unknown>): KrakenV2BookMessage {
  const type = o.type;
  if (type !== 'snapshot' && type !== 'update') throw malformed('book "type" must be snapshot or update');
  if (!Array.isArray(o.data)) throw malformed('book "data" must be an array');
  const data: KrakenV2BookData[] = [];
  for (const d of o.data as unknown[]) {
    if (!isRecord(d) || typeof d.symbol !== 'string') throw malformed('book data must have a "symbol"');
    data.push({
      symbol: d.symbol,
      bids: d.bids === undefined ? [] : v2Levels(d.bids, 'bids'),
      asks: d.asks === undefined ? [] : v2Levels(d.asks, 'asks'),
      checksum: d.checksum === undefined ? undefined : parseChecksum(d.checksum),
    });
  }
  return { type, data };
}

/** Pairs of a v2 `instrument` message (`data.pairs[]`), parsed by `parseLossless`. */
export function parseV2Instruments(o: Record<string, unknown>): KrakenV2Instrument[] {
  const data = o.data;
  if (!isRecord(data)) throw malformed('instrument "data" must be an object');
  if (data.pairs === undefined) return [];
  if (!Array.isArray(data.pairs)) throw malformed('instrument "pairs" must be an array');
  const out: KrakenV2Instrument[] = [];
  for (const p of data.pairs as unknown[]) {
    if (!isRecord(p) || typeof p.symbol !== 'string') throw malformed('an instrument pair must have a "symbol"');
    const pp = Number(p.price_precision);
    const qp = Number(p.qty_precision);
    if (!Number.isInteger(pp) || pp < 0 || pp > 18 || !Number.isInteger(qp) || qp < 0 || qp > 18) {
      throw malformed('instrument precisions must be integers in [0, 18]', { symbol: p.symbol });
    }
    out.push({ symbol: p.symbol, pricePrecision: pp, qtyPrecision: qp });
  }
  return out;
}

export { isRecord };

/** One trade as the venue wrote it: number text kept verbatim (v1 strings, v2 lossless number tokens). */
export interface KrakenTrade {
  /** v1 pair (`XBT/USD`) or v2 symbol (`BTC/USD`). */
  readonly pair: string;
  readonly price: string;
  readonly qty: string;
  /** Taker side. */
  readonly side: 'buy' | 'sell';
  /** Venue event time, epoch ms (may carry a fraction). */
  readonly tsEventMs: number;
  /** v2 `trade_id`; v1 frames carry none. */
  readonly tradeId: string | null;
}

const SECONDS_RE = /^(\d{1,12})(?:\.(\d{1,9}))?$/;
const RFC3339_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** Epoch ms of `"<int>.<fraction>"` and a fraction of a second, moved exactly by text, not by float maths. */
function msOf(wholeMs: number, fraction: string | undefined): number {
  const f = (fraction ?? '').padEnd(3, '0');
  return wholeMs + Number(`${f.slice(0, 3)}.${f.slice(3) || '0'}`);
}

/** v1 trade time: seconds since epoch as decimal text (`"1618678142.557535"`). */
export function parseV1TradeTime(v: unknown): number {
  const m = typeof v === 'string' ? SECONDS_RE.exec(v) : null;
  if (m === null) throw malformed('trade time must be epoch seconds as decimal text', { time: String(v).slice(0, 32) });
  return msOf(Number(m[1]) * 1000, m[2]);
}

/** v2 trade time: RFC 3339 UTC with up to 9 fraction digits (`"2023-09-25T07:49:37.708706Z"`). */
export function parseV2TradeTime(v: unknown): number {
  const m = typeof v === 'string' ? RFC3339_RE.exec(v) : null;
  const whole = m === null ? Number.NaN : Date.parse(`${m[1]}Z`);
  if (m === null || !Number.isFinite(whole) || whole < 0) {
    throw malformed('trade "timestamp" must be RFC 3339 UTC', { timestamp: String(v).slice(0, 40) });
  }
  return msOf(whole, m[2]);
}

/**
 * A v1 `trade` channel frame `[channelID, [[price, volume, time, side, orderType, misc], ...], "trade", pair]`
 * (strings; side `b`/`s` is the taker's). Numbers are checked when the trade events are built.
 */
export function parseV1Trades(a: readonly unknown[]): KrakenTrade[] {
  const pair = a[a.length - 1];
  const rows = a[1];
  if (a.length !== 4 || typeof pair !== 'string' || !Array.isArray(rows)) {
    throw malformed('a trade frame must be [channelID, [trades], "trade", pair]');
  }
  const out: KrakenTrade[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r: unknown = rows[i];
    if (!Array.isArray(r) || r.length < 4 || typeof r[0] !== 'string' || typeof r[1] !== 'string') {
      throw malformed(`trade [${i}] must be [price, volume, time, side, ...] strings`, { pair, index: i });
    }
    const side = r[3] === 'b' ? 'buy' : r[3] === 's' ? 'sell' : undefined;
    if (side === undefined) throw malformed(`trade [${i}] side must be "b" or "s"`, { pair, index: i });
    out[i] = { pair, price: r[0], qty: r[1], side, tsEventMs: parseV1TradeTime(r[2]), tradeId: null };
  }
  return out;
}

const TRADE_ID_RE = /^\d{1,20}$/;

/** A v2 `{"channel":"trade","type":"snapshot"|"update","data":[...]}` message, parsed by `parseLossless`. */
export function parseV2Trades(o: Record<string, unknown>): KrakenTrade[] {
  if (o.type !== 'snapshot' && o.type !== 'update') throw malformed('trade "type" must be snapshot or update');
  if (!Array.isArray(o.data)) throw malformed('trade "data" must be an array');
  const data = o.data as unknown[];
  const out: KrakenTrade[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const d = data[i];
    if (!isRecord(d) || typeof d.symbol !== 'string') throw malformed(`trade data[${i}] must have a "symbol"`);
    if (typeof d.price !== 'string' || typeof d.qty !== 'string') {
      throw malformed(`trade data[${i}] "price" and "qty" must be numbers`, { symbol: d.symbol, index: i });
    }
    if (d.side !== 'buy' && d.side !== 'sell') {
      throw malformed(`trade data[${i}] "side" must be buy or sell`, { symbol: d.symbol, index: i });
    }
    const id = d.trade_id;
    if (id !== undefined && (typeof id !== 'string' || !TRADE_ID_RE.test(id))) {
      throw malformed(`trade data[${i}] "trade_id" must be a non-negative integer`, { symbol: d.symbol, index: i });
    }
    out[i] = {
      pair: d.symbol,
      price: d.price,
      qty: d.qty,
      side: d.side,
      tsEventMs: parseV2TradeTime(d.timestamp),
      tradeId: id === undefined ? null : id,
    };
  }
  return out;
}
