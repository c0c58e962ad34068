/**
 * The venues' frame scanners (src/venues/{okx,kraken,bitfinex,bybit,bitstamp,coinbase}/fast-book.ts) change only speed:
 * a handler fed a session's frames as the venue writes them (scanned) ends with exactly the books, book
 * reports, counters and typed errors of a handler fed the same frames with one space after their first
 * character, which every scanner declines and JSON.parse accepts (the validating path). Sessions are the
 * ingestion benchmark's synthetic streams (real checksums and sequence chains) with random frames
 * randomly mutated, and the real captures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { type Ev, SYNTHETIC } from '../../bench/lib/ingest-frames.ts';
import type { QobError } from '../../src/core/errors.ts';
import type { VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { venueById } from '../../src/venues/index.ts';
import { type Mutation, mutate, mutations } from './frame-mutations.ts';
import { fixture } from './helpers.ts';

interface Outcome {
  readonly errors: string[];
  readonly counters: unknown;
  readonly books: unknown[];
}

/** One space after the first character: valid JSON still, but outside every scanner's layout. */
function respace(text: string): string {
  return text.length === 0 ? text : `${text[0]} ${text.slice(1)}`;
}

function run(venue: string, events: readonly Ev[], frame: (data: string, i: number) => string): Outcome {
  const errors: string[] = [];
  const reg = venueById(venue);
  assert.ok(reg !== undefined, venue);
  const h: VenueFeedHandler = reg.createFeedHandler({
    onBadFrame: (e: QobError) => {
      // JSON.parse's own message names a position, which the extra space moves: compare its code only.
      errors.push(e.message.includes('not JSON') ? e.code : `${e.code} ${e.message}`);
    },
  });
  events.forEach((ev, i) => {
    if (ev.k === 'recv') h.onFrame(ev.conn, frame(ev.data, i), ev.tsMs);
    else if (ev.k === 'connect') h.onConnect(ev.conn, ev.url, ev.tsMs);
    else if (ev.k === 'send') h.onSend(ev.conn, ev.data, ev.tsMs);
    else h.onHttp(ev.url, ev.data, ev.tsMs);
  });
  const books = [...h.books()].map((tb) => {
    const raw = (side: 'bid' | 'ask') => {
      const s = tb.book.side(side);
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) out.push(`${s.priceAt(i)} ${s.sizeAt(i)}`);
      return out;
    };
    return { report: tb.report(), scale: tb.book.priceScale, bids: raw('bid'), asks: raw('ask') };
  });
  return { errors, counters: { ...h.counters }, books };
}

function assertSame(venue: string, events: readonly Ev[], frame: (data: string, i: number) => string): Outcome {
  const fast = run(venue, events, frame);
  const slow = run(venue, events, (d, i) => respace(frame(d, i)));
  assert.deepEqual(fast, slow);
  return fast;
}

const VENUES = ['okx', 'kraken', 'bitfinex', 'bybit', 'bitstamp', 'coinbase'] as const;

for (const venue of VENUES) {
  test(`${venue}: scanned and JSON.parse'd frames give the same books, reports, counters and errors on a valid stream`, () => {
    const w = (SYNTHETIC[venue] as (o: { seed: number; frames: number }) => { events: readonly Ev[] })({
      seed: 7,
      frames: 300,
    });
    const out = assertSame(venue, w.events, (d) => d);
    assert.equal(out.errors.length, 0, out.errors.join('\n'));
    assert.ok(out.books.length > 0);
  });

  test(`${venue}: on randomly mutated frames both paths give the same books, reports, counters and typed errors`, () => {
    let sawErrors = false;
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        fc.array(fc.tuple(fc.nat(), mutations), { minLength: 1, maxLength: 6 }),
        (seed, hits) => {
          const w = (SYNTHETIC[venue] as (o: { seed: number; frames: number }) => { events: readonly Ev[] })({
            seed,
            frames: 40,
          });
          const n = w.events.length;
          const byIndex = new Map<number, readonly Mutation[]>();
          for (const [at, ms] of hits) byIndex.set(at % n, ms);
          const out = assertSame(venue, w.events, (d, i) => {
            const ms = byIndex.get(i);
            return ms === undefined ? d : mutate(d, ms);
          });
          if (out.errors.length > 0) sawErrors = true;
        },
      ),
      { numRuns: 60 },
    );
    assert.ok(sawErrors, 'no mutation produced an error: the property did not test error equality');
  });
}

/** The synthetic Kraken v1 session rewritten as WS v2 `book` messages (the same levels, text and checksums). */
function krakenV2Session(seed: number, frames: number): Ev[] {
  const w = (SYNTHETIC.kraken as (o: { seed: number; frames: number }) => { events: readonly Ev[] })({ seed, frames });
  const lv = (ls: unknown) => `[${((ls ?? []) as string[][]).map((l) => `{"price":${l[0]},"qty":${l[1]}}`).join(',')}]`;
  const out: Ev[] = [];
  for (const ev of w.events) {
    if (ev.k === 'send') {
      const data = JSON.stringify({
        method: 'subscribe',
        params: { channel: 'book', symbol: ['XBT/USD'], depth: 100 },
      });
      out.push({ ...ev, data });
      continue;
    }
    if (ev.k !== 'recv' || !ev.data.startsWith('[')) {
      if (ev.k !== 'recv') out.push(ev);
      continue;
    }
    const a = JSON.parse(ev.data) as unknown[];
    const parts = a.slice(1, -2) as Record<string, unknown>[];
    const snapshot = parts[0]?.as !== undefined;
    const asks = snapshot ? parts[0]?.as : parts.flatMap((p) => (p.a ?? []) as unknown[]);
    const bids = snapshot ? parts[0]?.bs : parts.flatMap((p) => (p.b ?? []) as unknown[]);
    const c = parts.find((p) => p.c !== undefined)?.c;
    const cs = c === undefined ? '' : `,"checksum":${c}`;
    const type = snapshot ? 'snapshot' : 'update';
    const data = `{"channel":"book","type":"${type}","data":[{"symbol":"XBT/USD","bids":${lv(bids)},"asks":${lv(asks)}${cs}}]}`;
    out.push({ ...ev, data });
  }
  return out;
}

test('kraken v2: scanned and lossless-parsed book messages give the same books, reports, counters and errors', () => {
  const out = assertSame('kraken', krakenV2Session(11, 200), (d) => d);
  assert.equal(out.errors.length, 0, out.errors.join('\n'));
  const report = (out.books[0] as { report: { checksumsVerified: number; status: string } }).report;
  assert.equal(report.status, 'in_sync');
  assert.ok(report.checksumsVerified > 150, String(report.checksumsVerified));
});

test('kraken v2: on randomly mutated messages both paths give the same books, reports, counters and typed errors', () => {
  let sawErrors = false;
  fc.assert(
    fc.property(
      fc.nat({ max: 1000 }),
      fc.array(fc.tuple(fc.nat(), mutations), { minLength: 1, maxLength: 6 }),
      (seed, hits) => {
        const events = krakenV2Session(seed, 40);
        const byIndex = new Map<number, readonly Mutation[]>();
        for (const [at, ms] of hits) byIndex.set(at % events.length, ms);
        const out = assertSame('kraken', events, (d, i) => {
          const ms = byIndex.get(i);
          return ms === undefined ? d : mutate(d, ms);
        });
        if (out.errors.length > 0) sawErrors = true;
      },
    ),
    { numRuns: 60 },
  );
  assert.ok(sawErrors, 'no mutation produced an error: the property did not test error equality');
});

const CAPTURES: readonly (readonly [string, string])[] = [
  ['okx', 'okx/cryptofeed_OKX.books.jsonl'],
  ['kraken', 'kraken/cryptofeed_KRAKEN.books.jsonl'],
  ['bitfinex', 'bitfinex/cryptofeed_BITFINEX.jsonl'],
  ['bybit', 'bybit/cryptofeed_BYBIT.books.jsonl'],
  ['bitstamp', 'bitstamp/cryptofeed_BITSTAMP.books.jsonl'],
  ['coinbase', 'coinbase/cryptofeed_COINBASE.jsonl.gz'],
];

for (const [venue, rel] of CAPTURES) {
  test(`${venue}: on the real capture both paths give the same books, reports, counters and errors`, (t) => {
    const p = fixture(rel);
    if (p === undefined) return t.skip('../shared/fixtures absent');
    const events: Ev[] = [];
    const raw = readFileSync(p);
    const text = (p.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as {
        t: string;
        conn?: string;
        ts?: number;
        url?: string;
        addr?: string;
        data?: string;
      };
      const k = r.t === 'recv' || r.t === 'send' || r.t === 'http' || r.t === 'connect' ? r.t : undefined;
      if (k === undefined) continue;
      const url = (k === 'connect' ? r.addr : r.url) ?? '';
      events.push({
        k,
        conn: r.conn ?? '',
        url,
        data: r.data ?? '',
        tsMs: (r.ts ?? 0) * 1000,
        levels: 0,
        timed: false,
      });
    }
    const out = assertSame(venue, events, (d) => d);
    assert.ok(out.books.length > 0);
  });
}
