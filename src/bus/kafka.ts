/**
 * The Kafka bus of the service split, on @platformatic/kafka (pure JavaScript, maintained).
 *
 * Producer: idempotent, acks=all (-1). `publish` packs up to `eventsPerMessage` events of one key into a
 * message in the compact encoding (topics.ts) and queues them; a single writer keeps exactly one produce
 * request in flight and packs everything queued meanwhile into the next one (`#pump` says why this is
 * what keeps per-key order). It resolves when all its events are acknowledged by all in-sync replicas.
 *
 * Consumer: one Kafka consumer per subscription, in its group, starting at the group's committed offset
 * (the earliest one for a new group). Messages are read in order per partition, decoded, deduplicated and
 * handed over in batches; the offsets are committed only after the handler resolves (one commit in flight,
 * overlapping the next batches; see `#process`). Latency and batching options: docs/EVENTS.md, "Latency and
 * batching" (`lingerMs`, `fetchMinBytes`, `maxWaitTimeMs`, per subscription `fetchMinBytes`,
 * `fetchMaxWaitMs`). A message that does not decode is counted (`stats().malformed`), reported through
 * `onError` and skipped. A lost connection or a failed fetch recreates the consumer after a growing delay
 * (`stats().reconnects`): the group restarts from the committed offsets and the deduplicator drops what
 * was already applied.
 */
import { tracingChannel } from 'node:diagnostics_channel';
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
  nonNegativeInt,
  positiveInt,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
  sleep,
} from './bus.ts';
import {
  ALL_BUS_TOPICS,
  type BusTopic,
  checkPublish,
  decodeMessage,
  encodeMessageBinary,
  groupByKey,
} from './topics.ts';

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
  /** Events of one key (from one `publish` call) packed into one Kafka message (default 256). */
  readonly eventsPerMessage?: number;
  /**
   * Most bytes of messages in one produce request (default 1 MiB, the broker's default `message.max.bytes`
   * bounds one partition's batch). Publishes made while a request is in flight are packed into the next.
   */
  readonly maxRequestBytes?: number;
  /**
   * How long a produce request is retried (lost connection, broker restart) before `publish` rejects, ms
   * (default 120,000).
   */
  readonly deliveryTimeoutMs?: number;
  /** Fetched bytes per partition per fetch (default 8 MiB). */
  readonly maxBytesPerPartition?: number;
  /**
   * Longest time the broker holds a fetch while fewer than `fetchMinBytes` are available, ms (default 100);
   * a subscription may override it (`SubscribeOptions.fetchMaxWaitMs`).
   */
  readonly maxWaitTimeMs?: number;
  /**
   * Bytes the broker waits for before answering a fetch (default 1: answer as soon as anything arrives);
   * a subscription may override it (`SubscribeOptions.fetchMinBytes`).
   */
  readonly fetchMinBytes?: number;
  /**
   * How long the producer waits, ms, before sending a produce request that is not full (below
   * `maxRequestBytes`) when no request is in flight (default 0: send at once, the lowest latency). Under
   * load requests are full anyway: everything published while one is in flight goes into the next.
   */
  readonly lingerMs?: number;
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
  readonly maxRequestBytes: number;
  readonly deliveryTimeoutMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxWaitTimeMs: number;
  readonly fetchMinBytes: number;
  readonly lingerMs: number;
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
    eventsPerMessage: positiveInt(o.eventsPerMessage, 256, 'eventsPerMessage'),
    maxRequestBytes: positiveInt(o.maxRequestBytes, 1024 * 1024, 'maxRequestBytes'),
    deliveryTimeoutMs: positiveInt(o.deliveryTimeoutMs, 120_000, 'deliveryTimeoutMs'),
    maxBytesPerPartition: positiveInt(o.maxBytesPerPartition, 8 * 1024 * 1024, 'maxBytesPerPartition'),
    maxWaitTimeMs: positiveInt(o.maxWaitTimeMs, 100, 'maxWaitTimeMs'),
    fetchMinBytes: positiveInt(o.fetchMinBytes, 1, 'fetchMinBytes'),
    lingerMs: nonNegativeInt(o.lingerMs, 0, 'lingerMs'),
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

/** A message's share of a produce request: its key, value and about 64 bytes of record framing. */
function messageSize(m: { readonly key: Buffer; readonly value: Buffer }): number {
  return m.value.length + m.key.length + 64;
}

interface OutMessage {
  readonly topic: string;
  readonly key: Buffer;
  readonly value: Buffer;
}

/** One `publish` call waiting for its acknowledgement. */
interface Pending {
  readonly messages: OutMessage[];
  /** Index of the first message not yet handed to a request. */
  next: number;
  readonly events: number;
  readonly topic: string;
  readonly resolve: () => void;
  readonly reject: (e: QobError) => void;
}

export class KafkaBus implements Bus {
  readonly #o: Compiled;
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  readonly #subs = new Set<KafkaSubscription>();
  readonly #byName = new Map<string, BusTopic>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Publishes not yet acknowledged, in call order; the head one may be partly sent. */
  readonly #queue: Pending[] = [];
  #pumping = false;
  #producerClosed = false;
  /** Message bytes queued and not yet handed to a request (what `lingerMs` waits to fill). */
  #queuedBytes = 0;
  /** Ends the linger wait early (the queue filled a request, or the bus closes). */
  #wake: (() => void) | undefined;

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
      retryDelay: growingDelay,
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
    const messages: OutMessage[] = new Array(runs.length);
    let bytes = 0;
    for (let i = 0; i < runs.length; i++) {
      const r = runs[i] as { key: string; events: MarketEvent[] };
      const m = { topic: name, key: Buffer.from(r.key), value: encodeMessageBinary(r.events) };
      bytes += messageSize(m);
      messages[i] = m;
    }
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ messages, next: 0, events: events.length, topic: name, resolve, reject });
      this.#queuedBytes += bytes;
      if (this.#queuedBytes >= this.#o.maxRequestBytes) this.#wake?.();
      void this.#pump();
    });
  }

  /**
   * The single writer. Per-key order on Kafka needs every produce request of a partition to reach the
   * broker in sequence order, and to be retried before anything behind it is sent: the client re-queues a
   * failed request *behind* the requests sent after it and, on OUT_OF_ORDER_SEQUENCE, restarts with a new
   * producer id, which writes the later request first (seen right after topic creation, when the first
   * requests get NOT_LEADER_OR_FOLLOWER). So exactly one request is in flight; everything published while
   * it flies is packed into the next one (up to `maxRequestBytes`), which is what makes it fast. A request
   * that fails is retried, still at the head, until `deliveryTimeoutMs`; then it and every publish queued
   * behind it reject, so a caller that publishes again in order keeps per-key order.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#producerClosed) {
        if (this.#o.lingerMs > 0 && this.#queuedBytes < this.#o.maxRequestBytes) await this.#linger();
        if (this.#producerClosed) break;
        const batch: OutMessage[] = [];
        const done: Pending[] = [];
        let bytes = 0;
        for (const p of this.#queue) {
          while (p.next < p.messages.length) {
            const m = p.messages[p.next] as OutMessage;
            const size = messageSize(m);
            if (batch.length > 0 && bytes + size > this.#o.maxRequestBytes) break;
            batch.push(m);
            bytes += size;
            p.next++;
          }
          if (p.next < p.messages.length) break;
          done.push(p);
        }
        this.#queuedBytes -= bytes;
        try {
          await this.#sendWithRetry(batch);
        } catch (e) {
          const failed = this.#queue.splice(0);
          this.#queuedBytes = 0;
          for (const p of failed) {
            p.reject(ioError(`publish to ${p.topic} failed`, e, { topic: p.topic, events: p.events }));
          }
          continue;
        }
        for (const p of done) {
          this.#queue.splice(this.#queue.indexOf(p), 1);
          p.resolve();
        }
      }
      if (this.#producerClosed) {
        this.#queuedBytes = 0;
        for (const p of this.#queue.splice(0)) {
          p.reject(
            qobError('QOB_ERR_CLOSED', 'the bus closed before the publish was acknowledged', { topic: p.topic }),
          );
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Waits `lingerMs`, or less when a full request is queued or the bus closes. */
  #linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
      const t = setTimeout(done, this.#o.lingerMs);
      this.#wake = done;
    });
  }

  async #sendWithRetry(messages: OutMessage[]): Promise<void> {
    const deadline = Date.now() + this.#o.deliveryTimeoutMs;
    let delay = 100;
    for (;;) {
      try {
        await this.#producer.send({ messages });
        return;
      } catch (e) {
        if (this.#producerClosed || Date.now() + delay > deadline) throw e;
        // The client has already reset its producer state if it had to; the same messages go again. A
        // request that was written but whose answer was lost is written twice: consumers drop the copy by id.
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
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
        this.#producerClosed = true;
        this.#wake?.();
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
      await leadersElected(admin, missing, o.timeoutMs);
    }
  } catch (e) {
    throw ioError('cannot create the bus topics', e, { brokers: o.brokers });
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/**
 * Waits until every partition of freshly created topics has a leader (or `ms` passed). Before that the
 * first produce and offset requests fail and the client retries them after a delay: the first events of
 * a new bus arrived a second late.
 */
async function leadersElected(admin: Admin, topics: readonly string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const md = await admin.metadata({ topics: [...topics], forceUpdate: true });
      const ready = topics.every((t) => {
        const parts = md.topics.get(t)?.partitions;
        return parts !== undefined && parts.length > 0 && parts.every((p) => p !== undefined && p.leader >= 0);
      });
      if (ready) return;
    } catch {
      // Not known yet: ask again.
    }
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
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
  readonly #fetchMaxWaitMs: number;
  readonly #fetchMinBytes: number;
  readonly #stats: SubscriptionStats = emptyStats();
  readonly #stop = new AbortController();
  readonly #onClose: (s: KafkaSubscription) => void;
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** The commit in flight (never rejects); it starts `#pendingCommit` when it ends. */
  #committing: Promise<void> | undefined;
  /** The last message per partition of handled batches waiting for the commit in flight. */
  #pendingCommit: Map<string, RawMessage> | undefined;

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
    this.#fetchMaxWaitMs = positiveInt(options.fetchMaxWaitMs, o.maxWaitTimeMs, 'fetchMaxWaitMs');
    this.#fetchMinBytes = positiveInt(options.fetchMinBytes, o.fetchMinBytes, 'fetchMinBytes');
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
      maxWaitTime: this.#fetchMaxWaitMs,
      minBytes: this.#fetchMinBytes,
      autocommit: false,
      retries: 6,
      retryDelay: growingDelay,
    });
    this.#consumer = consumer;
    try {
      const stream = await consumer.consume({
        topics: this.topics.map((t) => o.prefix + t),
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        maxWaitTime: this.#fetchMaxWaitMs,
        minBytes: this.#fetchMinBytes,
        maxBytesPerPartition: o.maxBytesPerPartition,
      });
      // Errors are read by the loop (waitReadable); this listener keeps an unhandled 'error' from throwing.
      stream.on('error', () => undefined);
      // The consumer stall: the stream fetches only while `readableFlowing !== null`, and Node resets it to
      // null whenever the last 'readable' listener is removed (waitReadable removes its own). A read() that
      // drained the buffer at such a moment asked for a fetch that was skipped and never asked again: the
      // subscription stopped receiving, typically after the first large batch. A permanent listener keeps
      // the stream in paused (false) rather than unset (null) mode.
      stream.on('readable', noop);
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
    // Handled batches are committed before the stream closes (fewer redeliveries to the next owner).
    while (this.#committing !== undefined) await this.#committing;
    await stream?.close().catch(() => undefined);
    if (consumer !== undefined) {
      await joinsSettled(consumer, this.#o.sessionTimeoutMs);
      await consumer.close(true).catch(() => undefined);
    }
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
      // Messages are decoded as they are read, so a batch holds about `maxBatch` events (a message is never
      // split: its offset is committed whole), per topic in arrival order (partition order), and the last
      // message of each partition is the one to commit.
      const byTopic = new Map<BusTopic, MarketEvent[]>();
      const last = new Map<string, RawMessage>();
      let count = 0;
      let m: RawMessage | null;
      while (count < this.#maxBatch && (m = stream.read() as RawMessage | null) !== null) {
        last.set(`${m.topic}\u0000${m.partition}`, m);
        count += this.#decode(m, byTopic) + 1;
      }
      if (last.size === 0) {
        if (stream.destroyed || stream.readableEnded) {
          throw stream.errored ?? new Error('the message stream ended');
        }
        await waitReadable(stream, signal);
        continue;
      }
      await this.#process(byTopic, last, signal);
    }
  }

  /** Decodes one message into `byTopic`; returns the number of valid events. Bad input is counted and reported. */
  #decode(msg: RawMessage, byTopic: Map<BusTopic, MarketEvent[]>): number {
    const topic = this.#byName.get(msg.topic);
    if (topic === undefined) return 0;
    try {
      const { events, errors } = decodeMessage(msg.value, topic, msg.key?.toString('utf8'));
      for (const err of errors) {
        this.#stats.malformed++;
        this.#report(withPlace(err, msg), msg.topic);
      }
      let list = byTopic.get(topic);
      if (list === undefined) byTopic.set(topic, (list = []));
      for (const e of events) list.push(e);
      return events.length;
    } catch (e) {
      this.#stats.malformed++;
      this.#report(withPlace(ioError('undecodable message', e, {}), msg), msg.topic);
      return 0;
    }
  }

  async #process(
    byTopic: Map<BusTopic, MarketEvent[]>,
    last: Map<string, RawMessage>,
    signal: AbortSignal,
  ): Promise<void> {
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
    // Commits overlap the handling of the next batches, one in flight at a time (so they reach the
    // coordinator in order); batches handled meanwhile are merged into one pending commit, so a slow
    // commit does not hold up delivery. Waiting when one is already pending bounds what a crash
    // redelivers to three batches per partition: the one in flight, the pending one, the one handled.
    if (this.#pendingCommit !== undefined) await this.#committing;
    if (this.#committing === undefined) {
      this.#startCommit(last);
      return;
    }
    const pending = (this.#pendingCommit ??= new Map());
    for (const [k, m] of last) pending.set(k, m);
  }

  #startCommit(last: ReadonlyMap<string, RawMessage>): void {
    const msgs = [...last.values()];
    this.#committing = Promise.all(msgs.map((msg) => msg.commit()))
      .then(
        () => undefined,
        // A rebalance may have moved the partition: its next owner redelivers from the last commit.
        (e) => this.#report(ioError('commit failed', e, { group: this.group }), '*'),
      )
      .then(() => {
        const next = this.#pendingCommit;
        this.#pendingCommit = undefined;
        this.#committing = undefined;
        if (next !== undefined) this.#startCommit(next);
      });
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

function noop(): void {}

/**
 * The client's delay before its retry number `attempt` (1, 2, ...): 50 ms doubled up to 1 s. Its default
 * is a flat 1 s, and the first requests to a topic just created routinely fail once (no leader yet): a
 * new consumer then delivered nothing for over a second.
 */
function growingDelay(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(50 * 2 ** (attempt - 1), 1000);
}

/**
 * Group joins in flight per consumer, seen on the client's diagnostics channel. A consumer closed while a
 * (re)join is in flight (a member joining or leaving the group rebalances the others) gets its heartbeat
 * timer restarted by that join's completion after the close, and the closed consumer then heartbeats
 * forever against its closed connection pool: the process never exits. `#teardown` therefore lets joins
 * settle before it closes.
 */
const joining = new WeakMap<object, { count: number; settled: (() => void)[] }>();
interface GroupOp {
  readonly client?: object;
  readonly operation?: string;
}
tracingChannel<unknown, GroupOp>('plt:kafka:consumer:group').subscribe({
  start(ctx) {
    if (ctx.operation !== 'joinGroup' || ctx.client === undefined) return;
    const j = joining.get(ctx.client) ?? { count: 0, settled: [] };
    j.count++;
    joining.set(ctx.client, j);
  },
  asyncEnd(ctx) {
    if (ctx.operation !== 'joinGroup' || ctx.client === undefined) return;
    const j = joining.get(ctx.client);
    if (j === undefined || --j.count > 0) return;
    for (const f of j.settled.splice(0)) f();
  },
  end() {},
  asyncStart() {},
  error() {},
});

/** Resolves when the consumer has no group join in flight, or after `ms`. */
function joinsSettled(consumer: object, ms: number): Promise<void> {
  const j = joining.get(consumer);
  if (j === undefined || j.count <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    j.settled.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
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
