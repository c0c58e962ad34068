/**
 * Fast path for OKX v5 book pushes (`books`, `books-l2-tbt`, `books50-l2-tbt`): reads the push straight
 * from the frame text and returns what `parseBookPush` (JSON.parse) would, its levels as a `FlatLevels`
 * (offsets into the frame, the venue's exact text: the checksum is computed over it; `levels.asks` and
 * `levels.bids` give `parseBookPush`'s `[px, sz]` arrays). Strict: only the layout OKX sends, with one
 * data element, else undefined and the JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["p","s","0","1"]],
 *    "bids":[...],"ts":"1","checksum":-1,"prevSeqId":1,"seqId":2}]}
 * (key order as in the real capture, ../shared/fixtures/okx, and the v5 documents; the 2022 capture has
 * no seqId/prevSeqId, and some captures have no checksum.)
 */
import { detach, FlatLevels, FrameScanner } from '../frame-scan.ts';
import { OKX_BOOK_CHANNELS, type OkxBookPush, type OkxLevel } from './wire.ts';

/**
 * A scanned push with one data element (the only form OKX sends): `parseBookPush`'s push with that
 * element's levels as a `FlatLevels` (asks first, as in the frame). Both are reused: read them at once.
 */
export interface ScannedOkxPush {
  readonly channel: string;
  readonly instId: string;
  readonly action: 'snapshot' | 'update';
  readonly levels: FlatLevels;
  readonly checksum: number | undefined;
  readonly seqId: number | undefined;
  readonly prevSeqId: number | undefined;
}

const sc = new FrameScanner();
const flat = new FlatLevels();
const ARG = '{"arg":{"channel":"';

/** The last `channel`/`instId` pair seen (detached copies: they outlive the frame). */
let lastChannel = '';
let lastInstId = '';

/** The push as `parseBookPush`'s `OkxBookPush`, or undefined (`scanOkxBookPushFlat` with the level arrays built). */
export function scanOkxBookPush(text: string): OkxBookPush | undefined {
  const m = scanOkxBookPushFlat(text);
  if (m === undefined) return undefined;
  const { channel, instId, action, levels, checksum, seqId, prevSeqId } = m;
  // FlatLevels' tuples are `[price, size]` texts.
  const asks = levels.asks as OkxLevel[];
  const bids = levels.bids as OkxLevel[];
  return { channel, instId, action, data: [{ asks, bids, checksum, seqId, prevSeqId }] };
}

export function scanOkxBookPushFlat(text: string): ScannedOkxPush | undefined {
  if (!text.startsWith(ARG, 0)) return undefined;
  sc.reset(text, ARG.length);
  const c1 = sc.stringEnd(sc.at);
  if (c1 <= sc.at) return undefined; // escapes, unterminated, or empty: not a book channel
  let channel = lastChannel;
  if (!text.startsWith(channel, sc.at) || c1 - sc.at !== channel.length) {
    channel = text.slice(sc.at, c1);
    if (!OKX_BOOK_CHANNELS.has(channel)) return undefined;
    channel = lastChannel = detach(channel);
  }
  sc.at = c1 + 1;
  if (!sc.lit(',"instId":"')) return undefined;
  const i1 = sc.stringEnd(sc.at);
  if (i1 <= sc.at) return undefined; // escapes, unterminated, or an empty instId (parseBookPush rejects it)
  let instId = lastInstId;
  if (!text.startsWith(instId, sc.at) || i1 - sc.at !== instId.length)
    instId = lastInstId = detach(text.slice(sc.at, i1));
  sc.at = i1 + 1;
  if (!sc.lit('},"action":"')) return undefined;
  let action: 'snapshot' | 'update';
  if (sc.lit('update"')) action = 'update';
  else if (sc.lit('snapshot"')) action = 'snapshot';
  else return undefined;
  if (!sc.lit(',"data":[')) return undefined;
  if (!scanData() || !sc.char(93 /* ] */) || !sc.char(125 /* } */) || !sc.done) return undefined;
  const out = scanned;
  out.channel = channel;
  out.instId = instId;
  out.action = action;
  out.checksum = head.checksum;
  out.seqId = head.seqId;
  out.prevSeqId = head.prevSeqId;
  return out;
}

/** The result of `scanOkxBookPushFlat`, reused from frame to frame like its `levels`. */
const scanned: { -readonly [K in keyof ScannedOkxPush]: ScannedOkxPush[K] } = {
  channel: '',
  instId: '',
  action: 'update',
  levels: flat,
  checksum: undefined,
  seqId: undefined,
  prevSeqId: undefined,
};

/** What `scanData` read besides the levels. */
const head: { checksum: number | undefined; seqId: number | undefined; prevSeqId: number | undefined } = {
  checksum: undefined,
  seqId: undefined,
  prevSeqId: undefined,
};

/**
 * `{"asks":[...],"bids":[...],"ts":"1","checksum":1,"prevSeqId":1,"seqId":1}`, the last four optional:
 * the levels into `flat`, the rest into `head`.
 */
function scanData(): boolean {
  if (!sc.lit('{"asks":')) return false;
  flat.reset(sc.text, true);
  if (!sc.flatTextLevels(flat) || !sc.lit(',"bids":')) return false;
  flat.endAsks();
  if (!sc.flatTextLevels(flat)) return false;
  if (sc.lit(',"ts":"')) {
    // Not used by the book; any escape-free string, as parseBookPush ignores it.
    const e = sc.stringEnd(sc.at);
    if (e < 0) return false;
    sc.at = e + 1;
  }
  let checksum: number | undefined;
  if (sc.lit(',"checksum":')) {
    checksum = sc.int();
    if (checksum === undefined || checksum < -0x80000000 || checksum > 0x7fffffff) return false;
  }
  let prevSeqId: number | undefined;
  if (sc.lit(',"prevSeqId":')) {
    prevSeqId = sc.int();
    if (prevSeqId === undefined) return false;
  }
  let seqId: number | undefined;
  if (sc.lit(',"seqId":')) {
    seqId = sc.int();
    if (seqId === undefined) return false;
  }
  if (!sc.char(125 /* } */)) return false;
  head.checksum = checksum;
  head.seqId = seqId;
  head.prevSeqId = prevSeqId;
  return true;
}
