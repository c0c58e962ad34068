/**
 * Normalized market-data events: immutable values, created only through the constructors below, which
 * validate every field and freeze the result (object, arrays and the levels inside them). The schema,
 * units and versioning rules are in docs/EVENTS.md; a test pins them.
 *
 * Timestamps: `tsEventMs` is the venue's event time in epoch milliseconds, or null when the venue sends
 * none; `tsRecvMs` is our receive time in epoch milliseconds (the same clock and unit as the feed-handler
 * contract and the capture files). Both may carry a fraction (Bitstamp sends microseconds). They are
 * statistics, not money, so plain numbers are fine.
 *
 * Prices and sizes are canonical exact decimal text (no exponent, no trailing zeros, `0` for zero): what
 * the venue meant, independent of how it formatted it. Venue checksums are computed by the venue handler
 * on the venue's own text before normalization.
 */
import { isQobError, qobError } from '../core/errors.ts';
import { Decimal } from '../core/fixed.ts';
import { parseNormalizedSymbol } from './instrument.ts';
import { describe, fieldError, priceText, sizeText } from './internal.ts';
import { parseVenueId, type VenueId } from './venue.ts';

export const EVENT_SCHEMA_VERSION = 1;
export const EVENT_TYPES = ['book.snapshot', 'book.delta', 'trade', 'status'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type BookSide = 'bid' | 'ask';
export type Aggressor = 'buy' | 'sell' | 'unknown';
export const FEED_STATUSES = [
  'connecting',
  'connected',
  'syncing',
  'in_sync',
  'stale',
  'failed',
  'disconnected',
] as const;
export type FeedStatus = (typeof FEED_STATUSES)[number];

/** `[price, size]`, canonical exact decimal text. */
export type Level = readonly [price: string, size: string];

/** One level change of a delta. `size` is absolute; `'0'` deletes the level. */
export interface LevelChange {
  readonly side: BookSide;
  readonly price: string;
  readonly size: string;
}

interface EventBase {
  readonly schemaVersion: 1;
  /** Stable id for deduplication: see `eventId`. */
  readonly id: string;
  readonly venue: VenueId;
  /** Venue event time, epoch ms, or null when the venue does not send one. */
  readonly tsEventMs: number | null;
  /** Our receive time, epoch ms. */
  readonly tsRecvMs: number;
  /** Our receive counter for the stream (injected by the caller, default 0): orders events received in one ms. */
  readonly recvSeq: number;
}

/** A full book: it replaces whatever the consumer held. Bids strictly descending, asks strictly ascending. */
export interface BookSnapshotEvent extends EventBase {
  readonly type: 'book.snapshot';
  readonly symbol: string;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  /** The venue's per-book sequence id of the snapshot (Binance lastUpdateId, OKX seqId, Bybit u), or null. */
  readonly seq: number | null;
}

/** A batch of level changes, applied in array order (the same price may appear twice: the last wins). */
export interface BookDeltaEvent extends EventBase {
  readonly type: 'book.delta';
  readonly symbol: string;
  readonly changes: readonly LevelChange[];
  /** First venue sequence id in the batch (Binance U), or null. */
  readonly firstSeq: number | null;
  /** Last venue sequence id in the batch (Binance u, OKX seqId, Bybit u), or null when the venue has none. */
  readonly lastSeq: number | null;
  /** The venue's id of the previous batch (Binance USD-M pu, OKX prevSeqId), or null. */
  readonly prevSeq: number | null;
}

export interface TradeEvent extends EventBase {
  readonly type: 'trade';
  readonly symbol: string;
  readonly price: string;
  /** Strictly positive. */
  readonly size: string;
  /** Side of the taker; 'unknown' when the venue does not say. */
  readonly aggressor: Aggressor;
  readonly tradeId: string | null;
}

export interface StatusEvent extends EventBase {
  readonly type: 'status';
  /** The book the status is about, or null for the venue connection as a whole. */
  readonly symbol: string | null;
  readonly status: FeedStatus;
  readonly reason: string;
}

export type MarketEvent = BookSnapshotEvent | BookDeltaEvent | TradeEvent | StatusEvent;

/** An event before (or regardless of) its id. */
export type EventWithoutId = MarketEvent extends infer E ? (E extends MarketEvent ? Omit<E, 'id'> : never) : never;

interface BaseInput {
  readonly venue: VenueId | string;
  readonly tsEventMs?: number | null;
  readonly tsRecvMs: number;
  readonly recvSeq?: number;
}

type DecimalInput = string | Decimal;

export interface BookSnapshotInput extends BaseInput {
  readonly symbol: string;
  readonly bids: ArrayLike<readonly [DecimalInput, DecimalInput]>;
  readonly asks: ArrayLike<readonly [DecimalInput, DecimalInput]>;
  readonly seq?: number | null;
}

export interface LevelChangeInput {
  readonly side: BookSide;
  readonly price: DecimalInput;
  readonly size: DecimalInput;
}

export interface BookDeltaInput extends BaseInput {
  readonly symbol: string;
  readonly changes: ArrayLike<LevelChangeInput>;
  readonly firstSeq?: number | null;
  readonly lastSeq?: number | null;
  readonly prevSeq?: number | null;
}

export interface TradeInput extends BaseInput {
  readonly symbol: string;
  readonly price: DecimalInput;
  readonly size: DecimalInput;
  readonly aggressor: Aggressor;
  /** Text, or a safe integer (turned into its decimal text). */
  readonly tradeId?: string | number | null;
}

export interface StatusInput extends BaseInput {
  readonly symbol?: string | null;
  readonly status: FeedStatus;
  readonly reason: string;
}

/** Latest epoch ms a JS Date can hold; any timestamp beyond is junk. */
const MAX_TS_MS = 8.64e15;
const MAX_ID_TEXT = 128;
const MAX_REASON = 1000;
/** Largest encoded event `decodeEvent` accepts (characters). */
export const MAX_ENCODED_EVENT = 64 * 1024 * 1024;

// ---- field validation -------------------------------------------------------------------------------

function arg(field: string, problem: string, value: unknown) {
  return fieldError('QOB_ERR_INVALID_ARGUMENT', field, problem, value);
}

function tsMs(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TS_MS) {
    throw arg(field, 'must be a finite epoch time in milliseconds', v);
  }
  return v;
}

function optTsMs(v: unknown, field: string): number | null {
  return v === undefined || v === null ? null : tsMs(v, field);
}

function optSeq(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw arg(field, 'must be a safe integer or null', v);
  return v;
}

function recvSeqOf(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw arg('recvSeq', 'must be a non-negative safe integer', v);
  }
  return v;
}

/** A normalized symbol; parseNormalizedSymbol's QOB_ERR_INVALID_SYMBOL already names the field `symbol`. */
function bookSymbol(v: unknown): string {
  parseNormalizedSymbol(v as string);
  return v as string;
}

function arrayLike(v: unknown, field: string): ArrayLike<unknown> {
  if (typeof v !== 'object' || v === null || typeof (v as ArrayLike<unknown>).length !== 'number') {
    throw arg(field, 'must be an array', v);
  }
  return v as ArrayLike<unknown>;
}

function base(input: BaseInput) {
  if (typeof input !== 'object' || input === null) throw arg('input', 'must be an object', input);
  return {
    venue: parseVenueId(input.venue),
    tsEventMs: optTsMs(input.tsEventMs, 'tsEventMs'),
    tsRecvMs: tsMs(input.tsRecvMs, 'tsRecvMs'),
    recvSeq: recvSeqOf(input.recvSeq),
  };
}

/**
 * The stable id of an event: `venue|symbol|type|part`, symbol `*` for venue-wide status. `part` comes from
 * the venue when it identifies the event (`s<prevSeq>:<firstSeq>:<lastSeq>` for deltas, `s<seq>` for
 * snapshots, `t<tradeId>` for trades), so two collectors of the same stream agree; otherwise it is the
 * receive ordering `r<tsRecvMs>#<recvSeq>`. The same record always has the same id, so a consumer can drop
 * a redelivered event by id.
 */
export function eventId(e: EventWithoutId): string {
  const head = `${e.venue}|${e.symbol ?? '*'}|${e.type}|`;
  const recv = `r${e.tsRecvMs}#${e.recvSeq}`;
  switch (e.type) {
    case 'book.snapshot':
      return head + (e.seq === null ? recv : `s${e.seq}`);
    case 'book.delta':
      return head + (e.lastSeq === null ? recv : `s${e.prevSeq ?? ''}:${e.firstSeq ?? ''}:${e.lastSeq}`);
    case 'trade':
      return head + (e.tradeId === null ? recv : `t${e.tradeId}`);
    case 'status':
      return head + recv;
  }
}

// ---- constructors -----------------------------------------------------------------------------------

function snapshotSide(v: unknown, field: 'bids' | 'asks'): readonly Level[] {
  const a = arrayLike(v, field);
  const out: Level[] = new Array(a.length);
  const dir = field === 'bids' ? -1 : 1;
  let prev: Decimal | undefined;
  for (let i = 0; i < a.length; i++) {
    const lv = a[i];
    const f = `${field}[${i}]`;
    if (!Array.isArray(lv) || lv.length !== 2) throw arg(f, 'must be a [price, size] pair', lv);
    const price = priceText(lv[0], `${f}.price`);
    const size = sizeText(lv[1], `${f}.size`);
    if (size === '0') throw arg(`${f}.size`, 'a snapshot level must have a positive size', lv[1]);
    const p = Decimal.parse(price);
    if (prev !== undefined && p.cmp(prev) !== dir) {
      throw arg(
        `${f}.price`,
        field === 'bids' ? 'bids must be strictly descending' : 'asks must be strictly ascending',
        lv[0],
      );
    }
    prev = p;
    out[i] = Object.freeze([price, size] as const);
  }
  return Object.freeze(out);
}

/** The fields every event starts with, in schema order; `seal` fills in `id`. */
function envelope<T extends string, S extends string | null>(type: T, b: ReturnType<typeof base>, symbol: S) {
  return {
    type,
    schemaVersion: 1 as const,
    id: '',
    venue: b.venue,
    symbol,
    tsEventMs: b.tsEventMs,
    tsRecvMs: b.tsRecvMs,
    recvSeq: b.recvSeq,
  };
}

/** Sets an event's id from its fields and freezes it: the last step of every constructor. */
function seal<E extends EventWithoutId & { id: string }>(e: E): E {
  e.id = eventId(e);
  return Object.freeze(e);
}

/** Creates a frozen `book.snapshot` event. Throws a typed error naming the offending field. */
export function bookSnapshot(input: BookSnapshotInput): BookSnapshotEvent {
  const b = base(input);
  const symbol = bookSymbol(input.symbol);
  const bids = snapshotSide(input.bids, 'bids');
  const asks = snapshotSide(input.asks, 'asks');
  const seq = optSeq(input.seq, 'seq');
  return seal({
    ...envelope('book.snapshot', b, symbol),
    seq,
    bids,
    asks,
  });
}

/** Creates a frozen `book.delta` event. Throws a typed error naming the offending field. */
export function bookDelta(input: BookDeltaInput): BookDeltaEvent {
  const b = base(input);
  const symbol = bookSymbol(input.symbol);
  const a = arrayLike(input.changes, 'changes');
  const changes: LevelChange[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const c = a[i] as LevelChangeInput;
    const f = `changes[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw arg(f, 'must be {side, price, size}', c);
    if (c.side !== 'bid' && c.side !== 'ask') throw arg(`${f}.side`, "must be 'bid' or 'ask'", c.side);
    changes[i] = Object.freeze({
      side: c.side,
      price: priceText(c.price, `${f}.price`),
      size: sizeText(c.size, `${f}.size`),
    });
  }
  const firstSeq = optSeq(input.firstSeq, 'firstSeq');
  const lastSeq = optSeq(input.lastSeq, 'lastSeq');
  const prevSeq = optSeq(input.prevSeq, 'prevSeq');
  if (firstSeq !== null && lastSeq === null) throw arg('lastSeq', 'is required when firstSeq is given', lastSeq);
  if (firstSeq !== null && lastSeq !== null && firstSeq > lastSeq) {
    throw arg('firstSeq', `must not exceed lastSeq ${lastSeq}`, firstSeq);
  }
  return seal({
    ...envelope('book.delta', b, symbol),
    firstSeq,
    lastSeq,
    prevSeq,
    changes: Object.freeze(changes),
  });
}

/** Creates a frozen `trade` event. Throws a typed error naming the offending field. */
export function trade(input: TradeInput): TradeEvent {
  const b = base(input);
  const symbol = bookSymbol(input.symbol);
  const price = priceText(input.price, 'price');
  const size = sizeText(input.size, 'size');
  if (size === '0') throw arg('size', 'a trade must have a positive size', input.size);
  const ag = input.aggressor;
  if (ag !== 'buy' && ag !== 'sell' && ag !== 'unknown')
    throw arg('aggressor', "must be 'buy', 'sell' or 'unknown'", ag);
  let tradeId: string | null = null;
  const t = input.tradeId;
  if (typeof t === 'number') {
    if (!Number.isSafeInteger(t)) throw arg('tradeId', 'a numeric trade id must be a safe integer', t);
    tradeId = String(t);
  } else if (typeof t === 'string') {
    if (t.length === 0 || t.length > MAX_ID_TEXT) throw arg('tradeId', `must be 1 to ${MAX_ID_TEXT} characters`, t);
    tradeId = t;
  } else if (t !== undefined && t !== null) {
    throw arg('tradeId', 'must be text, a safe integer or null', t);
  }
  return seal({
    ...envelope('trade', b, symbol),
    price,
    size,
    aggressor: ag,
    tradeId,
  });
}

/** Creates a frozen `status` event. Throws a typed error naming the offending field. */
export function status(input: StatusInput): StatusEvent {
  const b = base(input);
  const symbol = input.symbol === undefined || input.symbol === null ? null : bookSymbol(input.symbol);
  const st = input.status;
  if (!(FEED_STATUSES as readonly unknown[]).includes(st)) {
    throw arg('status', `must be one of ${FEED_STATUSES.join(', ')}`, st);
  }
  const reason = input.reason;
  if (typeof reason !== 'string' || reason.length > MAX_REASON) {
    throw arg('reason', `must be text of at most ${MAX_REASON} characters`, reason);
  }
  return seal({
    ...envelope('status', b, symbol),
    status: st,
    reason,
  });
}

// ---- encoding ---------------------------------------------------------------------------------------

/** JSON text of an event. Field order is fixed by the constructors, so equal events encode equally. */
export function encodeEvent(event: MarketEvent): string {
  return JSON.stringify(event);
}

const POISON_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function poisoned(key: string, path: string) {
  return qobError('QOB_ERR_PROTOTYPE_POISONING', `forbidden key ${JSON.stringify(key)} at ${path}`, {
    field: path,
    key,
  });
}

/**
 * Decodes the JSON text of an event and validates it through the constructors. Throws:
 * QOB_ERR_PROTOTYPE_POISONING for `__proto__`/`constructor`/`prototype` keys anywhere,
 * QOB_ERR_MALFORMED_MESSAGE for bad JSON, shape or id, or an unsupported `schemaVersion`,
 * QOB_ERR_UNKNOWN_MESSAGE for an unknown `type`, and the decimal, symbol and venue codes for bad values;
 * each error's context names the offending `field`. Unknown extra fields are ignored (see docs/EVENTS.md).
 */
export function decodeEvent(text: string): MarketEvent {
  if (typeof text !== 'string' || text.length > MAX_ENCODED_EVENT) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'an encoded event must be JSON text of bounded size', {
      field: '(text)',
      value: describe(text),
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (POISON_KEYS.has(key)) throw poisoned(key, key);
      return v;
    });
  } catch (e) {
    if (isQobError(e)) throw e;
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `not JSON: ${(e as Error).message}`, { field: '(text)' }, e);
  }
  return eventFromJSON(value);
}

function checkKeys(v: unknown, path: string, depth: number): void {
  if (typeof v !== 'object' || v === null) return;
  if (depth > 8) throw qobError('QOB_ERR_MALFORMED_MESSAGE', `nested too deeply at ${path}`, { field: path });
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkKeys(v[i], `${path}[${i}]`, depth + 1);
    return;
  }
  for (const k of Object.keys(v)) {
    if (POISON_KEYS.has(k)) throw poisoned(k, `${path}.${k}`);
    checkKeys((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
  }
}

/**
 * Validates an already-parsed JSON value as an event (same rules and errors as `decodeEvent`).
 * Rebuilds it through the constructor, so the result is frozen and canonical.
 */
export function eventFromJSON(value: unknown): MarketEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'an event must be a JSON object', {
      field: '(root)',
      value: describe(value),
    });
  }
  checkKeys(value, '', 0);
  const o = value as Record<string, unknown>;
  if (o.schemaVersion !== EVENT_SCHEMA_VERSION) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `unsupported schemaVersion ${describe(o.schemaVersion)}`, {
      field: 'schemaVersion',
      value: describe(o.schemaVersion),
      supported: [EVENT_SCHEMA_VERSION],
    });
  }
  let event: MarketEvent;
  try {
    event = build(o);
  } catch (e) {
    // A constructor's "bad argument" is a malformed message when it comes off the wire.
    if (isQobError(e, 'QOB_ERR_INVALID_ARGUMENT')) {
      throw qobError('QOB_ERR_MALFORMED_MESSAGE', e.message, { ...e.context }, e);
    }
    throw e;
  }
  if (o.id !== event.id) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `id ${describe(o.id)} does not match the event (${event.id})`, {
      field: 'id',
      value: describe(o.id),
      expected: event.id,
    });
  }
  return event;
}

function build(o: Record<string, unknown>): MarketEvent {
  const common = {
    venue: o.venue as string,
    tsEventMs: o.tsEventMs as number | null,
    tsRecvMs: o.tsRecvMs as number,
    recvSeq: o.recvSeq as number,
  };
  if (o.tsEventMs === undefined) throw arg('tsEventMs', 'is required (null when the venue sends none)', undefined);
  if (o.recvSeq === undefined) throw arg('recvSeq', 'is required', undefined);
  switch (o.type) {
    case 'book.snapshot':
      if (o.seq === undefined) throw arg('seq', 'is required (null when the venue has none)', undefined);
      return bookSnapshot({
        ...common,
        symbol: o.symbol as string,
        bids: o.bids as BookSnapshotInput['bids'],
        asks: o.asks as BookSnapshotInput['asks'],
        seq: o.seq as number | null,
      });
    case 'book.delta':
      for (const k of ['firstSeq', 'lastSeq', 'prevSeq'] as const) {
        if (o[k] === undefined) throw arg(k, 'is required (null when the venue has none)', undefined);
      }
      return bookDelta({
        ...common,
        symbol: o.symbol as string,
        changes: o.changes as BookDeltaInput['changes'],
        firstSeq: o.firstSeq as number | null,
        lastSeq: o.lastSeq as number | null,
        prevSeq: o.prevSeq as number | null,
      });
    case 'trade':
      if (o.tradeId === undefined) throw arg('tradeId', 'is required (null when the venue has none)', undefined);
      if (typeof o.tradeId === 'number') throw arg('tradeId', 'must be text or null in the encoding', o.tradeId);
      return trade({
        ...common,
        symbol: o.symbol as string,
        price: o.price as string,
        size: o.size as string,
        aggressor: o.aggressor as Aggressor,
        tradeId: o.tradeId as string | null,
      });
    case 'status':
      if (o.symbol === undefined) throw arg('symbol', 'is required (null for the whole venue)', undefined);
      return status({
        ...common,
        symbol: o.symbol as string | null,
        status: o.status as FeedStatus,
        reason: o.reason as string,
      });
    default:
      throw qobError('QOB_ERR_UNKNOWN_MESSAGE', `unknown event type ${describe(o.type)}`, {
        field: 'type',
        value: describe(o.type),
      });
  }
}
