import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config.ts';
import { buildGateway } from '../../src/gateway/index.ts';
import type { Clock } from '../../src/ingest/clock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import {
  buildPlatform,
  createMarketData,
  type Platform,
  type PlatformMarketData,
  type SimVenue,
} from '../../src/platform.ts';
import { tempDir } from '../support/temp-dir.ts';

export const manualClock = (startMs = 1_700_000_000_000): Clock & { advance(ms: number): void } => {
  let now = startMs;
  return {
    nowMs: () => now,
    setTimeout: () => 0,
    clearTimeout: () => {},
    advance(ms: number) {
      now += ms;
    },
  };
};

export interface SimGateway {
  readonly platform: Platform;
  readonly sim: SimVenue;
  readonly source: PlatformMarketData;
  readonly app: FastifyInstance;
  readonly clock: ReturnType<typeof manualClock>;
  /** Publishes a status as `qob start` does on every tick. */
  publish(): void;
  close(): Promise<void>;
}

export async function simGateway(steps = 40): Promise<SimGateway> {
  const config = loadConfig({ cwd: tempDir('qob-gw-'), env: {}, flags: {} });
  const clock = manualClock();
  const platform = buildPlatform(config, { logger: silentLogger(), clock, random: { next: () => 0.5 } });
  const sim = platform.createSimVenue({ seed: 3, stepMs: 50 });
  sim.step(steps);
  const source = createMarketData({ sim, clock });
  const app = await buildGateway({ source, metrics: platform.metrics.registry });
  await app.ready();
  return {
    platform,
    sim,
    source,
    app,
    clock,
    publish() {
      const books = sim.status(clock.nowMs());
      source.publish({
        tsMs: clock.nowMs(),
        venues: [
          {
            venue: 'sim',
            kind: 'sim',
            state: 'connected',
            reason: 'in process',
            unreachable: false,
            retryInMs: null,
            epoch: 1,
            tries: 0,
            frames: sim.frames,
            framesPerSec: 0,
            books: books.length,
            booksInSync: books.filter((b) => b.status === 'in_sync').length,
          },
        ],
        books,
      });
    },
    async close() {
      await app.close();
      platform.close();
    },
  };
}

/** Every key of a JSON value, at any depth. */
export function allKeys(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) allKeys(x, out);
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.add(k);
      allKeys(x, out);
    }
  }
  return out;
}
