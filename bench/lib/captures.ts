/**
 * Depth streams extracted, in memory, from the real captures in ../shared/fixtures (Binance diff depth
 * with its REST snapshots, Bybit v5 orderbook.200, OKX v5 books). Nothing is copied into the repository.
 * Each book becomes one `BenchStream`: its snapshot and the deltas that follow it, with the venue's sync
 * rule applied (Binance: drop events with `u <= lastUpdateId`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

const pair = (l: readonly string[]): TextLevel => [l[0] as string, l[1] as string];

function binance(dir: string): BenchStream[] {
  const snaps = new Map<string, { id: number; bids: TextLevel[]; asks: TextLevel[] }>();
  const events = new Map<string, { u: number; bids: TextLevel[]; asks: TextLevel[] }[]>();
  for (const r of lines(join(dir, 'cryptofeed_BINANCE.books.jsonl'))) {
    if (r.t === 'http' && r.url !== undefined && r.data !== undefined) {
      const sym = /symbol=([A-Z0-9]+)/.exec(r.url)?.[1];
      const b = JSON.parse(r.data) as { lastUpdateId: number; bids: string[][]; asks: string[][] };
      if (sym !== undefined) snaps.set(sym, { id: b.lastUpdateId, bids: b.bids.map(pair), asks: b.asks.map(pair) });
    } else if (r.t === 'recv' && r.data !== undefined) {
      const m = JSON.parse(r.data) as { data?: { e?: string; s: string; u: number; b: string[][]; a: string[][] } };
      const d = m.data;
      if (d?.e !== 'depthUpdate') continue;
      const list = events.get(d.s) ?? [];
      list.push({ u: d.u, bids: d.b.map(pair), asks: d.a.map(pair) });
      events.set(d.s, list);
    }
  }
  const out: BenchStream[] = [];
  for (const [sym, snap] of snaps) {
    const deltas: BenchDelta[] = (events.get(sym) ?? []).filter((e) => e.u > snap.id);
    out.push({ name: `binance ${sym}`, snapshot: snap, deltas });
  }
  return out;
}

function bybit(dir: string): BenchStream[] {
  const books = new Map<string, { snapshot: { bids: TextLevel[]; asks: TextLevel[] }; deltas: BenchDelta[] }>();
  const out: BenchStream[] = [];
  for (const r of lines(join(dir, 'cryptofeed_BYBIT.books.jsonl'))) {
    if (r.t !== 'recv' || r.data === undefined) continue;
    const m = JSON.parse(r.data) as { topic?: string; type?: string; data?: { b: string[][]; a: string[][] } };
    if (m.topic?.startsWith('orderbook.') !== true || m.data === undefined) continue;
    const key = `bybit ${r.conn} ${m.topic}`;
    const bids = m.data.b.map(pair);
    const asks = m.data.a.map(pair);
    if (m.type === 'snapshot') {
      const prev = books.get(key);
      if (prev !== undefined) out.push({ name: key, ...prev });
      books.set(key, { snapshot: { bids, asks }, deltas: [] });
    } else {
      books.get(key)?.deltas.push({ bids, asks });
    }
  }
  for (const [name, b] of books) out.push({ name, ...b });
  return out;
}

function okx(dir: string): BenchStream[] {
  const books = new Map<string, { snapshot: { bids: TextLevel[]; asks: TextLevel[] }; deltas: BenchDelta[] }>();
  for (const r of lines(join(dir, 'cryptofeed_OKX.books.jsonl'))) {
    if (r.t !== 'recv' || r.data === undefined || !r.data.startsWith('{')) continue;
    const m = JSON.parse(r.data) as {
      arg?: { channel: string; instId: string };
      action?: string;
      data?: { bids: string[][]; asks: string[][] }[];
    };
    const d = m.data?.[0];
    if (m.arg?.channel !== 'books' || d === undefined) continue;
    const key = `okx ${m.arg.instId}`;
    const bids = d.bids.map(pair);
    const asks = d.asks.map(pair);
    if (m.action === 'snapshot') books.set(key, { snapshot: { bids, asks }, deltas: [] });
    else books.get(key)?.deltas.push({ bids, asks });
  }
  return [...books].map(([name, b]) => ({ name, ...b }));
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
