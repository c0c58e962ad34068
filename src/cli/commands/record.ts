/**
 * `qob record`: write a venue's raw frames, with receive times, to rotating recording files
 * (docs/RECORDING.md). The venue's live connector (src/ingest/connector.ts) is the source: it reconnects
 * on its own, and every connect, disconnect, frame and REST body it sees goes to the recorder's tap.
 */
import { qobError } from '../../core/errors.ts';
import { systemClock, systemRandom } from '../../ingest/clock.ts';
import { createConnector } from '../../ingest/connector.ts';
import { type RawSource, Recorder, recordSource } from '../../replay/recording.ts';
import type { VenueEndpoints } from '../../venues/connector-spec.ts';
import { VENUES, type VenueRegistration } from '../../venues/index.ts';
import { type CliIO, type Command, EXIT_OK, parseCommandArgs, positiveNumber } from '../command.ts';
import { packageVersion } from './version.ts';

export const recordCommand: Command = {
  name: 'record',
  summary: 'record raw venue frames to rotating compressed files (needs live connectors)',
  help: `Usage: qob record --venue ID --symbols A,B --out DIR [--rotate-mb N] [--rotate-minutes N] [--duration S]

Connects to the venue with its live connector, subscribes to the symbols and writes every raw frame, REST
body, connect and disconnect with our receive time to zstd-compressed JSON-lines files, rotated by size
and time, one sequence per venue: DIR/<venue>/<yyyy-mm-dd>/<venue>-<iso time>-<seq>.qobrec.zst
(docs/RECORDING.md). The connector reconnects on its own; reconnects are recorded too. qob replay reads
the files back. Connection status goes to stderr.

Options:
  --venue ID           a venue with a live connector (${liveVenues().join(', ') || 'none yet'})
  --symbols A,B        venue symbols to record, comma-separated (as the venue spells them)
  --out DIR            root directory of the recording
  --rotate-mb N        start a new file after N MiB of compressed data (default 256)
  --rotate-minutes N   start a new file after N minutes (default 60; files also rotate at UTC midnight)
  --duration S         stop after S seconds (default: until Ctrl-C or SIGTERM)
  --ws-base URL        override the venue's WebSocket base URL (e.g. a local venue emulator)
  --rest-base URL      override the venue's REST base URL
  --json               print the final counts as one JSON object
  -h, --help           this help

Exit codes: 0 ok, 2 error.`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('record', args, {
      venue: { type: 'string' },
      symbols: { type: 'string' },
      out: { type: 'string' },
      'rotate-mb': { type: 'string' },
      'rotate-minutes': { type: 'string' },
      duration: { type: 'string' },
      'ws-base': { type: 'string' },
      'rest-base': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'qob record takes no positional arguments (see qob record --help)', {
        positionals: positionals.length,
      });
    }
    const venue = values.venue;
    if (venue === undefined) throw missing('venue');
    const reg = VENUES.find((v) => v.id === venue);
    if (reg === undefined) {
      throw qobError(
        'QOB_ERR_UNKNOWN_VENUE',
        `no venue ${JSON.stringify(venue)} (known: ${VENUES.map((v) => v.id).join(', ')})`,
        { venue },
      );
    }
    const symbols = (values.symbols ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (symbols.length === 0) throw missing('symbols');
    const out = values.out;
    if (out === undefined || out === '') throw missing('out');
    const rotateMb = positiveNumber('rotate-mb', values['rotate-mb']);
    const rotateMinutes = positiveNumber('rotate-minutes', values['rotate-minutes']);
    const durationS = positiveNumber('duration', values.duration);

    const endpoints: Partial<VenueEndpoints> = {
      ...(values['ws-base'] === undefined ? {} : { wsBase: values['ws-base'] }),
      ...(values['rest-base'] === undefined ? {} : { restBase: values['rest-base'] }),
    };
    const { source, trades } = liveSource(reg, symbols, endpoints, io);
    const recorder = new Recorder({
      dir: out,
      venues: [venue],
      symbols: { [venue]: symbols },
      ...(rotateMb === undefined ? {} : { rotateBytes: Math.round(rotateMb * 1024 * 1024) }),
      ...(rotateMinutes === undefined ? {} : { rotateMs: rotateMinutes * 60_000 }),
      qobVersion: packageVersion(),
      onError: (e) => io.stderr.write(`qob record: ${e.code}: ${e.message}\n`),
    });
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const deadline = durationS === undefined ? undefined : setTimeout(onSignal, durationS * 1000);
    try {
      const stats = await recordSource(source, recorder, stop.signal);
      io.stdout.write(
        values.json
          ? `${JSON.stringify({ venue, out, ...stats, trades: trades() })}\n`
          : `qob record: ${stats.written} records in ${stats.files} files (${stats.bytes} bytes), ${stats.dropped} dropped, ${stats.gaps} gap markers, ${trades()} trades\n`,
      );
    } finally {
      if (deadline !== undefined) clearTimeout(deadline);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return EXIT_OK;
  },
};

function missing(option: string): Error {
  return qobError('QOB_ERR_INVALID_ARGUMENT', `qob record needs --${option} (see qob record --help)`, { option });
}

function liveVenues(): string[] {
  return VENUES.filter((v) => v.connector !== undefined).map((v) => v.id);
}

/**
 * The venue's live connector as a `RawSource`: started by `run`, closed when the signal aborts. The raw
 * frames are recorded as received (a repeated frame too); `trades` counts the trades once each, through
 * the connector's dedup, as `qob replay` counts them.
 */
function liveSource(
  reg: VenueRegistration,
  symbols: readonly string[],
  endpoints: Partial<VenueEndpoints>,
  io: CliIO,
): { readonly source: RawSource; trades(): number } {
  const spec = reg.connector;
  if (spec === undefined) {
    throw qobError(
      'QOB_ERR_NOT_FOUND',
      `no live connector for ${reg.id} yet (live connectors: ${liveVenues().join(', ') || 'none'}); qob replay reads its captures`,
      { venue: reg.id },
    );
  }
  let trades = 0;
  const source: RawSource = {
    run: (tap, signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const connector = createConnector({
          spec,
          handlerFactory: reg.createFeedHandler,
          symbols,
          endpoints,
          clock: systemClock,
          random: systemRandom,
          tap,
          signal,
          onTrade: () => {
            trades++;
          },
          onStatus: (s) => {
            if (s.scope !== 'book')
              io.stderr.write(`qob record: ${s.scope} ${s.conn ?? s.venue} ${s.status}: ${s.reason}\n`);
          },
          onAlert: (a) => io.stderr.write(`qob record: book ${a.symbol} failed after ${a.tries} tries: ${a.reason}\n`),
        });
        signal.addEventListener(
          'abort',
          () => {
            connector.close();
            resolve();
          },
          { once: true },
        );
      }),
  };
  return { source, trades: () => trades };
}
