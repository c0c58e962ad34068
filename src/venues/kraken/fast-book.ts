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
import { MAX_DECIMAL_TEXT } from '../../core/fixed.ts';
import { detach, FlatLevels, FrameScanner, SIZE_CHECK, SIZE_POSITIVE, SIZE_ZERO } from '../frame-scan.ts';
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
  if (!scanTail()) return undefined;
  return { channelId, snapshot, asks, bids, checksum, channelName: lastName, pair: lastPair };
}

/**
 * The frame's end after `,"`: `book-N","PAIR"]`, its channel name and pair left in `lastName` and
 * `lastPair`; false when not in that layout.
 */
function scanTail(): boolean {
  const text = sc.text;
  const n1 = sc.stringEnd(sc.at);
  if (n1 < 0) return false;
  const name = lastName;
  if (name === '' || n1 - sc.at !== name.length || !text.startsWith(name, sc.at)) {
    const channelName = text.slice(sc.at, n1);
    if (!channelName.startsWith('book')) return false;
    lastName = detach(channelName);
  }
  sc.at = n1 + 1;
  if (!sc.lit(',"')) return false;
  const p1 = sc.stringEnd(sc.at);
  if (p1 < 0) return false;
  const pair = lastPair;
  if (p1 - sc.at !== pair.length || !text.startsWith(pair, sc.at)) lastPair = detach(text.slice(sc.at, p1));
  sc.at = p1 + 1;
  return sc.char(93 /* ] */) && sc.done;
}

// ---- WS v1 updates, flat ---------------------------------------------------------------------------

/** A scanned v1 update: its channel, checksum and levels (asks first; reused: read it at once). */
export interface ScannedKrakenV1Update {
  channelId: number;
  checksum: number | undefined;
  readonly levels: FlatLevels;
}

const flat = new FlatLevels();
const scanned: ScannedKrakenV1Update = { channelId: 0, checksum: undefined, levels: flat };

/**
 * A v1 book update in the layouts Kraken sends, with its levels as a `FlatLevels` (offsets into the frame,
 * asks first, what applying them needs read on the way): the same channel, checksum, asks and bids that
 * `scanKrakenV1Book` returns for it, or undefined for anything else (snapshots, other layouts: that
 * scanner decides).
 *
 *   [336,{"a":[...],"b":[...],"c":"123"},"book-100","XBT/USD"]   (a, b and c each optional, a or b present)
 *   [336,{"a":[...]},{"b":[...],"c":"123"},"book-100","XBT/USD"] (c optional)
 */
export function scanKrakenV1UpdateFlat(text: string): ScannedKrakenV1Update | undefined {
  if (!sc.reset(text).char(91 /* [ */)) return undefined;
  const channelId = sc.uint();
  if (channelId < 0 || !sc.lit(',{')) return undefined;
  flat.reset(text, true);
  const hasAsks = sc.lit('"a":');
  if (hasAsks && !sc.flatTextLevels(flat)) return undefined;
  flat.endAsks();
  const hasBids = sc.lit(hasAsks ? ',"b":' : '"b":');
  if (hasBids && !sc.flatTextLevels(flat)) return undefined;
  if (!hasAsks && !hasBids) return undefined;
  let checksum = sc.lit(',"c":"') ? scanChecksum() : -2;
  if (checksum === -1 || !sc.char(125 /* } */)) return undefined;
  if (!hasBids && checksum === -2 && sc.lit(',{"b":')) {
    // {"a":[...]},{"b":[...],"c":"..."}
    if (!sc.flatTextLevels(flat)) return undefined;
    checksum = sc.lit(',"c":"') ? scanChecksum() : -2;
    if (checksum === -1 || !sc.char(125)) return undefined;
  }
  if (!sc.lit(',"') || !scanTailFlat()) return undefined;
  scanned.channelId = channelId;
  scanned.checksum = checksum < 0 ? undefined : checksum;
  return scanned;
}

/**
 * `scanTail`'s layout check without reading the name and pair (the update needs neither): a channel name
 * that starts with `book`, then a pair, both escape-free strings, and the frame's end.
 */
function scanTailFlat(): boolean {
  const text = sc.text;
  const at = sc.at;
  const n1 = sc.stringEnd(at);
  if (
    n1 < at + 4 ||
    text.charCodeAt(at) !== 98 /* b */ ||
    text.charCodeAt(at + 1) !== 111 /* o */ ||
    text.charCodeAt(at + 2) !== 111 ||
    text.charCodeAt(at + 3) !== 107 /* k */ ||
    text.charCodeAt(n1 + 1) !== 44 /* , */ ||
    text.charCodeAt(n1 + 2) !== 34 /* " */
  ) {
    return false;
  }
  const p1 = sc.stringEnd(n1 + 3);
  if (p1 < 0) return false;
  sc.at = p1 + 1;
  return sc.char(93 /* ] */) && sc.done;
}

/** After `"c":"`: 1 to 10 digits, an unsigned 32-bit value (parseChecksum), and the closing quote; else -1. */
function scanChecksum(): number {
  const text = sc.text;
  const start = sc.at;
  let v = 0;
  let i = start;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >>> 0 > 9) break;
    v = v * 10 + d;
  }
  if (i === start || i - start > 10 || v > 0xffffffff || text.charCodeAt(i) !== 34) return -1;
  sc.at = i + 1;
  return v;
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
    const v = scanChecksum();
    if (v < 0) return false;
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

/** A scanned v2 update: one book's symbol, checksum and levels (bids first; reused: read it at once). */
export interface ScannedKrakenV2Update {
  symbol: string;
  checksum: number | undefined;
  readonly levels: FlatLevels;
}

const flatV2 = new FlatLevels();
const scannedV2: ScannedKrakenV2Update = { symbol: '', checksum: undefined, levels: flatV2 };

/**
 * A v2 `book` update of one symbol in the layout `scanKrakenV2Book` reads, with its levels as a
 * `FlatLevels` (offsets into the frame, bids first, what applying them needs read on the way): the same
 * symbol, checksum, bids and asks, or undefined for anything else (snapshots, several symbols: that
 * scanner decides).
 */
export function scanKrakenV2UpdateFlat(text: string): ScannedKrakenV2Update | undefined {
  if (!sc.reset(text).lit('{"channel":"book","type":"update","data":[')) return undefined;
  const d = scanV2Data(flatV2);
  if (d === undefined || !sc.lit(']}') || !sc.done) return undefined;
  scannedV2.symbol = d.symbol;
  scannedV2.checksum = d.checksum;
  return scannedV2;
}

const NO_V2_LEVELS: KrakenV2Level[] = [];

/** One book of a v2 message; with `flat`, its levels go there (and the returned arrays are empty). */
function scanV2Data(flat?: FlatLevels): KrakenV2BookData | undefined {
  const text = sc.text;
  if (!sc.lit('{"symbol":"')) return undefined;
  const s1 = sc.stringEnd(sc.at);
  if (s1 < 0) return undefined;
  let symbol = lastSymbol;
  if (s1 - sc.at !== symbol.length || !text.startsWith(symbol, sc.at))
    symbol = lastSymbol = detach(text.slice(sc.at, s1));
  sc.at = s1 + 1;
  if (!sc.lit(',"bids":')) return undefined;
  let bids = NO_V2_LEVELS;
  let asks = NO_V2_LEVELS;
  if (flat !== undefined) {
    flat.reset(text);
    if (!scanV2LevelsFlat(flat)) return undefined;
    flat.endBids();
    if (!sc.lit(',"asks":') || !scanV2LevelsFlat(flat)) return undefined;
  } else {
    const b = scanV2Levels();
    if (b === undefined || !sc.lit(',"asks":')) return undefined;
    const a = scanV2Levels();
    if (a === undefined) return undefined;
    bids = b;
    asks = a;
  }
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

/**
 * `scanV2Levels`'s layout appended to `out`, each number token's plain form read on the way as
 * `FrameScanner`'s level scanner does (a price's digits and fraction length, a quantity's class and
 * fraction length; anything else is left to the general parsers); false when not in that layout.
 */
function scanV2LevelsFlat(out: FlatLevels): boolean {
  const text = sc.text;
  if (!sc.char(91 /* [ */)) return false;
  if (sc.char(93 /* ] */)) return true;
  for (;;) {
    if (!sc.lit('{"price":')) return false;
    // Price token: digits [. digits], else any other token text.
    const p0 = sc.at;
    let i = p0;
    let c = text.charCodeAt(i);
    if (c !== 45 /* - */ && !(c >= 48 && c <= 57)) return false;
    let m = 0;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    let digits = i - p0;
    let pf = digits === 0 ? -1 : 0;
    if (c === 46 /* . */ && pf === 0) {
      const f0 = ++i;
      c = text.charCodeAt(i);
      while (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        c = text.charCodeAt(++i);
      }
      pf = i === f0 ? -1 : i - f0;
      digits += i - f0;
    }
    if (isTokenChar(c)) {
      pf = -1;
      do c = text.charCodeAt(++i);
      while (isTokenChar(c));
    } else if (digits > 15) {
      pf = -1;
    }
    const p1 = i;
    sc.at = i;
    if (!sc.lit(',"qty":')) return false;
    // Quantity token: digits with at most one dot, else any other token text.
    const q0 = sc.at;
    let j = q0;
    c = text.charCodeAt(j);
    if (c !== 45 && !(c >= 48 && c <= 57)) return false;
    let or = 0;
    let dot = -1;
    for (;;) {
      if (c >= 48 && c <= 57) or |= c - 48;
      else if (c === 46 && dot < 0) dot = j;
      else break;
      c = text.charCodeAt(++j);
    }
    let cls = SIZE_CHECK;
    let sf = -1;
    if (isTokenChar(c)) {
      do c = text.charCodeAt(++j);
      while (isTokenChar(c));
    } else {
      const len = j - q0;
      if (len > (dot < 0 ? 0 : 1) && len <= MAX_DECIMAL_TEXT) {
        cls = or === 0 ? SIZE_ZERO : SIZE_POSITIVE;
        sf = dot < 0 ? 0 : j - dot - 1;
      }
    }
    const q1 = j;
    sc.at = j;
    if (!sc.char(125 /* } */)) return false;
    out.pushScanned(p0, p1, q0, q1, m, pf, cls, sf);
    if (sc.char(93)) return true;
    if (!sc.char(44 /* , */)) return false;
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
