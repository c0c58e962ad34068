/**
 * Latency from a venue frame (handed to the ingestion handler with its receive time) to a WebSocket client
 * of the gateway, through the distributed path (ingestion -> Kafka -> orderbook -> Redis -> gateway source)
 * and through the all-in-one path (the venue handler's book read by the gateway in process). Both paths use
 * the same gateway WebSocket code (`registerWsApi`), ticked as soon as the source changes (the service
 * gateway ticks every 50 ms instead), and the same frames: the built-in simulated exchange's wire feed.
 *
 * Frames are fed one at a time; only frames that change the top levels the client watches are timed
 * (the others produce no WebSocket message). Needs QOB_TEST_KAFKA_BROKERS (or QOB_KAFKA_BROKERS) and
 * QOB_TEST_REDIS_URL (or QOB_REDIS_URL) for the distributed path.
 */
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { WebSocket } from 'ws';
import type { Bus } from '../../src/bus/bus.ts';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { RedisCache } from '../../src/bus/redis-cache.ts';
import { qobError } from '../../src/core/errors.ts';
import type { BookRef, MarketDataSource } from '../../src/gateway/source.ts';
import { registerWsApi } from '../../src/gateway/ws/index.ts';
import { Ingestion } from '../../src/services/ingestion.ts';
import { OrderbookService } from '../../src/services/orderbook.ts';
import { RedisMarketData } from '../../src/services/redis-source.ts';
import { SimExchange } from '../../src/sim/exchange.ts';
import type { FeedHandlerFactory, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { createSimFeedHandler } from '../../src/venues/sim/index.ts';

const SYMBOL = 'BTC-USDT';
const DEPTH = 20;

export interface PathLatency {
  name: 'distributed' | 'all-in-one';
  p50Ms: number;
  p99Ms: number;
  /**
   * Time of each hop of a timed frame, from the previous mark. Distributed path (`HOPS`): `publish`: frame
   * fed until Kafka acknowledged the publish; `consume`: until the orderbook's handler got the events;
   * `cache`: until the cache write and pub/sub publish resolved; `gateway`: until the gateway's mirror
   * changed; `ws`: until the WebSocket client read the message. All-in-one path (`ALL_IN_ONE_HOPS`):
   * `handler`: the venue handler applied the frame; `tick`: the gateway diffed, encoded and wrote it;
   * `ws`: the WebSocket client read it.
   */
  hops?: { hop: HopName; p50Ms: number; p99Ms: number }[];
}

export const HOPS = ['publish', 'consume', 'cache', 'gateway', 'ws'] as const;
export const ALL_IN_ONE_HOPS = ['handler', 'tick', 'ws'] as const;
export type HopName = (typeof HOPS)[number] | (typeof ALL_IN_ONE_HOPS)[number];

/** The first time each hop was reached for the frame being timed. */
class Marks {
  t0 = 0;
  readonly at = new Map<HopName, number>();
  reset(t0: number): void {
    this.t0 = t0;
    this.at.clear();
  }
  mark(hop: HopName): void {
    if (this.t0 > 0 && !this.at.has(hop)) this.at.set(hop, performance.now());
  }
}

export interface MeasureOptions {
  /**
   * Frames fed per path (default 400; only those changing the watched top levels are timed), after
   * `warmup` untimed ones (default 300). The warmup is long enough for the process's first major GC (the
   * heap grown by loading Fastify, ws and the services) and the optimizing compiles of the handler and
   * tick code to happen before timing: with 50, both landed among the first timed frames and set the
   * all-in-one p99 (a few frames of 2-5 ms), which says nothing about a running gateway.
   */
  readonly frames?: number;
  readonly warmup?: number;
}

function simFrames(n: number): string[] {
  const ex = new SimExchange({ symbols: [SYMBOL], seed: 1 });
  const out: string[] = [];
  const conn = ex.connect((text) => out.push(text));
  while (out.length < n) ex.step(1);
  conn.close();
  ex.close();
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

interface Gateway {
  readonly url: string;
  tick(): void;
  close(): Promise<void>;
}

async function serve(source: MarketDataSource): Promise<Gateway> {
  const app = Fastify({ logger: false });
  const api = registerWsApi(app, source, { tickMs: 0, heartbeatMs: 0 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  return { url: `ws://127.0.0.1:${addr.port}/ws`, tick: () => api.tick(), close: () => app.close() };
}

/** A WebSocket client of the book channel: resolves `next()` with the arrival time of the next delta. */
async function client(url: string, venue: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let waiter: ((t: number) => void) | undefined;
  ws.on('message', (data) => {
    const t = performance.now();
    const m = JSON.parse(String(data)) as { type?: string };
    if ((m.type === 'delta' || m.type === 'snapshot') && waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      w(t);
    }
  });
  ws.send(JSON.stringify({ op: 'subscribe', channel: `book.${venue}.${SYMBOL}`, depth: DEPTH }));
  return {
    next(timeoutMs: number): Promise<number | undefined> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          resolve(undefined);
        }, timeoutMs);
        waiter = (t) => {
          clearTimeout(timer);
          resolve(t);
        };
      });
    },
    close: () => ws.close(),
  };
}

function topHash(h: VenueFeedHandler): string {
  for (const b of h.books()) if (b.symbol === SYMBOL) return b.inSync ? b.book.hash(DEPTH) : 'not in sync';
  return 'none';
}

async function timePath(
  frames: readonly string[],
  warmup: number,
  handler: () => VenueFeedHandler,
  feed: (text: string) => void,
  url: string,
  venue: string,
  marks?: Marks,
  hopOut?: Map<HopName, number[]>,
  hopList: readonly HopName[] = HOPS,
): Promise<number[]> {
  const ws = await client(url, venue);
  await new Promise((r) => setTimeout(r, 200));
  const out: number[] = [];
  try {
    for (let i = 0; i < frames.length; i++) {
      const before = topHash(handler());
      const next = ws.next(2000);
      const t0 = performance.now();
      marks?.reset(t0);
      feed(frames[i] as string);
      if (topHash(handler()) === before) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const t1 = await next;
      if (i >= warmup && t1 !== undefined) {
        out.push(t1 - t0);
        if (marks !== undefined && hopOut !== undefined) {
          marks.at.set('ws', t1);
          let prev = t0;
          for (const h of hopList) {
            const t = marks.at.get(h);
            if (t === undefined) continue;
            let l = hopOut.get(h);
            if (l === undefined) hopOut.set(h, (l = []));
            l.push(Math.max(0, t - prev));
            prev = Math.max(prev, t);
          }
        }
      }
      // Let stray messages of this frame settle before the next one.
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    ws.close();
  }
  return out.sort((a, b) => a - b);
}

async function allInOne(frames: readonly string[], warmup: number, hopOut: Map<HopName, number[]>): Promise<number[]> {
  const marks = new Marks();
  const handler = (createSimFeedHandler as FeedHandlerFactory)();
  handler.onConnect('sim', 'sim://bench', Date.now());
  const ref = (): BookRef => {
    const t = [...handler.books()].find((b) => b.symbol === SYMBOL);
    return {
      venue: 'sim',
      symbol: SYMBOL,
      venueSymbol: SYMBOL,
      status: t?.status ?? 'syncing',
      reason: null,
      inSync: t?.inSync ?? false,
      book: t?.book,
      updates: t?.updates ?? 0,
    };
  };
  const source: MarketDataSource = {
    venues: () => [{ id: 'sim', kind: 'sim', state: 'connected', reason: 'bench', symbols: [SYMBOL] }],
    books: () => [ref()],
    book: (v, s) => (v === 'sim' && s === SYMBOL ? ref() : undefined),
    status: () => ({ tsMs: Date.now(), venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'bench' }),
  };
  const gw = await serve(source);
  try {
    return await timePath(
      frames,
      warmup,
      () => handler,
      (text) => {
        handler.onFrame('sim', text, Date.now());
        marks.mark('handler');
        gw.tick();
        marks.mark('tick');
      },
      gw.url,
      'sim',
      marks,
      hopOut,
      ALL_IN_ONE_HOPS,
    );
  } finally {
    await gw.close();
  }
}

async function distributed(
  frames: readonly string[],
  warmup: number,
  hopOut: Map<HopName, number[]>,
): Promise<number[]> {
  const brokers = process.env.QOB_TEST_KAFKA_BROKERS ?? process.env.QOB_KAFKA_BROKERS;
  const redisUrl = process.env.QOB_TEST_REDIS_URL ?? process.env.QOB_REDIS_URL;
  if (brokers === undefined || redisUrl === undefined) {
    throw qobError(
      'QOB_ERR_CONFIG_INVALID',
      'the distributed path needs QOB_TEST_KAFKA_BROKERS and QOB_TEST_REDIS_URL',
      {},
    );
  }
  const prefix = `benchpaths${Date.now().toString(36)}`;
  const bus = () =>
    KafkaBus.connect({ brokers: brokers.split(','), topicPrefix: prefix, partitions: 1, maxWaitTimeMs: 1 });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const marks = new Marks();
    const ingestKafka = await bus();
    const obKafka = await bus();
    // The same buses, with a mark at the publish acknowledgement and at the handler's call.
    const ingestBus: Bus = {
      publish: (topic, events) => ingestKafka.publish(topic, events).then(() => marks.mark('publish')),
      subscribe: (topics, group, handler, o) => ingestKafka.subscribe(topics, group, handler, o),
      close: () => ingestKafka.close(),
    };
    const obBus: Bus = {
      publish: (topic, events) => obKafka.publish(topic, events),
      subscribe: (topics, group, handler, o) =>
        obKafka.subscribe(
          topics,
          group,
          (events, ctx) => {
            marks.mark('consume');
            return handler(events, ctx);
          },
          o,
        ),
      close: () => obKafka.close(),
    };
    closers.push(
      () => ingestBus.close(),
      () => obBus.close(),
    );
    const cache = await RedisCache.connect({ url: redisUrl, keyPrefix: `${prefix}:` });
    const gwCache = await RedisCache.connect({ url: redisUrl, keyPrefix: `${prefix}:` });
    closers.push(
      () => cache.close(),
      () => gwCache.close(),
    );
    const publishDeltas = cache.publishDeltas.bind(cache);
    cache.publishDeltas = (deltas) =>
      publishDeltas(deltas).then((n) => {
        marks.mark('cache');
        return n;
      });
    const ob = await OrderbookService.start({ bus: obBus, cache, group: `${prefix}-ob`, depth: DEPTH });
    closers.push(() => ob.close());
    const source = await RedisMarketData.start({ cache: gwCache, refreshMs: 0 });
    closers.push(() => source.close());
    const gw = await serve(source);
    closers.push(() => gw.close());
    source.onChange(() => {
      marks.mark('gateway');
      gw.tick();
    });
    const ing = new Ingestion({ bus: ingestBus, seqBase: 1 });
    const tap = ing.tap('sim', createSimFeedHandler as FeedHandlerFactory);
    tap.onConnect('sim', 'sim://bench', Date.now());
    // Let the consumer join and the first book reach the gateway before timing.
    let i = 0;
    while (i < frames.length && topHash(tap.handler).length !== 64)
      tap.onFrame('sim', frames[i++] as string, Date.now());
    await ing.flush();
    const end = Date.now() + 30_000;
    while (!(source.book('sim', SYMBOL)?.inSync ?? false) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (process.env.QOB_DEBUG !== undefined) {
      console.error('warm', i, source.book('sim', SYMBOL)?.status, ob.stats, ob.subscriptionStats(), ing.stats);
    }
    const feed = (text: string) => tap.onFrame('sim', text, Date.now());
    return await timePath(frames.slice(i), warmup, () => tap.handler, feed, gw.url, 'sim', marks, hopOut);
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  }
}

export async function measurePaths(options: MeasureOptions = {}): Promise<PathLatency[]> {
  const warmup = options.warmup ?? 300;
  const frames = simFrames((options.frames ?? 400) + warmup + 1);
  const hopsOf = (list: readonly HopName[], hopOut: Map<HopName, number[]>) =>
    list.map((hop) => {
      const l = (hopOut.get(hop) ?? []).sort((x, y) => x - y);
      return { hop, p50Ms: quantile(l, 0.5), p99Ms: quantile(l, 0.99) };
    });
  const aHops = new Map<HopName, number[]>();
  const a = await allInOne(frames, warmup, aHops);
  const hopOut = new Map<HopName, number[]>();
  const d = await distributed(frames, warmup, hopOut);
  return [
    { name: 'distributed', p50Ms: quantile(d, 0.5), p99Ms: quantile(d, 0.99), hops: hopsOf(HOPS, hopOut) },
    {
      name: 'all-in-one',
      p50Ms: quantile(a, 0.5),
      p99Ms: quantile(a, 0.99),
      hops: hopsOf(ALL_IN_ONE_HOPS, aHops),
    },
  ];
}
