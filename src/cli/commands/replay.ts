/**
 * `qob replay FILE|DIR`: rebuild every book of a cryptofeed capture or of one of our recordings through the
 * venues' own handlers, as fast as possible or paced on the recorded timestamps.
 */
import { qobError } from '../../core/errors.ts';
import { parseSpeed, systemClock } from '../../replay/pacing.ts';
import { detectFormat } from '../../replay/recording.ts';
import {
  type RecordingReplayReport,
  type ReplayReport,
  replayRecording,
  runReplay,
  type VenueReplayReport,
} from '../../replay/replay.ts';
import type { BookReport } from '../../venues/feed-handler.ts';
import { VENUES } from '../../venues/index.ts';
import { type Command, EXIT_CHECK_FAILED, EXIT_OK, parseCommandArgs } from '../command.ts';

const FORMATS = ['cryptofeed', 'qob'];

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a capture or a recording through the venue handlers and report every book',
  help: `Usage: qob replay FILE|DIR [--format cryptofeed|qob] [--speed N|max] [--venue ID] [--verify] [--json]

Replays a cryptofeed capture (.jsonl, .jsonl.gz or .jsonl.zst) or a qob recording (a .qobrec.zst file or a
directory written by qob record, see docs/RECORDING.md) through the venues' own feed handlers, the same code
a live connection runs, and reports each book rebuilt (and the trades, each counted once): updates, checksums verified and failed, sequence
gaps, resyncs, crossed books, best bid/ask and a hash of the final book. The report does not depend on the
speed: records are always handed over one by one in file order.

Options:
  --format FORMAT   cryptofeed or qob (default: qob for a directory or a file with a qob header, else
                    cryptofeed)
  --speed N|max     max (the default): as fast as possible; N: N times the recorded speed (1 = real time)
  --venue ID        cryptofeed: venue id, for captures whose header does not name a known venue;
                    qob: replay only this venue's records
  --verify          exit 1 if any checksum failure, gap or crossed book occurred
  --json            print one JSON object instead of a table
  -h, --help        this help

Exit codes: 0 ok, 1 --verify found a problem, 2 error (missing file, unknown venue, bad format).`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('replay', args, {
      format: { type: 'string' },
      speed: { type: 'string', default: 'max' },
      venue: { type: 'string' },
      verify: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    if (values.format !== undefined && !FORMATS.includes(values.format)) {
      throw qobError(
        'QOB_ERR_CAPTURE_FORMAT',
        `unknown capture format ${JSON.stringify(values.format)} (known: ${FORMATS.join(', ')})`,
        {
          format: values.format,
        },
      );
    }
    if (positionals.length !== 1 || positionals[0] === undefined) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'qob replay takes exactly one FILE or DIR (see qob replay --help)', {
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
    const speed = parseSpeed(values.speed);
    const path = positionals[0];
    const format = values.format ?? (await detectFormat(path));
    const options = { speed, clock: systemClock, ...(values.venue === undefined ? {} : { venue: values.venue }) };
    if (format === 'qob') {
      const report = await replayRecording(path, options);
      io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatRecordingReplayReport(report));
      return values.verify && !report.venues.every(replayVerified) ? EXIT_CHECK_FAILED : EXIT_OK;
    }
    const report = await runReplay(path, options);
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReplayReport(report));
    return values.verify && !replayVerified(report) ? EXIT_CHECK_FAILED : EXIT_OK;
  },
};

/** Whether a replay saw no checksum failure, no gap and no crossed book. */
export function replayVerified(report: VenueReplayReport): boolean {
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

function bookTable(books: readonly BookReport[]): string[] {
  const rows = [COLUMNS.map(([h]) => h), ...books.map((b) => COLUMNS.map(([, f]) => f(b)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    row
      .map((c, i) => (i === 0 || i >= 7 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return rows.map(line);
}

function problemsLine(books: readonly BookReport[]): string {
  const problems = books.filter((b) => b.checksumFailures > 0 || b.gaps > 0 || b.crossed > 0).length;
  return problems === 0 ? 'verified: no checksum failure, gap or crossed book' : `problems in ${problems} book(s)`;
}

/** The readable form of a replay report: a summary line, then one table row per book. */
export function formatReplayReport(r: ReplayReport): string {
  const out = [
    `venue ${r.venue}: ${r.messages} messages, ${r.books.length} books, ${r.badLines} bad lines, ${r.malformed} malformed frames, ${r.unknown} unknown frames, ${r.trades} trades`,
    '',
    ...bookTable(r.books),
    '',
    problemsLine(r.books),
  ];
  return `${out.join('\n')}\n`;
}

/** The readable form of a recording replay: what was read, then each venue as `formatReplayReport` shows it. */
export function formatRecordingReplayReport(r: RecordingReplayReport): string {
  const out = [
    `recording: ${r.files} files, ${r.records} records, ${r.badLines} bad lines, ${r.torn} torn files, ${r.gaps} gaps (${r.dropped} records dropped by the recorder)`,
  ];
  for (const v of r.venues) {
    out.push(
      '',
      `venue ${v.venue}: ${v.messages} messages, ${v.books.length} books, ${v.malformed} malformed frames, ${v.unknown} unknown frames, ${v.trades} trades`,
      '',
      ...bookTable(v.books),
    );
  }
  out.push('', problemsLine(r.venues.flatMap((v) => v.books)));
  return `${out.join('\n')}\n`;
}
