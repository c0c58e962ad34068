/**
 * The platform's Prometheus metrics, all declared here, on a Registry of our own (never prom-client's
 * global default, so two platforms in one process, or tests, do not share counters). `/metrics` serves
 * `registry.metrics()`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface PlatformMetrics {
  readonly registry: Registry;
  /** Book messages (snapshots and deltas) applied, per venue and symbol. */
  readonly bookUpdates: Counter<'venue' | 'symbol'>;
  /** Book checksums that did not match the venue's. */
  readonly checksumFailures: Counter<'venue' | 'symbol'>;
  /** Sequence gaps detected. */
  readonly gaps: Counter<'venue' | 'symbol'>;
  /** Books rebuilt from a fresh snapshot after losing sync. */
  readonly resyncs: Counter<'venue' | 'symbol'>;
  /** Crossed books detected (best bid above best ask on one venue). */
  readonly crossed: Counter<'venue' | 'symbol'>;
  /** Frames that could not be parsed. */
  readonly framesMalformed: Counter<'venue'>;
  /** Frames of a type the handler does not know. */
  readonly framesUnknown: Counter<'venue'>;
  /** Capture messages fed through a replay. */
  readonly replayMessages: Counter<'venue'>;
  /** Books currently in sync. */
  readonly booksInSync: Gauge<'venue'>;
  /** Unregisters everything (idempotent). */
  close(): void;
}

export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop) with the `qob_` prefix. */
  readonly processMetrics?: boolean;
}

/** Every metric name, for documentation and tests. */
export const METRIC_NAMES = [
  'qob_book_updates_total',
  'qob_book_checksum_failures_total',
  'qob_book_gaps_total',
  'qob_book_resyncs_total',
  'qob_book_crossed_total',
  'qob_frames_malformed_total',
  'qob_frames_unknown_total',
  'qob_replay_messages_total',
  'qob_books_in_sync',
] as const;

export function createMetrics(options: MetricsOptions = {}): PlatformMetrics {
  const registry = new Registry();
  const registers = [registry];
  const book = ['venue', 'symbol'] as const;
  const venue = ['venue'] as const;
  const metrics: PlatformMetrics = {
    registry,
    bookUpdates: new Counter({
      name: 'qob_book_updates_total',
      help: 'Book messages (snapshots and deltas) applied',
      labelNames: book,
      registers,
    }),
    checksumFailures: new Counter({
      name: 'qob_book_checksum_failures_total',
      help: 'Book checksums that did not match the venue checksum',
      labelNames: book,
      registers,
    }),
    gaps: new Counter({
      name: 'qob_book_gaps_total',
      help: 'Sequence gaps detected in book updates',
      labelNames: book,
      registers,
    }),
    resyncs: new Counter({
      name: 'qob_book_resyncs_total',
      help: 'Books rebuilt from a fresh snapshot after losing sync',
      labelNames: book,
      registers,
    }),
    crossed: new Counter({
      name: 'qob_book_crossed_total',
      help: 'Crossed books detected (best bid above best ask on one venue)',
      labelNames: book,
      registers,
    }),
    framesMalformed: new Counter({
      name: 'qob_frames_malformed_total',
      help: 'Venue frames that could not be parsed',
      labelNames: venue,
      registers,
    }),
    framesUnknown: new Counter({
      name: 'qob_frames_unknown_total',
      help: 'Venue frames of a type the handler does not know',
      labelNames: venue,
      registers,
    }),
    replayMessages: new Counter({
      name: 'qob_replay_messages_total',
      help: 'Capture messages fed through a replay',
      labelNames: venue,
      registers,
    }),
    booksInSync: new Gauge({
      name: 'qob_books_in_sync',
      help: 'Books currently in sync',
      labelNames: venue,
      registers,
    }),
    close: () => registry.clear(),
  };
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'qob_' });
  return metrics;
}
