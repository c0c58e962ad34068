/**
 * Fast path for Binance diff-depth frames: reads a `depthUpdate` straight from the frame text, without
 * building the JSON object graph, and returns the same `BinanceDepthEvent` that `parseFrame` (JSON.parse)
 * would. Price and size strings are slices of the frame, i.e. the venue's exact text.
 *
 * Strict by design: it accepts only the exact layout Binance sends (no whitespace, fixed key order, integer
 * ids, no string escapes) and returns `undefined` for anything else, so the JSON.parse path decides and
 * reports errors exactly as before. A frame it accepts is one `parseFrame` would turn into the same event.
 *
 *   combined: {"stream":"<name>@depth[@100ms]","data":<event>}     raw (/ws): <event>
 *   spot:     {"e":"depthUpdate","E":1,"s":"BTCUSDT","U":2,"u":3,"b":[["p","q"],...],"a":[...]}
 *   USD-M:    {"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":2,"u":3,"pu":1,"b":[...],"a":[...]}
 * (key order as in the real captures, ../shared/fixtures/binance*, and the venue documents.)
 */
import { detach, FrameScanner } from '../frame-scan.ts';
import type { BinanceDepthEvent } from './wire.ts';

const sc = new FrameScanner();

/** The last stream name found to be a diff depth stream (a pure memo of `isDepthStream`). */
let lastDepthStream = '';

const COMBINED = '{"stream":"';
const DATA = ',"data":';

/** The diff depth event of a frame, or undefined when the frame is not in the exact expected layout. */
export function scanDepthFrame(text: string, futures: boolean): BinanceDepthEvent | undefined {
  sc.reset(text);
  if (sc.lit(COMBINED)) {
    const end = sc.stringEnd(sc.at);
    if (end < 0) return undefined;
    const name = text.slice(sc.at, end);
    if (name !== lastDepthStream) {
      if (!isDepthStream(name)) return undefined;
      lastDepthStream = detach(name);
    }
    sc.at = end + 1;
    if (!sc.lit(DATA)) return undefined;
    const ev = scanEvent(futures);
    return ev !== undefined && sc.char(125 /* } */) && sc.done ? ev : undefined;
  }
  const ev = scanEvent(futures);
  return ev !== undefined && sc.done ? ev : undefined;
}

/** Same test as wire.ts's `parseFrame`: the stream type after the first `@` is `depth` or `depth@<n>ms`. */
function isDepthStream(name: string): boolean {
  const a = name.indexOf('@');
  return /^depth(@\d+ms)?$/.test(a < 0 ? name : name.slice(a + 1));
}

function scanEvent(futures: boolean): BinanceDepthEvent | undefined {
  if (!sc.lit('{"e":"depthUpdate","E":')) return undefined;
  const E = sc.uint();
  if (E < 0) return undefined;
  if (futures && (!sc.lit(',"T":') || sc.uint() < 0)) return undefined;
  if (!sc.lit(',"s":')) return undefined;
  const s = sc.string();
  if (s === undefined || s === '' || !sc.lit(',"U":')) return undefined;
  const firstId = sc.uint();
  if (firstId < 0 || !sc.lit(',"u":')) return undefined;
  const lastId = sc.uint();
  if (lastId < firstId) return undefined; // also a bad number (-1); parseFrame reports u < U
  let prevLastId: number | undefined;
  if (futures) {
    if (!sc.lit(',"pu":')) return undefined;
    prevLastId = sc.uint();
    if (prevLastId < 0) return undefined;
  }
  if (!sc.lit(',"b":')) return undefined;
  const bids = sc.levels();
  if (bids === undefined || !sc.lit(',"a":')) return undefined;
  const asks = sc.levels();
  if (asks === undefined || !sc.char(125 /* } */)) return undefined;
  return { symbol: s.toUpperCase(), firstId, lastId, prevLastId, tsEventMs: E, bids, asks };
}
