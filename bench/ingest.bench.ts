/**
 * Ingestion benchmark: raw venue frame text -> applied book -> emitted top-of-book event, per venue
 * format, for our feed handlers and for tardis-dev's and ccxt's real-time paths on the same frames.
 *
 *   npm run bench:ingest                 readable tables
 *   npm run bench:ingest -- --json       {"results":[{"name","venue","levelChangesPerSec","p99Ns",...}]}
 *   options: --frames N (Binance spot frames, default 100000) --venue-frames N (other venues, 20000)
 *            --runs N (2 timed after 1 warm-up) --seed N (42) --venues a,b,... --loopback
 *
 * Workloads (bench/lib/ingest-frames.ts): each venue's exact raw text generated in memory from one seeded
 * true book, valid for its sync rules (sequence chaining, real checksums), plus the real captures in
 * ../shared/fixtures. Timed per frame, one core: everything a live socket's message callback would do
 * with the frame text (JSON.parse, sync rules, book update, checksum, one top-of-book read). REST
 * snapshots and the initial WebSocket snapshot are applied untimed. After the last run every peer's 10
 * best levels per side must equal ours on every book we hold in sync, or the benchmark fails.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Ev, loadCaptureWorkloads, SYNTHETIC, type Workload } from './lib/ingest-frames.ts';
import { type Impl, loadCcxt, loadTardis, qobImpl, type Runner, type TopBook } from './lib/ingest-impls.ts';
import { fmtNs, fmtRate, percentile, table, timerOverheadNs } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    frames: { type: 'string', default: '100000' },
    'venue-frames': { type: 'string', default: '20000' },
    runs: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    venues: { type: 'string', default: '' },
    loopback: { type: 'boolean', default: false },
  },
});
const FRAMES = Number(args.frames);
const VENUE_FRAMES = Number(args['venue-frames']);
const RUNS = Math.max(1, Number(args.runs));
const SEED = Number(args.seed);
const ONLY = args.venues === '' ? undefined : new Set(args.venues.split(','));
const TOP_N = 10;
const CAPTURE_REPEATS = 5;

const gc = (globalThis as { gc?: () => void }).gc;
const log = (s: string) => {
  if (!args.json) process.stdout.write(`${s}\n`);
};

class BenchFailure extends Error {}

export interface Result {
  name: string;
  venue: string;
  levelChangesPerSec: number;
  p99Ns: number;
  workload: string;
  source: 'synthetic' | 'capture' | 'loopback';
  framesPerSec: number;
  p50Ns: number;
  p999Ns: number;
  frames: number;
  levelChanges: number;
  vsQob?: number;
}

// ---- measurement -----------------------------------------------------------------------------------

let sink = 0;

interface Pass {
  ns: number;
  lat: Float64Array;
  runner: Runner;
}

/** One pass over the workload with a new runner; hrtime around every timed frame (plus its event). */
function pass(im: Impl, w: Workload): Pass | string {
  const r = im.create(w);
  if (typeof r === 'string') return r;
  const emit = w.source === 'synthetic';
  const lat = new Float64Array(w.frames);
  let k = 0;
  let ns = 0;
  const evs = w.events;
  for (let i = 0; i < evs.length; i++) {
    const ev = evs[i] as Ev;
    if (!ev.timed) {
      r.feed(ev);
      continue;
    }
    const t0 = process.hrtime.bigint();
    r.feed(ev);
    if (emit) sink += r.emit();
    const d = Number(process.hrtime.bigint() - t0);
    lat[k++] = d;
    ns += d;
  }
  return { ns, lat, runner: r };
}

interface Measured {
  result: Result;
  runner: Runner;
}

function measure(im: Impl, w: Workload, runs: number): Measured | string {
  let best: Pass | undefined;
  for (let r = 0; r <= runs; r++) {
    gc?.();
    const p = pass(im, w);
    if (typeof p === 'string') return p;
    if (r > 0 && (best === undefined || p.ns < best.ns)) best = p;
  }
  if (best === undefined) throw new Error('unreachable');
  const lat = best.lat.sort();
  return {
    runner: best.runner,
    result: {
      name: im.name,
      venue: w.venue,
      workload: w.name,
      source: w.source,
      levelChangesPerSec: w.levelChanges / (best.ns / 1e9),
      framesPerSec: w.frames / (best.ns / 1e9),
      p50Ns: percentile(lat, 0.5),
      p99Ns: percentile(lat, 0.99),
      p999Ns: percentile(lat, 0.999),
      frames: w.frames,
      levelChanges: w.levelChanges,
    },
  };
}

// ---- correctness -----------------------------------------------------------------------------------

function same(a: TopBook, b: TopBook): boolean {
  const eq = (x: [number, number][], y: [number, number][]) =>
    x.length === y.length && x.every((l, i) => l[0] === y[i]?.[0] && l[1] === y[i]?.[1]);
  return eq(a.bids, b.bids) && eq(a.asks, b.asks);
}

/** Every book ours holds in sync must show the same 10 best levels per side in the peer. */
function verify(ours: Runner, peer: Runner, peerName: string, w: Workload): number {
  const want = ours.books(TOP_N);
  const got = peer.books(TOP_N);
  if (want.size === 0) throw new BenchFailure(`qob holds no book in sync after ${w.name}`);
  let checked = 0;
  for (const [sym, ref] of want) {
    const b = got.get(sym);
    if (b === undefined) throw new BenchFailure(`${peerName} has no book ${sym} after ${w.name}`);
    if (!same(ref, b)) {
      throw new BenchFailure(
        `${peerName} disagrees with qob on the ${TOP_N} best levels of ${sym} after ${w.name}:\n` +
          `  qob:  ${JSON.stringify(ref)}\n  ${peerName}: ${JSON.stringify(b)}`,
      );
    }
    checked++;
  }
  return checked;
}

/** Synthetic frames are valid by construction: ours must apply all of them and match the true book. */
function checkSynthetic(ours: Runner, w: Workload): void {
  const problems = ours.integrity?.();
  if (problems !== undefined) throw new BenchFailure(`qob lost sync on ${w.name}: ${problems}`);
  const truth = w.truth;
  if (truth === undefined) return;
  const want: TopBook = {
    bids: truth.bids.map((l) => [Number(l[0]), Number(l[1])]),
    asks: truth.asks.map((l) => [Number(l[0]), Number(l[1])]),
  };
  const got = [...ours.books(TOP_N).values()][0];
  if (got === undefined || !same(want, got)) {
    throw new BenchFailure(`qob's book differs from the true book after ${w.name}: ${JSON.stringify(got)}`);
  }
}

// ---- run -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const load0 = loadavg();
  const impls: Impl[] = [qobImpl];
  const missing: string[] = [];
  const tardis = loadTardis();
  if (typeof tardis === 'string') missing.push(tardis);
  else impls.push(tardis);
  const ccxt = await loadCcxt();
  if (typeof ccxt === 'string') missing.push(ccxt);
  else impls.push(ccxt);

  const workloads: Workload[] = [];
  for (const [venue, make] of Object.entries(SYNTHETIC)) {
    if (ONLY !== undefined && !ONLY.has(venue)) continue;
    workloads.push(make({ seed: SEED, frames: venue === 'binance' ? FRAMES : VENUE_FRAMES }));
  }
  const fixtures = path.resolve(import.meta.dirname, '..', '../shared/fixtures');
  const captures = loadCaptureWorkloads(fixtures);
  if (!('absent' in captures)) {
    for (const w of captures.workloads) if (ONLY === undefined || ONLY.has(w.venue)) workloads.push(w);
  }

  log(
    `Ingestion benchmark: node ${process.version}, ${RUNS} timed runs after 1 warm-up (captures x${CAPTURE_REPEATS}), ` +
      `best run reported; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`,
  );
  log(`workloads built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const m of missing) log(`skipped: ${m}`);
  if ('absent' in captures) log(`real captures: skipped (${captures.absent})`);
  log(`hrtime.bigint() pair overhead: ${fmtNs(timerOverheadNs())} (included in every latency)`);
  log('');

  const results: Result[] = [];
  const notes: string[] = [];
  let verified = 0;
  for (const w of workloads) {
    const runs = w.source === 'capture' ? CAPTURE_REPEATS : RUNS;
    let ours: Measured | undefined;
    for (const im of impls) {
      const m = measure(im, w, runs);
      if (typeof m === 'string') {
        notes.push(`${im.name} on ${w.name}: not run (${m})`);
        continue;
      }
      if (ours === undefined) {
        ours = m;
        if (w.source === 'synthetic') checkSynthetic(m.runner, w);
      } else {
        verified += verify(ours.runner, m.runner, im.name, w);
        m.result.vsQob = ours.result.levelChangesPerSec / m.result.levelChangesPerSec;
      }
      results.push(m.result);
    }
    log(`  ${w.name}: ${w.frames} frames, ${w.levelChanges} level changes, done`);
  }

  if (args.loopback) {
    const lb = await loopback(impls, notes);
    results.push(...lb);
  }

  if (sink === -1) log(''); // keeps the emitted events observable
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
    return;
  }
  log('');
  const rows = [
    ['workload', 'impl', 'frames', 'level chg', 'frames/s', 'level chg/s', 'p50', 'p99', 'p99.9', 'qob is'],
    ...results.map((r) => [
      r.name === 'qob' ? r.workload : '',
      r.name,
      String(r.frames),
      String(r.levelChanges),
      fmtRate(r.framesPerSec),
      fmtRate(r.levelChangesPerSec),
      fmtNs(r.p50Ns),
      fmtNs(r.p99Ns),
      fmtNs(r.p999Ns),
      r.vsQob === undefined ? '' : `${r.vsQob.toFixed(2)}x`,
    ]),
  ];
  log(table(rows));
  log('');
  for (const n of notes) log(`note: ${n}`);
  log(
    `\nframes/s and level chg/s: over the timed frames of the best run (one core); p50/p99/p99.9: time from the ` +
      'frame text to the applied book and the emitted top-of-book event (synthetic workloads; captures: applied ' +
      `book only), per frame. "qob is": our level changes/s over the peer's. ${verified} peer books checked equal ` +
      `to qob (top ${TOP_N} levels per side).`,
  );
  const goal = results.find((r) => r.name === 'qob' && r.venue === 'binance' && r.source === 'synthetic');
  if (goal !== undefined) {
    log(
      `goal 2 M level changes/s (Binance spot): ${fmtRate(goal.levelChangesPerSec)} -> ` +
        `${goal.levelChangesPerSec >= 2e6 ? 'MET' : 'MISSED'}`,
    );
  }
  for (const peer of ['tardis-dev', 'ccxt']) {
    const rs = results.filter((r) => r.name === peer && r.vsQob !== undefined && r.source === 'synthetic');
    if (rs.length === 0) continue;
    const min = rs.reduce((a, b) => ((b.vsQob ?? 0) < (a.vsQob ?? 0) ? b : a));
    log(
      `goal 3x ${peer} (synthetic, every venue it runs): lowest ${min.vsQob?.toFixed(2)}x on ${min.venue} -> ` +
        `${rs.every((r) => (r.vsQob ?? 0) >= 3) ? 'MET' : 'MISSED'}`,
    );
  }
  log(
    `total time ${((performance.now() - t0) / 1000).toFixed(1)} s; load average now ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

// ---- loopback ----------------------------------------------------------------------------------------

interface EmulatorLike {
  endpoints(venue: string): { wsBase: string; restBase: string };
  step(n?: number): void;
  close(): Promise<void>;
}

/**
 * The emulator's Binance spot stream over a real local WebSocket (ws client, same process, so the
 * emulator's frame production shares the core): its frames are its own seeded book's, not the in-memory
 * workload's. Per frame: from the `message` callback (frame arrival) to the applied book and emitted event.
 */
async function loopback(impls: Impl[], notes: string[]): Promise<Result[]> {
  const emuPath = path.resolve(import.meta.dirname, '..', 'src/emulator/index.ts');
  if (!existsSync(emuPath)) {
    notes.push('loopback: needs the venue emulator (src/emulator/index.ts with startEmulator), absent: skipped');
    return [];
  }
  const mod = (await import(emuPath)) as {
    startEmulator?: (o: Record<string, unknown>) => Promise<EmulatorLike>;
  };
  if (mod.startEmulator === undefined) {
    notes.push('loopback: src/emulator/index.ts has no startEmulator: skipped');
    return [];
  }
  const { WebSocket } = await import('ws');
  const emu = await mod.startEmulator({
    venues: ['binance'],
    symbols: { binance: ['BTCUSDT'] },
    levels: 1000,
    seed: SEED,
  });
  const frames = Math.min(FRAMES, 20_000);
  const out: Result[] = [];
  try {
    const { wsBase, restBase } = emu.endpoints('binance');
    for (const im of impls) {
      const wsUrl = `${wsBase}/stream?streams=btcusdt@depth@100ms`;
      const w: Workload = {
        venue: 'binance',
        source: 'synthetic',
        name: 'loopback',
        events: [],
        frames,
        levelChanges: 0,
      };
      const r = im.create(w);
      if (typeof r === 'string') continue;
      r.feed({ k: 'connect', conn: 'lb', url: wsUrl, data: '', tsMs: 0, levels: 0, timed: false });
      const ws = new WebSocket(wsUrl);
      const lat = new Float64Array(frames);
      let k = 0;
      const texts: string[] = [];
      let first = 0n;
      let last = 0n;
      const done = new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data: Buffer) => {
          if (k >= frames) return;
          const t0 = process.hrtime.bigint();
          const text = data.toString();
          r.feed({ k: 'recv', conn: 'lb', url: '', data: text, tsMs: 2 + k, levels: 0, timed: true });
          sink += r.emit();
          const t1 = process.hrtime.bigint();
          if (k === 0) first = t0;
          last = t1;
          lat[k++] = Number(t1 - t0);
          texts.push(text);
          if (k === frames) resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const restUrl = `${restBase}/api/v3/depth?symbol=BTCUSDT&limit=1000`;
      const body = await (await fetch(restUrl)).text();
      r.feed({ k: 'http', conn: 'http', url: restUrl, data: body, tsMs: 1, levels: 0, timed: false });
      // Push the frames in batches, yielding so the socket delivers them as they come.
      let pushed = 0;
      const pump = async () => {
        while (pushed < frames) {
          const n = Math.min(200, frames - pushed);
          emu.step(n);
          pushed += n;
          await new Promise((res) => setImmediate(res));
        }
      };
      await Promise.all([pump(), done]);
      ws.close();
      let levels = 0;
      for (const t of texts) {
        const d = (JSON.parse(t) as { data?: { b?: unknown[]; a?: unknown[] } }).data;
        levels += (d?.b?.length ?? 0) + (d?.a?.length ?? 0);
      }
      const books = r.books(TOP_N);
      if (books.size === 0) throw new BenchFailure(`${im.name} holds no book after the loopback run`);
      const sorted = lat.sort();
      const wallNs = Number(last - first);
      out.push({
        name: im.name,
        venue: 'binance',
        workload: 'loopback (emulator binance spot)',
        source: 'loopback',
        levelChangesPerSec: levels / (wallNs / 1e9),
        framesPerSec: frames / (wallNs / 1e9),
        p50Ns: percentile(sorted, 0.5),
        p99Ns: percentile(sorted, 0.99),
        p999Ns: percentile(sorted, 0.999),
        frames,
        levelChanges: levels,
      });
    }
  } finally {
    await emu.close();
  }
  return out;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof BenchFailure ? 'BENCHMARK FAILED: ' : ''}${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
