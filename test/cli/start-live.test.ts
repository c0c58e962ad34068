/**
 * `qob start` with live venues, run as users run it (`node bin/qob.mjs start` in a child process). No test
 * here ever reaches a real venue: every live venue is pointed (config `wsBase`/`restBase`) at a closed local
 * port or at the local venue emulator running in this process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { StartStatusLine } from '../../src/cli/commands/start.ts';
import { loadConfig } from '../../src/config/config.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { buildPlatform } from '../../src/platform.ts';
import { venueById } from '../../src/venues/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');

/** The environment without QOB_* variables (unknown ones are config errors); the API on a free port. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = { QOB_API_PORT: '0', QOB_DASHBOARD_PORT: '0' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  return env;
}

/** A working directory holding `qob.config.json` with these venues. */
function configDir(venues: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'qob-start-live-'));
  writeFileSync(join(dir, 'qob.config.json'), JSON.stringify({ log: { level: 'warn' }, venues }));
  return dir;
}

/** A local TCP port nothing listens on (bound, then closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((res) => server.close(() => res()));
  return address.port;
}

interface Run {
  readonly child: ChildProcess;
  readonly ticks: StartStatusLine[];
  stderr(): string;
  /** Resolves with the first tick (from now on, or already seen) that satisfies `cond`. */
  waitForTick(what: string, cond: (t: StartStatusLine) => boolean, timeoutMs?: number): Promise<StartStatusLine>;
  readonly exited: Promise<number | null>;
}

function qobStart(args: string[], cwd: string): Run {
  const child = spawn(node24, [bin, 'start', '--json', ...args], { cwd, env: cleanEnv() });
  const ticks: StartStatusLine[] = [];
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      ticks.push(JSON.parse(out.slice(0, nl)) as StartStatusLine);
      out = out.slice(nl + 1);
      nl = out.indexOf('\n');
    }
    for (const w of [...waiters]) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    child,
    ticks,
    stderr: () => err,
    exited,
    waitForTick(what, cond, timeoutMs = 30_000) {
      return new Promise((res, rej) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < ticks.length; seen++) {
            const t = ticks[seen] as StartStatusLine;
            if (cond(t)) {
              done();
              res(t);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          rej(new Error(`no status tick with ${what}; last: ${JSON.stringify(ticks.at(-1))}\n${err}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        exited.then(() => {
          if (waiters.has(check)) {
            done();
            rej(new Error(`qob start exited before a tick with ${what}\n${err}`));
          }
        });
        check();
      });
    },
  };
}

function stop(run: Run): void {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
}

describe('qob start with live venues', () => {
  it('keeps running where the network is unreachable: the venue says so and retries, sim books stay in sync', async () => {
    const port = await closedPort();
    const cwd = configDir([
      { id: 'sim', symbols: ['BTC-USDT', 'ETH-USDT'] },
      { id: 'binance', symbols: ['BTC-USDT'], wsBase: `ws://127.0.0.1:${port}`, restBase: `http://127.0.0.1:${port}` },
    ]);
    const run = qobStart(['--duration', '3'], cwd);
    try {
      assert.equal(await run.exited, 0, run.stderr());
      assert.match(run.stderr(), /live venues: binance\./);
      assert.match(run.stderr(), /stopped after/);
      const last = run.ticks.at(-1);
      assert.ok(last !== undefined && run.ticks.length >= 3, `got ${run.ticks.length} ticks`);
      assert.equal(last.synthetic, false, 'a live venue runs beside sim');
      assert.deepEqual(
        last.venues.map((v) => [v.venue, v.kind]),
        [
          ['sim', 'sim'],
          ['binance', 'live'],
        ],
      );
      const binance = last.venues[1];
      assert.equal(binance?.state, 'disconnected');
      assert.equal(binance?.unreachable, true);
      assert.match(binance?.reason ?? '', /^network unreachable \(ECONNREFUSED\), retrying (now|in [\d.]+ s)$/);
      assert.ok((binance?.tries ?? 0) >= 2, `the connector kept retrying (${binance?.tries} tries)`);
      const epochs = run.ticks.map((t) => t.venues[1]?.epoch ?? 0);
      assert.ok((epochs.at(-1) ?? 0) > (epochs[0] ?? 0), `each try is a new epoch (${epochs.join(',')})`);
      const books = last.books;
      assert.deepEqual(
        books.map((b) => `${b.venue}:${b.symbol}:${b.status}`),
        ['sim:BTC-USDT:in_sync', 'sim:ETH-USDT:in_sync', 'binance:BTC-USDT:disconnected'],
      );
      for (const b of books.filter((x) => x.venue === 'sim')) {
        assert.equal(Decimal.parse(b.spread ?? '0').sign(), 1, 'sim books are never crossed nor locked');
      }
      const bb = books[2];
      assert.equal(bb?.venueSymbol, 'BTCUSDT');
      assert.equal(bb?.bestBid, null, 'a book that never synced shows no prices');
      assert.equal(bb?.ageMs, null);
    } finally {
      stop(run);
    }
  });

  it("subscribes binance, bybit and okx at the emulator: connected, books in sync at the emulator's true top", async () => {
    const emu = await startEmulator({
      seed: 3,
      venues: ['binance', 'bybit', 'okx'],
      symbols: { binance: ['BTCUSDT'], bybit: ['spot:BTCUSDT'], okx: ['BTC-USDT'] },
    });
    const venues = [
      ['binance', 'BTCUSDT'],
      ['bybit', 'spot:BTCUSDT'],
      ['okx', 'BTC-USDT'],
    ] as const;
    const cwd = configDir([
      { id: 'sim', symbols: ['BTC-USDT'] },
      ...venues.map(([id]) => ({ id, symbols: ['BTC-USDT'], ...emu.endpoints(id) })),
      { id: 'kraken', symbols: ['BTC-USD'], enabled: false },
    ]);
    const run = qobStart([], cwd);
    const stepper = setInterval(() => emu.step(1), 40);
    try {
      await run.waitForTick('every live book in sync', (t) =>
        venues.every(([id]) => t.books.some((b) => b.venue === id && b.status === 'in_sync')),
      );
      clearInterval(stepper);
      // The market stands still now: the books must converge to the true books' top and stay there.
      const isTop = (t: StartStatusLine): boolean =>
        venues.every(([id, sym]) => {
          const b = t.books.find((x) => x.venue === id);
          const truth = emu.trueBook(id, sym, 1);
          const [bid, ask] = [truth.bids[0]?.[0], truth.asks[0]?.[0]];
          return (
            b?.status === 'in_sync' &&
            bid !== undefined &&
            ask !== undefined &&
            b.bestBid !== null &&
            b.bestAsk !== null &&
            Decimal.parse(b.bestBid).eq(Decimal.parse(bid)) &&
            Decimal.parse(b.bestAsk).eq(Decimal.parse(ask))
          );
        });
      const tick = await run.waitForTick("every live book at the emulator's true top", isTop);
      for (const [id, sym] of venues) {
        const v = tick.venues.find((x) => x.venue === id);
        assert.equal(v?.kind, 'live');
        assert.equal(v?.state, 'connected', `${id}: ${v?.reason}`);
        assert.equal(v?.unreachable, false);
        assert.ok((v?.epoch ?? 0) >= 1);
        const b = tick.books.find((x) => x.venue === id);
        assert.equal(b?.symbol, 'BTC-USDT');
        assert.equal(b?.venueSymbol, sym);
        assert.equal(b?.gaps, 0);
        assert.equal(b?.crossed, 0);
        assert.ok(b?.ageMs !== null, 'an in-sync book has an age');
      }
      assert.ok(!tick.venues.some((v) => v.venue === 'kraken'), 'a disabled venue does not run');
      assert.ok(
        tick.books.some((b) => b.venue === 'sim' && b.status === 'in_sync'),
        'sim runs beside them',
      );
      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0, run.stderr());
      assert.match(run.stderr(), /stopped after/);
    } finally {
      clearInterval(stepper);
      stop(run);
      await emu.close();
    }
  });
});

describe('live venues in the platform', () => {
  function config(venues: unknown[]) {
    return loadConfig({ cwd: configDir(venues), env: {} });
  }

  it('a venue without a connector spec or without a symbol mapping is reported unavailable, and nothing connects', () => {
    const binance = venueById('binance');
    assert.ok(binance?.connector !== undefined);
    const { toVenueSymbol: _dropped, ...unmapped } = binance.connector;
    const platform = buildPlatform(
      config([
        { id: 'kraken', symbols: ['BTC-USD'] },
        { id: 'binance', symbols: ['BTC-USDT'] },
      ]),
      {
        logger: silentLogger(),
        clock: systemClock,
        random: new SeededRandom(1),
        registry: [
          { ...binance, id: 'kraken', connector: undefined },
          { ...binance, connector: unmapped },
        ],
      },
    );
    try {
      const live = platform.startLiveVenues();
      const s = live.status(systemClock.nowMs());
      assert.deepEqual(
        s.venues.map((v) => [v.venue, v.kind, v.state, v.reason]),
        [
          ['kraken', 'unavailable', 'unavailable', 'no live connector for kraken yet'],
          ['binance', 'unavailable', 'unavailable', "no symbol mapping in binance's connector spec yet"],
        ],
      );
      assert.deepEqual(
        s.books.map((b) => [b.venue, b.symbol, b.status]),
        [
          ['kraken', 'BTC-USD', 'unsupported'],
          ['binance', 'BTC-USDT', 'unsupported'],
        ],
      );
      assert.ok(live.venues.every((v) => v.connector === undefined));
    } finally {
      platform.close();
    }
  });

  it('a symbol the venue does not list is unsupported with the reason; the others still run; close is idempotent', () => {
    const platform = buildPlatform(
      config([{ id: 'binance', symbols: ['BTC-USDT', 'BTC-USDT-PERP'], wsBase: 'ws://127.0.0.1:1' }]),
      { logger: silentLogger(), clock: systemClock, random: new SeededRandom(1) },
    );
    const live = platform.startLiveVenues();
    try {
      const s = live.status(systemClock.nowMs());
      assert.equal(s.venues[0]?.kind, 'live');
      assert.deepEqual(
        s.books.map((b) => [b.symbol, b.venueSymbol, b.status]),
        [
          ['BTC-USDT', 'BTCUSDT', 'connecting'],
          ['BTC-USDT-PERP', 'BTC-USDT-PERP', 'unsupported'],
        ],
      );
      assert.match(s.books[1]?.reason ?? '', /spot pairs only/);
    } finally {
      live.close();
      live.close();
      platform.close();
      platform.close();
    }
    const connector = live.venues[0]?.connector;
    assert.equal(connector?.liveSockets, 0);
    assert.equal(connector?.pendingTimers, 0);
  });

  it('live venues refuse to start without an injected clock and randomness', () => {
    const platform = buildPlatform(config([{ id: 'okx', symbols: ['BTC-USDT'] }]), { logger: silentLogger() });
    try {
      assert.throws(
        () => platform.startLiveVenues(),
        (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
      );
    } finally {
      platform.close();
    }
  });
});

describe('venue endpoint overrides in the configuration', () => {
  it('wsBase and restBase are accepted per venue; a wrong scheme and unknown keys are errors', () => {
    const ok = loadConfig({
      cwd: configDir([{ id: 'okx', symbols: ['BTC-USDT'], wsBase: 'ws://127.0.0.1:9/okx', restBase: 'http://h/okx' }]),
      env: {},
    });
    assert.equal(ok.venues[0]?.wsBase, 'ws://127.0.0.1:9/okx');
    assert.equal(ok.venues[0]?.restBase, 'http://h/okx');
    assert.throws(
      () =>
        loadConfig({
          cwd: configDir([
            { id: 'okx', symbols: ['BTC-USDT'], wsBase: 'http://h', restBase: 'wss://h', restbase: 'http://h' },
          ]),
          env: {},
        }),
      (e) => {
        assert.ok(isQobError(e, 'QOB_ERR_CONFIG_INVALID'));
        const keys = (e.context.errors as { key: string }[]).map((x) => x.key).sort();
        assert.deepEqual(keys, ['venues[0].restBase', 'venues[0].restbase', 'venues[0].wsBase']);
        return true;
      },
    );
  });
});
