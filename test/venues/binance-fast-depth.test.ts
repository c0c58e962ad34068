/**
 * The Binance depth frame scanner (src/venues/binance/fast-depth.ts) against the JSON.parse path
 * (`parseFrame` in wire.ts): on any text it either declines (undefined) or returns exactly the event
 * `parseFrame` returns; on the venue's layout (random frames, real captures) it does not decline.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanDepthFrame } from '../../src/venues/binance/fast-depth.ts';
import { type BinanceFrame, parseFrame } from '../../src/venues/binance/wire.ts';
import { id, levels, mutate, mutations, plainString } from './frame-mutations.ts';
import { fixture } from './helpers.ts';

function reference(text: string, futures: boolean): BinanceFrame | 'threw' {
  try {
    return parseFrame(text, futures);
  } catch {
    return 'threw';
  }
}

/** The scanner's answer is undefined or equal to the JSON.parse path's depth event; returns whether it scanned. */
function agrees(text: string, futures: boolean): boolean {
  const got = scanDepthFrame(text, futures);
  if (got === undefined) return false;
  const want = reference(text, futures);
  assert.ok(want !== 'threw' && want.kind === 'depth', `scanner accepted a frame parseFrame does not: ${text}`);
  assert.deepEqual(got, want.event);
  return true;
}

// ---- generators ----------------------------------------------------------------------------------------

const symbol = fc.oneof(fc.stringMatching(/^[A-Z0-9]{1,12}$/), fc.stringMatching(/^[a-z]{1,8}$/), fc.string());

interface Frame {
  readonly text: string;
  readonly futures: boolean;
  /** A depth stream, every string escape-free, non-empty symbol, u >= U: the scanner must accept it. */
  readonly plain: boolean;
}

const frame: fc.Arbitrary<Frame> = fc
  .record({
    futures: fc.boolean(),
    combined: fc.boolean(),
    stream: fc.constantFrom('@depth@100ms', '@depth', '@depth@1000ms', '@depth@500ms'),
    s: symbol,
    E: id,
    T: id,
    U: id,
    n: fc.nat({ max: 1000 }),
    pu: id,
    b: levels,
    a: levels,
  })
  .map((r) => {
    const u = Math.min(r.U + r.n, Number.MAX_SAFE_INTEGER);
    const data = r.futures
      ? { e: 'depthUpdate', E: r.E, T: r.T, s: r.s, U: r.U, u, pu: r.pu, b: r.b, a: r.a }
      : { e: 'depthUpdate', E: r.E, s: r.s, U: r.U, u, b: r.b, a: r.a };
    const text = JSON.stringify(r.combined ? { stream: `${r.s.toLowerCase()}${r.stream}`, data } : data);
    const strings = [r.s, ...r.b.flat(), ...r.a.flat()];
    // A symbol with '@' makes the combined stream name another stream type (parseFrame: not depth).
    const depthName = !r.combined || !r.s.includes('@');
    const plain = r.s !== '' && depthName && strings.every(plainString);
    return { text, futures: r.futures, plain };
  });

// ---- properties ------------------------------------------------------------------------------------------

test('on random depth frames the scanner returns exactly the JSON.parse event, and accepts every escape-free one', () => {
  fc.assert(
    fc.property(frame, (f) => {
      const scanned = agrees(f.text, f.futures);
      if (f.plain) assert.ok(scanned, `scanner declined a plain venue frame: ${f.text}`);
      // The other market's layout (spot frame on the USD-M handler and back) is left to the JSON.parse path.
      agrees(f.text, !f.futures);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated depth frames the scanner either declines or returns exactly the JSON.parse event', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(frame, mutations, (f, ms) => {
      const text = mutate(f.text, ms);
      if (agrees(text, f.futures)) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  // Both outcomes must occur, or the property says nothing (mutated digits are still valid frames).
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the scanner declines what the JSON.parse path must judge: whitespace, escapes, reordered keys, bad ids', () => {
  const ok =
    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":6,"b":[["1.5","2"]],"a":[]}}';
  assert.ok(agrees(ok, false));
  const declined = [
    ok.replace('"E":1,', '"E":1, '), // whitespace
    ok.replace('"1.5"', '"1\\u002e5"'), // an escape JSON.parse would decode
    ok.replace('"U":5,"u":6', '"u":6,"U":5'), // key order
    ok.replace('"U":5', '"U":05'), // leading zero: not JSON
    ok.replace('"U":5', '"U":5.0'), // not a plain integer
    ok.replace('"U":5', '"U":7'), // u < U: parseFrame reports it
    ok.replace('"U":5', `"U":${2 ** 53}`), // not a safe integer
    ok.replace('"s":"BTCUSDT"', '"s":""'), // empty symbol
    ok.replace('"e":"depthUpdate"', '"e":"trade"'),
    ok.replace('@depth@100ms', '@aggTrade'), // another stream: parseFrame ignores it
    ok.replace('["1.5","2"]', '["1.5","2","x"]'), // a third level field
    ok.replace('"a":[]', '"a":[],"x":1'), // an extra key
    `${ok} `,
    ok.slice(0, -1),
  ];
  for (const t of declined) assert.equal(scanDepthFrame(t, false), undefined, t);
  // The raw /ws form (no wrapper) is scanned too.
  assert.ok(agrees(JSON.stringify(JSON.parse(ok).data), false));
});

test('every depth frame of the real Binance spot and USD-M captures is scanned to the JSON.parse event', (t) => {
  for (const [rel, futures, frames] of [
    ['binance/cryptofeed_BINANCE.books.jsonl', false, 177],
    ['binance_futures/cryptofeed_BINANCE_FUTURES.books.jsonl', true, 764],
  ] as const) {
    const p = fixture(rel);
    if (p === undefined) return t.skip('../shared/fixtures absent');
    let scanned = 0;
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (line === '') continue;
      const rec = JSON.parse(line) as { t: string; data?: string };
      if (rec.t !== 'recv' || rec.data === undefined) continue;
      if (agrees(rec.data, futures)) scanned++;
      else {
        const r = reference(rec.data, futures);
        assert.ok(r === 'threw' || r.kind !== 'depth', `declined a capture depth frame: ${rec.data}`);
      }
    }
    assert.equal(scanned, frames, rel);
  }
});
