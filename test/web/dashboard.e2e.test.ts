/**
 * End to end: the dashboard in Debian's Chromium (playwright-core, never a downloaded browser) against
 * the platform running `sim` offline in this process, with the API (/ws) and the dashboard server on
 * free ports. Screenshots go to test-artifacts/. Skips when /usr/bin/chromium is missing (CI installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config.ts';
import { type RunningDashboard, startDashboard } from '../../src/gateway/static.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { buildPlatform, type Platform, type PlatformApi, type SimVenue } from '../../src/platform.ts';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = resolve(import.meta.dirname, '../..');
const artifacts = join(repoRoot, 'test-artifacts');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// Browser-side shapes (the repository's tsconfig has no DOM lib; the web/ one does).
type Dataset = { dataset: Record<string, string | undefined> };
type Canvas = {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
};

interface Ladder {
  bid: string;
  ask: string;
  channel: string;
  snapshots: number;
  seq: number;
}

async function ladder(page: Page): Promise<Ladder> {
  return page.$eval('[data-testid="ladder"]', (el) => {
    const d = (el as unknown as Dataset).dataset;
    return {
      bid: d.bestBid ?? '',
      ask: d.bestAsk ?? '',
      channel: d.channel ?? '',
      snapshots: Number(d.snapshots ?? 0),
      seq: Number(d.seq === '' || d.seq === undefined ? -1 : d.seq),
    };
  });
}

/**
 * Polls `read` until `ok` holds (or fails with the last value or error seen). A read that throws (the
 * element is not rendered yet: React mounts after the load event, later on a busy machine) is retried.
 */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: { value: T } | { error: unknown };
    try {
      last = { value: await read() };
    } catch (error) {
      last = { error };
    }
    if ('value' in last && ok(last.value)) return last.value;
    if (Date.now() > deadline) {
      assert.fail(`${what}: still ${'value' in last ? JSON.stringify(last.value) : String(last.error)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SKIP = !existsSync(CHROMIUM) && `${CHROMIUM} absent`;

describe('dashboard in Chromium against the sim venue', () => {
  let platform: Platform;
  let sim: SimVenue;
  let api: PlatformApi;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let page: Page;
  let stepper: ReturnType<typeof setInterval>;
  const pageErrors: string[] = [];

  before(async () => {
    if (SKIP) return;
    const built = spawnSync(process.execPath, [join(repoRoot, 'web/ensure-built.mjs')], { stdio: 'inherit' });
    assert.equal(built.status, 0, 'the dashboard build failed');
    mkdirSync(artifacts, { recursive: true });
    const config = loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'qob-web-')), env: {}, flags: {} });
    platform = buildPlatform(config, { logger: silentLogger(), clock: systemClock, random: { next: () => 0.5 } });
    sim = platform.createSimVenue({ seed: 7, stepMs: 50, symbols: ['BTC-USDT', 'ETH-USDT'] });
    sim.step(40);
    api = await platform.startApi({ sim, host: '127.0.0.1', port: 0 });
    const publish = (): void => {
      const now = Date.now();
      const books = sim.status(now);
      const inSync = books.filter((b) => b.status === 'in_sync').length;
      api.publish({
        tsMs: now,
        venues: [
          {
            venue: 'sim',
            kind: 'sim',
            state: 'connected',
            reason: 'in process',
            unreachable: false,
            retryInMs: null,
            epoch: null,
            tries: 0,
            frames: sim.frames,
            framesPerSec: 0,
            books: books.length,
            booksInSync: inSync,
          },
        ],
        books,
      });
    };
    publish();
    // 40 steps a second (2x real time), a status 4 times a second, as `qob start` does.
    let n = 0;
    stepper = setInterval(() => {
      sim.step(1);
      if (++n % 10 === 0) publish();
    }, 25);
    dashboard = await startDashboard({
      root: join(repoRoot, 'dist/web'),
      host: '127.0.0.1',
      port: 0,
      api: () => ({ host: '127.0.0.1', port: api.port }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${dashboard.url}/?venue=sim&symbol=BTC-USDT`);
  });

  after(async () => {
    clearInterval(stepper);
    await browser?.close();
    await dashboard?.close();
    await api?.close();
    platform?.close();
  });

  it('loads, connects and shows live sim prices on the ladder that change over time', { skip: SKIP }, async () => {
    await until(
      'connection',
      () => page.$eval('[data-testid="connection"]', (el) => (el as unknown as Dataset).dataset.state ?? ''),
      (s) => s === 'open',
    );
    const first = await until(
      'ladder prices',
      () => ladder(page),
      (l) => l.bid !== '' && l.ask !== '',
    );
    assert.equal(first.channel, 'book.sim.BTC-USDT');
    assert.ok(Number(first.bid) < Number(first.ask), `bid ${first.bid} below ask ${first.ask}`);
    await until(
      'ladder moving',
      () => ladder(page),
      (l) => l.seq > first.seq && (l.bid !== first.bid || l.ask !== first.ask),
    );
    await page.screenshot({ path: join(artifacts, 'dashboard-sim-btc.png') });
    assert.deepEqual(pageErrors, []);
  });

  it('the heatmap draws liquidity: its canvas holds non-background pixels', { skip: SKIP }, async () => {
    await until(
      'heatmap columns',
      () => page.$eval('[data-testid="heatmap"]', (el) => Number((el as unknown as Dataset).dataset.cells ?? 0)),
      (n) => n > 0,
    );
    const colours = await page.$eval('[data-testid="heatmap"]', (el) => {
      const c = el as unknown as Canvas;
      const px = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      if (px === undefined) return 0;
      let other = 0;
      for (let i = 0; i < px.length; i += 4) {
        // Background is #0e1117.
        if (px[i] !== 14 || px[i + 1] !== 17 || px[i + 2] !== 23) other++;
      }
      return other;
    });
    assert.ok(colours > 100, `only ${colours} non-background pixels`);
    await page.screenshot({ path: join(artifacts, 'dashboard-heatmap.png') });
  });

  it('switching symbol and venue resubscribes the ladder to the new market', { skip: SKIP }, async () => {
    const btc = await ladder(page);
    await page.selectOption('[data-testid="symbol-select"]', 'ETH-USDT');
    const eth = await until(
      'ETH ladder',
      () => ladder(page),
      (l) => l.channel === 'book.sim.ETH-USDT' && l.bid !== '',
    );
    assert.notEqual(eth.bid, btc.bid);
    const serverEth = sim.status(Date.now()).find((b) => b.symbol === 'ETH-USDT');
    // Same order of magnitude as the server's book (the ladder is a few ticks behind at most).
    assert.ok(serverEth?.bestBid != null && Math.abs(Number(eth.bid) / Number(serverEth.bestBid) - 1) < 0.05);
    await page.screenshot({ path: join(artifacts, 'dashboard-sim-eth.png') });

    await page.selectOption('[data-testid="venue-select"]', 'consolidated');
    const cons = await until(
      'consolidated ladder',
      () => ladder(page),
      (l) => l.channel === 'book.consolidated.ETH-USDT' && l.bid !== '',
    );
    assert.ok(Number(cons.bid) < Number(cons.ask));
    await page.screenshot({ path: join(artifacts, 'dashboard-consolidated-eth.png') });

    await page.selectOption('[data-testid="venue-select"]', 'sim');
    await page.selectOption('[data-testid="symbol-select"]', 'BTC-USDT');
    await until(
      'back to BTC',
      () => ladder(page),
      (l) => l.channel === 'book.sim.BTC-USDT' && l.bid !== '',
    );
  });

  it('a dropped socket reconnects and the ladder resnapshots to the server book', { skip: SKIP }, async () => {
    const before = await ladder(page);
    const opens = async (): Promise<number> =>
      page.$eval('[data-testid="connection"]', (el) => Number((el as unknown as Dataset).dataset.opens ?? 0));
    const opensBefore = await opens();
    // The page's socket fails as a dropped connection would (the feed's test hook closes it).
    await page.evaluate(() =>
      (globalThis as unknown as { __qob: { feed: { dropSocket(): void } } }).__qob.feed.dropSocket(),
    );
    await until('reconnected', opens, (n) => n > opensBefore);
    const after = await until(
      'resnapshot',
      () => ladder(page),
      (l) => l.snapshots > before.snapshots && l.bid !== '',
    );
    // The new snapshot is the server's book: its best bid is one the server held very recently.
    const server = sim.status(Date.now()).find((b) => b.symbol === 'BTC-USDT');
    assert.ok(server?.bestBid != null && Math.abs(Number(after.bid) / Number(server.bestBid) - 1) < 0.05);
    await page.screenshot({ path: join(artifacts, 'dashboard-after-reconnect.png') });
    assert.deepEqual(pageErrors, []);
  });
});
