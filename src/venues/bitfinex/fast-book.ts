/**
 * Fast path for Bitfinex v2 book channel frames (P0..P4): reads a frame straight from its text and
 * returns the channel id, the sequence number and the same `BookBody` that `parseChannelFrame` and
 * `parseBookBody` (JSON.parse) would. Bitfinex sends numbers, which the JSON.parse path turns into text
 * with `String(n)`; the scanner keeps a number's own text only when it is exactly that text (plain
 * digits, no exponent, no trailing fraction zero, at most 15 significant digits, not below 1e-6), so
 * both paths give the same strings. Anything else returns undefined and the JSON.parse path decides.
 *
 *   update:    [17470,[65000.1,3,0.5],1234]            (amount < 0: an ask; count 0: a delete)
 *   snapshot:  [17470,[[65000.1,3,0.5],...],1234]
 *   checksum:  [17470,"cs",-1234567,1234]              heartbeat: [17470,"hb",1234]
 * with the trailing sequence number only when conf flag 65536 is on (docs.bitfinex.com "Books" and
 * "Configuration"; the real capture, ../shared/fixtures/bitfinex).
 */
import { FrameScanner } from '../frame-scan.ts';
import type { BookBody, BookEntry } from './wire.ts';

const sc = new FrameScanner();

export interface ScannedBookFrame {
  readonly chanId: number;
  readonly seq: number | undefined;
  readonly body: BookBody;
}

const HEARTBEAT: BookBody = { kind: 'heartbeat' };

/** `seqAll`: conf flag 65536 is on, so every frame ends with a sequence number. */
export function scanBitfinexBookFrame(text: string, seqAll: boolean): ScannedBookFrame | undefined {
  if (!sc.reset(text).char(91 /* [ */)) return undefined;
  const chanId = sc.uint();
  if (chanId < 0 || !sc.char(44 /* , */)) return undefined;
  let body: BookBody;
  const c = text.charCodeAt(sc.at);
  if (c === 91 /* [ */) {
    if (text.charCodeAt(sc.at + 1) === 91 || text.charCodeAt(sc.at + 1) === 93 /* ] */) {
      sc.at++;
      const entries: BookEntry[] = [];
      if (!sc.char(93)) {
        for (;;) {
          const e = scanEntry();
          if (e === undefined) return undefined;
          entries.push(e);
          if (sc.char(93)) break;
          if (!sc.char(44)) return undefined;
        }
      }
      body = { kind: 'snapshot', entries };
    } else {
      const e = scanEntry();
      if (e === undefined) return undefined;
      body = { kind: 'update', entry: e };
    }
  } else if (sc.lit('"cs",')) {
    const cs = sc.int();
    if (cs === undefined || cs < -0x80000000 || cs > 0x7fffffff) return undefined;
    body = { kind: 'checksum', checksum: cs };
  } else if (sc.lit('"hb"')) {
    body = HEARTBEAT;
  } else {
    return undefined;
  }
  let seq: number | undefined;
  if (seqAll) {
    if (!sc.char(44)) return undefined;
    seq = sc.int();
    if (seq === undefined) return undefined;
  }
  if (!sc.char(93) || !sc.done) return undefined;
  return { chanId, seq, body };
}

/** What `scanBitfinexSmallFrame` read. */
export const SMALL_UPDATE = 1;
export const SMALL_CHECKSUM = 2;
export const SMALL_HEARTBEAT = 3;

/**
 * One reusable result of `scanBitfinexSmallFrame`: the fields of the frame kind it read (`kind`), the
 * others left as they were. `seq` is NaN when the frame has no sequence number.
 */
export class BitfinexSmallFrame {
  kind = 0;
  chanId = 0;
  seq = Number.NaN;
  price = '';
  count = 0;
  amount = '';
  checksum = 0;
}

/**
 * The frames of a live book, an update `[chanId,[price,count,amount](,seq)]`, a checksum
 * `[chanId,"cs",n(,seq)]` or a heartbeat `[chanId,"hb"(,seq)]`, read into `out` without allocating a
 * body: true exactly when `scanBitfinexBookFrame` would return that update, checksum or heartbeat (the
 * same checks, in the same order); false for anything else (snapshots included).
 */
export function scanBitfinexSmallFrame(text: string, seqAll: boolean, out: BitfinexSmallFrame): boolean {
  // One local cursor over the text (the shared scanner's checks, written out).
  if (text.charCodeAt(0) !== 91 /* [ */) return false;
  let i = uintEnd(text, 1);
  if (i < 0 || text.charCodeAt(i) !== 44 /* , */) return false;
  const chanId = uintValue;
  i++;
  const c = text.charCodeAt(i);
  let kind: number;
  if (c === 91 /* [ */) {
    const c1 = text.charCodeAt(i + 1);
    if (c1 === 91 || c1 === 93 /* ] */) return false; // a snapshot
    const p0 = i + 1;
    i = jsNumberEnd(text, p0);
    if (i < 0 || text.charCodeAt(i) !== 44) return false;
    const c0 = i + 1;
    i = uintEnd(text, c0);
    if (i < 0 || text.charCodeAt(i) !== 44) return false;
    const count = uintValue;
    const a0 = i + 1;
    i = jsNumberEnd(text, a0);
    if (i < 0 || text.charCodeAt(i) !== 93) return false;
    if (i === a0 + 1 && text.charCodeAt(a0) === 48 /* 0 */) return false; // amount 0
    out.price = text.slice(p0, c0 - 1);
    out.count = count;
    out.amount = text.slice(a0, i);
    i++;
    kind = SMALL_UPDATE;
  } else if (c === 34 /* " */ && text.startsWith('"cs",', i)) {
    i += 5;
    const neg = text.charCodeAt(i) === 45; /* - */
    const d0 = neg ? i + 1 : i;
    const e = uintEnd(text, d0);
    if (e < 0) return false;
    const v = uintValue;
    if (neg && v === 0) return false;
    const cs = neg ? -v : v;
    if (cs < -0x80000000 || cs > 0x7fffffff) return false;
    out.checksum = cs;
    i = e;
    kind = SMALL_CHECKSUM;
  } else if (c === 34 && text.startsWith('"hb"', i)) {
    i += 4;
    kind = SMALL_HEARTBEAT;
  } else {
    return false;
  }
  let seq = Number.NaN;
  if (seqAll) {
    if (text.charCodeAt(i) !== 44) return false;
    i++;
    const neg = text.charCodeAt(i) === 45;
    const d0 = neg ? i + 1 : i;
    const e = uintEnd(text, d0);
    if (e < 0) return false;
    const v = uintValue;
    if (neg && v === 0) return false;
    seq = neg ? -v : v;
    i = e;
  }
  if (text.charCodeAt(i) !== 93 || i + 1 !== text.length) return false;
  out.kind = kind;
  out.chanId = chanId;
  out.seq = seq;
  return true;
}

/** The value `uintEnd` read. */
let uintValue = 0;

/**
 * The end of a JSON non-negative integer at `i` that is a safe integer (`FrameScanner.uint`'s rules: no
 * sign, fraction, exponent or leading zero, at most 16 digits), or -1.
 */
function uintEnd(text: string, i: number): number {
  const start = i;
  let v = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >>> 0 > 9) break;
    v = v * 10 + d;
  }
  const n = i - start;
  if (n === 0 || n > 16 || (n > 1 && text.charCodeAt(start) === 48) || v > Number.MAX_SAFE_INTEGER) return -1;
  uintValue = v;
  return i;
}

/** `jsNumberText`'s rules for the number at `start`: its end, or -1. */
function jsNumberEnd(text: string, start: number): number {
  let i = start;
  if (text.charCodeAt(i) === 45 /* - */) i++;
  const intStart = i;
  let c = text.charCodeAt(i);
  if (c === 48 /* 0 */) {
    i++;
  } else {
    while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  }
  const intDigits = i - intStart;
  if (intDigits === 0) return -1;
  let sig = text.charCodeAt(intStart) === 48 ? 0 : intDigits;
  c = text.charCodeAt(i);
  if (c === 46 /* . */) {
    const fracStart = ++i;
    c = text.charCodeAt(i);
    let zeros = 0;
    while (c >= 48 && c <= 57) {
      if (sig === 0 && c === 48) zeros++;
      else sig++;
      c = text.charCodeAt(++i);
    }
    if (i === fracStart || text.charCodeAt(i - 1) === 48) return -1;
    if (intDigits === 1 && text.charCodeAt(intStart) === 48 && zeros > 5) return -1;
  } else if (sig === 0 && i - start > 1) {
    return -1;
  }
  if (sig > 15 || c === 101 /* e */ || c === 69 /* E */) return -1;
  return i;
}

/** `[price,count,amount]`: count a non-negative safe integer, amount not zero, all in `String(n)` form. */
function scanEntry(): BookEntry | undefined {
  if (!sc.char(91)) return undefined;
  const price = jsNumberText();
  if (price === undefined || !sc.char(44)) return undefined;
  const count = sc.uint();
  if (count < 0 || !sc.char(44)) return undefined;
  const amount = jsNumberText();
  if (amount === undefined || amount === '0' || !sc.char(93)) return undefined;
  return { price, count, amount };
}

/**
 * A JSON number at the cursor whose text is exactly `String(JSON.parse(text))`: `-?` then either digits
 * without a leading zero, or `0`, optionally a fraction not ending in `0`; at most 15 significant digits
 * (so it is the shortest text of its double) and, for `0.000…`, at most five zeros after the dot (below
 * 1e-6 `String` writes an exponent). Undefined for anything else (and `-0`, whose `String` is `0`).
 */
function jsNumberText(): string | undefined {
  const text = sc.text;
  const start = sc.at;
  let i = start;
  if (text.charCodeAt(i) === 45 /* - */) i++;
  const intStart = i;
  let c = text.charCodeAt(i);
  if (c === 48 /* 0 */) {
    i++;
  } else {
    while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  }
  const intDigits = i - intStart;
  if (intDigits === 0) return undefined;
  let sig = text.charCodeAt(intStart) === 48 ? 0 : intDigits;
  c = text.charCodeAt(i);
  if (c === 46 /* . */) {
    const fracStart = ++i;
    c = text.charCodeAt(i);
    let zeros = 0; // leading fraction zeros of a 0.xxx number
    while (c >= 48 && c <= 57) {
      if (sig === 0 && c === 48) zeros++;
      else sig++;
      c = text.charCodeAt(++i);
    }
    if (i === fracStart || text.charCodeAt(i - 1) === 48) return undefined; // no digits, or a trailing zero
    if (intDigits === 1 && text.charCodeAt(intStart) === 48 && zeros > 5) return undefined;
  } else if (sig === 0 && i - start > 1) {
    return undefined; // -0
  }
  if (sig > 15 || c === 101 /* e */ || c === 69 /* E */) return undefined;
  sc.at = i;
  return text.slice(start, i);
}
