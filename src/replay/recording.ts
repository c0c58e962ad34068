/**
 * Our recording format (docs/RECORDING.md): zstd-compressed JSON lines of `RawRecord`s, one header line at
 * the start of every file, rotated by size and time, one file sequence per venue:
 * `<dir>/<venue>/<yyyy-mm-dd>/<venue>-<iso time>-<seq>.qobrec.zst`.
 *
 * `Recorder` is the writer (a `RawTap`: never throws, never blocks, bounded memory); `readRecording` reads
 * one file or a whole directory back in time order. A file whose writer died is readable up to its last
 * flush; its torn tail is reported, never fatal.
 */

import { type FileHandle, mkdir, open, readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { createZstdCompress, type ZstdCompress, constants as zlibConstants } from 'node:zlib';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { RawRecord, RawRecordType, RawTap } from '../ingest/raw-record.ts';
import { openCapture } from './capture.ts';

export const RECORDING_FORMAT = 'qob-recording';
export const RECORDING_VERSION = 1;
export const RECORDING_EXTENSION = '.qobrec.zst';

/** The first line of every recording file. */
export interface RecordingHeader {
  readonly t: 'header';
  readonly format: typeof RECORDING_FORMAT;
  readonly version: number;
  /** The venue of this file's records. */
  readonly venue: string;
  /** Every venue the recorder was asked to record. */
  readonly venues: readonly string[];
  /** Symbols per venue, as asked (venue symbols or normalized ones, whatever the source was given). */
  readonly symbols: Readonly<Record<string, readonly string[]>>;
  /** The recorder's start, epoch ms (the same in every file of one run). */
  readonly startedMs: number;
  /** Receive time of the file's first record, epoch ms. */
  readonly fileStartMs: number;
  /** Position of this file in its venue's sequence within one run, from 0. */
  readonly seq: number;
  readonly host: string;
  readonly qob: string;
}

/** Written in place of records the recorder had to drop (its queue was full). */
export interface GapMarker {
  readonly t: 'gap';
  readonly venue: string;
  readonly dropped: number;
  /** Receive times of the first and last dropped record. */
  readonly fromMs: number;
  readonly toMs: number;
}

/** Written when a file is closed cleanly; a file without it was cut short. */
export interface RecordingTrailer {
  readonly t: 'end';
  readonly records: number;
  readonly gaps: number;
}

/** Something a reader found wrong in a recording, reported and skipped: never fatal. */
export type RecordingIssue =
  | { readonly kind: 'bad-line'; readonly file: string; readonly line: number; readonly error: QobError }
  /** The file ends inside a record or without its trailer (the writer died or is still writing). */
  | { readonly kind: 'torn'; readonly file: string; readonly line: number; readonly reason: string }
  /** The recorder dropped records here. */
  | { readonly kind: 'gap'; readonly file: string; readonly gap: GapMarker };

export interface ReadRecordingOptions {
  readonly onIssue?: (issue: RecordingIssue) => void;
  /** Called once per file, when its header has been read. */
  readonly onFile?: (file: string, header: RecordingHeader) => void;
  /** Only this venue's files and records. */
  readonly venue?: string;
}

// ---------------------------------------------------------------------------------------------- writing

export interface RecorderOptions {
  /** Root directory; files go to `<dir>/<venue>/<yyyy-mm-dd>/`. */
  readonly dir: string;
  /** Written to every header. */
  readonly venues?: readonly string[];
  readonly symbols?: Readonly<Record<string, readonly string[]>>;
  /** Start a new file once this many compressed bytes are written (checked after each batch). Default 256 MiB. */
  readonly rotateBytes?: number;
  /** Start a new file when a record is received this long after the file's first one. Default 1 hour. */
  readonly rotateMs?: number;
  /** Bound of records queued and being written, in bytes of JSON text. Default 32 MiB. */
  readonly maxQueueBytes?: number;
  /** Write a batch as soon as this many bytes are queued. Default 256 KiB. */
  readonly batchBytes?: number;
  /** Write (and flush) whatever is queued at this interval; 0 disables the timer. Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** zstd level. Default 3. */
  readonly level?: number;
  /** Epoch ms for the header's `startedMs`. Default `Date.now`. */
  readonly now?: () => number;
  readonly host?: string;
  readonly qobVersion?: string;
  /** Aborting it closes the recorder (without waiting for the queue to be written). */
  readonly signal?: AbortSignal;
  /** Called once when writing fails; the recorder then drops (and counts) everything. */
  readonly onError?: (error: QobError) => void;
}

export interface RecorderStats {
  /** Records (and gap markers) written to files. */
  readonly written: number;
  /** Records dropped: queue full, after an I/O error, after close, or discarded by an aborted close. */
  readonly dropped: number;
  /** Gap markers written. */
  readonly gaps: number;
  /** Files opened. */
  readonly files: number;
  /** Compressed bytes written. */
  readonly bytes: number;
  /** Bytes of JSON text queued or being written. */
  readonly queuedBytes: number;
}

interface Queued {
  readonly venue: string;
  readonly tsMs: number;
  readonly line: string;
}

interface Pending {
  dropped: number;
  fromMs: number;
  toMs: number;
}

const DAY_MS = 86_400_000;

/** One open file of one venue: a zstd stream flushed after every batch, so a dead writer loses at most one batch. */
class Segment {
  readonly path: string;
  readonly startMs: number;
  bytes = 0;
  records = 0;
  gaps = 0;
  private readonly fh: FileHandle;
  private readonly z: ZstdCompress;
  private readonly out: Buffer[] = [];

  constructor(path: string, fh: FileHandle, startMs: number, level: number) {
    this.path = path;
    this.fh = fh;
    this.startMs = startMs;
    this.z = createZstdCompress({ params: { [zlibConstants.ZSTD_c_compressionLevel]: level } });
    this.z.on('data', (c: Buffer) => this.out.push(c));
  }

  /** Compresses `text`, flushes the compressor and appends its output to the file. */
  async write(text: string): Promise<void> {
    this.z.write(text);
    await new Promise<void>((resolve) => this.z.flush(() => resolve()));
    await this.drainOut();
  }

  /** Ends the zstd frame with the trailer, fsyncs and closes the file. */
  async close(trailer: string | undefined): Promise<void> {
    try {
      if (trailer !== undefined) {
        const ended = new Promise<void>((resolve, reject) => {
          this.z.once('end', resolve);
          this.z.once('error', reject);
        });
        this.z.end(trailer);
        await ended;
        await this.drainOut();
        await this.fh.sync();
      } else {
        this.z.destroy();
      }
    } finally {
      await this.fh.close();
    }
  }

  private async drainOut(): Promise<void> {
    if (this.out.length === 0) return;
    const buf = Buffer.concat(this.out.splice(0));
    await this.fh.write(buf);
    this.bytes += buf.length;
  }
}

/**
 * Writes the raw records of any number of venues to rotating recording files. `record` is the `RawTap`:
 * it serializes the record and queues it, never blocking the caller and never throwing. When the queue
 * is full the record is dropped and counted, and a gap marker saying how many were dropped is written
 * before that venue's next record.
 */
export class Recorder {
  /** The tap to give to a connector (bound to this recorder). */
  readonly tap: RawTap;
  private readonly o: Required<Omit<RecorderOptions, 'signal' | 'onError' | 'symbols' | 'venues'>> & {
    venues: readonly string[];
    symbols: Readonly<Record<string, readonly string[]>>;
  };
  private readonly onError: ((error: QobError) => void) | undefined;
  private readonly startedMs: number;
  private queue: Queued[] = [];
  /** Bytes queued plus bytes of the batch being written. */
  private heldBytes = 0;
  private queuedBytes = 0;
  private readonly pendingGaps = new Map<string, Pending>();
  private readonly segments = new Map<string, Segment>();
  private readonly seqs = new Map<string, number>();
  private tail: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private discard = false;
  private error: QobError | undefined;
  private readonly s = { written: 0, dropped: 0, gaps: 0, files: 0, bytes: 0 };
  private readonly detach: () => void;

  constructor(options: RecorderOptions) {
    this.o = {
      dir: options.dir,
      venues: options.venues ?? [],
      symbols: options.symbols ?? {},
      rotateBytes: positive('rotateBytes', options.rotateBytes, 256 * 1024 * 1024),
      rotateMs: positive('rotateMs', options.rotateMs, 3_600_000),
      maxQueueBytes: positive('maxQueueBytes', options.maxQueueBytes, 32 * 1024 * 1024),
      batchBytes: positive('batchBytes', options.batchBytes, 256 * 1024),
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      level: options.level ?? 3,
      now: options.now ?? Date.now,
      host: options.host ?? hostname(),
      qobVersion: options.qobVersion ?? 'unknown',
    };
    this.onError = options.onError;
    this.startedMs = this.o.now();
    this.tap = (r) => this.record(r);
    if (this.o.flushIntervalMs > 0) {
      this.timer = setInterval(() => void this.flush(), this.o.flushIntervalMs);
      this.timer.unref();
    }
    const signal = options.signal;
    const onAbort = (): void => void this.close({ signal: AbortSignal.abort() }).catch(() => {});
    signal?.addEventListener('abort', onAbort, { once: true });
    this.detach = () => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted === true) onAbort();
  }

  /** The `RawTap`: queues one record. Never throws, never waits. */
  record(r: RawRecord): void {
    const line = this.serialize(r);
    if (line !== undefined) this.enqueue(r, line);
  }

  /**
   * Queues a record, first waiting for room in the queue (for offline writers such as converters, which
   * must not drop). Rejects with QOB_ERR_CLOSED after close.
   */
  async append(r: RawRecord): Promise<void> {
    const line = this.serialize(r);
    while (!this.closed && this.error === undefined && !this.fits(line?.length ?? 0)) await this.schedule();
    if (this.error !== undefined) throw this.error;
    if (this.closed) throw qobError('QOB_ERR_CLOSED', 'the recorder is closed', { dir: this.o.dir });
    if (line !== undefined) this.enqueue(r, line);
  }

  private serialize(r: RawRecord): string | undefined {
    if (this.closed || this.error !== undefined) {
      this.s.dropped++;
      return undefined;
    }
    try {
      return `${JSON.stringify(r)}\n`;
    } catch {
      this.s.dropped++;
      return undefined;
    }
  }

  /** Whether `bytes` more fit the bound; a record larger than the whole bound fits an empty queue only. */
  private fits(bytes: number): boolean {
    return this.heldBytes === 0 || this.heldBytes + bytes <= this.o.maxQueueBytes;
  }

  private enqueue(r: RawRecord, line: string): void {
    const venue = safeVenue(r.venue);
    if (!this.fits(line.length)) {
      this.s.dropped++;
      const p = this.pendingGaps.get(venue);
      if (p === undefined) this.pendingGaps.set(venue, { dropped: 1, fromMs: r.tsMs, toMs: r.tsMs });
      else {
        p.dropped++;
        p.toMs = r.tsMs;
      }
      return;
    }
    this.queueGap(venue);
    this.push({ venue, tsMs: r.tsMs, line });
    if (this.queuedBytes >= this.o.batchBytes) void this.schedule();
  }

  /** Writes and flushes everything queued so far. */
  flush(): Promise<void> {
    return this.schedule();
  }

  stats(): RecorderStats {
    return { ...this.s, queuedBytes: this.heldBytes };
  }

  /**
   * Writes what is queued, ends every file with its trailer, fsyncs and closes it. Idempotent: every call
   * returns the same promise. When `signal` aborts, queued records are discarded (counted as dropped) and
   * files are closed as they are; the promise then rejects with QOB_ERR_ABORTED. Rejects with the I/O
   * error if writing failed.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.detach();
    const signal = options.signal;
    const onAbort = (): void => {
      this.discard = true;
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    this.closing = (async () => {
      try {
        for (const venue of [...this.pendingGaps.keys()]) this.queueGap(venue);
        await this.schedule();
        await this.tail;
        const segs = [...this.segments.values()];
        this.segments.clear();
        const results = await Promise.allSettled(segs.map((seg) => this.closeSegment(seg)));
        for (const r of results) if (r.status === 'rejected') this.fail(r.reason, 'close');
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      if (this.discard) throw qobError('QOB_ERR_ABORTED', 'recorder close aborted: queued records discarded', {});
      if (this.error !== undefined) throw this.error;
    })();
    return this.closing;
  }

  private push(q: Queued): void {
    this.queue.push(q);
    this.queuedBytes += q.line.length;
    this.heldBytes += q.line.length;
  }

  private queueGap(venue: string): void {
    const p = this.pendingGaps.get(venue);
    if (p === undefined) return;
    this.pendingGaps.delete(venue);
    const gap: GapMarker = { t: 'gap', venue, dropped: p.dropped, fromMs: p.fromMs, toMs: p.toMs };
    this.push({ venue, tsMs: p.toMs, line: `${JSON.stringify(gap)}\n` });
  }

  /** Schedules one batch write after the current one; batches requested before it starts share it. */
  private schedule(): Promise<void> {
    if (this.next !== undefined) return this.next;
    const p = this.tail.then(() => {
      this.next = undefined;
      return this.writeBatch();
    });
    this.next = p;
    this.tail = p;
    return p;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue;
    const batchBytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    try {
      if (batch.length === 0) return;
      if (this.error !== undefined || this.discard) {
        this.s.dropped += batch.filter((q) => !q.line.startsWith('{"t":"gap"')).length;
        return;
      }
      // Per venue, in arrival order: the text for its current file; time rotation splits the batch.
      const texts = new Map<string, string[]>();
      for (const q of batch) {
        let seg = this.segments.get(q.venue);
        if (seg !== undefined && this.timeToRotate(seg, q.tsMs)) {
          await this.writeTexts(texts, q.venue);
          this.segments.delete(q.venue);
          await this.closeSegment(seg);
          seg = undefined;
        }
        if (seg === undefined) {
          seg = await this.openSegment(q.venue, q.tsMs);
          this.segments.set(q.venue, seg);
        }
        let t = texts.get(q.venue);
        if (t === undefined) texts.set(q.venue, (t = []));
        t.push(q.line);
        if (q.line.startsWith('{"t":"gap"')) {
          seg.gaps++;
          this.s.gaps++;
        } else seg.records++;
        this.s.written++;
      }
      for (const venue of [...texts.keys()]) await this.writeTexts(texts, venue);
      for (const [venue, seg] of [...this.segments]) {
        if (seg.bytes >= this.o.rotateBytes) {
          this.segments.delete(venue);
          await this.closeSegment(seg);
        }
      }
    } catch (e) {
      this.fail(e, 'write');
    } finally {
      this.heldBytes -= batchBytes;
    }
  }

  private async writeTexts(texts: Map<string, string[]>, venue: string): Promise<void> {
    const t = texts.get(venue);
    const seg = this.segments.get(venue);
    texts.delete(venue);
    if (t === undefined || t.length === 0 || seg === undefined) return;
    const before = seg.bytes;
    await seg.write(t.join(''));
    this.s.bytes += seg.bytes - before;
  }

  private timeToRotate(seg: Segment, tsMs: number): boolean {
    if (!Number.isFinite(tsMs)) return false;
    return tsMs - seg.startMs >= this.o.rotateMs || Math.floor(tsMs / DAY_MS) !== Math.floor(seg.startMs / DAY_MS);
  }

  private async openSegment(venue: string, tsMs: number): Promise<Segment> {
    const startMs = Number.isFinite(tsMs) ? tsMs : this.o.now();
    const iso = new Date(startMs).toISOString();
    const dir = join(this.o.dir, venue, iso.slice(0, 10));
    await mkdir(dir, { recursive: true });
    for (;;) {
      const seq = this.seqs.get(venue) ?? 0;
      this.seqs.set(venue, seq + 1);
      const path = join(
        dir,
        `${venue}-${iso.replaceAll(':', '-')}-${String(seq).padStart(6, '0')}${RECORDING_EXTENSION}`,
      );
      let fh: FileHandle;
      try {
        fh = await open(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      const seg = new Segment(path, fh, startMs, this.o.level);
      const header: RecordingHeader = {
        t: 'header',
        format: RECORDING_FORMAT,
        version: RECORDING_VERSION,
        venue,
        venues: this.o.venues,
        symbols: this.o.symbols,
        startedMs: this.startedMs,
        fileStartMs: startMs,
        seq,
        host: this.o.host,
        qob: this.o.qobVersion,
      };
      const before = seg.bytes;
      await seg.write(`${JSON.stringify(header)}\n`);
      this.s.bytes += seg.bytes - before;
      this.s.files++;
      return seg;
    }
  }

  /** Ends the file with its trailer and fsyncs it (on rotation and on close). */
  private async closeSegment(seg: Segment): Promise<void> {
    const trailer: RecordingTrailer = { t: 'end', records: seg.records, gaps: seg.gaps };
    const before = seg.bytes;
    await seg.close(this.discard || this.error !== undefined ? undefined : `${JSON.stringify(trailer)}\n`);
    this.s.bytes += seg.bytes - before;
  }

  private fail(e: unknown, what: string): void {
    if (this.error !== undefined) return;
    this.error = isQobError(e)
      ? e
      : qobError(
          'QOB_ERR_IO',
          `recorder cannot ${what}: ${(e as Error)?.message ?? String(e)}`,
          { dir: this.o.dir },
          e,
        );
    this.onError?.(this.error);
  }
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isFinite(v) && v > 0)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `recorder option ${name} must be a positive number, got ${v}`, {
      option: name,
    });
  }
  return v;
}

/** A venue id safe as a path component (registered ids already are). */
function safeVenue(venue: unknown): string {
  const v = typeof venue === 'string' ? venue.replace(/[^A-Za-z0-9_.-]/g, '_') : '';
  return v === '' || v === '.' || v === '..' ? '_' : v;
}

// ---------------------------------------------------------------------------------------------- reading

const RECORD_TYPES: ReadonlySet<string> = new Set<RawRecordType>(['connect', 'disconnect', 'send', 'recv', 'http']);

type Line = RecordingHeader | RawRecord | GapMarker | RecordingTrailer;

/** Parses one recording line; throws QOB_ERR_CAPTURE_FORMAT for anything that is not one. */
export function parseRecordingLine(text: string): Line {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', `not JSON: ${(e as Error).message}`, { text: text.slice(0, 80) });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', 'a recording line must be a JSON object', { text: text.slice(0, 80) });
  }
  const r = o as Record<string, unknown>;
  const str = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string') throw badField(k, text);
    return v;
  };
  const num = (k: string): number => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badField(k, text);
    return v;
  };
  switch (r.t) {
    case 'header': {
      if (r.format !== RECORDING_FORMAT) throw badField('format', text);
      const version = num('version');
      if (version !== RECORDING_VERSION) {
        throw qobError('QOB_ERR_CAPTURE_FORMAT', `unsupported recording version ${version}`, { version });
      }
      return {
        t: 'header',
        format: RECORDING_FORMAT,
        version,
        venue: str('venue'),
        venues: Array.isArray(r.venues) ? r.venues.filter((v): v is string => typeof v === 'string') : [],
        symbols: (typeof r.symbols === 'object' && r.symbols !== null ? r.symbols : {}) as Record<string, string[]>,
        startedMs: num('startedMs'),
        fileStartMs: num('fileStartMs'),
        seq: num('seq'),
        host: typeof r.host === 'string' ? r.host : '',
        qob: typeof r.qob === 'string' ? r.qob : '',
      };
    }
    case 'gap':
      return { t: 'gap', venue: str('venue'), dropped: num('dropped'), fromMs: num('fromMs'), toMs: num('toMs') };
    case 'end':
      return { t: 'end', records: num('records'), gaps: num('gaps') };
    default: {
      if (typeof r.t !== 'string' || !RECORD_TYPES.has(r.t)) {
        throw qobError('QOB_ERR_CAPTURE_FORMAT', `unknown record type ${JSON.stringify(r.t)}`, { t: String(r.t) });
      }
      const t = r.t as RawRecordType;
      const rec: { -readonly [K in keyof RawRecord]: RawRecord[K] } = {
        t,
        venue: str('venue'),
        conn: str('conn'),
        tsMs: num('tsMs'),
      };
      if (t === 'send' || t === 'recv' || t === 'http') rec.data = str('data');
      else if (r.data !== undefined) rec.data = str('data');
      if (t === 'http' || r.url !== undefined) rec.url = str('url');
      if (r.epoch !== undefined) rec.epoch = num('epoch');
      return rec;
    }
  }
}

function badField(field: string, text: string): QobError {
  return qobError('QOB_ERR_CAPTURE_FORMAT', `recording line has no valid "${field}"`, {
    field,
    text: text.slice(0, 80),
  });
}

/** Reads the header of a recording file, or undefined when the file does not start with one. */
export async function readRecordingHeader(path: string): Promise<RecordingHeader | undefined> {
  const input = await openCapture(path);
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of input) {
      text += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Buffer, { stream: true });
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        text = text.slice(0, nl);
        break;
      }
      if (text.length > 1_000_000) return undefined;
    }
  } catch {
    // A cut compressed stream: whatever came out before is judged below.
  } finally {
    input.destroy();
  }
  try {
    const h = parseRecordingLine(text);
    return h.t === 'header' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Which replay format `path` holds: a directory or a file starting with our header is ours. */
export async function detectFormat(path: string): Promise<'qob' | 'cryptofeed'> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw qobError('QOB_ERR_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, e);
  }
  if (isDir) return 'qob';
  return (await readRecordingHeader(path)) === undefined ? 'cryptofeed' : 'qob';
}

/**
 * Yields the records of one recording file in file order. Gap markers, bad lines and a torn tail go to
 * `onIssue`; a file that does not start with a recording header is QOB_ERR_CAPTURE_FORMAT.
 */
export async function* readRecordingFile(path: string, options: ReadRecordingOptions = {}): AsyncGenerator<RawRecord> {
  const onIssue = options.onIssue ?? (() => {});
  const input = await openCapture(path);
  let n = 0;
  let header: RecordingHeader | undefined;
  let ended = false;
  let buffered = '';
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const handle = function* (text: string): Generator<RawRecord> {
    n++;
    if (text.trim() === '') return;
    let line: Line;
    try {
      line = parseRecordingLine(text);
    } catch (e) {
      if (header === undefined) {
        throw qobError('QOB_ERR_CAPTURE_FORMAT', `${path} is not a qob recording: ${(e as Error).message}`, { path });
      }
      onIssue({ kind: 'bad-line', file: path, line: n, error: e as QobError });
      return;
    }
    if (header === undefined) {
      if (line.t !== 'header') {
        throw qobError('QOB_ERR_CAPTURE_FORMAT', `${path} is not a qob recording: no header line`, { path });
      }
      header = line;
      options.onFile?.(path, line);
      return;
    }
    switch (line.t) {
      case 'header':
        onIssue({
          kind: 'bad-line',
          file: path,
          line: n,
          error: qobError('QOB_ERR_CAPTURE_FORMAT', 'a second header line', { path }),
        });
        return;
      case 'end':
        ended = true;
        return;
      case 'gap':
        onIssue({ kind: 'gap', file: path, gap: line });
        return;
      default:
        if (options.venue === undefined || line.venue === options.venue) yield line;
    }
  };
  let failure: string | undefined;
  try {
    try {
      for await (const chunk of input) {
        buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Buffer, { stream: true });
        let nl = buffered.indexOf('\n');
        let start = 0;
        while (nl >= 0) {
          yield* handle(buffered.slice(start, nl));
          start = nl + 1;
          nl = buffered.indexOf('\n', start);
        }
        buffered = buffered.slice(start);
      }
      buffered += decoder.decode();
    } catch (e) {
      if (isQobError(e)) throw e;
      // Decompression stopped: the compressed stream was cut (the writer died before closing the file).
      failure = (e as Error).message;
    }
    if (header === undefined) {
      if (failure === undefined && buffered.trim() === '' && n === 0) {
        onIssue({ kind: 'torn', file: path, line: 0, reason: 'empty file' });
        return;
      }
      if (buffered.trim() !== '') {
        // A header cut short: report it as torn when it is the start of ours.
        if (buffered.startsWith('{"t":"header"')) {
          onIssue({ kind: 'torn', file: path, line: n + 1, reason: 'the file ends inside its header' });
          return;
        }
        yield* handle(buffered);
        buffered = '';
      }
      if (header === undefined) {
        if (failure !== undefined) {
          onIssue({ kind: 'torn', file: path, line: n, reason: `${failure} before the header` });
          return;
        }
        throw qobError('QOB_ERR_CAPTURE_FORMAT', `${path} is not a qob recording: no header line`, { path });
      }
    }
    if (buffered !== '') {
      onIssue({ kind: 'torn', file: path, line: n + 1, reason: 'the last line is cut short (no newline)' });
    } else if (failure !== undefined) {
      onIssue({ kind: 'torn', file: path, line: n, reason: `the file ends before its end: ${failure}` });
    } else if (!ended) {
      onIssue({ kind: 'torn', file: path, line: n, reason: 'the file has no end line (its writer did not close it)' });
    }
  } finally {
    input.destroy();
  }
}

/**
 * The recording files under `dir` (any depth), grouped in one sequence per venue: files named
 * `<venue>-<iso>-<seq>.qobrec.zst` sort by time then seq within their venue.
 */
export async function listRecordingFiles(dir: string): Promise<string[][]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })) as string[];
  } catch (e) {
    throw qobError('QOB_ERR_IO', `cannot read directory ${dir}: ${(e as Error).message}`, { path: dir }, e);
  }
  const groups = new Map<string, { name: string; path: string }[]>();
  for (const rel of entries) {
    if (!rel.endsWith(RECORDING_EXTENSION) && !rel.endsWith('.qobrec')) continue;
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    const m = /^(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-\d+\.qobrec(?:\.zst)?$/.exec(name);
    const key = m?.[1] ?? rel;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push({ name, path: join(dir, rel) });
  }
  return [...groups.keys()]
    .sort()
    .map((k) => (groups.get(k) ?? []).sort((a, b) => cmp(a.name, b.name) || cmp(a.path, b.path)).map((f) => f.path));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Yields the records of a recording file or directory. A directory holds one file sequence per venue;
 * the sequences are merged by receive time (ties: the venue sequence listed first), each kept in its own
 * order, so a replay sees every venue's records in the order its connector saw them.
 */
export async function* readRecording(path: string, options: ReadRecordingOptions = {}): AsyncGenerator<RawRecord> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw qobError('QOB_ERR_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, e);
  }
  if (!isDir) {
    yield* readRecordingFile(path, options);
    return;
  }
  const groups = await listRecordingFiles(path);
  if (groups.length === 0) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', `no recording files (*${RECORDING_EXTENSION}) under ${path}`, { path });
  }
  const streams = groups.map((files) => sequence(files, options));
  const heads: (RawRecord | undefined)[] = [];
  try {
    for (const s of streams) heads.push((await s.next()).value ?? undefined);
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        const b = best < 0 ? undefined : heads[best];
        if (b === undefined || h.tsMs < b.tsMs) best = i;
      }
      if (best < 0) return;
      yield heads[best] as RawRecord;
      heads[best] = (await (streams[best] as AsyncGenerator<RawRecord, void>).next()).value ?? undefined;
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}

async function* sequence(files: readonly string[], options: ReadRecordingOptions): AsyncGenerator<RawRecord, void> {
  for (const f of files) yield* readRecordingFile(f, options);
}

/** Relative display path of a recording file (for reports). */
export function recordingFileLabel(root: string, file: string): string {
  const r = relative(root, file);
  return r === '' ? file : r;
}

// ---------------------------------------------------------------------------------------------- recording

/** Where `qob record` gets raw records: a live connector (src/ingest/) behind a small interface. */
export interface RawSource {
  /** Runs until `signal` aborts or the source ends, calling `tap` for every raw record. */
  run(tap: RawTap, signal: AbortSignal): Promise<void>;
}

/**
 * Records `source` with `recorder` until `signal` aborts or the source ends, then closes the recorder
 * (writing everything queued) and returns its counts. The recorder is closed even when the source fails.
 */
export async function recordSource(source: RawSource, recorder: Recorder, signal: AbortSignal): Promise<RecorderStats> {
  try {
    await source.run(recorder.tap, signal);
  } finally {
    await recorder.close();
  }
  return recorder.stats();
}
