import { qobError } from '../../core/errors.ts';
import { isRecord, malformedMessage, textLevels } from '../wire-common.ts';

export type OkxLevel = readonly [px: string, sz: string, ...rest: string[]];

export interface OkxBookData {
  readonly asks: readonly OkxLevel[];
  readonly bids: readonly OkxLevel[];
  /** Signed 32-bit CRC32; 0 means "not sent" (OKX has sent 0 since 2026-06-23). */
  readonly checksum: number | undefined;
  /** Absent in captures made before OKX added them (the 2022 capture). */
  readonly seqId: number | undefined;
  readonly prevSeqId: number | undefined;
}

export interface OkxBookPush {
  readonly channel: string;
  readonly instId: string;
  readonly action: 'snapshot' | 'update';
  readonly data: readonly OkxBookData[];
}

/** Channels whose pushes are `snapshot` then `update` actions. */
export const OKX_BOOK_CHANNELS: ReadonlySet<string> = new Set(['books', 'books-l2-tbt', 'books50-l2-tbt']);

/** Channels whose pushes are public trades (`trades` may aggregate one taker order; `trades-all` never does). */
export const OKX_TRADE_CHANNELS: ReadonlySet<string> = new Set(['trades', 'trades-all']);

/** One public trade (v5 docs, "Trades channel"): `side` is the taker's side; `ts` is ms as text. */
export interface OkxTrade {
  readonly instId: string;
  readonly tradeId: string;
  readonly price: string;
  readonly size: string;
  readonly taker: 'buy' | 'sell';
  readonly tsEventMs: number;
}

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return malformedMessage('okx', message, context);
}

export { isRecord };

function levels(v: unknown, field: string): OkxLevel[] {
  return textLevels<OkxLevel>('okx', v, field);
}

function optInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw malformed(`"${field}" must be an integer`, { field });
  return v;
}

/** A book push `{"arg":{"channel","instId"},"action","data":[{asks,bids,ts,checksum,seqId,prevSeqId}]}`. */
export function parseBookPush(o: Record<string, unknown>, arg: Record<string, unknown>): OkxBookPush {
  const channel = arg.channel;
  const instId = arg.instId;
  if (typeof channel !== 'string' || typeof instId !== 'string' || instId === '') {
    throw malformed('"arg" must name a channel and an instId');
  }
  const action = o.action;
  if (action !== 'snapshot' && action !== 'update') throw malformed('"action" must be snapshot or update', { instId });
  if (!Array.isArray(o.data)) throw malformed('"data" must be an array', { instId });
  const data: OkxBookData[] = [];
  for (const d of o.data as unknown[]) {
    if (!isRecord(d)) throw malformed('"data" entries must be objects', { instId });
    const checksum = optInt(d.checksum, 'checksum');
    if (checksum !== undefined && (checksum < -0x80000000 || checksum > 0x7fffffff)) {
      throw malformed('"checksum" must be a signed 32-bit integer', { instId });
    }
    data.push({
      asks: d.asks === undefined ? [] : levels(d.asks, 'asks'),
      bids: d.bids === undefined ? [] : levels(d.bids, 'bids'),
      checksum,
      seqId: optInt(d.seqId, 'seqId'),
      prevSeqId: optInt(d.prevSeqId, 'prevSeqId'),
    });
  }
  return { channel, instId, action, data };
}

/** Parses a trades push `{"arg":{"channel":"trades","instId"},"data":[{instId,tradeId,px,sz,side,ts}]}`. */
export function parseTradePush(o: Record<string, unknown>, arg: Record<string, unknown>): OkxTrade[] {
  const instId = arg.instId;
  if (typeof instId !== 'string' || instId === '') throw malformed('"arg" must name an instId');
  if (!Array.isArray(o.data)) throw malformed('"data" must be an array', { instId });
  const out: OkxTrade[] = [];
  for (let i = 0; i < o.data.length; i++) {
    const d: unknown = o.data[i];
    if (!isRecord(d)) throw malformed(`trades data[${i}] must be an object`, { instId });
    if (d.instId !== undefined && d.instId !== instId) throw malformed(`trades data[${i}].instId differs from "arg"`);
    if (d.side !== 'buy' && d.side !== 'sell')
      throw malformed(`trades data[${i}].side must be buy or sell`, { instId });
    if (typeof d.px !== 'string' || typeof d.sz !== 'string') {
      throw malformed(`trades data[${i}] "px" and "sz" must be decimal strings`, { instId });
    }
    if (typeof d.tradeId !== 'string' || d.tradeId === '') throw malformed(`trades data[${i}] without "tradeId"`);
    const ts = typeof d.ts === 'string' && /^\d{1,16}$/.test(d.ts) ? Number(d.ts) : Number.NaN;
    if (!Number.isSafeInteger(ts)) throw malformed(`trades data[${i}].ts must be epoch ms text`, { instId });
    out.push({ instId, tradeId: d.tradeId, price: d.px, size: d.sz, taker: d.side, tsEventMs: ts });
  }
  return out;
}

/** `BTC-USDT` -> `BTC-USDT`, `UNI-USD-SWAP` -> `UNI-USD-PERP`, `BTC-USD-220527` -> `BTC-USD-20220527`. */
export function okxNormalizedSymbol(instId: string): string {
  const parts = instId.split('-');
  if (parts.length === 2) return instId;
  if (parts.length === 3 && parts[2] === 'SWAP') return `${parts[0]}-${parts[1]}-PERP`;
  if (parts.length === 3 && /^\d{6}$/.test(parts[2] ?? '')) return `${parts[0]}-${parts[1]}-20${parts[2]}`;
  throw qobError('QOB_ERR_INVALID_SYMBOL', `okx: no trade symbol mapping for ${instId.slice(0, 40)}`, { venue: 'okx' });
}
