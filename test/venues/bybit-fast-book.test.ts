/**
 * The Bybit book frame scanner (src/venues/bybit/fast-book.ts) against the JSON.parse path (`parseFrame`
 * in wire.ts): on any text it either declines (undefined) or returns exactly the message `parseFrame`
 * returns; on the venue's layouts (random frames, the real capture) it does not decline.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanBookFrame } from '../../src/venues/bybit/fast-book.ts';
import { type BybitFrame, parseFrame } from '../../src/venues/bybit/wire.ts';
import { id, levels, mutate, mutations, plainString } from './frame-mutations.ts';
import { fixture } from './helpers.ts';

function reference(text: string): BybitFrame | 'threw' {
  try {
    return parseFrame(text);
  } catch {
    return 'threw';
  }
}

/** The scanner's answer is undefined or equal to the JSON.parse path's book message; returns whether it scanned. */
function agrees(text: string): boolean {
  const got = scanBookFrame(text);
  if (got === undefined) return false;
  const want = reference(text);
  assert.ok(want !== 'threw' && want.kind === 'book', `scanner accepted a frame parseFrame does not: ${text}`);
  assert.deepEqual(got, want.msg);
  return true;
}

interface Frame {
  readonly text: string;
  /** A valid book topic, every string escape-free: the scanner must accept it. */
  readonly plain: boolean;
}

const frame: fc.Arbitrary<Frame> = fc
  .record({
    depth: fc.oneof(fc.constantFrom(1, 50, 200, 500, 1000), fc.nat({ max: 3 }), fc.nat()),
    s: fc.oneof(fc.stringMatching(/^[A-Z0-9]{2,12}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.string()),
    type: fc.constantFrom('snapshot', 'delta'),
    tsFirst: fc.boolean(),
    cts: fc.boolean(),
    ts: id,
    u: id,
    seq: id,
    b: levels,
    a: levels,
  })
  .map((r) => {
    const topic = `orderbook.${r.depth}.${r.s}`;
    const data = { s: r.s, b: r.b, a: r.a, u: r.u, seq: r.seq };
    const head = r.tsFirst ? { topic, ts: r.ts, type: r.type } : { topic, type: r.type, ts: r.ts };
    const text = JSON.stringify(r.cts ? { ...head, data, cts: r.ts } : { ...head, data });
    const strings = [r.s, ...r.b.flat(), ...r.a.flat()];
    const plain = r.depth > 0 && /^[A-Za-z0-9_-]+$/.test(r.s) && strings.every(plainString);
    return { text, plain };
  });

test('on random Bybit book frames the scanner returns exactly the JSON.parse message, and accepts every plain one', () => {
  fc.assert(
    fc.property(frame, (f) => {
      const scanned = agrees(f.text);
      if (f.plain) assert.ok(scanned, `scanner declined a plain venue frame: ${f.text}`);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated Bybit book frames the scanner either declines or returns exactly the JSON.parse message', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(frame, mutations, (f, ms) => {
      if (agrees(mutate(f.text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the Bybit scanner declines what the JSON.parse path must judge', () => {
  const ok =
    '{"topic":"orderbook.50.BTCUSDT","ts":1,"type":"delta","data":{"s":"BTCUSDT","b":[["1.5","2"]],"a":[],"u":7,"seq":9},"cts":1}';
  assert.ok(agrees(ok));
  const declined = [
    ok.replace('"s":"BTCUSDT"', '"s":"ETHUSDT"'), // symbol does not match the topic
    ok.replace('orderbook.50.', 'orderbook.0.'), // depth 0
    ok.replace('"type":"delta"', '"type":"update"'),
    ok.replace('"u":7', '"u":-7'),
    ok.replace('"1.5"', '"1\\u002e5"'),
    ok.replace('"a":[],', '"a":[], '),
    ok.replace('"seq":9}', '"seq":9,"x":1}'),
    ok.replace('orderbook.50.BTCUSDT', 'publicTrade.BTCUSDT'),
    `${ok}\n`,
  ];
  for (const t of declined) assert.equal(scanBookFrame(t), undefined, t);
});

test('every book frame of the real Bybit capture is scanned to the JSON.parse message', (t) => {
  const p = fixture('bybit/cryptofeed_BYBIT.books.jsonl');
  if (p === undefined) return t.skip('../shared/fixtures absent');
  let scanned = 0;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line) as { t: string; data?: string };
    if (rec.t !== 'recv' || rec.data === undefined) continue;
    if (agrees(rec.data)) scanned++;
    else {
      const r = reference(rec.data);
      assert.ok(r === 'threw' || r.kind !== 'book', `declined a capture book frame: ${rec.data.slice(0, 200)}`);
    }
  }
  assert.equal(scanned, 2148);
});
