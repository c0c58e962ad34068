/**
 * Wire shapes and parsers of the built-in simulated venue's feed (protocol v1, docs/SIM.md):
 * `{"type":"snapshot"|"l2update","symbol","seq","ts","bids":[[price,size]],"asks":[..]}`,
 * `{"type":"trades","symbol","ts","trades":[{"id","price","size","side","maker","taker"}]}`, plus `info`,
 * `l3update`, `pong` and `error` frames that a book handler does not need.
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { qobError } from '../../core/errors.ts';
import { Decimal, sizeIsPositive } from '../../core/fixed.ts';

export interface SimBookMessage {
  readonly type: 'snapshot' | 'l2update';
  readonly symbol: string;
  /** Per-book sequence: each l2update is the previous one + 1; a snapshot carries the current one. */
  readonly seq: number;
  readonly tsEventMs: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}

export interface SimTrade {
  readonly id: string;
  readonly price: string;
  readonly size: string;
  /** The aggressor's side. */
  readonly side: 'buy' | 'sell';
  readonly makerOrderId: string;
  readonly takerOrderId: string;
}

export interface SimTradesMessage {
  readonly symbol: string;
  readonly tsEventMs: number;
  readonly trades: readonly SimTrade[];
}

export type SimFrame =
  | { readonly kind: 'book'; readonly msg: SimBookMessage }
  | { readonly kind: 'trades'; readonly msg: SimTradesMessage }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly what: string };

const IGNORED = new Set(['info', 'l3update', 'pong', 'error']);
const SYMBOL_RE = /^[A-Z0-9]{1,24}(-[A-Z0-9]{1,24}){1,4}$/;

export function malformed(message: string, context: Record<string, unknown> = {}) {
  return qobError('QOB_ERR_MALFORMED_MESSAGE', message, { venue: 'sim', ...context });
}

function levels(v: unknown, field: string): RawLevel[] {
  if (!Array.isArray(v)) throw malformed(`"${field}" must be an array of [price, size]`, { field });
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length !== 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw malformed(`"${field}[${i}]" must be [price, size] strings`, { field, index: i });
    }
  }
  return v as RawLevel[];
}

function nonNegativeInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw malformed(`"${field}" must be a non-negative safe integer`, { field, value: String(v).slice(0, 32) });
  }
  return v;
}

function decimalText(v: unknown, field: string, positive: boolean): string {
  if (typeof v !== 'string') throw malformed(`"${field}" must be decimal text`, { field });
  const ok = positive ? sizeIsPositive(v) : Decimal.parse(v).sign() > 0; // typed errors on bad text
  if (!ok) throw malformed(`"${field}" must be positive`, { field, value: v.slice(0, 32) });
  return v;
}

function trade(v: unknown, i: number): SimTrade {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`"trades[${i}]" must be an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.maker !== 'string' || typeof o.taker !== 'string') {
    throw malformed(`"trades[${i}]" needs string "id", "maker" and "taker"`, { index: i });
  }
  if (o.side !== 'buy' && o.side !== 'sell') throw malformed(`"trades[${i}].side" must be buy or sell`);
  return {
    id: o.id,
    price: decimalText(o.price, `trades[${i}].price`, false),
    size: decimalText(o.size, `trades[${i}].size`, true),
    side: o.side,
    makerOrderId: o.maker,
    takerOrderId: o.taker,
  };
}

export function parseFrame(text: string): SimFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `not JSON: ${(e as Error).message}`,
      { venue: 'sim', text: text.slice(0, 80) },
      e,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed('frame is not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.type !== 'string') return { kind: 'unknown', what: 'frame without type' };
  if (IGNORED.has(o.type)) return { kind: 'ignored' };
  if (o.type !== 'snapshot' && o.type !== 'l2update' && o.type !== 'trades') {
    return { kind: 'unknown', what: `type ${o.type.slice(0, 32)}` };
  }
  if (typeof o.symbol !== 'string' || !SYMBOL_RE.test(o.symbol))
    throw malformed('"symbol" must be a normalized symbol');
  const tsEventMs = nonNegativeInt(o.ts, 'ts');
  if (o.type === 'trades') {
    if (!Array.isArray(o.trades)) throw malformed('"trades" must be an array');
    return { kind: 'trades', msg: { symbol: o.symbol, tsEventMs, trades: o.trades.map(trade) } };
  }
  return {
    kind: 'book',
    msg: {
      type: o.type,
      symbol: o.symbol,
      seq: nonNegativeInt(o.seq, 'seq'),
      tsEventMs,
      bids: levels(o.bids, 'bids'),
      asks: levels(o.asks, 'asks'),
    },
  };
}
