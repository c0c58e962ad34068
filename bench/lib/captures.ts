/**
 * Depth streams extracted, in memory, from the real captures in ../shared/fixtures (Binance diff depth
 * with its REST snapshots, Bybit v5 orderbook.200, OKX v5 books). Nothing is copied into the repository.
 *
 * Each book becomes one `BenchStream` that keeps the venue's frames verbatim, with the parser the platform
 * itself uses on them (the venue handler's frame scanner, falling back to its JSON.parse path), so a
 * benchmark can turn frames into levels the way a live connection does, chunk by chunk, just before they
 * are applied: the levels are the same objects a feed handler hands to `L2Book.applyDelta` (strings cut
 * from the frame, OKX's four-field levels). The venue's sync rule is applied when the stream is built
 * (Binance: drop events with `u <= lastUpdateId`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanDepthFrame } from '../../src/venues/binance/fast-depth.ts';
import { parseFrame as parseBinanceFrame, parseDepthSnapshot } from '../../src/venues/binance/wire.ts';
import { scanBookFrame } from '../../src/venues/bybit/fast-book.ts';
import { type BybitBookMessage, parseFrame as parseBybitFrame } from '../../src/venues/bybit/wire.ts';
import { scanOkxBookPush } from '../../src/venues/okx/fast-book.ts';
import { type OkxBookPush, parseBookPush } from '../../src/venues/okx/wire.ts';
import type { BenchDelta, BenchStream, TextLevel } from './impls.ts';

interface Rec {
  t: string;
  conn?: string;
  url?: string;
  data?: string;
}

function lines(path: string): Rec[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec);
}

/** The levels as the platform's parsers return them (the bench's types name the two fields it reads). */
const asDelta = (bids: readonly unknown[], asks: readonly unknown[]): BenchDelta =>
  ({ bids, asks }) as unknown as BenchDelta;
const asLevels = (levels: readonly unknown[]): TextLevel[] => levels as unknown as TextLevel[];

// ---- Binance ---------------------------------------------------------------------------------------

function binanceEvent(text: string) {
  const fast = scanDepthFrame(text, false);
  if (fast !== undefined) return fast;
  const f = parseBinanceFrame(text, false);
  return f.kind === 'depth' ? f.event : undefined;
}

function binanceDelta(text: string): BenchDelta {
  const ev = binanceEvent(text);
  if (ev === undefined) throw new Error('not a Binance depth frame');
  return asDelta(ev.bids, ev.asks);
}

function binance(dir: string): BenchStream[] {
  const snaps = new Map<string, { id: number; bids: TextLevel[]; asks: TextLevel[] }>();
  const events = new Map<string, { u: number; frame: string }[]>();
  for (const r of lines(join(dir, 'cryptofeed_BINANCE.books.jsonl'))) {
    if (r.t === 'http' && r.url !== undefined && r.data !== undefined) {
      const sym = /symbol=([A-Z0-9]+)/.exec(r.url)?.[1];
      const s = parseDepthSnapshot(r.data);
      if (sym !== undefined) snaps.set(sym, { id: s.lastUpdateId, bids: asLevels(s.bids), asks: asLevels(s.asks) });
    } else if (r.t === 'recv' && r.data !== undefined) {
      const ev = binanceEvent(r.data);
      if (ev === undefined) continue;
      const list = events.get(ev.symbol) ?? [];
      list.push({ u: ev.lastId, frame: r.data });
      events.set(ev.symbol, list);
    }
  }
  const out: BenchStream[] = [];
  for (const [sym, snap] of snaps) {
    const frames = (events.get(sym) ?? []).filter((e) => e.u > snap.id).map((e) => e.frame);
    out.push(stream(`binance ${sym}`, snap, frames, binanceDelta));
  }
  return out;
}

// ---- Bybit -----------------------------------------------------------------------------------------

function bybitMessage(text: string): BybitBookMessage | undefined {
  const fast = scanBookFrame(text);
  if (fast !== undefined) return fast;
  const f = parseBybitFrame(text);
  return f.kind === 'book' ? f.msg : undefined;
}

function bybitDelta(text: string): BenchDelta {
  const m = bybitMessage(text);
  if (m === undefined) throw new Error('not a Bybit book frame');
  return asDelta(m.bids, m.asks);
}

function bybit(dir: string): BenchStream[] {
  type Book = { snapshot: { bids: TextLevel[]; asks: TextLevel[] }; frames: string[] };
  const books = new Map<string, Book>();
  const out: BenchStream[] = [];
  const done = (name: string, b: Book) => out.push(stream(name, b.snapshot, b.frames, bybitDelta));
  for (const r of lines(join(dir, 'cryptofeed_BYBIT.books.jsonl'))) {
    if (r.t !== 'recv' || r.data === undefined) continue;
    const m = bybitMessage(r.data);
    if (m === undefined) continue;
    const key = `bybit ${r.conn} ${m.topic}`;
    if (m.type === 'snapshot' || m.updateId === 1) {
      const prev = books.get(key);
      if (prev !== undefined) done(key, prev);
      books.set(key, { snapshot: { bids: asLevels(m.bids), asks: asLevels(m.asks) }, frames: [] });
    } else {
      books.get(key)?.frames.push(r.data);
    }
  }
  for (const [name, b] of books) done(name, b);
  return out;
}

// ---- OKX -------------------------------------------------------------------------------------------

function okxPush(text: string): OkxBookPush | undefined {
  if (!text.startsWith('{')) return undefined; // "pong"
  const fast = scanOkxBookPush(text);
  if (fast !== undefined) return fast;
  const o = JSON.parse(text) as Record<string, unknown>;
  const arg = o.arg as Record<string, unknown> | undefined;
  if (typeof o.event === 'string' || arg?.channel !== 'books') return undefined;
  return parseBookPush(o, arg);
}

function okxDelta(text: string): BenchDelta {
  const d = okxPush(text)?.data[0];
  if (d === undefined) throw new Error('not an OKX book push');
  return asDelta(d.bids, d.asks);
}

function okx(dir: string): BenchStream[] {
  const books = new Map<string, { snapshot: { bids: TextLevel[]; asks: TextLevel[] }; frames: string[] }>();
  for (const r of lines(join(dir, 'cryptofeed_OKX.books.jsonl'))) {
    if (r.t !== 'recv' || r.data === undefined) continue;
    const p = okxPush(r.data);
    const d = p?.data[0];
    if (p === undefined || d === undefined || p.channel !== 'books') continue;
    const key = `okx ${p.instId}`;
    if (p.action === 'snapshot')
      books.set(key, { snapshot: { bids: asLevels(d.bids), asks: asLevels(d.asks) }, frames: [] });
    else books.get(key)?.frames.push(r.data);
  }
  return [...books].map(([name, b]) => stream(name, b.snapshot, b.frames, okxDelta));
}

// ---- streams ---------------------------------------------------------------------------------------

function stream(
  name: string,
  snapshot: BenchStream['snapshot'],
  frames: string[],
  parseFrame: (text: string) => BenchDelta,
): BenchStream {
  // `deltas` (parsed once, kept) serve the reference book and the counts; timed passes parse `frames`.
  return { name, snapshot, deltas: frames.map(parseFrame), frames, parseFrame };
}

/** The captured books, or undefined with the reason when the fixtures are absent. */
export function loadCaptureStreams(fixtures: string): { streams: BenchStream[] } | { absent: string } {
  const dirs = { binance: join(fixtures, 'binance'), bybit: join(fixtures, 'bybit'), okx: join(fixtures, 'okx') };
  if (!existsSync(fixtures)) return { absent: `${fixtures} absent` };
  const streams: BenchStream[] = [];
  if (existsSync(dirs.binance)) streams.push(...binance(dirs.binance));
  if (existsSync(dirs.bybit)) streams.push(...bybit(dirs.bybit));
  if (existsSync(dirs.okx)) streams.push(...okx(dirs.okx));
  return { streams: streams.filter((s) => s.deltas.length > 0) };
}
