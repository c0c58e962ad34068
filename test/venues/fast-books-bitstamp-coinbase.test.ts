/**
 * The Bitstamp and Coinbase frame scanners (src/venues/{bitstamp,coinbase}/fast-book.ts) return exactly
 * what the JSON.parse path (`parseFrame`) returns for the frames they accept, accept the venues' real
 * book frames, and decline anything outside the exact layout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { scanBitstampDiff } from '../../src/venues/bitstamp/fast-book.ts';
import { parseFrame as parseBitstamp } from '../../src/venues/bitstamp/wire.ts';
import { scanCoinbaseL2 } from '../../src/venues/coinbase/fast-book.ts';
import { parseFrame as parseCoinbase } from '../../src/venues/coinbase/wire.ts';
import { fixture } from './helpers.ts';

/** The `data` of the capture's received frames. */
function received(rel: string): string[] | undefined {
  const p = fixture(rel);
  if (p === undefined) return undefined;
  const raw = readFileSync(p);
  const text = (p.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { t: string; data?: string };
    if (r.t === 'recv' && r.data !== undefined) out.push(r.data);
  }
  return out;
}

/** Plain copies (levels as two-element arrays), so scanner slices and parsed strings compare by value. */
const plain = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? [...(x as unknown as number[])] : x)));

test('bitstamp: every real diff frame is scanned, to exactly the diff the JSON.parse path gives', (t) => {
  const frames = received('bitstamp/cryptofeed_BITSTAMP.books.jsonl');
  if (frames === undefined) return t.skip('../shared/fixtures absent');
  let diffs = 0;
  for (const f of frames) {
    const slow = parseBitstamp(f);
    const fast = scanBitstampDiff(f);
    if (slow.kind !== 'diff') {
      assert.equal(fast, undefined, f.slice(0, 120));
      continue;
    }
    diffs++;
    assert.ok(fast !== undefined, `declined a real diff: ${f.slice(0, 120)}`);
    assert.deepEqual(plain(fast), plain(slow.diff));
  }
  assert.ok(diffs > 100, `only ${diffs} diffs in the capture`);
});

test('bitstamp: the scanner declines frames outside the exact layout or with values the JSON.parse path must judge', () => {
  const ok =
    '{"data":{"timestamp":"1","microtimestamp":"1000001","bids":[["1.5","2"]],"asks":[]},"channel":"diff_order_book_btcusd","event":"data"}';
  assert.deepEqual(plain(scanBitstampDiff(ok)), { pair: 'btcusd', micros: 1000001, bids: [['1.5', '2']], asks: [] });
  for (const bad of [
    ok.replace('{"data"', '{ "data"'),
    ok.replace('"1000001"', '"10a1"'),
    ok.replace('"1000001"', '""'),
    ok.replace('"1000001"', '"99999999999999999"'),
    ok.replace('"1000001"', '1000001'),
    ok.replace('btcusd', 'BTCUSD'),
    ok.replace('diff_order_book_btcusd', 'diff_order_book_'),
    ok.replace('"event":"data"', '"event":"trade"'),
    ok.replace('["1.5","2"]', '["1.5",2]'),
    ok.replace('["1.5","2"]', '["1\\u002e5","2"]'),
    `${ok} `,
  ]) {
    assert.equal(scanBitstampDiff(bad), undefined, bad);
  }
});

test('coinbase: every real l2_data frame is scanned, to exactly the frame the JSON.parse path gives', (t) => {
  const frames = received('coinbase/cryptofeed_COINBASE.jsonl.gz');
  if (frames === undefined) return t.skip('../shared/fixtures absent');
  let l2 = 0;
  for (const f of frames) {
    let slow: ReturnType<typeof parseCoinbase> | undefined;
    try {
      slow = parseCoinbase(f);
    } catch {
      slow = undefined;
    }
    const fast = scanCoinbaseL2(f);
    if (slow === undefined || slow.kind !== 'advanced' || slow.channel !== 'l2_data') {
      assert.equal(fast, undefined, f.slice(0, 120));
      continue;
    }
    l2++;
    assert.ok(fast !== undefined, `declined a real l2_data frame: ${f.slice(0, 120)}`);
    assert.deepEqual(plain(fast), plain(slow));
  }
  assert.ok(l2 > 100, `only ${l2} l2_data frames in the capture`);
});

test('coinbase: the scanner declines frames outside the exact layout or with values the JSON.parse path must judge', () => {
  const ok =
    '{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.5Z","sequence_num":14,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t","price_level":"65062.5","new_quantity":"0.00583"},{"side":"offer","event_time":"t","price_level":"65070","new_quantity":"0"}]}]}';
  assert.deepEqual(plain(scanCoinbaseL2(ok)), plain(parseCoinbase(ok)));
  for (const bad of [
    ok.replace('{"channel"', '{ "channel"'),
    ok.replace('"sequence_num":14', '"sequence_num":-1'),
    ok.replace('"sequence_num":14', '"sequence_num":1.5'),
    ok.replace('"sequence_num":14', '"sequence_num":"14"'),
    ok.replace('"BTC-USD"', '""'),
    ok.replace('"side":"offer"', '"side":"ask"'),
    ok.replace('"type":"update"', '"type":"l2update"'),
    ok.replace('"0.00583"', '0.00583'),
    ok.replace('"0.00583"', '"0.0\\u0030583"'),
    `${ok}\n`,
  ]) {
    assert.equal(scanCoinbaseL2(bad), undefined, bad);
  }
});
