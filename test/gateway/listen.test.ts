/**
 * The API as `qob start` runs it: the platform builds it over its sim venue and listens on a real socket
 * (port 0: any free port). Readiness follows the platform: not ready until the first status is
 * published, then ready while the sim books are in sync.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { buildPlatform } from '../../src/platform.ts';
import { tempDir } from '../support/temp-dir.ts';
import { manualClock } from './helpers.ts';

describe('the API on a real socket', () => {
  it('serves books over HTTP and /readyz flips to ready once the platform reports', async () => {
    const config = loadConfig({ cwd: tempDir('qob-gw-'), env: {}, flags: {} });
    const clock = manualClock();
    const platform = buildPlatform(config, { logger: silentLogger(), clock, random: { next: () => 0.5 } });
    const sim = platform.createSimVenue({ seed: 5, stepMs: 50 });
    const api = await platform.startApi({ sim, port: 0 });
    try {
      assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(api.port, 0);
      const before = await fetch(`${api.url}/readyz`);
      assert.equal(before.status, 503);
      assert.equal(((await before.json()) as { error: { code: string } }).error.code, 'QOB_ERR_BOOK_NOT_SYNCED');

      sim.step(20);
      const books = sim.status(clock.nowMs());
      api.publish({ tsMs: clock.nowMs(), venues: [], books });
      const ready = await fetch(`${api.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { status: string }).status, 'ready');

      const book = await fetch(`${api.url}/api/v1/books/sim/ETH-USDT?depth=3`);
      assert.equal(book.status, 200);
      assert.match(String(book.headers.get('content-type')), /^application\/json/);
      const body = (await book.json()) as { bids: unknown[]; asks: unknown[] };
      assert.equal(body.bids.length, 3);
      assert.equal(body.asks.length, 3);

      const metrics = await fetch(`${api.url}/metrics`);
      assert.match(await metrics.text(), /qob_books_in_sync\{venue="sim"\} 2/);
    } finally {
      await api.close();
      await api.close(); // idempotent
      platform.close();
    }
    await assert.rejects(fetch(`${api.url}/healthz`), 'closed: nothing listens any more');
  });

  it('a port in use is a typed error naming the address', async () => {
    const config = loadConfig({ cwd: tempDir('qob-gw-'), env: {}, flags: {} });
    const platform = buildPlatform(config, { logger: silentLogger(), clock: manualClock() });
    const sim = platform.createSimVenue();
    const first = await platform.startApi({ sim, port: 0 });
    try {
      await assert.rejects(platform.startApi({ sim, port: first.port }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'QOB_ERR_IO');
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${first.port}: the address is in use`));
        return true;
      });
    } finally {
      await first.close();
      platform.close();
    }
  });
});
