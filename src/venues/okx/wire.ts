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
