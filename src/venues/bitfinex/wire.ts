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
