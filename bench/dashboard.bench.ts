/**
 * Dashboard smoothness: how often the book ladder updates and how evenly the browser draws frames, with
 * the real `qob start` feeding it. A measurement, not a test: it prints numbers and asserts nothing.
 *
 * It builds the dashboard when stale (web/ensure-built.mjs), runs `qob start --offline --api-port 0
 * --dashboard-port 0 --json` (sim only, the default store, in a temporary directory) as a child process,
 * opens the dashboard in Debian's Chromium (playwright-core, /usr/bin/chromium, never a downloaded browser)
 * and, after a warm-up, observes the page for `--duration` seconds:
 * - ladder updates: a MutationObserver on the ladder element counts the batches in which its `data-draws`
 *   attribute moved (the frame loop writes it on every ladder redraw) and the distinct `data-seq` values
 *   (book channel sequence numbers drawn); how far `data-seq` moved is the rate of deltas the server sent
 *   (more deltas than draws: the page drew less often than the book changed);
 * - frames: every requestAnimationFrame interval (p50, p99, max) and the frames longer than 50 ms, counted as
 *   dropped (three 60 Hz frames missed);
 * - long tasks (PerformanceObserver `longtask`: main-thread work over 50 ms).
 * The same frame observers first run for as long on a blank page in the same browser while the same server
 * runs (`baseline`): on a shared machine, frames the blank page drops too are the machine's, not the
 * dashboard's. The load average is printed with the numbers.
 *
 * The target of the issue: the ladder updating at least 20 times a second without dropping frames.
 *
 * Usage: node bench/dashboard.bench.ts [--duration S (10)] [--warmup S (3)] [--rate N (qob start's default)]
 *   [--symbol BTC-USDT] [--headed] [--profile: also sample the page's CPU profile and list the functions that
 *   took the most main-thread time]
 * Prints one JSON object on stdout.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
const durationS = num('--duration', 10);
const warmupS = num('--warmup', 3);
const rate = flag('--rate');
const symbol = flag('--symbol') ?? 'BTC-USDT';
const headed = args.includes('--headed');
const profile = args.includes('--profile');

/** What the page collects; filled by the observers installed in `install`. */
interface PageSample {
  elapsedMs: number;
  drawBatches: number;
  seqValues: number;
  frameIntervals: number[];
  longTasks: number;
  longTaskMs: number;
  ladderDrawsFromLoop: number;
  /** How far the book channel's seq moved: deltas the server published to this page. */
  seqAdvance: number;
  /** Heatmap redraws by the frame loop (`window.__qob.stats`). */
  heatmapDraws: number;
}

// Browser-side code, as script text (the repository's tsconfig has no DOM lib; the page runs plain JS).

/** The ladder shows a best bid: the book snapshot arrived and was drawn. */
const LADDER_READY = `(() => {
  const el = document.querySelector('[data-testid="ladder"]');
  return el !== null && (el.dataset.bestBid ?? '') !== '';
})()`;

/** Installs the observers into `window.__bench`. */
const INSTALL = `(() => {
  const el = document.querySelector('[data-testid="ladder"]');
  const s = {
    start: performance.now(), drawBatches: 0, seqs: new Set(), frameIntervals: [], longTasks: 0,
    longTaskMs: 0, loopDrawsAtStart: Number(el?.dataset.draws ?? 0), seqAtStart: Number(el?.dataset.seq ?? 0),
    heatmapDrawsAtStart: window.__qob?.stats?.heatmapDraws ?? 0, stop: false,
  };
  if (el !== null) {
    new MutationObserver((records) => {
      if (records.some((r) => r.attributeName === 'data-draws')) s.drawBatches++;
      s.seqs.add(el.dataset.seq ?? '');
    }).observe(el, { attributes: true });
  }
  let last = -1;
  const frame = (t) => {
    if (s.stop) return;
    if (last >= 0) s.frameIntervals.push(t - last);
    last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { s.longTasks++; s.longTaskMs += e.duration; }
    }).observe({ type: 'longtask' });
  } catch {}
  window.__bench = s;
})()`;

/** Stops the observers and returns a `PageSample`. */
const READ = `(() => {
  const s = window.__bench;
  s.stop = true;
  const el = document.querySelector('[data-testid="ladder"]');
  return {
    elapsedMs: performance.now() - s.start,
    drawBatches: s.drawBatches,
    seqValues: s.seqs.size,
    frameIntervals: s.frameIntervals,
    longTasks: s.longTasks,
    longTaskMs: s.longTaskMs,
    ladderDrawsFromLoop: Number(el?.dataset.draws ?? 0) - s.loopDrawsAtStart,
    seqAdvance: Number(el?.dataset.seq ?? 0) - s.seqAtStart,
    heatmapDraws: (window.__qob?.stats?.heatmapDraws ?? 0) - s.heatmapDrawsAtStart,
  };
})()`;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** The functions with the most self time in a CDP CPU profile, in ms, with their share of the samples. */
function topFunctions(p: CpuProfile, n: number): { fn: string; selfMs: number; share: number }[] {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    const dt = (deltas[i + 1] ?? 0) / 1000;
    if (node === undefined) continue;
    const f = node.callFrame;
    const file = f.url.split('/').pop() ?? '';
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, ms]) => ({ fn, selfMs: round(ms, 1), share: round(ms / total, 3) }));
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

/** Starts `qob start` and resolves with the dashboard URL it prints on stderr. */
function startQob(cwd: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const cli = [
    join(repoRoot, 'bin/qob.mjs'),
    'start',
    '--offline',
    '--json',
    '--api-port',
    '0',
    '--dashboard-port',
    '0',
    ...(rate === undefined ? [] : ['--rate', rate]),
  ];
  const child = spawn(process.execPath, cli, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`qob start printed no dashboard URL in 60 s:\n${err}`)), 60_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      err += d;
      const m = /dashboard on (http:\/\/\S+)/.exec(err);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        ok({ child, url: m[1], stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`qob start exited (${code}):\n${err}`));
    });
  });
}

interface FrameSummary {
  count: number;
  fps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Frame intervals over 50 ms (three 60 Hz frames missed). */
  droppedOver50Ms: number;
}

/** Installs the observers, waits, and reads them: all in the page, nothing per event crosses to Node. */
async function observe(
  page: Page,
  seconds: number,
  withProfile: boolean,
): Promise<{ sample: PageSample; frames: FrameSummary; hot: ReturnType<typeof topFunctions> | undefined }> {
  const cdp = withProfile ? await page.context().newCDPSession(page) : undefined;
  if (cdp !== undefined) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
  }
  await page.evaluate(INSTALL);
  await page.waitForTimeout(seconds * 1000);
  const sample = (await page.evaluate(READ)) as PageSample;
  const hot = cdp === undefined ? undefined : topFunctions((await cdp.send('Profiler.stop')).profile, 15);
  const secs = sample.elapsedMs / 1000;
  const intervals = [...sample.frameIntervals].sort((a, b) => a - b);
  const frames = {
    count: intervals.length + 1,
    fps: round(intervals.length / secs),
    p50Ms: round(quantile(intervals, 0.5)),
    p99Ms: round(quantile(intervals, 0.99)),
    maxMs: round(intervals[intervals.length - 1] ?? Number.NaN),
    droppedOver50Ms: intervals.filter((v) => v > 50).length,
  };
  return { sample, frames, hot };
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    process.stdout.write(`${JSON.stringify({ name: 'dashboard', skipped: `${CHROMIUM} absent` })}\n`);
    return;
  }
  const built = spawnSync(process.execPath, [join(repoRoot, 'web/ensure-built.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('the dashboard build failed');

  const loadBefore = os.loadavg().map((v) => round(v));
  const cwd = mkdtempSync(join(tmpdir(), 'qob-dash-bench-'));
  const qob = await startQob(cwd);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !headed,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    // Baseline: the same observers on a blank page, same browser, same running server, just before.
    const blank = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await blank.setContent('<!doctype html><title>baseline</title><p>baseline</p>');
    const base = await observe(blank, durationS, false);
    await blank.close();

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${qob.url}/?venue=sim&symbol=${encodeURIComponent(symbol)}`);
    await page.waitForFunction(LADDER_READY, undefined, { timeout: 30_000 });
    await page.waitForTimeout(warmupS * 1000);
    const dash = await observe(page, durationS, profile);

    const secs = dash.sample.elapsedMs / 1000;
    const updatesPerSec = dash.sample.drawBatches / secs;
    const result = {
      name: 'dashboard',
      symbol,
      durationS: round(secs),
      ladder: {
        updates: dash.sample.drawBatches,
        updatesPerSec: round(updatesPerSec),
        seqValuesPerSec: round(dash.sample.seqValues / secs),
        deltasReceivedPerSec: round(dash.sample.seqAdvance / secs),
        loopDraws: dash.sample.ladderDrawsFromLoop,
      },
      frames: dash.frames,
      heatmap: { drawsPerSec: round(dash.sample.heatmapDraws / secs) },
      longTasks: { count: dash.sample.longTasks, totalMs: round(dash.sample.longTaskMs) },
      baseline: { page: 'blank', frames: base.frames, longTasks: base.sample.longTasks },
      load: { before: loadBefore, after: os.loadavg().map((v) => round(v)) },
      target: { ladderUpdatesPerSec: 20, met: updatesPerSec >= 20 && dash.frames.droppedOver50Ms === 0 },
      pageErrors,
      ...(dash.hot === undefined ? {} : { profile: dash.hot }),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await browser.close();
    const exited = new Promise((r) => qob.child.once('exit', r));
    qob.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (qob.child.exitCode === null) qob.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
}

await main();
