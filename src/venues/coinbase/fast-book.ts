/**
 * Fast path for Coinbase Advanced Trade `l2_data` frames: reads the frame straight from its text and
 * returns the same `advanced` frame that `parseFrame` (JSON.parse) would, with prices and sizes as slices
 * of the frame (the venue's exact text). Strict: only the layout Coinbase sends, else undefined and the
 * JSON.parse path decides (and reports errors exactly as before).
 *
 *   {"channel":"l2_data","timestamp":"2026-08-09T21:05:48.5Z","sequence_num":14,"events":[{"type":"update",
 *    "product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2026-08-09T21:05:48.2Z",
 *    "price_level":"65062.5","new_quantity":"0.00583"}]}]}
 * (key order as in the real capture, ../shared/fixtures/coinbase.)
 */
import type { RawLevel } from '../../book/l2-book.ts';
import { detach, FrameScanner } from '../frame-scan.ts';
import type { CoinbaseBookEvent, CoinbaseFrame } from './wire.ts';

const sc = new FrameScanner();
const HEAD = '{"channel":"l2_data","timestamp":"';
const NO_TRADES: readonly unknown[] = Object.freeze([]);

/** The last product id seen (a detached copy: it outlives the frame). */
let lastProduct = '';

export function scanCoinbaseL2(text: string): CoinbaseFrame | undefined {
  if (!text.startsWith(HEAD, 0)) return undefined;
  sc.reset(text, HEAD.length);
  const t1 = sc.stringEnd(sc.at); // the frame's timestamp is not read by the JSON.parse path either
  if (t1 < 0) return undefined;
  sc.at = t1 + 1;
  let sequenceNum: number | undefined;
  if (sc.lit(',"sequence_num":')) {
    sequenceNum = sc.uint();
    if (sequenceNum < 0) return undefined;
  }
  if (!sc.lit(',"events":[')) return undefined;
  const events: CoinbaseBookEvent[] = [];
  if (!sc.char(93 /* ] */)) {
    for (;;) {
      const ev = scanEvent();
      if (ev === undefined) return undefined;
      events.push(ev);
      if (sc.char(93)) break;
      if (!sc.char(44 /* , */)) return undefined;
    }
  }
  if (!sc.char(125 /* } */) || !sc.done) return undefined;
  return { kind: 'advanced', channel: 'l2_data', sequenceNum, events, tradeEvents: NO_TRADES };
}

function scanEvent(): CoinbaseBookEvent | undefined {
  if (!sc.lit('{"type":"')) return undefined;
  let snapshot: boolean;
  if (sc.lit('update"')) snapshot = false;
  else if (sc.lit('snapshot"')) snapshot = true;
  else return undefined;
  if (!sc.lit(',"product_id":"')) return undefined;
  const text = sc.text;
  const p0 = sc.at;
  const p1 = sc.stringEnd(p0);
  if (p1 <= p0) return undefined; // the JSON.parse path refuses an empty product id
  let productId = lastProduct;
  if (p1 - p0 !== productId.length || !text.startsWith(productId, p0)) {
    productId = lastProduct = detach(text.slice(p0, p1));
  }
  sc.at = p1 + 1;
  if (!sc.lit(',"updates":[')) return undefined;
  const bids: RawLevel[] = [];
  const asks: RawLevel[] = [];
  if (!sc.char(93 /* ] */)) {
    for (;;) {
      if (!sc.lit('{"side":"')) return undefined;
      let bid: boolean;
      if (sc.lit('bid"')) bid = true;
      else if (sc.lit('offer"')) bid = false;
      else return undefined;
      if (!sc.lit(',"event_time":"')) return undefined;
      const e1 = sc.stringEnd(sc.at);
      if (e1 < 0) return undefined;
      sc.at = e1 + 1;
      if (!sc.lit(',"price_level":"')) return undefined;
      const q0 = sc.at;
      const q1 = sc.stringEnd(q0);
      if (q1 < 0) return undefined;
      sc.at = q1 + 1;
      if (!sc.lit(',"new_quantity":"')) return undefined;
      const s0 = sc.at;
      const s1 = sc.stringEnd(s0);
      if (s1 < 0) return undefined;
      sc.at = s1 + 1;
      if (!sc.char(125 /* } */)) return undefined;
      const level: RawLevel = [text.slice(q0, q1), detach(text.slice(s0, s1))];
      if (bid) bids.push(level);
      else asks.push(level);
      if (sc.char(93)) break;
      if (!sc.char(44 /* , */)) return undefined;
    }
  }
  if (!sc.char(125)) return undefined;
  return { productId, snapshot, bids, asks };
}
