import { isRecord, malformedMessage } from '../wire-common.ts';

/** conf flag: a per-connection sequence number ends every channel frame. */
export const FLAG_SEQ_ALL = 65536;
/** conf flag: `[CHAN_ID, "cs", CHECKSUM]` frames follow book updates. */
export const FLAG_CHECKSUM = 131072;

/** A channel frame's parts; the body is `a[1..end)` of the frame array (no copy). */
export interface ChannelFrame {
  readonly chanId: number;
  /** Index after the body: the elements between the channel id and the sequence number are `a[1..end)`. */
  readonly end: number;
  readonly seq: number | undefined;
}

/** A P0..P4 book entry `[PRICE, COUNT, AMOUNT]` as decimal text. */
export interface BookEntry {
  readonly price: string;
  readonly count: number;
  /** Signed: positive is a bid, negative an ask. */
  readonly amount: string;
}

export type BookBody =
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'checksum'; readonly checksum: number }
  | { readonly kind: 'snapshot'; readonly entries: readonly BookEntry[] }
  | { readonly kind: 'update'; readonly entry: BookEntry };

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('bitfinex', message, context);
}

export { isRecord };

export function parseChannelFrame(a: readonly unknown[], seqAll: boolean): ChannelFrame {
  const chanId = a[0];
  if (typeof chanId !== 'number' || !Number.isSafeInteger(chanId) || chanId < 0) {
    throw malformed('a channel frame must start with a channel id');
  }
  if (!seqAll) {
    if (a.length < 2) throw malformed('a channel frame has no body', { chanId });
    return { chanId, end: a.length, seq: undefined };
  }
  const seq = a[a.length - 1];
  if (a.length < 3 || typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
    throw malformed('with SEQ_ALL every channel frame must end with a sequence number', { chanId });
  }
  return { chanId, end: a.length - 1, seq };
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${what} must be a finite number`);
  return v;
}

function entry(v: unknown): BookEntry {
  if (!Array.isArray(v) || v.length !== 3) throw malformed('a book entry must be [price, count, amount]');
  const price = num(v[0], 'price');
  const count = num(v[1], 'count');
  const amount = num(v[2], 'amount');
  if (!Number.isSafeInteger(count) || count < 0) throw malformed('count must be a non-negative integer');
  if (amount === 0) throw malformed('amount must not be zero');
  return { price: String(price), count, amount: String(amount) };
}

/** The body `a[1..end)` of a frame on a price-level book channel (see `parseChannelFrame`). */
export function parseBookBody(a: readonly unknown[], end: number): BookBody {
  const b0 = a[1];
  if (b0 === 'hb') return HEARTBEAT;
  if (b0 === 'cs') {
    const cs = end > 2 ? a[2] : undefined;
    if (typeof cs !== 'number' || !Number.isInteger(cs) || cs < -0x80000000 || cs > 0x7fffffff) {
      throw malformed('a checksum must be a signed 32-bit integer');
    }
    return { kind: 'checksum', checksum: cs };
  }
  if (!Array.isArray(b0) || end !== 2) throw malformed('a book frame must carry one array');
  if (b0.length === 0 || Array.isArray(b0[0])) return { kind: 'snapshot', entries: b0.map(entry) };
  return { kind: 'update', entry: entry(b0) };
}

const HEARTBEAT: BookBody = { kind: 'heartbeat' };

/** A trade `[ID, MTS, AMOUNT, PRICE]`; numbers as `String(n)`, the venue's own JSON representation. */
export interface BitfinexTrade {
  readonly id: number;
  readonly mts: number;
  /** Absolute amount text. */
  readonly amount: string;
  readonly price: string;
  /** Taker side: the sign of AMOUNT (positive buy, negative sell). */
  readonly side: 'buy' | 'sell';
}

export type TradesBody =
  | { readonly kind: 'heartbeat' }
  /** The snapshot on subscribe (newest first, as sent). */
  | { readonly kind: 'snapshot'; readonly trades: readonly BitfinexTrade[] }
  /** `te` (executed) or `tu` (the same trade again, updated): both carry the full trade. */
  | { readonly kind: 'te' | 'tu'; readonly trade: BitfinexTrade };

function tradeEntry(v: unknown): BitfinexTrade {
  if (!Array.isArray(v) || v.length < 4) throw malformed('a trade must be [ID, MTS, AMOUNT, PRICE]');
  const id = num(v[0], 'trade ID');
  const mts = num(v[1], 'trade MTS');
  const amount = num(v[2], 'trade AMOUNT');
  const price = num(v[3], 'trade PRICE');
  if (!Number.isSafeInteger(id) || id < 0) throw malformed('trade ID must be a non-negative integer');
  if (mts < 0) throw malformed('trade MTS must not be negative');
  if (amount === 0) throw malformed('trade AMOUNT must not be zero', { id });
  const a = String(amount);
  return { id, mts, amount: amount < 0 ? a.slice(1) : a, price: String(price), side: amount > 0 ? 'buy' : 'sell' };
}

/** The body `a[1..end)` of a frame on a trading-pair `trades` channel (see `parseChannelFrame`). */
export function parseTradesBody(a: readonly unknown[], end: number): TradesBody {
  const b0 = a[1];
  if (b0 === 'hb') return HEARTBEAT_TRADES;
  if (b0 === 'te' || b0 === 'tu') {
    if (end !== 3) throw malformed(`a "${b0}" frame must carry one trade`);
    return { kind: b0, trade: tradeEntry(a[2]) };
  }
  if (!Array.isArray(b0) || end !== 2) throw malformed('a trades frame must carry one array');
  return { kind: 'snapshot', trades: b0.map(tradeEntry) };
}

const HEARTBEAT_TRADES: TradesBody = { kind: 'heartbeat' };
