/**
 * Replays a capture (cryptofeed format) or one of our recordings through the venues' own feed handlers and
 * reports every book they rebuilt: `qob replay FILE|DIR [--speed N|max] --verify --json`.
 *
 * Records are handed over strictly in file order, one at a time; the speed only decides how long the
 * `Pacer` waits before each one, so reports and book hashes are the same at every speed.
 */
import { type QobError, qobError } from '../core/errors.ts';
import type { TradeEvent } from '../domain/events.ts';
import { TradeDedup } from '../ingest/trade-dedup.ts';
import type { BookReport, VenueFeedHandler } from '../venues/feed-handler.ts';
import { VENUES, venueByCaptureName, venueById } from '../venues/index.ts';
import { type CaptureRecord, readCapture } from './capture.ts';
import { Pacer, type ReplayClock, type ReplaySpeed } from './pacing.ts';
import { type RecordingIssue, readRecording } from './recording.ts';

export interface ReplayOptions {
  /** Our venue id; required for captures without a header line that no venue recognises. */
  readonly venue?: string;
  /** Called for every book status change and bad frame (for live output). */
  readonly onBadFrame?: (error: QobError, conn: string) => void;
  /** `'max'` (the default): as fast as possible; N: N times the recorded speed. */
  readonly speed?: ReplaySpeed;
  /** The clock the pacer waits on (tests inject a fake one). Default: the system clock. */
  readonly clock?: ReplayClock;
  /** Aborting it stops the replay with QOB_ERR_ABORTED. */
  readonly signal?: AbortSignal;
  /**
   * Public trades, each once per venue: repeats (the same symbol and trade id among the newest of its
   * symbol, src/ingest/trade-dedup.ts) are dropped as the live connector drops them, e.g. a frame the
   * venue sent twice or a rotation's overlap in a recording.
   */
  readonly onTrade?: (trade: TradeEvent) => void;
}

export interface ReplayReport {
  readonly venue: string;
  /** Frames received and REST bodies fed to the handler. */
  readonly messages: number;
  /** Capture lines that were not records. */
  readonly badLines: number;
  /** Frames the handler could not parse. */
  readonly malformed: number;
  /** Frames of a type the handler does not use. */
  readonly unknown: number;
  /** Public trades the handler emitted, each counted once (repeats dropped as the live connector does). */
  readonly trades: number;
  readonly books: BookReport[];
}

/** Replays a cryptofeed capture through its venue's handler. */
export async function runReplay(path: string, options: ReplayOptions = {}): Promise<ReplayReport> {
  const pacer = new Pacer(options.speed ?? 'max', options.clock, options.signal);
  let badLines = 0;
  let messages = 0;
  let handler: VenueFeedHandler | undefined;
  let venueId = options.venue;
  const pending: CaptureRecord[] = [];
  const trades = new TradeCounter(options);
  const create = (id: string): VenueFeedHandler => createHandler(id, options, trades);
  if (venueId !== undefined) handler = create(venueId);

  const dispatch = (h: VenueFeedHandler, r: CaptureRecord): void => {
    switch (r.t) {
      case 'header':
        return;
      case 'http':
        messages++;
        h.onHttp(r.url, r.data, r.tsMs);
        return;
      case 'connect':
        h.onConnect(r.conn, r.addr, r.tsMs);
        return;
      case 'send':
        h.onSend(r.conn, r.data, r.tsMs);
        return;
      case 'recv':
        messages++;
        h.onFrame(r.conn, r.data, r.tsMs);
        return;
    }
  };

  for await (const rec of readCapture(path, () => badLines++)) {
    if (rec.t !== 'header') {
      const wait = pacer.wait(rec.tsMs);
      if (wait !== undefined) await wait;
    }
    if (handler === undefined) {
      if (rec.t === 'header') {
        const reg = venueByCaptureName(rec.exchange);
        if (reg === undefined) {
          throw qobError('QOB_ERR_UNKNOWN_VENUE', `capture is from ${rec.exchange}, which has no handler`, {
            exchange: rec.exchange,
          });
        }
        venueId = reg.id;
        handler = create(reg.id);
      } else if (rec.t === 'recv') {
        const reg = VENUES.find((v) => v.sniff?.(rec.data));
        if (reg !== undefined) {
          venueId = reg.id;
          handler = create(reg.id);
          for (const p of pending) dispatch(handler, p);
          pending.length = 0;
        } else {
          pending.push(rec);
          if (pending.length > 1000) {
            throw qobError('QOB_ERR_CAPTURE_FORMAT', 'capture has no header and no venue recognises its frames', {
              path,
            });
          }
        }
        if (handler === undefined) continue;
      } else {
        pending.push(rec);
        continue;
      }
    }
    dispatch(handler, rec);
  }
  if (handler === undefined || venueId === undefined) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', 'capture has no header and no venue recognises its frames', { path });
  }
  return { ...venueReport(venueId, handler, messages, trades.count), badLines };
}

/** Counts a venue's trades once each and hands them to `options.onTrade`. */
class TradeCounter {
  count = 0;
  private readonly dedup = new TradeDedup();
  private readonly onTrade: ((trade: TradeEvent) => void) | undefined;

  constructor(options: ReplayOptions) {
    this.onTrade = options.onTrade;
  }

  take(t: TradeEvent): void {
    if (!this.dedup.accept(t)) return;
    this.count++;
    this.onTrade?.(t);
  }
}

function createHandler(id: string, options: ReplayOptions, trades: TradeCounter): VenueFeedHandler {
  const reg = venueById(id);
  if (reg === undefined) {
    throw qobError('QOB_ERR_UNKNOWN_VENUE', `no venue ${JSON.stringify(id)}`, {
      venue: id,
      known: VENUES.map((v) => v.id),
    });
  }
  return reg.createFeedHandler({ onBadFrame: options.onBadFrame, onTrade: (t) => trades.take(t) });
}

function venueReport(venue: string, handler: VenueFeedHandler, messages: number, trades: number): VenueReplayReport {
  const books = [...handler.books()].map((b) => b.report());
  books.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const { malformed, unknown } = handler.counters;
  return { venue, messages, malformed, unknown, trades, books };
}

/** What a replay of one venue found; the cryptofeed `ReplayReport` adds the file's bad lines. */
export type VenueReplayReport = Omit<ReplayReport, 'badLines'>;

/** The report of a replay of our recording format (`qob replay --json` on a recording). */
export interface RecordingReplayReport {
  readonly format: 'qob';
  /** Recording files read. */
  readonly files: number;
  /** Records handed to the handlers (all types). */
  readonly records: number;
  /** Lines that were not records. */
  readonly badLines: number;
  /** Files that end torn or without their end line (their writer died or had not closed them). */
  readonly torn: number;
  /** Gap markers, and the records the recorder dropped in total (its queue was full). */
  readonly gaps: number;
  readonly dropped: number;
  /** One report per venue, by venue id. */
  readonly venues: VenueReplayReport[];
}

/**
 * Replays a recording file or directory: each record goes to the handler of its venue (created on first
 * use), in the merged time order of `readRecording`. `disconnect` records are read and paced but the
 * handlers have no use for them: the next `connect` starts a new connection epoch.
 */
export async function replayRecording(
  path: string,
  options: ReplayOptions & { readonly onIssue?: (issue: RecordingIssue) => void } = {},
): Promise<RecordingReplayReport> {
  const pacer = new Pacer(options.speed ?? 'max', options.clock, options.signal);
  const handlers = new Map<string, { handler: VenueFeedHandler; messages: number; trades: TradeCounter }>();
  let files = 0;
  let records = 0;
  let badLines = 0;
  let torn = 0;
  let gaps = 0;
  let dropped = 0;
  const onIssue = (issue: RecordingIssue): void => {
    if (issue.kind === 'bad-line') badLines++;
    else if (issue.kind === 'torn') torn++;
    else {
      gaps++;
      dropped += issue.gap.dropped;
    }
    options.onIssue?.(issue);
  };
  const reading = readRecording(path, { onIssue, onFile: () => files++, venue: options.venue });
  for await (const r of reading) {
    const wait = pacer.wait(r.tsMs);
    if (wait !== undefined) await wait;
    records++;
    let h = handlers.get(r.venue);
    if (h === undefined) {
      const trades = new TradeCounter(options);
      h = { handler: createHandler(r.venue, options, trades), messages: 0, trades };
      handlers.set(r.venue, h);
    }
    switch (r.t) {
      case 'connect':
        h.handler.onConnect(r.conn, r.url ?? '', r.tsMs);
        break;
      case 'send':
        h.handler.onSend(r.conn, r.data ?? '', r.tsMs);
        break;
      case 'recv':
        h.messages++;
        h.handler.onFrame(r.conn, r.data ?? '', r.tsMs);
        break;
      case 'http':
        h.messages++;
        h.handler.onHttp(r.url ?? '', r.data ?? '', r.tsMs);
        break;
      case 'disconnect':
        break;
    }
  }
  const venues = [...handlers.keys()].sort().map((v) => {
    const h = handlers.get(v) as { handler: VenueFeedHandler; messages: number; trades: TradeCounter };
    return venueReport(v, h.handler, h.messages, h.trades.count);
  });
  return { format: 'qob', files, records, badLines, torn, gaps, dropped, venues };
}
