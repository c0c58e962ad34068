/**
 * Fast paths for Kraken WS v1 book frames (and WS v2 `book` messages, below): reads a `book-N` channel frame straight from the frame text and
 * returns the same `KrakenV1BookFrame` that `parseV1ChannelFrame(JSON.parse(text))` would, with each
 * level as `[price, volume]`, the venue's exact text (the checksum is computed over it). Strict: only the
 * layouts Kraken sends, else undefined and the JSON.parse path decides (and reports errors as before).
 *
 *   snapshot: [336,{"as":[["p","v","t"],...],"bs":[...]},"book-100","XBT/USD"]
 *   update:   [336,{"a":[["p","v","t"],["p","v","t","r"]],"c":"123"},"book-100","XBT/USD"]
 *             [336,{"a":[...]},{"b":[...],"c":"123"},"book-100","XBT/USD"]
 * (as in the real capture, ../shared/fixtures/kraken, and docs.kraken.com's v1 book page.)
 */
import { detach, FrameScanner } from '../frame-scan.ts';
import type { KrakenV1BookFrame, KrakenV1Level, KrakenV2BookData, KrakenV2BookMessage, KrakenV2Level } from './wire.ts';

const sc = new FrameScanner();
const NONE: KrakenV1Level[] = [];

/** The last channel name and pair seen (detached copies: they outlive the frame). */
let lastName = '';
let lastPair = '';

/** One update object's parts. */
let objAsks: KrakenV1Level[] | undefined;
let objBids: KrakenV1Level[] | undefined;
let objChecksum: number | undefined;

export function scanKrakenV1Book(text: string): KrakenV1BookFrame | undefined {
  if (!sc.reset(text).char(91 /* [ */)) return undefined;
  const channelId = sc.uint();
  if (channelId < 0 || !sc.char(44 /* , */)) return undefined;
  let snapshot = false;
  let asks: KrakenV1Level[] = NONE;
  let bids: KrakenV1Level[] = NONE;
  let checksum: number | undefined;
  if (sc.lit('{"as":')) {
    const as = sc.textLevels();
    if (as === undefined || !sc.lit(',"bs":')) return undefined;
    const bs = sc.textLevels();
    if (bs === undefined || !sc.lit('},"')) return undefined;
    snapshot = true;
    asks = as;
    bids = bs;
  } else {
    if (!scanUpdateObject()) return undefined;
    asks = objAsks ?? NONE;
    bids = objBids ?? NONE;
    checksum = objChecksum;
    if (sc.lit(',{')) {
      sc.at--;
      if (!scanUpdateObject()) return undefined;
      if (objAsks !== undefined) asks = asks.length === 0 ? objAsks : [...asks, ...objAsks];
      if (objBids !== undefined) bids = bids.length === 0 ? objBids : [...bids, ...objBids];
      if (objChecksum !== undefined) checksum = objChecksum;
    }
    if (!sc.lit(',"')) return undefined;
  }
  // "book-N","PAIR"]
  const n1 = sc.stringEnd(sc.at);
  if (n1 < 0) return undefined;
  let channelName = lastName;
  if (channelName === '' || n1 - sc.at !== channelName.length || !text.startsWith(channelName, sc.at)) {
    channelName = text.slice(sc.at, n1);
    if (!channelName.startsWith('book')) return undefined;
    channelName = lastName = detach(channelName);
  }
  sc.at = n1 + 1;
  if (!sc.lit(',"')) return undefined;
  const p1 = sc.stringEnd(sc.at);
  if (p1 < 0) return undefined;
  let pair = lastPair;
  if (p1 - sc.at !== pair.length || !text.startsWith(pair, sc.at)) pair = lastPair = detach(text.slice(sc.at, p1));
  sc.at = p1 + 1;
  if (!sc.char(93 /* ] */) || !sc.done) return undefined;
  return { channelId, snapshot, asks, bids, checksum, channelName, pair };
}

/** `{"a":[...],"b":[...],"c":"123"}` with each key optional but one of a/b present; false otherwise. */
function scanUpdateObject(): boolean {
  objAsks = undefined;
  objBids = undefined;
  objChecksum = undefined;
  if (!sc.char(123 /* { */)) return false;
  let first = true;
  if (sc.lit('"a":')) {
    objAsks = sc.textLevels();
    if (objAsks === undefined) return false;
    first = false;
  }
  if (sc.lit(first ? '"b":' : ',"b":')) {
    objBids = sc.textLevels();
    if (objBids === undefined) return false;
    first = false;
  }
  if (first) return false; // neither "a" nor "b": the JSON.parse path reports it
  if (sc.lit(',"c":"')) {
    // 1 to 10 digits, an unsigned 32-bit value (parseChecksum).
    const start = sc.at;
    const text = sc.text;
    let v = 0;
    let i = start;
    for (; i < text.length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d >>> 0 > 9) break;
      v = v * 10 + d;
    }
    if (i === start || i - start > 10 || v > 0xffffffff || text.charCodeAt(i) !== 34) return false;
    sc.at = i + 1;
    objChecksum = v;
  }
  return sc.char(125 /* } */);
}

// ---- WS v2 -----------------------------------------------------------------------------------------

/**
 * Fast path for Kraken WS v2 `book` messages: returns the same `KrakenV2BookMessage` that
 * `parseV2Book(parseLossless(text))` would, number tokens kept as their text (the checksum needs the
 * venue's decimals). A number token is what `parseLossless` takes for one: a `-` or a digit, then digits,
 * `.`, `e`, `E`, `+` and `-` (the book validates it). Strict layout, else undefined:
 *
 *   {"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12275,
 *    "qty":6597.51731160}],"asks":[],"checksum":1100635717,"timestamp":"2024-10-03T02:46:57.050170Z"}]}
 * (docs.kraken.com/api/docs/websocket-v2/book; snapshots have no timestamp.)
 */
export function scanKrakenV2Book(text: string): KrakenV2BookMessage | undefined {
  if (!sc.reset(text).lit('{"channel":"book","type":"')) return undefined;
  let type: 'snapshot' | 'update';
  if (sc.lit('update"')) type = 'update';
  else if (sc.lit('snapshot"')) type = 'snapshot';
  else return undefined;
  if (!sc.lit(',"data":[')) return undefined;
  const data: KrakenV2BookData[] = [];
  if (!sc.char(93 /* ] */)) {
    for (;;) {
      const d = scanV2Data();
      if (d === undefined) return undefined;
      data.push(d);
      if (sc.char(93)) break;
      if (!sc.char(44 /* , */)) return undefined;
    }
  }
  if (!sc.char(125 /* } */) || !sc.done) return undefined;
  return { type, data };
}

let lastSymbol = '';

function scanV2Data(): KrakenV2BookData | undefined {
  const text = sc.text;
  if (!sc.lit('{"symbol":"')) return undefined;
  const s1 = sc.stringEnd(sc.at);
  if (s1 < 0) return undefined;
  let symbol = lastSymbol;
  if (s1 - sc.at !== symbol.length || !text.startsWith(symbol, sc.at))
    symbol = lastSymbol = detach(text.slice(sc.at, s1));
  sc.at = s1 + 1;
  if (!sc.lit(',"bids":')) return undefined;
  const bids = scanV2Levels();
  if (bids === undefined || !sc.lit(',"asks":')) return undefined;
  const asks = scanV2Levels();
  if (asks === undefined) return undefined;
  let checksum: number | undefined;
  if (sc.lit(',"checksum":')) {
    // 1 to 10 digits, an unsigned 32-bit value (parseChecksum of the lossless text).
    const start = sc.at;
    const v = sc.uint();
    if (v < 0) {
      // uint refuses leading zeros, which parseChecksum accepts: leave those to the JSON path too.
      return undefined;
    }
    if (sc.at - start > 10 || v > 0xffffffff || !isTokenEnd(text.charCodeAt(sc.at))) return undefined;
    checksum = v;
  }
  if (sc.lit(',"timestamp":"')) {
    const e = sc.stringEnd(sc.at);
    if (e < 0) return undefined;
    sc.at = e + 1;
  }
  if (!sc.char(125 /* } */)) return undefined;
  return { symbol, bids, asks, checksum };
}

/** `[{"price":N,"qty":N},...]`. */
function scanV2Levels(): KrakenV2Level[] | undefined {
  if (!sc.char(91 /* [ */)) return undefined;
  const out: KrakenV2Level[] = [];
  if (sc.char(93)) return out;
  for (;;) {
    if (!sc.lit('{"price":')) return undefined;
    const price = numberToken();
    if (price === undefined || !sc.lit(',"qty":')) return undefined;
    const qty = numberToken();
    if (qty === undefined || !sc.char(125)) return undefined;
    out.push({ price, qty: detach(qty) });
    if (sc.char(93)) return out;
    if (!sc.char(44)) return undefined;
  }
}

/** A character that may continue a number token in `parseLossless`. */
function isTokenChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
}

function isTokenEnd(c: number): boolean {
  return !isTokenChar(c);
}

function numberToken(): string | undefined {
  const text = sc.text;
  const start = sc.at;
  const c = text.charCodeAt(start);
  if (c !== 45 && !(c >= 48 && c <= 57)) return undefined;
  let i = start + 1;
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  sc.at = i;
  return text.slice(start, i);
}
