/**
 * `qob start`: today a live demo on the built-in simulated exchange `sim` (no network): matching engines
 * driven by seeded agents, their wire feed parsed by the `sim` feed handler into exact books. Real venue
 * connectors come later; until then the configured real venues are listed as not connected.
 */
import { buildPlatform, type SimBookStatus } from '../../platform.ts';
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
/** Simulated market time per step. */
const SIM_STEP_MS = 50;
/** Steps per second by default: four times real time, for a lively demo. */
const DEFAULT_RATE = 80;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the platform (for now: a live demo on the built-in simulated exchange)',
  help: `Usage: qob start [--duration SECONDS] [--rate N] [--seed N] [--json] [config options]

For now this is a live demo that needs no network: the built-in synthetic venue ("sim") is a simulated
exchange with a price-time-priority matching engine per configured symbol and seeded agents (market
makers, liquidity providers, noise traders, volatility regimes, bursts). Its wire feed goes through the
"sim" feed handler into exact L2 books, like a real venue's, and a status line per book (best bid/ask,
spread, mid, levels, updates/s, last trade, trades/s) is printed ${TICKS_PER_SEC} times a second until Ctrl-C.
Real venue connectors come later. Same seed and rate: the same market.

Options:
  --duration SECONDS   stop after this long (default: run until Ctrl-C or SIGTERM)
  --rate N             simulation steps per second; a step is ${SIM_STEP_MS} ms of market time, so
                       ${1000 / SIM_STEP_MS} is real time (default ${DEFAULT_RATE}); about one book update per step per book
  --seed N             seed of the simulated market (default 1)
  --json               one JSON status object per tick on stdout (notes go to stderr)
  -h, --help           this help

${CONFIG_OPTIONS_HELP}`,

  async run(args, io) {
    const { values } = parseCommandArgs('start', args, {
      ...CONFIG_OPTIONS,
      duration: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const durationS = positiveNumber('duration', values.duration);
    const rate = positiveNumber('rate', values.rate) ?? DEFAULT_RATE;
    const seed = values.seed === undefined ? 1 : Math.trunc(positiveNumber('seed', values.seed) ?? 1);
    const config = loadCliConfig(values, io);
    const platform = buildPlatform(config);
    const market = platform.createSimVenue({ seed, stepMs: SIM_STEP_MS });
    const note = (text: string): void => {
      (values.json ? io.stderr : io.stdout).write(`${text}\n`);
    };
    note(
      `qob start: live demo on the built-in synthetic venue "sim": a simulated exchange (matching engine, seeded agents; deterministic, seed ${seed}, no network).`,
    );
    note(
      `  books: ${market.symbols.join(', ')}; ${rate} steps/s (${((rate * SIM_STEP_MS) / 1000).toFixed(2)}x real time). Ctrl-C to stop.`,
    );
    if (platform.pendingVenues.length > 0) {
      note(
        `  real venue connectors come later: ${platform.pendingVenues.map((v) => v.id).join(', ')} are configured but not connected.`,
      );
    }

    const startMs = Date.now();
    const live = !values.json && io.stdout.isTTY === true;
    let printed = 0;
    let carry = 0;
    const tick = (): void => {
      carry += rate / TICKS_PER_SEC;
      const n = Math.floor(carry);
      carry -= n;
      market.step(n);
      const nowMs = Date.now();
      const books = market.status(nowMs);
      const elapsedS = (nowMs - startMs) / 1000;
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ type: 'status', synthetic: true, tsMs: nowMs, elapsedS, books })}\n`);
        return;
      }
      if (live && printed > 0) io.stdout.write(`\x1b[${printed}A`);
      const lines = books.map(statusLine);
      io.stdout.write(lines.map((l) => (live ? `\x1b[2K${l}\n` : `${l}\n`)).join(''));
      printed = lines.length;
    };

    await new Promise<void>((resolve) => {
      let done = false;
      const stop = (): void => {
        if (done) return;
        done = true;
        clearInterval(timer);
        if (deadline !== undefined) clearTimeout(deadline);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      const timer = setInterval(tick, 1000 / TICKS_PER_SEC);
      const deadline = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000);
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      tick();
    });
    const total = market.trackedBooks().reduce((s, b) => s + b.updates, 0);
    const trades = market.status(Date.now()).reduce((s, b) => s + b.trades, 0);
    platform.close();
    note(
      `qob start: stopped after ${((Date.now() - startMs) / 1000).toFixed(1)} s, ${total} book updates applied, ${trades} trades seen.`,
    );
    return EXIT_OK;
  },
};

function statusLine(s: SimBookStatus): string {
  return [
    `${s.venue}:${s.symbol}`.padEnd(14),
    `bid ${s.bestBid ?? '-'}`.padEnd(18),
    `ask ${s.bestAsk ?? '-'}`.padEnd(18),
    `spread ${s.spread ?? '-'}`.padEnd(14),
    `mid ${s.mid ?? '-'}`.padEnd(18),
    `levels ${s.bidLevels}/${s.askLevels}`.padEnd(16),
    `${s.updatesPerSec} upd/s`.padEnd(11),
    `last ${s.lastTradePrice ?? '-'}${s.lastTradeSide === null ? '' : s.lastTradeSide === 'buy' ? ' ^' : ' v'}`.padEnd(
      19,
    ),
    `${s.tradesPerSec} trd/s`.padEnd(10),
    s.status,
  ].join(' ');
}

/** For tests: the shape of one `--json` tick. */
export interface StartStatusLine {
  readonly type: 'status';
  readonly synthetic: true;
  readonly tsMs: number;
  readonly elapsedS: number;
  readonly books: SimBookStatus[];
}
