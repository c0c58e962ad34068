/**
 * Fast path for OKX v5 book pushes (`books`, `books-l2-tbt`, `books50-l2-tbt`): reads the push straight
 * from the frame text and returns the same `OkxBookPush` that `parseBookPush` (JSON.parse) would, with
 * each level as `[px, sz]`, the venue's exact text (the checksum is computed over it). Strict: only the
 * layout OKX sends, else undefined and the JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["p","s","0","1"]],
 *    "bids":[...],"ts":"1","checksum":-1,"prevSeqId":1,"seqId":2}]}
 * (key order as in the real capture, ../shared/fixtures/okx, and the v5 documents; the 2022 capture has
 * no seqId/prevSeqId, and some captures have no checksum.)
 */
import { detach, FrameScanner } from '../frame-scan.ts';
import { OKX_BOOK_CHANNELS, type OkxBookData, type OkxBookPush } from './wire.ts';

const sc = new FrameScanner();
const ARG = '{"arg":{"channel":"';

/** The last `channel`/`instId` pair seen (detached copies: they outlive the frame). */
let lastChannel = '';
let lastInstId = '';

export function scanOkxBookPush(text: string): OkxBookPush | undefined {
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
  const data: OkxBookData[] = [];
  if (!sc.char(93 /* ] */)) {
    for (;;) {
      const d = scanData();
      if (d === undefined) return undefined;
      data.push(d);
      if (sc.char(93)) break;
      if (!sc.char(44 /* , */)) return undefined;
    }
  }
  if (!sc.char(125 /* } */) || !sc.done) return undefined;
  return { channel, instId, action, data };
}

/** `{"asks":[...],"bids":[...],"ts":"1","checksum":1,"prevSeqId":1,"seqId":1}`, the last four optional. */
function scanData(): OkxBookData | undefined {
  if (!sc.lit('{"asks":')) return undefined;
  const asks = sc.textLevels();
  if (asks === undefined || !sc.lit(',"bids":')) return undefined;
  const bids = sc.textLevels();
  if (bids === undefined) return undefined;
  if (sc.lit(',"ts":"')) {
    // Not used by the book; any escape-free string, as parseBookPush ignores it.
    const e = sc.stringEnd(sc.at);
    if (e < 0) return undefined;
    sc.at = e + 1;
  }
  let checksum: number | undefined;
  if (sc.lit(',"checksum":')) {
    checksum = sc.int();
    if (checksum === undefined || checksum < -0x80000000 || checksum > 0x7fffffff) return undefined;
  }
  let prevSeqId: number | undefined;
  if (sc.lit(',"prevSeqId":')) {
    prevSeqId = sc.int();
    if (prevSeqId === undefined) return undefined;
  }
  let seqId: number | undefined;
  if (sc.lit(',"seqId":')) {
    seqId = sc.int();
    if (seqId === undefined) return undefined;
  }
  if (!sc.char(125 /* } */)) return undefined;
  return { asks, bids, checksum, seqId, prevSeqId };
}
