/**
 * Redis as the latest-state cache and the fan-out to gateways, on ioredis.
 *
 * - The latest book snapshot and the latest status per (venue, symbol), each stored with a version: a
 *   write with a version not above the stored one is refused atomically (a Lua script), so the cache, and
 *   every reader of it, never goes backwards, whatever order writers race in.
 * - Pub/sub of book deltas, one channel per `venue|symbol`, for gateways that fan them out to clients. The
 *   payload is the bus envelope (topics.ts), so gateways decode exactly what Kafka carries. Pub/sub is
 *   fire-and-forget: a gateway that was not subscribed misses deltas and resyncs from the cached snapshot
 *   (the snapshot's version tells it where it stands).
 *
 * Keys: `<prefix>book:<venue>|<symbol>` and `<prefix>status:<venue>|<symbol or *>` (hashes with fields
 * `v` and `e`); channels `<prefix>delta:<venue>|<symbol>`. Default prefix `qob:`.
 */
import { Redis } from 'ioredis';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { BookDeltaEvent, BookSnapshotEvent, MarketEvent, StatusEvent } from '../domain/events.ts';
import { BUS_TOPICS, decodeMessage, encodeMessage, groupByKey, keyOf } from './topics.ts';

export interface RedisCacheOptions {
  /** `redis://host:port[/db]`. */
  readonly url: string;
  /** Prefix of every key and channel (default `qob:`). */
  readonly keyPrefix?: string;
  /** Closes the cache when aborted. */
  readonly signal?: AbortSignal;
}

export interface Versioned<E> {
  readonly version: number;
  readonly event: E;
}

export interface DeltaSubscription {
  /** Deltas received and decoded. */
  received(): number;
  /** Payloads (or events in them) that failed decoding, skipped. */
  malformed(): number;
  close(): Promise<void>;
}

export interface DeltaSubscribeOptions {
  readonly onError?: (err: QobError) => void;
  readonly signal?: AbortSignal;
}

/**
 * Sets hash fields v and e only when ARGV[1] is above the stored v. Returns {1, previous} when stored and
 * {0, current} otherwise, the version as text ('' when the key held none).
 */
const PUT_VERSIONED = `
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return {0, cur} end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'e', ARGV[2])
return {1, cur or ''}`;

interface WithScript {
  qobPutVersioned(key: string, version: string, encoded: string): Promise<[number, string]>;
}

/** The outcome of a versioned write: whether it was stored, and the version the key held before it (-1: none). */
export interface VersionedPut {
  readonly stored: boolean;
  readonly previous: number;
}

function version(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a cache version must be a non-negative safe integer', {
      field: 'version',
      value: v,
    });
  }
  return v;
}

function ioError(what: string, cause: unknown): QobError {
  if (isQobError(cause)) return cause;
  return qobError('QOB_ERR_IO', `redis: ${what}: ${(cause as Error)?.message ?? String(cause)}`, {}, cause);
}

export class RedisCache {
  readonly #redis: Redis;
  readonly #url: string;
  readonly #prefix: string;
  readonly #subs = new Set<DeltaSubscription>();
  #closing: Promise<void> | undefined;

  private constructor(redis: Redis, url: string, prefix: string, signal: AbortSignal | undefined) {
    this.#redis = redis;
    this.#url = url;
    this.#prefix = prefix;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Connects (ioredis reconnects by itself afterwards) and loads the versioned-write script. */
  static async connect(options: RedisCacheOptions): Promise<RedisCache> {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'url must be redis://host:port', { field: 'url' });
    }
    const redis = newClient(options.url);
    redis.defineCommand('qobPutVersioned', { numberOfKeys: 1, lua: PUT_VERSIONED });
    try {
      await redis.connect();
    } catch (e) {
      redis.disconnect();
      throw ioError('cannot connect', e);
    }
    return new RedisCache(redis, options.url, options.keyPrefix ?? 'qob:', options.signal);
  }

  #bookKey(venue: string, symbol: string): string {
    return `${this.#prefix}book:${venue}|${symbol}`;
  }

  #statusKey(venue: string, symbol: string | null): string {
    return `${this.#prefix}status:${venue}|${symbol ?? '*'}`;
  }

  async #put(key: string, v: number, event: MarketEvent): Promise<VersionedPut> {
    try {
      const [ok, prev] = await (this.#redis as unknown as WithScript).qobPutVersioned(
        key,
        String(v),
        encodeMessage([event]),
      );
      return { stored: ok === 1, previous: prev === '' ? -1 : Number(prev) };
    } catch (e) {
      throw ioError(`cannot write ${key}`, e);
    }
  }

  async #get<E extends MarketEvent>(key: string, type: E['type']): Promise<Versioned<E> | null> {
    let r: (string | null)[];
    try {
      r = await this.#redis.hmget(key, 'v', 'e');
    } catch (e) {
      throw ioError(`cannot read ${key}`, e);
    }
    const [v, e] = r;
    if (v === null || v === undefined || e === null || e === undefined) return null;
    const { events, errors } = decodeMessage(e, BUS_TOPICS[type]);
    const event = events[0];
    if (errors.length > 0 || event === undefined) {
      throw errors[0] ?? qobError('QOB_ERR_MALFORMED_MESSAGE', `cache entry ${key} holds no event`, { key });
    }
    return { version: Number(v), event: event as E };
  }

  /** Stores the snapshot if `ver` is above the stored version; returns whether it was stored. */
  async putBook(snapshot: BookSnapshotEvent, ver: number): Promise<boolean> {
    return (await this.putBookVersioned(snapshot, ver)).stored;
  }

  /**
   * `putBook` that also says which version it replaced (or found newer): a writer that counts what it
   * served counts only what lies beyond `previous`, whoever wrote that.
   */
  putBookVersioned(snapshot: BookSnapshotEvent, ver: number): Promise<VersionedPut> {
    return this.#put(this.#bookKey(snapshot.venue, snapshot.symbol), version(ver), snapshot);
  }

  getBook(venue: string, symbol: string): Promise<Versioned<BookSnapshotEvent> | null> {
    return this.#get<BookSnapshotEvent>(this.#bookKey(venue, symbol), 'book.snapshot');
  }

  /** Stores the status if `ver` is above the stored version; returns whether it was stored. */
  async putStatus(st: StatusEvent, ver: number): Promise<boolean> {
    return (await this.#put(this.#statusKey(st.venue, st.symbol), version(ver), st)).stored;
  }

  getStatus(venue: string, symbol: string | null): Promise<Versioned<StatusEvent> | null> {
    return this.#get<StatusEvent>(this.#statusKey(venue, symbol), 'status');
  }

  /** Publishes deltas, one message per key; resolves with the number of receivers Redis reported. */
  async publishDeltas(deltas: readonly BookDeltaEvent[]): Promise<number> {
    let receivers = 0;
    try {
      const pipe = this.#redis.pipeline();
      for (const run of groupByKey(deltas, 64))
        pipe.publish(`${this.#prefix}delta:${run.key}`, encodeMessage(run.events));
      for (const [err, n] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        receivers += Number(n);
      }
    } catch (e) {
      throw ioError('cannot publish deltas', e);
    }
    return receivers;
  }

  /**
   * Subscribes to the deltas of some `venue|symbol` keys, or of all (`'*'`), on a connection of its own.
   * Each delta is handed to `handler` in publish order per key; a payload that does not decode is counted
   * and reported through `onError`.
   */
  async subscribeDeltas(
    keys: readonly string[] | '*',
    handler: (delta: BookDeltaEvent) => void,
    options: DeltaSubscribeOptions = {},
  ): Promise<DeltaSubscription> {
    const sub = newClient(this.#url);
    let received = 0;
    let malformed = 0;
    const topic = BUS_TOPICS['book.delta'];
    const onPayload = (channel: string, payload: string) => {
      const key = channel.slice(this.#prefix.length + 'delta:'.length);
      try {
        const { events, errors } = decodeMessage(payload, topic, key);
        for (const err of errors) {
          malformed++;
          options.onError?.(err);
        }
        for (const e of events) {
          received++;
          handler(e as BookDeltaEvent);
        }
      } catch (e) {
        malformed++;
        options.onError?.(ioError(`bad payload on ${channel}`, e));
      }
    };
    sub.on('message', onPayload);
    sub.on('pmessage', (_pattern: string, channel: string, payload: string) => onPayload(channel, payload));
    try {
      await sub.connect();
      if (keys === '*') await sub.psubscribe(`${this.#prefix}delta:*`);
      else await sub.subscribe(...keys.map((k) => `${this.#prefix}delta:${k}`));
    } catch (e) {
      sub.disconnect();
      throw ioError('cannot subscribe to deltas', e);
    }
    let closing: Promise<void> | undefined;
    const handle: DeltaSubscription = {
      received: () => received,
      malformed: () => malformed,
      close: () => {
        if (closing === undefined) {
          this.#subs.delete(handle);
          closing = sub
            .quit()
            .then(() => undefined)
            .catch(() => sub.disconnect());
        }
        return closing;
      },
    };
    this.#subs.add(handle);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) await handle.close();
      else signal.addEventListener('abort', () => void handle.close(), { once: true });
    }
    return handle;
  }

  /** The key of an event's entry and channel: `venue|symbol`. */
  static keyOf(event: MarketEvent): string {
    return keyOf(event);
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = (async () => {
        await Promise.all([...this.#subs].map((s) => s.close()));
        await this.#redis.quit().catch(() => this.#redis.disconnect());
      })();
    }
    return this.#closing;
  }
}

function newClient(url: string): Redis {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  // ioredis reconnects by itself; without a listener a connection error would be an unhandled 'error'.
  r.on('error', () => undefined);
  return r;
}
