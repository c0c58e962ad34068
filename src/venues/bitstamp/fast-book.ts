/**
 * Fast path for Bitstamp `diff_order_book_<pair>` pushes: reads the diff straight from the frame text and
 * returns the same `BitstampBook` that `parseFrame` (JSON.parse) would, with prices and sizes as slices of
 * the frame (the venue's exact text). Strict: only the layout Bitstamp sends, else undefined and the
 * JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"data":{"timestamp":"1","microtimestamp":"1000000","bids":[["p","q"]],"asks":[]},
 *    "channel":"diff_order_book_btcusd","event":"data"}
 * (key order as in the real capture, ../shared/fixtures/bitstamp.)
 */
import { detach, FlatLevels, FrameScanner } from '../frame-scan.ts';
import type { BitstampBook } from './wire.ts';

/** A scanned diff: `parseFrame`'s diff with the levels as a `FlatLevels` (reused: read it at once). */
export interface ScannedBitstampDiff {
  readonly pair: string;
  readonly micros: number;
  readonly levels: FlatLevels;
}

const sc = new FrameScanner();
const flat = new FlatLevels();
const HEAD = '{"data":{"timestamp":"';
const CHANNEL = '"channel":"diff_order_book_';

/** The last pair seen (a detached copy: it outlives the frame). */
let lastPair = '';

/** The diff as `parseFrame`'s `BitstampBook`, or undefined (`scanBitstampDiffFlat` with the level arrays built). */
export function scanBitstampDiff(text: string): BitstampBook | undefined {
  const d = scanBitstampDiffFlat(text);
  return d === undefined ? undefined : { pair: d.pair, micros: d.micros, bids: d.levels.bids, asks: d.levels.asks };
}

export function scanBitstampDiffFlat(text: string): ScannedBitstampDiff | undefined {
  if (!text.startsWith(HEAD, 0)) return undefined;
  sc.reset(text, HEAD.length);
  const t1 = sc.stringEnd(sc.at); // "timestamp" is not read by the JSON.parse path either
  if (t1 < 0) return undefined;
  sc.at = t1 + 1;
  if (!sc.lit(',"microtimestamp":"')) return undefined;
  const micros = digits();
  if (micros < 0 || !sc.lit(',"bids":')) return undefined;
  flat.reset(text);
  if (!sc.flatLevels(flat) || !sc.lit(',"asks":')) return undefined;
  flat.endBids();
  if (!sc.flatLevels(flat) || !sc.lit('},') || !sc.lit(CHANNEL)) return undefined;
  const p0 = sc.at;
  const p1 = sc.stringEnd(p0);
  if (p1 <= p0) return undefined;
  let pair = lastPair;
  if (p1 - p0 !== pair.length || !text.startsWith(pair, p0)) {
    // Same pattern as wire.ts's parseFrame: [a-z0-9]+.
    for (let i = p0; i < p1; i++) {
      const c = text.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) return undefined;
    }
    pair = lastPair = detach(text.slice(p0, p1));
  }
  sc.at = p1 + 1;
  if (!sc.lit(',"event":"data"}') || !sc.done) return undefined;
  return { pair, micros, levels: flat };
}

/**
 * `"microtimestamp"`'s string content and closing quote: 1 to 16 digits (leading zeros allowed, as the
 * JSON.parse path's /^\d{1,16}$/), a safe integer; -1 otherwise.
 */
function digits(): number {
  const text = sc.text;
  const start = sc.at;
  let v = 0;
  let i = start;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >>> 0 > 9) break;
    v = v * 10 + d;
  }
  const n = i - start;
  if (n === 0 || n > 16 || text.charCodeAt(i) !== 34 || !Number.isSafeInteger(v)) return -1;
  sc.at = i + 1;
  return v;
}
