/**
 * Bus topics, message keys and the wire encoding of a bus message (docs/EVENTS.md, "Bus").
 *
 * One topic per event type, versioned in its name. A message's key is `venue|symbol` (`venue|*` for a
 * venue-wide status), so a partitioned transport keeps every instrument's events in one partition, in
 * order, and spreads instruments over partitions.
 *
 * A message carries one or more events of the same topic and key, in one of two versioned encodings that
 * `decodeMessage` tells apart by the first character: the JSON envelope `{"v":1,"events":[event, ...]}`
 * (each event in its `encodeEvent` form; Redis) and the compact one, a flat JSON array
 * `[2, type, venue, symbol, count, ...fields]` with each event's fields by position and no derived `id`
 * (Kafka; docs/EVENTS.md, "Message encoding"). Both versions are independent of the events' `schemaVersion`.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import {
  type BookDeltaEvent,
  bookDelta,
  bookSnapshot,
  type EventType,
  encodeEvent,
  eventFromJSON,
  eventId,
  type LevelChange,
  type MarketEvent,
  status,
  type TradeEvent,
  trade,
} from '../domain/events.ts';

export const BUS_TOPICS = {
  'book.delta': 'qob.book.delta.v1',
  'book.snapshot': 'qob.book.snapshot.v1',
  trade: 'qob.trade.v1',
  status: 'qob.status.v1',
} as const satisfies Record<EventType, string>;

export type BusTopic = (typeof BUS_TOPICS)[EventType];
export const ALL_BUS_TOPICS: readonly BusTopic[] = Object.freeze(Object.values(BUS_TOPICS));

/** Market-data topics may drop to the newest under a slow in-process subscriber; the others never drop. */
export const MARKET_DATA_TOPICS: ReadonlySet<BusTopic> = new Set<BusTopic>([
  BUS_TOPICS['book.delta'],
  BUS_TOPICS['book.snapshot'],
  BUS_TOPICS.trade,
]);

/** Version of the message envelope `{"v":1,"events":[...]}`. */
export const ENVELOPE_VERSION = 1;
/** Version of the compact encoding `[2, type, venue, symbol, count, ...fields]`. */
export const COMPACT_VERSION = 2;

export function topicOf(event: MarketEvent): BusTopic {
  return BUS_TOPICS[event.type];
}

export function isBusTopic(t: unknown): t is BusTopic {
  return typeof t === 'string' && (ALL_BUS_TOPICS as readonly string[]).includes(t);
}

/** The partition key of an event: `venue|symbol`, `venue|*` for a venue-wide status. */
export function keyOf(event: MarketEvent): string {
  return `${event.venue}|${event.symbol ?? '*'}`;
}

/** Throws QOB_ERR_INVALID_ARGUMENT unless `topic` is a bus topic and every event belongs on it. */
export function checkPublish(topic: unknown, events: readonly MarketEvent[]): asserts topic is BusTopic {
  if (!isBusTopic(topic)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `unknown bus topic ${JSON.stringify(topic)}`, {
      field: 'topic',
      value: String(topic),
      allowed: ALL_BUS_TOPICS,
    });
  }
  if (!Array.isArray(events)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'events must be an array', { field: 'events' });
  }
  for (let i = 0; i < events.length; i++) {
    const e = (events as readonly unknown[])[i] as MarketEvent | null | undefined;
    if (typeof e !== 'object' || e === null || (BUS_TOPICS as Record<string, string>)[e.type] !== topic) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `events[${i}] does not belong on ${topic}`, {
        field: `events[${i}].type`,
        value: typeof e === 'object' && e !== null ? String(e.type) : typeof e,
        topic,
      });
    }
  }
}

/** Encodes events (same topic and key) as one message value. */
export function encodeMessage(events: readonly MarketEvent[]): string {
  let s = `{"v":${ENVELOPE_VERSION},"events":[`;
  for (let i = 0; i < events.length; i++) {
    if (i > 0) s += ',';
    s += encodeEvent(events[i] as MarketEvent);
  }
  return `${s}]}`;
}

export interface DecodedMessage {
  /** The valid events, in message order. */
  readonly events: MarketEvent[];
  /** One typed error per event that failed validation (the others are still delivered). */
  readonly errors: QobError[];
}

/** Most bytes a message value may have before it is rejected unread. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Decodes a message value. A value that is not an envelope throws QOB_ERR_MALFORMED_MESSAGE (the whole
 * message is skipped); an envelope whose individual events fail validation returns them in `errors`.
 * An event on the wrong topic or key is an error too: it would break the per-key ordering contract.
 */
export function decodeMessage(
  value: string | Buffer | undefined | null,
  topic: BusTopic,
  key?: string,
): DecodedMessage {
  if (value === undefined || value === null || value.length === 0) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `empty message on ${topic}`, { field: '(value)', topic });
  }
  if (value.length > MAX_MESSAGE_BYTES) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `message of ${value.length} bytes on ${topic} is too large`, {
      field: '(value)',
      topic,
    });
  }
  const text = typeof value === 'string' ? value : value.toString('utf8');
  if (text.charCodeAt(0) === 0x5b /* [ */) return decodeCompact(text, topic, key);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `not JSON on ${topic}: ${(e as Error).message}`,
      { field: '(value)', topic },
      e,
    );
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `message on ${topic} is not an envelope object`, {
      field: '(root)',
      topic,
    });
  }
  const env = root as { v?: unknown; events?: unknown };
  if (env.v !== ENVELOPE_VERSION) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `unsupported envelope version ${JSON.stringify(env.v)} on ${topic}`, {
      field: 'v',
      topic,
      supported: [ENVELOPE_VERSION, COMPACT_VERSION],
    });
  }
  if (!Array.isArray(env.events)) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `envelope on ${topic} has no events array`, { field: 'events', topic });
  }
  const events: MarketEvent[] = [];
  const errors: QobError[] = [];
  for (let i = 0; i < env.events.length; i++) {
    try {
      const e = eventFromJSON(env.events[i]);
      if (BUS_TOPICS[e.type] !== topic) {
        throw qobError('QOB_ERR_MALFORMED_MESSAGE', `a ${e.type} event on ${topic}`, { field: 'type', topic });
      }
      if (key !== undefined && keyOf(e) !== key) {
        throw qobError('QOB_ERR_MALFORMED_MESSAGE', `event key ${keyOf(e)} differs from message key ${key}`, {
          field: 'venue|symbol',
          topic,
        });
      }
      events.push(e);
    } catch (e) {
      const err = isQobError(e)
        ? e
        : qobError('QOB_ERR_MALFORMED_MESSAGE', `bad event on ${topic}: ${String(e)}`, { topic }, e);
      errors.push(
        qobError(err.code, `events[${i}]: ${err.message}`, { ...err.context, topic, index: i }, err) as QobError,
      );
    }
  }
  return { events, errors };
}

/**
 * Splits events into per-key runs of at most `perMessage` events, keeping each key's order. Runs of
 * different keys may interleave in any order: only per-key order is a contract.
 */
export function groupByKey(
  events: readonly MarketEvent[],
  perMessage: number,
): { key: string; events: MarketEvent[] }[] {
  const open = new Map<string, MarketEvent[]>();
  const out: { key: string; events: MarketEvent[] }[] = [];
  for (const e of events) {
    const k = keyOf(e);
    let run = open.get(k);
    if (run === undefined || run.length >= perMessage) {
      run = [];
      open.set(k, run);
      out.push({ key: k, events: run });
    }
    run.push(e);
  }
  return out;
}

// ---- compact encoding (version 2) -------------------------------------------------------------------

const TYPE_OF_TOPIC: Readonly<Record<string, EventType>> = Object.fromEntries(
  Object.entries(BUS_TOPICS).map(([type, topic]) => [topic, type as EventType]),
);

/**
 * Encodes events of one topic and key as a compact message: one flat JSON array,
 * `[2, type, venue, symbol, count, ...fields of each event]`. Per event, by type:
 * `book.delta` tsEventMs, tsRecvMs, recvSeq, firstSeq, lastSeq, prevSeq, n, then n × (side 0 bid / 1 ask,
 * price, size); `book.snapshot` tsEventMs, tsRecvMs, recvSeq, seq, nb, nb × (price, size), na, na × (price,
 * size); `trade` tsEventMs, tsRecvMs, recvSeq, price, size, aggressor, tradeId; `status` tsEventMs, tsRecvMs,
 * recvSeq, status, reason. The id is not sent: the decoder derives it from the fields.
 */
export function encodeCompact(events: readonly MarketEvent[]): string {
  const first = events[0];
  if (first === undefined) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a message needs at least one event', { field: 'events' });
  }
  const a: unknown[] = [COMPACT_VERSION, first.type, first.venue, first.symbol, events.length];
  for (const e of events) {
    if (e.type !== first.type || e.venue !== first.venue || e.symbol !== first.symbol) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the events of one message must share their type and key', {
        field: 'events',
        value: keyOf(e),
      });
    }
    a.push(e.tsEventMs, e.tsRecvMs, e.recvSeq);
    switch (e.type) {
      case 'book.delta':
        a.push(e.firstSeq, e.lastSeq, e.prevSeq, e.changes.length);
        for (const c of e.changes) a.push(c.side === 'bid' ? 0 : 1, c.price, c.size);
        break;
      case 'book.snapshot':
        a.push(e.seq, e.bids.length);
        for (const [p, q] of e.bids) a.push(p, q);
        a.push(e.asks.length);
        for (const [p, q] of e.asks) a.push(p, q);
        break;
      case 'trade':
        a.push(e.price, e.size, e.aggressor, e.tradeId);
        break;
      case 'status':
        a.push(e.status, e.reason);
        break;
    }
  }
  return JSON.stringify(a);
}

/** `encodeCompact` as UTF-8 bytes, the value of a Kafka message. */
export function encodeMessageBinary(events: readonly MarketEvent[]): Buffer {
  return Buffer.from(encodeCompact(events), 'utf8');
}

/** Canonical decimal text (no sign, exponent, leading or trailing zeros), the form the constructors return. */
const CANONICAL_DECIMAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]{0,17}[1-9])?$/;
const MAX_TS_MS = 8.64e15;

function canonicalSize(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 64 && CANONICAL_DECIMAL.test(v);
}
function canonicalPrice(v: unknown): v is string {
  return canonicalSize(v) && v !== '0';
}
function isTs(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= MAX_TS_MS;
}
function isSeq(v: unknown): v is number | null {
  return v === null || Number.isSafeInteger(v);
}

function malformed(topic: string, message: string, field: string): QobError {
  return qobError('QOB_ERR_MALFORMED_MESSAGE', `${message} on ${topic}`, { field, topic });
}

/** Reads a compact message; framing errors stop it (the events before are kept), field errors skip one event. */
class CompactReader {
  readonly a: readonly unknown[];
  i: number;
  readonly topic: string;

  constructor(a: readonly unknown[], i: number, topic: string) {
    this.a = a;
    this.i = i;
    this.topic = topic;
  }

  /** Skips `n` values, returns the index of the first; a message too short is a framing error. */
  take(n: number, what: string): number {
    if (this.i + n > this.a.length) {
      throw framingError(malformed(this.topic, `compact message ends inside ${what}`, what));
    }
    const at = this.i;
    this.i += n;
    return at;
  }

  count(what: string, width: number): number {
    const at = this.take(1, what);
    const n = this.a[at];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || this.i + n * width > this.a.length) {
      throw framingError(malformed(this.topic, `bad ${what} count ${String(n)}`, what));
    }
    return n;
  }
}

function decodeCompact(text: string, topic: BusTopic, key: string | undefined): DecodedMessage {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `not JSON on ${topic}: ${(e as Error).message}`,
      { field: '(value)', topic },
      e,
    );
  }
  if (!Array.isArray(root) || root[0] !== COMPACT_VERSION) {
    throw qobError('QOB_ERR_MALFORMED_MESSAGE', `unsupported compact version on ${topic}`, {
      field: '[0]',
      topic,
      supported: [ENVELOPE_VERSION, COMPACT_VERSION],
    });
  }
  const [, type, venue, symbol, count] = root as unknown[];
  if (type !== TYPE_OF_TOPIC[topic]) throw malformed(topic, `a ${String(type)} message`, 'type');
  if (typeof venue !== 'string' || (symbol !== null && typeof symbol !== 'string')) {
    throw malformed(topic, 'a compact message without venue and symbol', 'venue|symbol');
  }
  const msgKey = `${venue}|${symbol ?? '*'}`;
  if (key !== undefined && msgKey !== key) {
    throw malformed(topic, `message venue|symbol ${msgKey} differs from message key ${key}`, 'venue|symbol');
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw malformed(topic, `bad event count ${String(count)}`, 'count');
  }
  const r = new CompactReader(root, 5, topic);
  const events: MarketEvent[] = [];
  const errors: QobError[] = [];
  // Venue and symbol are checked once, by the constructor of the message's first valid event; after that,
  // events whose fields pass the fast checks are built directly (same shape, frozen, id derived).
  let keyChecked = false;
  for (let n = 0; n < count; n++) {
    try {
      events.push(readCompactEvent(r, type as EventType, venue, symbol, keyChecked));
      keyChecked = true;
    } catch (err) {
      const e = isQobError(err)
        ? err
        : qobError('QOB_ERR_MALFORMED_MESSAGE', `bad event on ${topic}: ${String(err)}`, { topic }, err);
      errors.push(qobError(e.code, `events[${n}]: ${e.message}`, { ...e.context, topic, index: n }, e) as QobError);
      // A framing error leaves no way to find the next event: the rest of the message is lost with it.
      if (isFraming(e)) break;
    }
  }
  if (errors.length === 0 && r.i !== r.a.length) {
    errors.push(malformed(topic, `${r.a.length - r.i} values after the last event`, '(tail)'));
  }
  return { events, errors };
}

const FRAMING = new WeakSet<QobError>();
function isFraming(e: QobError): boolean {
  return FRAMING.has(e);
}

/** Marks an error as one that leaves no way to find the next event of the message. */
function framingError(e: QobError): QobError {
  FRAMING.add(e);
  return e;
}

function readCompactEvent(
  r: CompactReader,
  type: EventType,
  venue: string,
  symbol: string | null,
  fast: boolean,
): MarketEvent {
  const a = r.a;
  switch (type) {
    case 'book.delta': {
      const at = r.take(6, 'book.delta');
      const n = r.count('changes', 3);
      const c0 = r.take(n * 3, 'changes');
      const tsEventMs = a[at];
      const tsRecvMs = a[at + 1];
      const recvSeq = a[at + 2];
      const firstSeq = a[at + 3];
      const lastSeq = a[at + 4];
      const prevSeq = a[at + 5];
      let ok =
        fast &&
        (tsEventMs === null || isTs(tsEventMs)) &&
        isTs(tsRecvMs) &&
        Number.isSafeInteger(recvSeq) &&
        (recvSeq as number) >= 0 &&
        isSeq(firstSeq) &&
        isSeq(lastSeq) &&
        isSeq(prevSeq) &&
        (firstSeq === null || (lastSeq !== null && firstSeq <= lastSeq));
      const changes: LevelChange[] = new Array(n);
      for (let j = 0; j < n; j++) {
        const s = a[c0 + j * 3];
        const price = a[c0 + j * 3 + 1];
        const size = a[c0 + j * 3 + 2];
        const side = s === 0 ? 'bid' : s === 1 ? 'ask' : `side code ${String(s)}`;
        if (ok && !((s === 0 || s === 1) && canonicalPrice(price) && canonicalSize(size))) ok = false;
        changes[j] = ok
          ? Object.freeze({ side: side as 'bid' | 'ask', price: price as string, size: size as string })
          : ({ side, price, size } as unknown as LevelChange);
      }
      if (!ok) {
        return bookDelta({
          venue,
          symbol: symbol as string,
          tsEventMs: tsEventMs as number | null,
          tsRecvMs: tsRecvMs as number,
          recvSeq: recvSeq as number,
          firstSeq: firstSeq as number | null,
          lastSeq: lastSeq as number | null,
          prevSeq: prevSeq as number | null,
          changes: changes as unknown as BookDeltaEvent['changes'],
        });
      }
      const e = {
        type: 'book.delta' as const,
        schemaVersion: 1 as const,
        id: '',
        venue,
        symbol: symbol as string,
        tsEventMs: tsEventMs as number | null,
        tsRecvMs: tsRecvMs as number,
        recvSeq: recvSeq as number,
        firstSeq: firstSeq as number | null,
        lastSeq: lastSeq as number | null,
        prevSeq: prevSeq as number | null,
        changes: Object.freeze(changes),
      };
      e.id = eventId(e as BookDeltaEvent);
      return Object.freeze(e) as BookDeltaEvent;
    }
    case 'trade': {
      const at = r.take(7, 'trade');
      const tsEventMs = a[at];
      const tsRecvMs = a[at + 1];
      const recvSeq = a[at + 2];
      const price = a[at + 3];
      const size = a[at + 4];
      const aggressor = a[at + 5];
      const tradeId = a[at + 6];
      const input = {
        venue,
        symbol: symbol as string,
        tsEventMs: tsEventMs as number | null,
        tsRecvMs: tsRecvMs as number,
        recvSeq: recvSeq as number,
        price: price as string,
        size: size as string,
        aggressor: aggressor as TradeEvent['aggressor'],
        tradeId: tradeId as string | null,
      };
      const ok =
        fast &&
        (tsEventMs === null || isTs(tsEventMs)) &&
        isTs(tsRecvMs) &&
        Number.isSafeInteger(recvSeq) &&
        (recvSeq as number) >= 0 &&
        canonicalPrice(price) &&
        canonicalPrice(size) &&
        (aggressor === 'buy' || aggressor === 'sell' || aggressor === 'unknown') &&
        (tradeId === null || (typeof tradeId === 'string' && tradeId.length > 0 && tradeId.length <= 128));
      if (!ok) return trade(input);
      const e = {
        type: 'trade' as const,
        schemaVersion: 1 as const,
        id: '',
        venue,
        symbol: symbol as string,
        tsEventMs: tsEventMs as number | null,
        tsRecvMs: tsRecvMs as number,
        recvSeq: recvSeq as number,
        price: price as string,
        size: size as string,
        aggressor: aggressor as TradeEvent['aggressor'],
        tradeId: tradeId as string | null,
      };
      e.id = eventId(e as TradeEvent);
      return Object.freeze(e) as TradeEvent;
    }
    case 'book.snapshot': {
      const at = r.take(4, 'book.snapshot');
      const nb = r.count('bids', 2);
      const b0 = r.take(nb * 2, 'bids');
      const na = r.count('asks', 2);
      const a0 = r.take(na * 2, 'asks');
      const levels = (from: number, n: number) =>
        Array.from({ length: n }, (_, j) => [a[from + j * 2], a[from + j * 2 + 1]]);
      return bookSnapshot({
        venue,
        symbol: symbol as string,
        tsEventMs: a[at] as number | null,
        tsRecvMs: a[at + 1] as number,
        recvSeq: a[at + 2] as number,
        seq: a[at + 3] as number | null,
        bids: levels(b0, nb) as unknown as [string, string][],
        asks: levels(a0, na) as unknown as [string, string][],
      });
    }
    case 'status': {
      const at = r.take(5, 'status');
      return status({
        venue,
        symbol,
        tsEventMs: a[at] as number | null,
        tsRecvMs: a[at + 1] as number,
        recvSeq: a[at + 2] as number,
        status: a[at + 3] as StatusInputStatus,
        reason: a[at + 4] as string,
      });
    }
  }
}

type StatusInputStatus = Parameters<typeof status>[0]['status'];
