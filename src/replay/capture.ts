/**
 * Reader for capture files in cryptofeed's format (../shared/fixtures/README.txt): one JSON object per
 * line, `{"t":"header"|"http"|"connect"|"send"|"recv", ...}`, plain, gzip or zstd compressed. Also reads
 * the `{"ts":<epoch s>,"raw":"<frame>"}` ndjson variant (one connection, no header).
 *
 * Lines that are not valid records are counted and reported, never fatal.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { type QobError, qobError } from '../core/errors.ts';

export type CaptureRecord =
  | { readonly t: 'header'; readonly exchange: string; readonly recordedS: number | undefined }
  | { readonly t: 'http'; readonly conn: string; readonly tsMs: number; readonly url: string; readonly data: string }
  | { readonly t: 'connect'; readonly conn: string; readonly tsMs: number; readonly addr: string }
  | { readonly t: 'send'; readonly conn: string; readonly tsMs: number; readonly data: string }
  | { readonly t: 'recv'; readonly conn: string; readonly tsMs: number; readonly data: string };

export interface CaptureLineError {
  readonly line: number;
  readonly error: QobError;
}

/** Opens a capture file, decompressing by magic bytes (gzip `1f 8b`, zstd `28 b5 2f fd`). */
export async function openCapture(path: string): Promise<Readable> {
  let magic: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      magic = Buffer.alloc(4);
      await fh.read(magic, 0, 4, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw qobError('QOB_ERR_IO', `cannot read capture ${path}: ${(e as Error).message}`, { path }, e);
  }
  const raw = createReadStream(path);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip());
  if (magic[0] === 0x28 && magic[1] === 0xb5 && magic[2] === 0x2f && magic[3] === 0xfd) {
    return raw.pipe(createZstdDecompress());
  }
  return raw;
}

/**
 * Parses one capture line. Returns undefined for blank lines; throws QOB_ERR_CAPTURE_FORMAT for a line
 * that is not a capture record.
 */
export function parseCaptureLine(line: string, ndjsonConn = 'ndjson.ws'): CaptureRecord | undefined {
  if (line.trim() === '') return undefined;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', `not JSON: ${(e as Error).message}`, { text: line.slice(0, 80) });
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw qobError('QOB_ERR_CAPTURE_FORMAT', 'a capture line must be a JSON object', { text: line.slice(0, 80) });
  }
  const r = o as Record<string, unknown>;
  const tsMs = typeof r.ts === 'number' && Number.isFinite(r.ts) ? r.ts * 1000 : Number.NaN;
  if (typeof r.raw === 'string' && r.t === undefined) {
    if (Number.isNaN(tsMs)) throw bad('ts', line);
    return { t: 'recv', conn: ndjsonConn, tsMs, data: r.raw };
  }
  switch (r.t) {
    case 'header':
      if (typeof r.exchange !== 'string') throw bad('exchange', line);
      return { t: 'header', exchange: r.exchange, recordedS: typeof r.recorded === 'number' ? r.recorded : undefined };
    case 'http':
      if (typeof r.url !== 'string') throw bad('url', line);
      if (typeof r.data !== 'string') throw bad('data', line);
      if (Number.isNaN(tsMs)) throw bad('ts', line);
      return { t: 'http', conn: String(r.conn ?? ''), tsMs, url: r.url, data: r.data };
    case 'connect':
      if (typeof r.conn !== 'string') throw bad('conn', line);
      if (Number.isNaN(tsMs)) throw bad('ts', line);
      return { t: 'connect', conn: r.conn, tsMs, addr: String(r.addr ?? '') };
    case 'send':
    case 'recv':
      if (typeof r.conn !== 'string') throw bad('conn', line);
      if (typeof r.data !== 'string') throw bad('data', line);
      if (Number.isNaN(tsMs)) throw bad('ts', line);
      return { t: r.t, conn: r.conn, tsMs, data: r.data };
    default:
      throw qobError('QOB_ERR_CAPTURE_FORMAT', `unknown record type ${JSON.stringify(r.t)}`, { t: String(r.t) });
  }
}

function bad(field: string, line: string): QobError {
  return qobError('QOB_ERR_CAPTURE_FORMAT', `capture record has no valid "${field}"`, {
    field,
    text: line.slice(0, 80),
  });
}

/** Streams the records of a capture file; bad lines go to `onBadLine` and are skipped. */
export async function* readCapture(
  path: string,
  onBadLine: (e: CaptureLineError) => void = () => {},
): AsyncGenerator<CaptureRecord> {
  const input = await openCapture(path);
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      let rec: CaptureRecord | undefined;
      try {
        rec = parseCaptureLine(line);
      } catch (e) {
        onBadLine({ line: n, error: e as QobError });
        continue;
      }
      if (rec !== undefined) yield rec;
    }
  } finally {
    rl.close();
    input.destroy();
  }
}
