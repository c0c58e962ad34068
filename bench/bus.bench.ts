/**
 * Bus benchmark: normalized book deltas through Kafka (produce + consume in a consumer group, with the
 * deduplicator) and through the in-process bus.
 *
 *   npm run bench:bus                 readable table
 *   npm run bench:bus -- --json       {"results":[{"name":"kafka","eventsPerSec",...}, ...]}
 *   options: --events N (default 200000) --symbols N (64) --batch N (events per publish, 2000)
 *            --in-flight N (publishes in flight, 8) --per-message a,b (events per Kafka message, "256")
 *            --skip-paths (leave out the bench/lib/bus-paths.ts latency rows)
 *
 * Kafka: QOB_TEST_KAFKA_BROKERS, or else the bench runs `bash scripts/stack.sh up` itself (and `down` at
 * the end if the stack was not already up). Each run uses fresh topics (a random prefix, 6 partitions).
 * Rows: `kafka` = produce and consume running together, events / (first publish -> last event handled);
 * `kafka-produce` = publishing alone (acks=all, idempotent); `kafka-consume` = a new group reading the
 * topic from the start. Every run checks that the group received every event once. When
 * bench/lib/bus-paths.ts exists, its `measurePaths()` latency rows (`distributed`, `all-in-one`) are appended.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Deduplicator } from '../src/bus/bus.ts';
import { InProcessBus } from '../src/bus/in-process.ts';
import { KafkaBus } from '../src/bus/kafka.ts';
import { BUS_TOPICS } from '../src/bus/topics.ts';
import { type BookDeltaEvent, bookDelta } from '../src/domain/events.ts';
import { fmtRate, table } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '200000' },
    symbols: { type: 'string', default: '64' },
    batch: { type: 'string', default: '2000' },
    'in-flight': { type: 'string', default: '8' },
    'per-message': { type: 'string', default: '256' },
    'skip-paths': { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const SYMBOLS = Number(args.symbols);
const BATCH = Number(args.batch);
const IN_FLIGHT = Number(args['in-flight']);
const PER_MESSAGE = args['per-message'].split(',').map(Number);
const DELTA = BUS_TOPICS['book.delta'];
const root = path.resolve(import.meta.dirname, '..');
const log = (s: string) => {
  if (!args.json) process.stderr.write(`${s}\n`);
};

interface Result {
  name: string;
  eventsPerSec: number;
  events: number;
  seconds: number;
  eventsPerMessage?: number;
  bytesPerEvent?: number;
}

function makeEvents(n: number): BookDeltaEvent[] {
  const out: BookDeltaEvent[] = new Array(n);
  const seqs = new Array<number>(SYMBOLS).fill(0);
  for (let i = 0; i < n; i++) {
    const s = i % SYMBOLS;
    const seq = ++seqs[s]!;
    out[i] = bookDelta({
      venue: 'binance',
      symbol: `C${s}-USDT`,
      tsEventMs: 1_700_000_000_000 + i,
      tsRecvMs: 1_700_000_000_000 + i,
      firstSeq: seq,
      lastSeq: seq,
      prevSeq: seq - 1,
      changes: [
        { side: 'bid', price: `${60000 + (i % 500)}.1`, size: `${(i % 9) + 1}.125` },
        { side: 'ask', price: `${60600 + (i % 500)}.2`, size: i % 5 === 0 ? '0' : '0.5' },
      ],
    });
  }
  return out;
}

/** Publishes all events in batches, keeping `IN_FLIGHT` publishes outstanding. */
async function publishAll(publish: (b: BookDeltaEvent[]) => Promise<void>, events: BookDeltaEvent[]): Promise<void> {
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < events.length; i += BATCH) {
    const p: Promise<void> = publish(events.slice(i, i + BATCH)).then(() => void inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

function waitFor(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out: ${what}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

async function kafkaRuns(brokers: string[], events: BookDeltaEvent[]): Promise<Result[]> {
  const results: Result[] = [];
  for (const perMessage of PER_MESSAGE) {
    const prefix = `bench${randomBytes(3).toString('hex')}.`;
    const bus = await KafkaBus.connect({ brokers, topicPrefix: prefix, partitions: 6, eventsPerMessage: perMessage });
    try {
      // 1. produce + consume together.
      let got = 0;
      const sub = await bus.subscribe(
        DELTA,
        `${prefix}live`,
        (es) => {
          got += es.length;
        },
        { dedup: new Deduplicator(N + 1), maxBatch: 5000 },
      );
      const t0 = performance.now();
      await publishAll((b) => bus.publish(DELTA, b), events);
      const tp = performance.now();
      await waitFor(() => got >= N, 'the live consumer');
      const t1 = performance.now();
      await sub.close();
      if (got !== N || sub.stats().duplicates !== 0) throw new Error(`live consumer got ${got} of ${N}`);
      results.push({
        name: 'kafka',
        eventsPerSec: N / ((t1 - t0) / 1e3),
        events: N,
        seconds: (t1 - t0) / 1e3,
        eventsPerMessage: perMessage,
      });
      results.push({
        name: 'kafka-produce',
        eventsPerSec: N / ((tp - t0) / 1e3),
        events: N,
        seconds: (tp - t0) / 1e3,
        eventsPerMessage: perMessage,
      });
      // 2. a new group reads the topic from the start.
      let got2 = 0;
      const c0 = performance.now();
      const sub2 = await bus.subscribe(
        DELTA,
        `${prefix}replay`,
        (es) => {
          got2 += es.length;
        },
        { dedup: new Deduplicator(N + 1), maxBatch: 5000 },
      );
      await waitFor(() => got2 >= N, 'the replay consumer');
      const c1 = performance.now();
      await sub2.close();
      results.push({
        name: 'kafka-consume',
        eventsPerSec: N / ((c1 - c0) / 1e3),
        events: N,
        seconds: (c1 - c0) / 1e3,
        eventsPerMessage: perMessage,
      });
      log(`kafka, ${perMessage} event(s) per message: done`);
    } finally {
      await bus.close();
    }
  }
  return results;
}

async function inProcessRun(events: BookDeltaEvent[]): Promise<Result> {
  const bus = new InProcessBus({ capacity: N + 1 });
  let got = 0;
  await bus.subscribe(
    DELTA,
    'bench',
    (es) => {
      got += es.length;
    },
    { dedup: new Deduplicator(N + 1), maxBatch: 5000 },
  );
  const t0 = performance.now();
  await publishAll((b) => bus.publish(DELTA, b), events);
  await waitFor(() => got >= N, 'the in-process subscriber');
  const t1 = performance.now();
  await bus.close();
  return { name: 'in-process', eventsPerSec: N / ((t1 - t0) / 1e3), events: N, seconds: (t1 - t0) / 1e3 };
}

const PATHS_TIMEOUT_MS = 180_000;

interface PathResult {
  name: string;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The latency rows of bench/lib/bus-paths.ts (another bench's module), when present: imported by URL so
 * this bench runs, and typechecks, without it.
 */
async function pathRuns(): Promise<PathResult[]> {
  const file = path.join(root, 'bench/lib/bus-paths.ts');
  if (args['skip-paths'] || !existsSync(file)) return [];
  const mod = (await import(pathToFileURL(file).href)) as { measurePaths?: () => Promise<PathResult[]> };
  if (typeof mod.measurePaths !== 'function') {
    log('bench/lib/bus-paths.ts has no measurePaths(): path rows skipped');
    return [];
  }
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${PATHS_TIMEOUT_MS / 1000} s`)), PATHS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([mod.measurePaths(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

function stack(cmd: 'up' | 'down' | 'status' | 'env'): string {
  return execFileSync('bash', [path.join(root, 'scripts/stack.sh'), cmd], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', args.json ? 'ignore' : 'inherit'],
  });
}

async function main(): Promise<void> {
  let brokers = process.env.QOB_TEST_KAFKA_BROKERS;
  let startedStack = false;
  if (!brokers && existsSync(path.join(root, 'scripts/stack.sh'))) {
    let wasUp = true;
    try {
      stack('status');
    } catch {
      wasUp = false;
    }
    if (!wasUp) {
      log('starting the local stack (bash scripts/stack.sh up)');
      stack('up');
      startedStack = true;
    }
    brokers = /QOB_TEST_KAFKA_BROKERS=(\S+)/.exec(stack('env'))?.[1];
  }
  const events = makeEvents(N);
  const results: Result[] = [];
  try {
    if (brokers) results.push(...(await kafkaRuns(brokers.split(','), events)));
    else log('no Kafka (QOB_TEST_KAFKA_BROKERS unset and no scripts/stack.sh): Kafka rows skipped');
    results.push(await inProcessRun(events));
  } finally {
    if (startedStack) stack('down');
  }
  let paths: PathResult[] = [];
  try {
    paths = await pathRuns();
  } catch (e) {
    log(`bench/lib/bus-paths.ts failed: ${(e as Error).message}`);
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ results: [...results, ...paths] })}\n`);
    return;
  }
  process.stdout.write(
    `${table([
      ['name', 'events/message', 'events', 'seconds', 'events/s'],
      ...results.map((r) => [
        r.name,
        r.eventsPerMessage === undefined ? '-' : String(r.eventsPerMessage),
        String(r.events),
        r.seconds.toFixed(2),
        fmtRate(r.eventsPerSec),
      ]),
    ])}\n`,
  );
  if (paths.length > 0) {
    process.stdout.write(
      `${table([
        ['path', 'p50 ms', 'p99 ms'],
        ...paths.map((r) => [r.name, r.p50Ms.toFixed(2), r.p99Ms.toFixed(2)]),
      ])}\n`,
    );
  }
  process.stdout.write(`load average ${loadavg()[0]?.toFixed(1)} (2 cores), Node ${process.version}\n`);
}

await main();
// A path measurement that timed out may still hold sockets open: the results are out, so end here.
process.exit(0);
