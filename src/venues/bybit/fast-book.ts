/**
 * Fast path for Bybit v5 `orderbook.{depth}.{symbol}` pushes: reads the message straight from the frame
 * text and returns what `parseFrame` (JSON.parse) would, its levels as a `FlatLevels` (offsets into the
 * frame, the venue's exact text; `levels.bids`/`levels.asks` give `parseFrame`'s `[price, size]` arrays). Strict: only the layouts Bybit sends, else undefined
 * and the JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["p","q"]],"a":[],
 *    "u":2,"seq":3},"cts":4}
 * with `"ts"` before or after `"type"` (both orders occur in the real capture, ../shared/fixtures/bybit)
 * and `"cts"` optional.
 */
import { detach, FlatLevels, FrameScanner } from '../frame-scan.ts';
import type { BybitBookMessage } from './wire.ts';

/** A scanned push: `parseFrame`'s message with the levels as a `FlatLevels` (reused: read it at once). */
export interface ScannedBybitBook extends Omit<BybitBookMessage, 'bids' | 'asks'> {
  readonly levels: FlatLevels;
}

const sc = new FrameScanner();
const flat = new FlatLevels();
const TOPIC = '{"topic":"orderbook.';

/** The last book topic seen and its parts (a pure memo of the topic test below). */
let lastTopic = '';
let lastDepth = 0;
let lastSymbol = '';

/** The push as `parseFrame`'s `BybitBookMessage`, or undefined (`scanBookFrameFlat` with the level arrays built). */
export function scanBookFrame(text: string): BybitBookMessage | undefined {
  const m = scanBookFrameFlat(text);
  if (m === undefined) return undefined;
  const { levels, ...rest } = m;
  return { ...rest, bids: levels.bids, asks: levels.asks };
}

export function scanBookFrameFlat(text: string): ScannedBybitBook | undefined {
  if (!text.startsWith(TOPIC, 0)) return undefined;
  const t0 = 10; // after {"topic":"
  const t1 = sc.reset(text).stringEnd(t0);
  if (t1 < 0) return undefined;
  if (t1 - t0 !== lastTopic.length || !text.startsWith(lastTopic, t0)) {
    const topic = text.slice(t0, t1);
    // Same pattern and depth check as wire.ts's parseFrame.
    const m = /^orderbook\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(topic);
    if (m === null || m[2] === undefined) return undefined;
    const depth = Number(m[1]);
    if (!Number.isSafeInteger(depth) || depth <= 0) return undefined;
    lastTopic = detach(topic);
    lastDepth = depth;
    lastSymbol = detach(m[2]);
  }
  const depth = lastDepth;
  const symbol = lastSymbol;
  sc.at = t1 + 1;
  let type: 'snapshot' | 'delta' | undefined;
  let ts = -1;
  if (sc.lit(',"type":"')) {
    type = scanType();
    if (type === undefined || !sc.lit(',"ts":')) return undefined;
    ts = sc.uint();
  } else if (sc.lit(',"ts":')) {
    ts = sc.uint();
    if (ts < 0 || !sc.lit(',"type":"')) return undefined;
    type = scanType();
  }
  if (type === undefined || ts < 0 || !sc.lit(',"data":{"s":"') || !sc.lit(symbol) || !sc.lit('","b":')) {
    return undefined;
  }
  flat.reset(text);
  if (!sc.flatLevels(flat) || !sc.lit(',"a":')) return undefined;
  flat.endBids();
  if (!sc.flatLevels(flat) || !sc.lit(',"u":')) return undefined;
  const updateId = sc.uint();
  if (updateId < 0 || !sc.lit(',"seq":')) return undefined;
  const seq = sc.uint();
  if (seq < 0 || !sc.lit('}')) return undefined;
  if (sc.lit(',"cts":') && sc.uint() < 0) return undefined;
  if (!sc.lit('}') || !sc.done) return undefined;
  return { topic: lastTopic, depth, symbol, type, updateId, seq, tsEventMs: ts, levels: flat };
}

function scanType(): 'snapshot' | 'delta' | undefined {
  if (sc.lit('delta"')) return 'delta';
  if (sc.lit('snapshot"')) return 'snapshot';
  return undefined;
}
