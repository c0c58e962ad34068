/**
 * Fast path for Bybit v5 `orderbook.{depth}.{symbol}` pushes: reads the message straight from the frame
 * text and returns the same `BybitBookMessage` that `parseFrame` (JSON.parse) would, with prices and sizes
 * as slices of the frame (the venue's exact text). Strict: only the layouts Bybit sends, else undefined
 * and the JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["p","q"]],"a":[],
 *    "u":2,"seq":3},"cts":4}
 * with `"ts"` before or after `"type"` (both orders occur in the real capture, ../shared/fixtures/bybit)
 * and `"cts"` optional.
 */
import { detach, FrameScanner } from '../frame-scan.ts';
import type { BybitBookMessage } from './wire.ts';

const sc = new FrameScanner();
const TOPIC = '{"topic":"orderbook.';

/** The last book topic seen and its parts (a pure memo of the topic test below). */
let lastTopic = '';
let lastDepth = 0;
let lastSymbol = '';

export function scanBookFrame(text: string): BybitBookMessage | undefined {
  if (!text.startsWith(TOPIC, 0)) return undefined;
  const t0 = 10; // after {"topic":"
  const t1 = sc.reset(text).stringEnd(t0);
  if (t1 < 0) return undefined;
  const topic = text.slice(t0, t1);
  if (topic !== lastTopic) {
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
  const bids = sc.levels();
  if (bids === undefined || !sc.lit(',"a":')) return undefined;
  const asks = sc.levels();
  if (asks === undefined || !sc.lit(',"u":')) return undefined;
  const updateId = sc.uint();
  if (updateId < 0 || !sc.lit(',"seq":')) return undefined;
  const seq = sc.uint();
  if (seq < 0 || !sc.lit('}')) return undefined;
  if (sc.lit(',"cts":') && sc.uint() < 0) return undefined;
  if (!sc.lit('}') || !sc.done) return undefined;
  return { topic: lastTopic, depth, symbol, type, updateId, seq, tsEventMs: ts, bids, asks };
}

function scanType(): 'snapshot' | 'delta' | undefined {
  if (sc.lit('delta"')) return 'delta';
  if (sc.lit('snapshot"')) return 'snapshot';
  return undefined;
}
