/**
 * What the gateway logs with the logger it is given: nothing per successful request, one line per internal
 * failure (with the error), and the instance's own logger (`app.log`, used by the /ws API) is that logger.
 * Fastify itself gets no logger (no per-request child logger or response listeners), so these pin that
 * logging did not get lost on the way.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { L2Book } from '../../src/book/l2-book.ts';
import { buildGateway, type MarketDataSource } from '../../src/gateway/index.ts';
import { createMetrics } from '../../src/observability/metrics.ts';

function memoryLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function source(failing: boolean): MarketDataSource {
  const book = new L2Book();
  book.applySnapshot([['100', '1']], [['101', '2']]);
  const ref = {
    venue: 'sim',
    symbol: 'BTC-USDT',
    venueSymbol: 'BTC-USDT',
    status: 'in_sync',
    reason: null,
    inSync: true,
    book,
    updates: 1,
  };
  return {
    venues: () => [{ id: 'sim', kind: 'sim', state: 'connected', reason: 'test', symbols: ['BTC-USDT'] }],
    books: () => [ref],
    book: () => {
      if (failing) throw new Error('the source broke');
      return ref;
    },
    status: () => ({ tsMs: 1, venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('gateway logging', () => {
  it('logs nothing for successful requests', async () => {
    const { logger, lines } = memoryLogger();
    const app = await buildGateway(
      { source: source(false), metrics: createMetrics({ processMetrics: false }).registry, logger },
      { docs: false, wsTickMs: 0 },
    );
    try {
      for (let i = 0; i < 3; i++) {
        const r = await app.inject({ method: 'GET', url: '/api/v1/books/sim/BTC-USDT?depth=1' });
        assert.equal(r.statusCode, 200, r.body);
      }
      await flush();
      assert.deepEqual(lines, []);
    } finally {
      await app.close();
    }
  });

  it('logs an internal failure once, with its error, and answers 500 QOB_ERR_INTERNAL', async () => {
    const { logger, lines } = memoryLogger();
    const app = await buildGateway(
      { source: source(true), metrics: createMetrics({ processMetrics: false }).registry, logger },
      { docs: false, wsTickMs: 0 },
    );
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/books/sim/BTC-USDT' });
      assert.equal(r.statusCode, 500);
      assert.equal((r.json() as { error: { code: string; message: string } }).error.code, 'QOB_ERR_INTERNAL');
      assert.equal((r.json() as { error: { message: string } }).error.message, 'internal error');
      await flush();
      const failed = lines.filter((l) => l.msg === 'request failed');
      assert.equal(failed.length, 1, JSON.stringify(lines));
      assert.match(JSON.stringify(failed[0]?.err), /the source broke/);
      assert.equal(failed[0]?.url, '/api/v1/books/sim/BTC-USDT');
    } finally {
      await app.close();
    }
  });

  it("the instance's logger is the gateway's logger", async () => {
    const { logger, lines } = memoryLogger();
    const app = await buildGateway(
      { source: source(false), metrics: createMetrics({ processMetrics: false }).registry, logger },
      { docs: false, wsTickMs: 0 },
    );
    try {
      app.log.error({ channel: 'book.sim.BTC-USDT' }, 'ws stream poll failed');
      await flush();
      assert.deepEqual(
        lines.map((l) => [l.msg, l.channel]),
        [['ws stream poll failed', 'book.sim.BTC-USDT']],
      );
    } finally {
      await app.close();
    }
  });
});
