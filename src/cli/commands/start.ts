/**
 * `qob start`: runs the configured venues and prints a live status per venue and per book until Ctrl-C:
 * the real venues through their live connectors (src/ingest/; a venue without one is listed as
 * unavailable), and the built-in simulated exchange `sim` (matching engines driven by seeded agents, no
 * network). Where the network is unreachable a venue says so and its connector keeps retrying with
 * backoff; `sim` runs regardless. The entry point only wires: the platform comes from `buildPlatform`,
 * with the system clock and randomness.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { qobError } from '../../core/errors.ts';
import { parseNormalizedSymbol } from '../../domain/instrument.ts';
import { isVenueId } from '../../domain/venue.ts';
import { type RunningDashboard, startDashboard } from '../../gateway/static.ts';
import { systemClock, systemRandom } from '../../ingest/clock.ts';
import {
  type BookStatus,
  buildPlatform,
  type LiveVenues,
  type PlatformApi,
  type PlatformStore,
  SIM_VENUE,
  type SimBookStatus,
  type SimVenue,
  type VenueStatus,
} from '../../platform.ts';
import {
  CONFIG_OPTIONS,
  CONFIG_OPTIONS_HELP,
  type Command,
  EXIT_OK,
  loadCliConfig,
  parseCommandArgs,
  positiveNumber,
} from '../command.ts';

/** Status lines per second. */
const TICKS_PER_SEC = 4;
/** Sim steps are driven this many times a second, so books (and the dashboard ladder) move smoothly. */
const STEPS_PER_SEC = 25;
/** The built dashboard (npm run build:web; `npm start` builds it first when missing or stale). */
const DASHBOARD_ROOT = fileURLToPath(new URL('../../../dist/web', import.meta.url));
/** Simulated market time per step. */
const SIM_STEP_MS = 50;
/** Steps per second by default: four times real time, for a lively demo. */
const DEFAULT_RATE = 80;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the configured venues (live connectors and the simulated exchange "sim") with a live status',
  help: `Usage: qob start [--venues A,B] [--symbols X,Y] [--offline] [--duration SECONDS] [--json]
                 [--rate N] [--seed N] [--api-port N | --no-api] [--dashboard-port N | --no-dashboard]
                 [--no-store] [config options]

Subscribes to the configured venues and symbols (config "venues": ids, normalized symbols such as
BTC-USDT or BTC-USDT-PERP, enabled, and optional wsBase/restBase to point a venue elsewhere, e.g. at the
local venue emulator) and prints ${TICKS_PER_SEC} times a second, until Ctrl-C or SIGTERM:
  - one line per venue: connection state, reason (e.g. "network unreachable (ENOTFOUND), retrying in
    8 s"), connection epoch, frames/s, books in sync;
  - one line per book: best bid/ask, spread, mid, levels, updates/s, sync status (in_sync, syncing,
    stale, failed; connecting/disconnected while the socket is down) and its age: the time since an
    update was last applied, so a silent feed shows.
Real venues run through their live connectors (reconnects with jittered backoff, resyncs, pings); a venue
without a live connector yet is listed as unavailable. Where the network is unreachable, each venue says
so and keeps retrying; the built-in venue "sim" needs no network: a simulated exchange with a
price-time-priority matching engine per symbol and seeded agents, its wire feed parsed by the "sim" feed
handler into exact books (same seed and rate: the same market).

Options:
  --venues A,B         run these venue ids instead of every enabled configured venue ("sim" included)
  --symbols X,Y        normalized symbols for every selected venue instead of the configured ones
  --offline            run only "sim" (no network)
  --duration SECONDS   stop after this long (default: run until Ctrl-C or SIGTERM)
  --json               one JSON object per tick on stdout: {type, synthetic, tsMs, elapsedS, venues,
                       books} (notes go to stderr)
  --rate N             sim steps per second; a step is ${SIM_STEP_MS} ms of market time, so ${1000 / SIM_STEP_MS} is
                       real time (default ${DEFAULT_RATE}); about one book update per step per book
  --seed N             seed of the simulated market (default 1)
  --api-port N         serve the HTTP API on this port instead of config api.port (default 8080; 0: any
                       free port); the host is config api.host (default 127.0.0.1). See docs/API.md;
                       interactive OpenAPI page at /api-docs
  --no-api             do not serve the HTTP API (nor the dashboard)
  --dashboard-port N   serve the web dashboard on this port instead of config dashboard.port (default
                       3000; 0: any free port); it talks to the API's WebSocket. See docs/DASHBOARD.md
  --no-dashboard       do not serve the dashboard
  --no-store           store nothing. By default every venue's trades and books (snapshots, deltas and
                       book status changes, sim and live venues alike) are stored, each once, through a
                       bounded writer that never holds the books up (config "store":
                       engine embedded under data.dir/pglite, postgres at store.urlSecret, or none); events it
                       refuses when full are counted as storeOverflow. See docs/OPERATIONS.md
  -h, --help           this help

${CONFIG_OPTIONS_HELP}`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('start', args, {
      ...CONFIG_OPTIONS,
      duration: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      venues: { type: 'string' },
      symbols: { type: 'string' },
      offline: { type: 'boolean', default: false },
      'api-port': { type: 'string' },
      'no-api': { type: 'boolean', default: false },
      'dashboard-port': { type: 'string' },
      'no-dashboard': { type: 'boolean', default: false },
      'no-store': { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'qob start takes no positional arguments (see qob start --help)', {
        positionals: positionals.length,
      });
    }
    const durationS = positiveNumber('duration', values.duration);
    const rate = positiveNumber('rate', values.rate) ?? DEFAULT_RATE;
    const seed = values.seed === undefined ? 1 : Math.trunc(positiveNumber('seed', values.seed) ?? 1);
    const venueIds = list(values.venues, 'venues');
    for (const id of venueIds ?? []) {
      if (!isVenueId(id)) {
        throw qobError('QOB_ERR_UNKNOWN_VENUE', `--venues: no venue ${JSON.stringify(id)}`, { venue: id });
      }
    }
    const symbols = list(values.symbols, 'symbols');
    for (const s of symbols ?? []) parseNormalizedSymbol(s); // QOB_ERR_INVALID_SYMBOL names the bad one
    const apiPort = portOption(values['api-port']);
    const dashboardPortFlag = portOption(values['dashboard-port'], '--dashboard-port');
    const config = loadCliConfig(values, io);
    const offline = values.offline === true;

    // The entry point wires the real clock and randomness; everything else is built by the platform.
    const clock = systemClock;
    const platform = buildPlatform(config, { clock, random: systemRandom });
    const note = (text: string): void => {
      (values.json ? io.stderr : io.stdout).write(`${text}\n`);
    };

    const simEntry = config.venues.find((v) => v.id === SIM_VENUE);
    const runSim = offline || (venueIds === undefined ? platform.simVenue !== undefined : venueIds.includes(SIM_VENUE));
    const liveIds = offline ? [] : (venueIds?.filter((id) => id !== SIM_VENUE) ?? platform.realVenues.map((v) => v.id));

    let market: SimVenue | undefined;
    let live: LiveVenues | undefined;
    let api: PlatformApi | undefined;
    let dashboard: RunningDashboard | undefined;
    let dashboardMissing = false;
    let stored: PlatformStore | undefined;
    try {
      if (values['no-store'] !== true) {
        stored = await platform.openStore({ dataDir: resolve(io.cwd, config.data.dir, 'pglite') });
      }
      if (runSim) {
        market = platform.createSimVenue({
          seed,
          stepMs: SIM_STEP_MS,
          ...((symbols ?? simEntry?.symbols) === undefined ? {} : { symbols: symbols ?? simEntry?.symbols }),
        });
      }
      if (liveIds.length > 0) live = platform.startLiveVenues({ venues: liveIds, ...(symbols ? { symbols } : {}) });
      if (market === undefined && live === undefined) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', 'nothing to run: no enabled venue selected (see qob start --help)', {
          offline,
        });
      }
      if (values['no-api'] !== true) {
        api = await platform.startApi({ sim: market, live, ...(apiPort === undefined ? {} : { port: apiPort }) });
        if (values['no-dashboard'] !== true) {
          if (existsSync(DASHBOARD_ROOT)) {
            const running = api;
            dashboard = await startDashboard({
              root: DASHBOARD_ROOT,
              host: config.api.host,
              port: dashboardPortFlag ?? config.dashboard.port,
              api: () => ({ host: config.api.host, port: running.port }),
            });
          } else {
            dashboardMissing = true;
          }
        }
      }
    } catch (e) {
      await api?.close();
      await stored?.close().catch(() => {});
      platform.close();
      throw e;
    }

    if (market !== undefined) {
      note(
        `qob start: built-in synthetic venue "sim": a simulated exchange (matching engine, seeded agents; deterministic, seed ${seed}, no network).`,
      );
      note(
        `  sim books: ${market.symbols.join(', ')}; ${rate} steps/s (${((rate * SIM_STEP_MS) / 1000).toFixed(2)}x real time).`,
      );
    }
    if (live !== undefined) {
      const running = live.venues.filter((v) => v.unavailable === undefined).map((v) => v.venue);
      const unavailable = live.venues.filter((v) => v.unavailable !== undefined);
      note(`qob start: live venues: ${running.length === 0 ? 'none' : running.join(', ')}.`);
      for (const v of unavailable) note(`  ${v.venue}: unavailable: ${v.unavailable}`);
    } else if (offline) {
      note('qob start: --offline: real venues are not started.');
    }
    note(
      stored === undefined
        ? 'qob start: storing nothing (--no-store or store.engine "none").'
        : `qob start: storing trades and books of sim and live venues in the ${stored.engine} store (${stored.where}).`,
    );
    if (api !== undefined) note(`qob start: API on ${api.url} (OpenAPI page: ${api.url}/api-docs).`);
    if (dashboard !== undefined) note(`qob start: dashboard on ${dashboard.url}`);
    if (dashboardMissing) note('qob start: the dashboard is not built (run npm run build:web; npm start builds it).');
    note('  Ctrl-C to stop.');

    const startMs = clock.nowMs();
    const tty = !values.json && io.stdout.isTTY === true;
    let printed = 0;
    let carry = 0;
    let stopped = false;
    const step = (): void => {
      if (stopped || market === undefined) return;
      carry += rate / STEPS_PER_SEC;
      const n = Math.floor(carry);
      carry -= n;
      market.step(n);
    };
    const tick = (): void => {
      if (stopped) return;
      const nowMs = clock.nowMs();
      const venues: VenueStatus[] = [];
      const books: (BookStatus | SimBookStatus)[] = [];
      if (market !== undefined) {
        const simBooks = market.status(nowMs);
        venues.push(simStatus(market, simBooks, nowMs));
        books.push(...simBooks);
      }
      if (live !== undefined) {
        const s = live.status(nowMs);
        venues.push(...s.venues);
        books.push(...s.books);
      }
      api?.publish({ tsMs: nowMs, venues, books });
      const elapsedS = (nowMs - startMs) / 1000;
      if (values.json) {
        const line: StartStatusLine = {
          type: 'status',
          synthetic: live === undefined,
          tsMs: nowMs,
          elapsedS,
          venues,
          books,
          storeOverflow: stored?.overflow() ?? null,
        };
        io.stdout.write(`${JSON.stringify(line)}\n`);
        return;
      }
      if (tty && printed > 0) io.stdout.write(`\x1b[${printed}A`);
      const width = Math.max(14, ...books.map((b) => b.venue.length + 1 + b.symbol.length));
      const lines = [...venues.map(venueLine), ...books.map((b) => bookLine(b, width))];
      if (stored !== undefined) {
        lines.push(
          `${'[store]'.padEnd(15)} ${stored.engine.padEnd(12)} ${stored.appended()} events stored, storeOverflow ${stored.overflow()}`,
        );
      }
      io.stdout.write(lines.map((l) => (tty ? `\x1b[2K${l}\n` : `${l}\n`)).join(''));
      printed = lines.length;
    };

    await new Promise<void>((resolve) => {
      const stop = (): void => {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        clearInterval(stepper);
        if (deadline !== undefined) clearTimeout(deadline);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      const timer = setInterval(tick, 1000 / TICKS_PER_SEC);
      const stepper = setInterval(step, 1000 / STEPS_PER_SEC);
      const deadline = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000);
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      step();
      tick();
    });
    const nowMs = clock.nowMs();
    const simBooks = market?.status(nowMs) ?? [];
    const liveBooks = live?.status(nowMs).books ?? [];
    const total = [...simBooks, ...liveBooks].reduce((s, b) => s + b.updates, 0);
    const trades = simBooks.reduce((s, b) => s + b.trades, 0);
    await dashboard?.close();
    await api?.close();
    live?.close();
    let storeNote = '';
    if (stored !== undefined) {
      await stored.close();
      storeNote = ` ${stored.appended()} events stored (${stored.overflow()} refused).`;
    }
    platform.close();
    note(
      `qob start: stopped after ${((nowMs - startMs) / 1000).toFixed(1)} s, ${total} book updates applied, ${trades} sim trades seen.${storeNote}`,
    );
    return EXIT_OK;
  },
};

/** `--api-port`, `--dashboard-port`: an integer port, 0 to 65535 (0: any free port). */
function portOption(text: string | undefined, option = '--api-port'): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n > 65535) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${option} expects a port 0 to 65535, got ${JSON.stringify(text)}`, {
      option: option.slice(2),
    });
  }
  return n;
}

/** A comma-separated option as a list (undefined when absent); an empty list is a usage error. */
function list(text: string | undefined, option: string): string[] | undefined {
  if (text === undefined) return undefined;
  const items = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (items.length === 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `--${option} expects a comma-separated list`, { option });
  }
  return items;
}

const lastSimFrames = new WeakMap<SimVenue, { frames: number; atMs: number }>();

function simStatus(market: SimVenue, books: readonly SimBookStatus[], nowMs: number): VenueStatus {
  const prev = lastSimFrames.get(market);
  const dtS = prev === undefined ? 0 : (nowMs - prev.atMs) / 1000;
  lastSimFrames.set(market, { frames: market.frames, atMs: nowMs });
  return {
    venue: SIM_VENUE,
    kind: 'sim',
    state: 'connected',
    reason: 'in process (simulated exchange, no network)',
    unreachable: false,
    retryInMs: null,
    epoch: 1,
    tries: 0,
    frames: market.frames,
    framesPerSec: prev === undefined || dtS <= 0 ? 0 : Math.round((market.frames - prev.frames) / dtS),
    books: books.length,
    booksInSync: books.filter((b) => b.status === 'in_sync').length,
    connections: [],
  };
}

function secondsText(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function venueLine(v: VenueStatus): string {
  if (v.kind === 'unavailable') return [`[${v.venue}]`.padEnd(15), v.state.padEnd(12), v.reason].join(' ');
  return [
    `[${v.venue}]`.padEnd(15),
    v.state.padEnd(12),
    `epoch ${v.epoch ?? '-'}`.padEnd(9),
    (v.tries > 0 ? `try ${v.tries}` : '').padEnd(7),
    `${v.framesPerSec} frames/s`.padEnd(15),
    `books ${v.booksInSync}/${v.books} in sync`.padEnd(20),
    v.reason,
  ].join(' ');
}

function bookLine(b: BookStatus | SimBookStatus, width: number): string {
  const cols = [
    `${b.venue}:${b.symbol}`.padEnd(width),
    `bid ${b.bestBid ?? '-'}`.padEnd(18),
    `ask ${b.bestAsk ?? '-'}`.padEnd(18),
    `spread ${b.spread ?? '-'}`.padEnd(14),
    `mid ${b.mid ?? '-'}`.padEnd(18),
    `levels ${b.bidLevels}/${b.askLevels}`.padEnd(16),
    `${b.updatesPerSec} upd/s`.padEnd(11),
  ];
  if ('trades' in b) {
    cols.push(
      `last ${b.lastTradePrice ?? '-'}${b.lastTradeSide === null ? '' : b.lastTradeSide === 'buy' ? ' ^' : ' v'}`.padEnd(
        19,
      ),
      `${b.tradesPerSec} trd/s`.padEnd(10),
    );
  }
  cols.push(b.status, `age ${b.ageMs === null ? '-' : secondsText(b.ageMs)}`);
  // While the socket is down the venue's line says why; otherwise a book that is not in sync says why.
  const quiet = b.status === 'in_sync' || b.status === 'connecting' || b.status === 'disconnected';
  if (!quiet && b.reason !== null) cols.push(`(${b.reason})`);
  return cols.join(' ');
}

/** For tests: the shape of one `--json` tick. */
export interface StartStatusLine {
  readonly type: 'status';
  /** True when every book is from the simulated venue (no live venue runs). */
  readonly synthetic: boolean;
  readonly tsMs: number;
  readonly elapsedS: number;
  readonly venues: readonly VenueStatus[];
  readonly books: readonly (BookStatus | SimBookStatus)[];
  /** Events the store refused because its queue was full; null when nothing is stored. */
  readonly storeOverflow: number | null;
}
