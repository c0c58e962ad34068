/**
 * `qob start`: today a live demo of the book engine on the built-in synthetic venue (no network). Real
 * venue connectors come later; until then the configured real venues are listed as not connected.
 */
import { buildPlatform, type SyntheticBookStatus } from '../../platform.ts';
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

export const startCommand: Command = {
  name: 'start',
  summary: 'run the platform (for now: a live demo on the built-in synthetic venue)',
  help: `Usage: qob start [--duration SECONDS] [--rate N] [--json] [config options]

For now this is a live demo that needs no network: the built-in synthetic venue ("sim") generates a
deterministic seeded L2 stream for each of its configured symbols, applied to exact L2 books, and a status
line per book (best bid/ask, spread, mid, levels, updates/s) is printed ${TICKS_PER_SEC} times a second until Ctrl-C.
Real venue connectors come later.

Options:
  --duration SECONDS   stop after this long (default: run until Ctrl-C or SIGTERM)
  --rate N             book updates per second per book (default 200)
  --seed N             seed of the synthetic streams (default 1)
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
    const rate = positiveNumber('rate', values.rate) ?? 200;
    const seed = values.seed === undefined ? 1 : Math.trunc(positiveNumber('seed', values.seed) ?? 1);
    const config = loadCliConfig(values, io);
    const platform = buildPlatform(config);
    const market = platform.createSyntheticMarket({ seed });
    const note = (text: string): void => {
      (values.json ? io.stderr : io.stdout).write(`${text}\n`);
    };
    note(`qob start: live demo on the built-in synthetic venue "sim" (deterministic, seed ${seed}, no network).`);
    note(`  books: ${market.symbols.join(', ')}; ${rate} updates/s per book. Ctrl-C to stop.`);
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
    platform.close();
    note(`qob start: stopped after ${((Date.now() - startMs) / 1000).toFixed(1)} s, ${total} book updates applied.`);
    return EXIT_OK;
  },
};

function statusLine(s: SyntheticBookStatus): string {
  return [
    `${s.venue}:${s.symbol}`.padEnd(14),
    `bid ${s.bestBid ?? '-'}`.padEnd(18),
    `ask ${s.bestAsk ?? '-'}`.padEnd(18),
    `spread ${s.spread ?? '-'}`.padEnd(14),
    `mid ${s.mid ?? '-'}`.padEnd(18),
    `levels ${s.bidLevels}/${s.askLevels}`.padEnd(16),
    `${s.updatesPerSec} upd/s`.padEnd(11),
    s.status,
  ].join(' ');
}

/** For tests: the shape of one `--json` tick. */
export interface StartStatusLine {
  readonly type: 'status';
  readonly synthetic: true;
  readonly tsMs: number;
  readonly elapsedS: number;
  readonly books: SyntheticBookStatus[];
}
