/**
 * The Kafka bus of the service split, on @platformatic/kafka (pure JavaScript, maintained).
 *
 * Producer: idempotent, acks=all (-1). `publish` packs up to `eventsPerMessage` events of one key into a
 * message (envelope in topics.ts) and splits the messages into produce requests of at most
 * `messagesPerSend`; up to `maxInFlight` (<= 5, the idempotence limit) requests are in flight across all
 * publishes, started in call order, so a key's order holds across concurrent publishes. It resolves when every send is acknowledged by all in-sync replicas.
 *
 * Consumer: one Kafka consumer per subscription, in its group, starting at the group's committed offset
 * (the earliest one for a new group). Messages are read in order per partition, decoded, deduplicated and
 * handed over in batches; the offsets are committed only after the handler resolves. A message that does
 * not decode is counted (`stats().malformed`), reported through `onError` and skipped. A lost connection
 * or a failed fetch recreates the consumer after a growing delay (`stats().reconnects`): the group
 * restarts from the committed offsets and the deduplicator drops what was already applied.
 */
import { Admin, Consumer, type Message, type MessagesStream, ProduceAcks, Producer } from '@platformatic/kafka';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { MarketEvent } from '../domain/events.ts';
import {
  type Bus,
  type BusHandler,
  type BusHandlerContext,
  checkSubscribe,
  type Delivery,
  deliverBatch,
  emptyStats,
  positiveInt,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
  sleep,
} from './bus.ts';
import { ALL_BUS_TOPICS, type BusTopic, checkPublish, decodeMessage, encodeMessage, groupByKey } from './topics.ts';

export interface KafkaBusOptions {
  /** `host:port` of one or more brokers. */
  readonly brokers: readonly string[];
  /** Client id prefix (default `qob`). */
  readonly clientId?: string;
  /** Prepended to every topic name, to run several isolated buses on one cluster (default none). */
  readonly topicPrefix?: string;
  /** Partitions of each topic when the bus creates it (default 6). */
  readonly partitions?: number;
  /** Replication factor of created topics (default 1, a local single broker). */
  readonly replicationFactor?: number;
  /** Create missing topics at connect (default true). */
  readonly createTopics?: boolean;
  /** Events of one key packed into one Kafka message (default 64). */
  readonly eventsPerMessage?: number;
  /** Messages per produce request (default 256). */
  readonly messagesPerSend?: number;
  /** Produce requests in flight at once, across all `publish` calls (default and maximum 5). */
  readonly maxInFlight?: number;
  /** Longest time a fetch waits for data, ms (default 100). */
  readonly maxWaitTimeMs?: number;
  /** Consumer group session timeout, ms (default 10,000). */
  readonly sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, ms (default 1000). */
  readonly heartbeatIntervalMs?: number;
  /** Request timeout, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Closes the bus when aborted. */
  readonly signal?: AbortSignal;
}

interface Compiled {
  readonly brokers: string[];
  readonly clientId: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly eventsPerMessage: number;
  readonly messagesPerSend: number;
  readonly maxInFlight: number;
  readonly maxWaitTimeMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly timeoutMs: number;
}

function compile(o: KafkaBusOptions): Compiled {
  if (!Array.isArray(o.brokers) || o.brokers.length === 0 || o.brokers.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b))) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'brokers must be a non-empty list of host:port', {
      field: 'brokers',
      value: String(o.brokers),
    });
  }
  const prefix = o.topicPrefix ?? '';
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(prefix)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'topicPrefix may hold only A-Z a-z 0-9 . _ -', {
      field: 'topicPrefix',
      value: prefix,
    });
  }
  return {
    brokers: [...o.brokers],
    clientId: o.clientId ?? 'qob',
    prefix,
    partitions: positiveInt(o.partitions, 6, 'partitions'),
    replicationFactor: positiveInt(o.replicationFactor, 1, 'replicationFactor'),
    eventsPerMessage: positiveInt(o.eventsPerMessage, 64, 'eventsPerMessage'),
    messagesPerSend: positiveInt(o.messagesPerSend, 256, 'messagesPerSend'),
    maxInFlight: Math.min(5, positiveInt(o.maxInFlight, 5, 'maxInFlight')),
    maxWaitTimeMs: positiveInt(o.maxWaitTimeMs, 100, 'maxWaitTimeMs'),
    sessionTimeoutMs: positiveInt(o.sessionTimeoutMs, 10_000, 'sessionTimeoutMs'),
    heartbeatIntervalMs: positiveInt(o.heartbeatIntervalMs, 1000, 'heartbeatIntervalMs'),
    timeoutMs: positiveInt(o.timeoutMs, 10_000, 'timeoutMs'),
  };
}

function ioError(what: string, cause: unknown, context: Record<string, unknown>): QobError {
  if (isQobError(cause)) return cause;
  return qobError('QOB_ERR_IO', `kafka: ${what}: ${(cause as Error)?.message ?? String(cause)}`, context, cause);
}

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export class KafkaBus implements Bus {
  readonly #o: Compiled;
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  readonly #subs = new Set<KafkaSubscription>();
  readonly #byName = new Map<string, BusTopic>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  readonly #slotWaiters: (() => void)[] = [];

  private constructor(o: Compiled, signal: AbortSignal | undefined) {
    this.#o = o;
    for (const t of ALL_BUS_TOPICS) this.#byName.set(o.prefix + t, t);
    this.#producer = new Producer({
      clientId: `${o.clientId}-producer`,
      bootstrapBrokers: o.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      timeout: o.timeoutMs,
      retries: 10,
      retryDelay: 250,
    });
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  /** Validates the options, creates the missing topics and returns a bus ready to publish. */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const o = compile(options);
    if (options.createTopics !== false) await ensureTopics(o);
    const bus = new KafkaBus(o, options.signal);
    await bus.#warm();
    return bus;
  }

  /**
   * Gets the producer id and the topics' metadata before the first publish. Concurrent first sends would
   * each start their own producer-id request and could take their sequence numbers out of call order.
   */
  async #warm(): Promise<void> {
    try {
      await this.#producer.initIdempotentProducer({});
      await this.#producer.metadata({ topics: ALL_BUS_TOPICS.map((t) => this.#o.prefix + t) });
    } catch (e) {
      await this.#producer.close().catch(() => undefined);
      throw ioError('cannot start the producer', e, { brokers: this.#o.brokers });
    }
  }

  /** The Kafka topic name of a bus topic (with the prefix). */
  topicName(topic: BusTopic): string {
    return this.#o.prefix + topic;
  }

  async publish(topic: BusTopic, events: readonly MarketEvent[]): Promise<void> {
    if (this.#closed) throw qobError('QOB_ERR_CLOSED', 'the bus is closed', { topic });
    checkPublish(topic, events);
    if (events.length === 0) return;
    const name = this.#o.prefix + topic;
    const runs = groupByKey(events, this.#o.eventsPerMessage);
    const per = this.#o.messagesPerSend;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < runs.length; i += per) {
      const messages = runs.slice(i, i + per).map((r) => ({
        topic: name,
        key: Buffer.from(r.key),
        value: Buffer.from(encodeMessage(r.events)),
      }));
      sends.push(this.#send(messages));
    }
    try {
      await Promise.all(sends);
    } catch (e) {
      throw ioError(`publish to ${name} failed`, e, { topic: name, events: events.length });
    }
  }

  /**
   * One produce request, at most `maxInFlight` at once. An idempotent producer may not have more than 5
   * requests in flight per connection (the broker then rejects sequences out of order, and this client
   * stalls), so requests beyond wait their turn, strictly in call order: a released slot is handed to the
   * oldest waiter, which keeps the order of sequence numbers equal to the order of `publish` calls.
   */
  async #send(messages: { topic: string; key: Buffer; value: Buffer }[]): Promise<void> {
    if (this.#inFlight < this.#o.maxInFlight && this.#slotWaiters.length === 0) this.#inFlight++;
    else await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    try {
      await this.#producer.send({ messages });
    } finally {
      const next = this.#slotWaiters.shift();
      if (next !== undefined) next();
      else this.#inFlight--;
    }
  }

  async subscribe(
    topics: BusTopic | readonly BusTopic[],
    group: string,
    handler: BusHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const list = checkSubscribe(this.#closed, topics, group, handler);
    const sub = new KafkaSubscription(this.#o, this.#byName, list, group, handler, options, (s) =>
      this.#subs.delete(s),
    );
    this.#subs.add(sub);
    try {
      await sub.start();
    } catch (e) {
      await sub.close();
      throw e;
    }
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) await sub.close();
      else signal.addEventListener('abort', () => void sub.close(), { once: true });
    }
    return sub;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = (async () => {
        await Promise.all([...this.#subs].map((s) => s.close()));
        await this.#producer.close().catch(() => undefined);
      })();
    }
    return this.#closing;
  }
}

async function ensureTopics(o: Compiled): Promise<void> {
  const admin = new Admin({ clientId: `${o.clientId}-admin`, bootstrapBrokers: o.brokers, timeout: o.timeoutMs });
  try {
    const wanted = ALL_BUS_TOPICS.map((t) => o.prefix + t);
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      try {
        await admin.createTopics({ topics: missing, partitions: o.partitions, replicas: o.replicationFactor });
      } catch (e) {
        // Another process may have created them meanwhile: only fail if they are still missing.
        const now = new Set(await admin.listTopics());
        if (missing.some((t) => !now.has(t))) throw e;
      }
    }
  } catch (e) {
    throw ioError('cannot create the bus topics', e, { brokers: o.brokers });
  } finally {
    await admin.close().catch(() => undefined);
  }
}

class KafkaSubscription implements Subscription {
  readonly group: string;
  readonly topics: readonly BusTopic[];
  readonly #o: Compiled;
  readonly #byName: ReadonlyMap<string, BusTopic>;
  readonly #handler: BusHandler;
  readonly #options: SubscribeOptions;
  readonly #maxBatch: number;
  readonly #stats: SubscriptionStats = emptyStats();
  readonly #stop = new AbortController();
  readonly #onClose: (s: KafkaSubscription) => void;
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    o: Compiled,
    byName: ReadonlyMap<string, BusTopic>,
    topics: readonly BusTopic[],
    group: string,
    handler: BusHandler,
    options: SubscribeOptions,
    onClose: (s: KafkaSubscription) => void,
  ) {
    this.#o = o;
    this.#byName = byName;
    this.topics = topics;
    this.group = group;
    this.#handler = handler;
    this.#options = options;
    this.#maxBatch = positiveInt(options.maxBatch, 1000, 'maxBatch');
    this.#onClose = onClose;
  }

  stats(): Readonly<SubscriptionStats> {
    return { ...this.#stats };
  }

  /** Joins the group and starts the delivery loop; rejects when the first connection fails. */
  async start(): Promise<void> {
    const stream = await this.#open();
    this.#loop = this.#run(stream);
  }

  async #open(): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    const o = this.#o;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: `${o.clientId}-${this.group}`,
      bootstrapBrokers: o.brokers,
      groupId: this.group,
      timeout: o.timeoutMs,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTime: o.maxWaitTimeMs,
      autocommit: false,
    });
    this.#consumer = consumer;
    try {
      const stream = await consumer.consume({
        topics: this.topics.map((t) => o.prefix + t),
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        maxWaitTime: o.maxWaitTimeMs,
      });
      // Errors are read by the loop (waitReadable); this listener keeps an unhandled 'error' from throwing.
      stream.on('error', () => undefined);
      this.#stream = stream;
      return stream;
    } catch (e) {
      this.#consumer = undefined;
      await consumer.close(true).catch(() => undefined);
      throw ioError(`cannot join group ${this.group}`, e, { group: this.group, topics: this.topics });
    }
  }

  async #teardown(): Promise<void> {
    const stream = this.#stream;
    const consumer = this.#consumer;
    this.#stream = undefined;
    this.#consumer = undefined;
    await stream?.close().catch(() => undefined);
    await consumer?.close(true).catch(() => undefined);
  }

  #report(err: QobError, topic: string): void {
    this.#options.onError?.(err, { topic, group: this.group });
  }

  async #run(first: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    const signal = this.#stop.signal;
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined = first;
    let delay = this.#options.retryDelayMs ?? 100;
    while (!signal.aborted) {
      try {
        if (stream === undefined) {
          stream = await this.#open();
          this.#stats.reconnects++;
        }
        await this.#consume(stream, signal);
        delay = this.#options.retryDelayMs ?? 100;
      } catch (e) {
        if (signal.aborted) break;
        this.#report(ioError(`consumer of group ${this.group} failed`, e, { group: this.group }), '*');
      }
      if (signal.aborted) break;
      // The stream ended or failed: recreate the consumer after a growing delay.
      await this.#teardown();
      stream = undefined;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  /** Reads until the stream ends, fails or the subscription closes. */
  async #consume(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const batch: RawMessage[] = [];
      let m: RawMessage | null;
      while (batch.length < this.#maxBatch && (m = stream.read() as RawMessage | null) !== null) batch.push(m);
      if (batch.length === 0) {
        if (stream.destroyed || stream.readableEnded) {
          throw stream.errored ?? new Error('the message stream ended');
        }
        await waitReadable(stream, signal);
        continue;
      }
      await this.#process(batch, signal);
    }
  }

  async #process(batch: RawMessage[], signal: AbortSignal): Promise<void> {
    // Per topic, in arrival order (which is partition order); the last message of each partition to commit.
    const byTopic = new Map<BusTopic, MarketEvent[]>();
    const last = new Map<string, RawMessage>();
    for (const msg of batch) {
      last.set(`${msg.topic}\u0000${msg.partition}`, msg);
      const topic = this.#byName.get(msg.topic);
      if (topic === undefined) continue;
      try {
        const { events, errors } = decodeMessage(msg.value, topic, msg.key?.toString('utf8'));
        for (const err of errors) {
          this.#stats.malformed++;
          this.#report(withPlace(err, msg), msg.topic);
        }
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        for (const e of events) list.push(e);
      } catch (e) {
        this.#stats.malformed++;
        this.#report(withPlace(ioError('undecodable message', e, {}), msg), msg.topic);
      }
    }
    const delivery: Delivery = {
      handler: this.#handler,
      options: this.#options,
      stats: this.#stats,
      signal,
      stopped: () => signal.aborted,
      report: (err, ctx) => this.#report(err, ctx.topic),
    };
    for (const [topic, all] of byTopic) {
      const ctx: BusHandlerContext = { topic, group: this.group };
      // False when closed while retrying: nothing of this batch is committed; it is redelivered later.
      if (!(await deliverBatch(delivery, ctx, all))) return;
    }
    // A close that arrived while the batch was handled behaves like a crash: no commit, so the batch is
    // redelivered to the group and the deduplicator drops what was applied.
    if (signal.aborted) return;
    try {
      await Promise.all([...last.values()].map((msg) => msg.commit()));
    } catch (e) {
      // A rebalance may have moved the partition: its next owner redelivers from the last commit.
      this.#report(ioError('commit failed', e, { group: this.group }), '*');
    }
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#stop.abort();
      this.#onClose(this);
      this.#closing = (async () => {
        await this.#loop?.catch(() => undefined);
        await this.#teardown();
      })();
    }
    return this.#closing;
  }
}

function withPlace(err: QobError, msg: RawMessage): QobError {
  return qobError(
    err.code,
    err.message,
    { ...err.context, topic: msg.topic, partition: msg.partition, offset: String(msg.offset) },
    err,
  );
}

/** Resolves on 'readable', 'end', 'close' or abort; rejects on 'error'. */
function waitReadable(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('readable', done);
      stream.off('end', done);
      stream.off('close', done);
      stream.off('error', fail);
      signal.removeEventListener('abort', done);
    };
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = (e: Error) => {
      cleanup();
      reject(e);
    };
    stream.on('readable', done);
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', fail);
    signal.addEventListener('abort', done, { once: true });
  });
}
