/**
 * Book engine benchmark: our L2Book against JavaScript peers on the same L2 stream.
 *
 *   npm run bench:book                 readable table
 *   npm run bench:book -- --json       {"results":[{"name","updatesPerSec","p99Ns",...}]}
 *   options: --deltas N (default 60000) --levels N (5000) --runs N (3, after one warm-up) --seed N (42)
 *
 * Every implementation gets the same stream in its natural input form (ours: the venue's decimal text,
 * parsed exactly inside the timed region; peers: numbers parsed once up front, outside it, and again as
 * `(text)` rows fed the venue text converted inside the timed region, as their adapters do). After each
 * stream, every implementation's 10 best levels per side must equal ours, or the benchmark fails.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { L2Book } from '../src/book/l2-book.ts';
import { generateL2Stream } from '../src/sim/l2-stream.ts';
import { loadCaptureStreams } from './lib/captures.ts';
import {
  type BenchDelta,
  type BenchStream,
  type Impl,
  loadImpls,
  type NumLevel,
  qob,
  qobReadTopText,
} from './lib/impls.ts';
import { fmtBytes, fmtNs, fmtRate, percentile, table, timerOverheadNs } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    deltas: { type: 'string', default: '60000' },
    levels: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '42' },
    'levels-per-delta': { type: 'string', default: '15' },
  },
});
const DELTAS = Number(args.deltas);
const LEVELS = Number(args.levels);
const RUNS = Math.max(1, Number(args.runs));
const SEED = Number(args.seed);
const LPD = Number(args['levels-per-delta']);
const MEMORY_BOOKS = 20;
const CAPTURE_REPEATS = 10;
const TOP_N = 10;

const gc = (globalThis as { gc?: () => void }).gc;
const log = (s: string) => {
  if (!args.json) process.stdout.write(`${s}\n`);
};

class BenchFailure extends Error {}

// ---- correctness -----------------------------------------------------------------------------------

function levelsEqual(a: NumLevel[], b: NumLevel[]): boolean {
  return a.length === b.length && a.every((l, i) => l[0] === b[i]?.[0] && l[1] === b[i]?.[1]);
}

/** Throws unless `book` (of `im`) shows the same 10 best levels per side as `ref` (ours). */
function verify(im: Impl, book: unknown, ref: L2Book, what: string): void {
  for (const side of ['bid', 'ask'] as const) {
    const want = qob.top(ref, side, TOP_N);
    const got = im.top(book, side, TOP_N);
    if (!levelsEqual(want, got)) {
      throw new BenchFailure(
        `${im.name} disagrees with qob on the ${TOP_N} best ${side}s after ${what}:\n` +
          `  qob:        ${JSON.stringify(want)}\n  ${im.name.padEnd(11)} ${JSON.stringify(got)}`,
      );
    }
  }
}

/** Our book after the first `n` deltas of `s` (the reference for correctness). */
function reference(s: BenchStream, n: number): L2Book {
  const p = qob.prepare(s);
  const b = qob.create(p) as L2Book;
  for (let i = 0; i < n; i++) qob.applyDelta(b, p, i);
  return b;
}

function countUpdates(s: BenchStream, n: number): number {
  let u = 0;
  for (let i = 0; i < n; i++) {
    const d = s.deltas[i];
    if (d !== undefined) u += d.bids.length + d.asks.length;
  }
  return u;
}

// ---- measurements ----------------------------------------------------------------------------------

interface Throughput {
  bestNs: number;
  book: unknown;
}

/**
 * The stream is held as JSON text in chunks of CHUNK deltas, as a venue sends it. Before each chunk is
 * timed it is parsed and converted to the implementation's input (untimed), so every implementation reads
 * freshly parsed, cache-hot input as it would from a live socket, rather than a 100 MB array of
 * pre-built objects scattered over the heap (which measures memory latency, not the book).
 */
const CHUNK = 250;
const chunkCache = new Map<string, string[]>();
function chunkTexts(s: BenchStream, n: number): string[] {
  const key = `${s.name}:${n}`;
  let texts = chunkCache.get(key);
  if (texts === undefined) {
    texts = [];
    for (let i = 0; i < n; i += CHUNK) texts.push(JSON.stringify(s.deltas.slice(i, Math.min(n, i + CHUNK))));
    chunkCache.set(key, texts);
  }
  return texts;
}

const NO_SNAPSHOT = { bids: [], asks: [] };

/** Feeds the first `n` deltas of `s` to a new book chunk by chunk; `timed` wraps each chunk's application. */
function pass(
  im: Impl,
  s: BenchStream,
  n: number,
  timed: (apply: () => void, p: unknown, len: number, book: unknown) => void,
): unknown {
  const book = im.create(im.prepare({ name: s.name, snapshot: s.snapshot, deltas: [] }));
  for (const text of chunkTexts(s, n)) {
    const deltas = JSON.parse(text) as BenchDelta[];
    const p = im.prepare({ name: s.name, snapshot: NO_SNAPSHOT, deltas });
    timed(
      () => {
        for (let i = 0; i < deltas.length; i++) im.applyDelta(book, p, i);
      },
      p,
      deltas.length,
      book,
    );
  }
  return book;
}

/** One warm-up then `RUNS` timed passes over the first `n` deltas; best pass wins. */
function throughput(im: Impl, s: BenchStream, n: number): Throughput {
  let bestNs = Number.POSITIVE_INFINITY;
  let book: unknown;
  for (let r = 0; r <= RUNS; r++) {
    gc?.();
    let ns = 0;
    book = pass(im, s, n, (apply) => {
      const t0 = process.hrtime.bigint();
      apply();
      ns += Number(process.hrtime.bigint() - t0);
    });
    if (r > 0 && ns < bestNs) bestNs = ns;
  }
  return { bestNs, book };
}

/** Per-delta latency of one pass (hrtime around each delta application). */
function latencies(im: Impl, streams: BenchStream[], limits: number[], repeats = 1): Float64Array {
  const total = limits.reduce((a, b) => a + b, 0) * repeats;
  const out = new Float64Array(total);
  let k = 0;
  for (let rep = 0; rep < repeats; rep++) {
    streams.forEach((s, si) => {
      const n = limits[si] as number;
      pass(im, s, n, (_apply, p, len, book) => {
        for (let i = 0; i < len; i++) {
          const t0 = process.hrtime.bigint();
          im.applyDelta(book, p, i);
          out[k++] = Number(process.hrtime.bigint() - t0);
        }
      });
    });
  }
  return out.sort();
}

/** ns per read of best bid and best ask (price and size), measured for ~50 ms. */
function readCost(read: () => number): number {
  let sink = 0;
  for (let iters = 1000; ; iters *= 2) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += read();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns > 50e6 || iters > 1 << 26) {
      if (sink === -1) log('');
      return ns / iters;
    }
  }
}

/** Heap bytes per book holding the snapshot (V8 heap plus typed-array backing stores). */
function memoryPerBook(im: Impl, s: BenchStream): number {
  if (gc === undefined) return Number.NaN;
  const snapOnly: BenchStream = { name: s.name, snapshot: s.snapshot, deltas: [] };
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc();
  gc();
  const before = used();
  const books: unknown[] = [];
  for (let i = 0; i < MEMORY_BOOKS; i++) books.push(im.create(im.prepare(snapOnly)));
  gc();
  gc();
  const after = used();
  if (books.length !== MEMORY_BOOKS) throw new Error('unreachable');
  return (after - before) / MEMORY_BOOKS;
}

// ---- run -------------------------------------------------------------------------------------------

interface Result {
  name: string;
  input: string;
  updatesPerSec: number;
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  topOfBookNs: number;
  topOfBookTextNs?: number;
  bytesPerBook: number;
  deltas: number;
  levelUpdates: number;
  real?: { updatesPerSec: number; p50Ns: number; p99Ns: number; p999Ns: number; levelUpdates: number };
  speedupVsFastestPeer?: number;
  p99VsFastestPeer?: number;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const gen = generateL2Stream({ seed: SEED, levels: LEVELS, deltas: DELTAS, levelsPerDelta: LPD });
  const synthetic: BenchStream = { name: 'synthetic', ...gen };
  const { impls, missing } = await loadImpls();
  const fixtures = path.resolve(import.meta.dirname, '..', '../shared/fixtures');
  const captures = loadCaptureStreams(fixtures);
  const overhead = timerOverheadNs();

  log(`Book engine benchmark: node ${process.version}, ${RUNS} timed runs after 1 warm-up, best run reported`);
  log(
    `synthetic stream: seed ${SEED}, ${LEVELS} levels a side, ${DELTAS} deltas, ` +
      `${countUpdates(synthetic, DELTAS)} level updates (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  if (missing.length > 0) log(`not installed, skipped: ${missing.join(', ')}`);
  if ('absent' in captures) log(`real captures: skipped (${captures.absent})`);
  else {
    const u = captures.streams.reduce((a, s) => a + countUpdates(s, s.deltas.length), 0);
    log(
      `real captures: ${captures.streams.length} books (Binance, Bybit, OKX), ${u} level updates, x${CAPTURE_REPEATS}`,
    );
  }
  if (gc === undefined) log('memory: skipped (run with node --expose-gc)');
  log(`hrtime.bigint() pair overhead: ${fmtNs(overhead)} (included in every latency)`);
  log('');

  const refs = new Map<number, L2Book>();
  const refAt = (n: number) => {
    let r = refs.get(n);
    if (r === undefined) refs.set(n, (r = reference(synthetic, n)));
    return r;
  };

  const results: Result[] = [];
  for (const im of impls) {
    const n = Math.min(DELTAS, im.maxDeltas ?? DELTAS);
    const updates = countUpdates(synthetic, n);
    const tp = throughput(im, synthetic, n);
    verify(im, tp.book, refAt(n), `${n} synthetic deltas`);
    const lat = latencies(im, [synthetic], [n]);
    const topNs = readCost(() => im.readTop(tp.book));
    const topTextNs = im === qob ? readCost(() => qobReadTopText(tp.book as L2Book)) : undefined;
    const bytes = memoryPerBook(im, synthetic);
    const r: Result = {
      name: im.name,
      input: im.input,
      updatesPerSec: updates / (tp.bestNs / 1e9),
      p50Ns: percentile(lat, 0.5),
      p99Ns: percentile(lat, 0.99),
      p999Ns: percentile(lat, 0.999),
      topOfBookNs: topNs,
      ...(topTextNs === undefined ? {} : { topOfBookTextNs: topTextNs }),
      bytesPerBook: bytes,
      deltas: n,
      levelUpdates: updates,
    };
    if (!('absent' in captures)) r.real = realCaptures(im, captures.streams);
    results.push(r);
    log(`  ${im.name}: done`);
  }

  const ours = results[0] as Result;
  const peers = results.slice(1);
  if (peers.length > 0) {
    const fastest = peers.reduce((a, b) => (b.updatesPerSec > a.updatesPerSec ? b : a));
    ours.speedupVsFastestPeer = ours.updatesPerSec / fastest.updatesPerSec;
    ours.p99VsFastestPeer = ours.p99Ns / Math.min(...peers.map((p) => p.p99Ns));
  }

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
    return;
  }
  log('');
  const rows = [
    [
      'implementation',
      'updates/s',
      'vs qob',
      'p50',
      'p99',
      'p99.9',
      'top of book',
      'memory/book',
      'real upd/s',
      'real p99',
    ],
    ...results.map((r) => [
      r.deltas < DELTAS ? `${r.name} (first ${r.deltas} deltas)` : r.name,
      fmtRate(r.updatesPerSec),
      `${(r.updatesPerSec / ours.updatesPerSec).toFixed(2)}x`,
      fmtNs(r.p50Ns),
      fmtNs(r.p99Ns),
      fmtNs(r.p999Ns),
      r.topOfBookTextNs === undefined
        ? fmtNs(r.topOfBookNs)
        : `${fmtNs(r.topOfBookNs)} (text ${fmtNs(r.topOfBookTextNs)})`,
      fmtBytes(r.bytesPerBook),
      r.real === undefined ? '-' : fmtRate(r.real.updatesPerSec),
      r.real === undefined ? '-' : fmtNs(r.real.p99Ns),
    ]),
  ];
  log(table(rows));
  log('');
  log('inputs:');
  for (const r of results) log(`  ${r.name}: ${r.input}`);
  log('');
  log(
    'updates/s: level updates applied per second over the whole stream (best run); p50/p99/p99.9: time to apply ' +
      'one delta; top of book: ns to read best bid and best ask (price and size); memory/book: heap plus ' +
      `typed-array bytes per book holding a ${LEVELS}-level-a-side snapshot (${MEMORY_BOOKS} books). ` +
      `Top ${TOP_N} levels per side of every implementation were checked equal to qob after each stream.`,
  );
  if (ours.speedupVsFastestPeer !== undefined && ours.p99VsFastestPeer !== undefined) {
    const okRate = ours.speedupVsFastestPeer >= 3 && ours.updatesPerSec >= 5e6;
    const okP99 = ours.p99VsFastestPeer <= 1 / 3;
    log('');
    log(
      `goal: qob >= 3x the fastest peer and >= 5 M/s: ${ours.speedupVsFastestPeer.toFixed(2)}x, ` +
        `${fmtRate(ours.updatesPerSec)} -> ${okRate ? 'MET' : 'MISSED'}; ` +
        `p99 <= 1/3 of the best peer p99: ${ours.p99VsFastestPeer.toFixed(2)} -> ${okP99 ? 'MET' : 'MISSED'}`,
    );
  }
  const realPeers = peers.filter((p) => p.real !== undefined);
  if (ours.real !== undefined && realPeers.length > 0) {
    const fastestReal = realPeers.reduce((a, b) =>
      (b.real?.updatesPerSec ?? 0) > (a.real?.updatesPerSec ?? 0) ? b : a,
    );
    const bestP99 = Math.min(...realPeers.map((p) => p.real?.p99Ns ?? Number.POSITIVE_INFINITY));
    log(
      `real captures: qob ${(ours.real.updatesPerSec / (fastestReal.real?.updatesPerSec ?? 1)).toFixed(2)}x the ` +
        `fastest peer (${fastestReal.name}); p99 ${(ours.real.p99Ns / bestP99).toFixed(2)} of the best peer p99`,
    );
    // The same comparison against the peers fed the same venue text as ours (converted in the timed region).
    const textPeers = realPeers.filter((p) => p.name.endsWith('(text)'));
    if (textPeers.length > 0) {
      const fastestText = textPeers.reduce((a, b) =>
        (b.real?.updatesPerSec ?? 0) > (a.real?.updatesPerSec ?? 0) ? b : a,
      );
      const bestTextP99 = Math.min(...textPeers.map((p) => p.real?.p99Ns ?? Number.POSITIVE_INFINITY));
      log(
        `real captures, peers fed the same venue text: qob ` +
          `${(ours.real.updatesPerSec / (fastestText.real?.updatesPerSec ?? 1)).toFixed(2)}x the fastest ` +
          `(${fastestText.name}); p99 ${(ours.real.p99Ns / bestTextP99).toFixed(2)} of the best p99`,
      );
    }
  }
  log(`total time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Throughput and latency over all captured books, each from its snapshot; checked against ours. */
function realCaptures(im: Impl, streams: BenchStream[]): NonNullable<Result['real']> {
  const limits = streams.map((s) => s.deltas.length);
  const updates = streams.reduce((a, s) => a + countUpdates(s, s.deltas.length), 0);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r <= CAPTURE_REPEATS; r++) {
    let ns = 0;
    for (const s of streams) {
      const p = im.prepare(s);
      const b = im.create(p);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < s.deltas.length; i++) im.applyDelta(b, p, i);
      ns += Number(process.hrtime.bigint() - t0);
      if (r === 0) verify(im, b, reference(s, s.deltas.length), `the capture ${s.name}`);
    }
    if (r > 0 && ns < best) best = ns;
  }
  const lat = latencies(im, streams, limits, 3);
  return {
    updatesPerSec: updates / (best / 1e9),
    p50Ns: percentile(lat, 0.5),
    p99Ns: percentile(lat, 0.99),
    p999Ns: percentile(lat, 0.999),
    levelUpdates: updates,
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof BenchFailure ? 'BENCHMARK FAILED: ' : ''}${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
