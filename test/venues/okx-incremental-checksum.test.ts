import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { OkxFeedHandler } from '../../src/venues/okx/index.ts';

// Random OKX pushes against a model of the venue's book: the handler's incremental checksum (which reads
// only the top positions the reported changes can reach) must agree with the checksum written out in
// full from the model on every frame, through deletes that pull deeper levels into the top 25, changes
// below the top, frames without a checksum in between, odd price texts and fresh (even empty) snapshots.

type Lv = [string, string, string, string];

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A price in cents as text: canonical, or sometimes with a trailing zero (`100.10`) as a venue might. */
function priceText(cents: number, odd: boolean): string {
  const int = Math.floor(cents / 100);
  const frac = cents % 100;
  if (frac === 0) return odd ? `${int}.0` : `${int}`;
  const f = frac.toString().padStart(2, '0');
  if (f.endsWith('0')) return odd ? `${int}.${f}` : `${int}.${f[0]}`;
  return `${int}.${f}`;
}

const SIZES = ['1', '0.5', '2.25', '0.010', '13', '0.00000001', '7.5'];

class Model {
  bids = new Map<number, [string, string]>();
  asks = new Map<number, [string, string]>();

  top(side: 'bids' | 'asks'): [string, string][] {
    const ks = [...this[side].keys()].sort((x, y) => (side === 'bids' ? y - x : x - y));
    return ks.slice(0, 25).map((k) => this[side].get(k) as [string, string]);
  }

  checksum(): number {
    const b = this.top('bids');
    const a = this.top('asks');
    const parts: string[] = [];
    for (let i = 0; i < Math.max(b.length, a.length); i++) {
      const bi = b[i];
      const ai = a[i];
      if (bi !== undefined) parts.push(`${bi[0]}:${bi[1]}`);
      if (ai !== undefined) parts.push(`${ai[0]}:${ai[1]}`);
    }
    return crc32(parts.join(':')) | 0;
  }
}

function frame(action: 'snapshot' | 'update', asks: Lv[], bids: Lv[], checksum: number, prev: number, seq: number) {
  return JSON.stringify({
    arg: { channel: 'books', instId: 'BTC-USDT' },
    action,
    data: [{ asks, bids, ts: '1', checksum, prevSeqId: prev, seqId: seq }],
  });
}

function only(h: OkxFeedHandler): TrackedBook {
  const all = [...h.books()];
  assert.equal(all.length, 1);
  return all[0] as TrackedBook;
}

/** Random levels for one side: mostly near the top (cents close to the touch), some deeper. */
function randomSide(r: () => number, m: Model, side: 'bids' | 'asks', count: number): Lv[] {
  const out: Lv[] = [];
  const seen = new Set<number>();
  const keys = [...m[side].keys()].sort((x, y) => (side === 'bids' ? y - x : x - y));
  for (let j = 0; j < count; j++) {
    let cents: number;
    const u = r();
    if (u < 0.45 && keys.length > 0) {
      cents = keys[Math.floor(r() * Math.min(30, keys.length))] as number; // an existing level near the top
    } else if (u < 0.6 && keys.length > 0) {
      cents = keys[Math.floor(r() * keys.length)] as number; // any existing level
    } else {
      const off = Math.floor(r() * (r() < 0.7 ? 40 : 400));
      cents = side === 'bids' ? 999_999 - off : 1_000_001 + off;
    }
    if (seen.has(cents)) continue;
    seen.add(cents);
    const del = m[side].has(cents) && r() < 0.4;
    const pt = priceText(cents, r() < 0.05);
    const sz = del ? '0' : (SIZES[Math.floor(r() * SIZES.length)] as string);
    if (del) m[side].delete(cents);
    else m[side].set(cents, [pt, sz]);
    out.push([pt, sz, '0', del ? '0' : '1']);
  }
  return out;
}

test('every random push verifies against the checksum written out in full from the venue book', () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const h = new OkxFeedHandler();
    let m = new Model();
    let seq = 100;
    let verified = 0;
    const snapshot = (levels: number) => {
      m = new Model();
      const asks = randomSide(r, m, 'asks', levels);
      const bids = randomSide(r, m, 'bids', levels);
      seq++;
      const sum = m.checksum();
      if (sum !== 0) verified++;
      h.onFrame('c', frame('snapshot', asks, bids, sum, -1, seq), seq);
    };
    snapshot(80);
    for (let i = 0; i < 1500; i++) {
      const u = r();
      if (u < 0.01) {
        snapshot(r() < 0.3 ? 0 : Math.floor(r() * 60));
        continue;
      }
      const asks = randomSide(r, m, 'asks', Math.floor(r() * 12));
      const bids = randomSide(r, m, 'bids', Math.floor(r() * 12));
      // Some frames carry no checksum (0): their changes must still count at the next verified one.
      const sum = r() < 0.2 ? 0 : m.checksum();
      h.onFrame('c', frame('update', asks, bids, sum, seq, seq + 1), seq + 1);
      seq++;
      const tb = only(h);
      assert.equal(tb.checksumFailures, 0, `seed ${seed} frame ${i}`);
      assert.equal(tb.status, 'in_sync');
      if (sum !== 0) verified++;
    }
    assert.ok(verified > 1000);
    assert.equal(only(h).checksumsVerified, verified);
  }
});

test('a push whose checksum disagrees with the book after many updates is caught, even for a change at the 25th level only', () => {
  const r = rng(7);
  const h = new OkxFeedHandler();
  const m = new Model();
  const asks = randomSide(r, m, 'asks', 200);
  const bids = randomSide(r, m, 'bids', 200);
  h.onFrame('c', frame('snapshot', asks, bids, m.checksum(), -1, 1), 1);
  let seq = 1;
  for (let i = 0; i < 50; i++) {
    const a = randomSide(r, m, 'asks', 8);
    const b = randomSide(r, m, 'bids', 8);
    h.onFrame('c', frame('update', a, b, m.checksum(), seq, seq + 1), seq + 1);
    seq++;
  }
  assert.equal(only(h).checksumFailures, 0);
  assert.ok(m.bids.size >= 25);
  // A change at the 25th bid only, with the checksum of the book before it: a mismatch.
  const before = m.checksum();
  const k25 = [...m.bids.keys()].sort((x, y) => y - x)[24] as number;
  const pt = (m.bids.get(k25) as [string, string])[0];
  h.onFrame('c', frame('update', [], [[pt, '999', '0', '1']], before, seq, seq + 1), seq + 1);
  assert.equal(only(h).checksumFailures, 1);
  assert.equal(only(h).status, 'stale');
});
