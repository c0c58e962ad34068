/**
 * Replays a capture through the venue's own feed handler and reports every book it rebuilt.
 * This is `qob replay --format cryptofeed FILE --verify --json`.
 */
import { type QobError, qobError } from '../core/errors.ts';
import type { BookReport, VenueFeedHandler } from '../venues/feed-handler.ts';
import { VENUES, venueByCaptureName, venueById } from '../venues/index.ts';
import { type CaptureRecord, readCapture } from './capture.ts';

export interface ReplayOptions {
  /** Our venue id; required for captures without a header line that no venue recognises. */
  readonly venue?: string;
  /** Called for every book status change and bad frame (for live output). */
  readonly onBadFrame?: (error: QobError, conn: string) => void;
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
  readonly books: BookReport[];
}

export async function runReplay(path: string, options: ReplayOptions = {}): Promise<ReplayReport> {
  let badLines = 0;
  let messages = 0;
  let handler: VenueFeedHandler | undefined;
  let venueId = options.venue;
  const pending: CaptureRecord[] = [];
  const create = (id: string): VenueFeedHandler => {
    const reg = venueById(id);
    if (reg === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_VENUE', `no venue ${JSON.stringify(id)}`, {
        venue: id,
        known: VENUES.map((v) => v.id),
      });
    }
    return reg.createFeedHandler({ onBadFrame: options.onBadFrame });
  };
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
  const books = [...handler.books()].map((b) => b.report());
  books.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  return {
    venue: venueId,
    messages,
    badLines,
    malformed: handler.counters.malformed,
    unknown: handler.counters.unknown,
    books,
  };
}
