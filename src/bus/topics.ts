/**
 * Bus topics, message keys and the wire encoding of a bus message (docs/EVENTS.md, "Bus").
 *
 * One topic per event type, versioned in its name. A message's key is `venue|symbol` (`venue|*` for a
 * venue-wide status), so a partitioned transport keeps every instrument's events in one partition, in
 * order, and spreads instruments over partitions.
 *
 * A message carries one or more events of the same topic and key: `{"v":1,"events":[event, ...]}`, each
 * event in its `encodeEvent` form. The envelope version `v` is independent of the events' `schemaVersion`.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import { type EventType, encodeEvent, eventFromJSON, type MarketEvent } from '../domain/events.ts';

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
  let root: unknown;
  try {
    root = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
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
      supported: [ENVELOPE_VERSION],
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
