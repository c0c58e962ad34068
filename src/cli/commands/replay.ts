/** `qob replay --format cryptofeed FILE`: rebuild every book of a capture through its venue's handler. */
import { qobError } from '../../core/errors.ts';
import { type ReplayReport, runReplay } from '../../replay/replay.ts';
import type { BookReport } from '../../venues/feed-handler.ts';
import { VENUES } from '../../venues/index.ts';
import { type Command, EXIT_CHECK_FAILED, EXIT_OK, parseCommandArgs } from '../command.ts';

const FORMATS = ['cryptofeed'];

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a captured feed through its venue handler and report every book',
  help: `Usage: qob replay [--format cryptofeed] FILE [--venue ID] [--verify] [--json]

Replays a capture file (cryptofeed format: .jsonl, .jsonl.gz or .jsonl.zst) through the venue's own feed
handler, the same code a live connection runs, and reports each book it rebuilt: updates, checksums
verified and failed, sequence gaps, resyncs, crossed books, best bid/ask and a hash of the final book.

Options:
  --format FORMAT   capture format (only: cryptofeed; the default)
  --venue ID        venue id, for captures whose header does not name a known venue
  --verify          exit 1 if any checksum failure, gap or crossed book occurred
  --json            print one JSON object instead of a table
  -h, --help        this help

Exit codes: 0 ok, 1 --verify found a problem, 2 error (missing file, unknown venue, bad format).`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('replay', args, {
      format: { type: 'string', default: 'cryptofeed' },
      venue: { type: 'string' },
      verify: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    if (!FORMATS.includes(values.format)) {
      throw qobError(
        'QOB_ERR_CAPTURE_FORMAT',
        `unknown capture format ${JSON.stringify(values.format)} (known: ${FORMATS.join(', ')})`,
        {
          format: values.format,
        },
      );
    }
    if (positionals.length !== 1 || positionals[0] === undefined) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'qob replay takes exactly one FILE (see qob replay --help)', {
        files: positionals.length,
      });
    }
    if (values.venue !== undefined && !VENUES.some((v) => v.id === values.venue)) {
      throw qobError(
        'QOB_ERR_UNKNOWN_VENUE',
        `no venue ${JSON.stringify(values.venue)} (known: ${VENUES.map((v) => v.id).join(', ') || 'none'})`,
        {
          venue: values.venue,
        },
      );
    }
    const report = await runReplay(positionals[0], values.venue === undefined ? {} : { venue: values.venue });
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReplayReport(report));
    return values.verify && !replayVerified(report) ? EXIT_CHECK_FAILED : EXIT_OK;
  },
};

/** Whether a replay saw no checksum failure, no gap and no crossed book. */
export function replayVerified(report: ReplayReport): boolean {
  return report.books.every((b) => b.checksumFailures === 0 && b.gaps === 0 && b.crossed === 0);
}

const COLUMNS: readonly [string, (b: BookReport) => string][] = [
  ['symbol', (b) => b.symbol],
  ['updates', (b) => String(b.updates)],
  ['cksum ok', (b) => String(b.checksumsVerified)],
  ['cksum bad', (b) => String(b.checksumFailures)],
  ['gaps', (b) => String(b.gaps)],
  ['resyncs', (b) => String(b.resyncs)],
  ['crossed', (b) => String(b.crossed)],
  ['best bid', (b) => b.bestBid ?? '-'],
  ['best ask', (b) => b.bestAsk ?? '-'],
  ['status', (b) => b.status],
  ['hash', (b) => b.hash.slice(0, 12)],
];

/** The readable form of a replay report: a summary line, then one table row per book. */
export function formatReplayReport(r: ReplayReport): string {
  const rows = [COLUMNS.map(([h]) => h), ...r.books.map((b) => COLUMNS.map(([, f]) => f(b)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    row
      .map((c, i) => (i === 0 || i >= 7 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [
    `venue ${r.venue}: ${r.messages} messages, ${r.books.length} books, ${r.badLines} bad lines, ${r.malformed} malformed frames, ${r.unknown} unknown frames`,
    '',
    ...rows.map(line),
  ];
  const problems = r.books.filter((b) => b.checksumFailures > 0 || b.gaps > 0 || b.crossed > 0).length;
  out.push(
    '',
    problems === 0 ? 'verified: no checksum failure, gap or crossed book' : `problems in ${problems} book(s)`,
  );
  return `${out.join('\n')}\n`;
}
