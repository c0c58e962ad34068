/**
 * The OKX, Kraken v1 and v2, and Bitfinex frame scanners (src/venues/{okx,kraken,bitfinex}/fast-book.ts) against
 * their JSON.parse paths (wire.ts): on any text a scanner either declines (undefined) or returns exactly
 * the message the JSON.parse path returns (levels compared on their price and size, the fields the book
 * reads); on the venues' own layouts it does not decline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BitfinexSmallFrame,
  SMALL_CHECKSUM,
  SMALL_HEARTBEAT,
  SMALL_UPDATE,
  scanBitfinexBookFrame,
  scanBitfinexSmallFrame,
} from '../../src/venues/bitfinex/fast-book.ts';
import { parseBookBody, parseChannelFrame } from '../../src/venues/bitfinex/wire.ts';
import { scanKrakenV1Book, scanKrakenV2Book } from '../../src/venues/kraken/fast-book.ts';
import { parseLossless, parseV1ChannelFrame, parseV2Book } from '../../src/venues/kraken/wire.ts';
import { scanOkxBookPush } from '../../src/venues/okx/fast-book.ts';
import { isRecord, OKX_BOOK_CHANNELS, parseBookPush } from '../../src/venues/okx/wire.ts';
import { id, levels, mutate, mutations, plainString } from './frame-mutations.ts';

type Levels = readonly (readonly string[])[];
const two = (ls: Levels) => ls.map((l) => [l[0], l[1]]);

function attempt<T>(f: () => T): T | 'threw' {
  try {
    return f();
  } catch {
    return 'threw';
  }
}

// ---- OKX -------------------------------------------------------------------------------------------

function okxReference(text: string) {
  return attempt(() => {
    const o: unknown = JSON.parse(text);
    if (!isRecord(o) || !isRecord(o.arg) || typeof o.arg.channel !== 'string') return undefined;
    if (!OKX_BOOK_CHANNELS.has(o.arg.channel)) return undefined;
    return parseBookPush(o, o.arg);
  });
}

function okxAgrees(text: string): boolean {
  const got = scanOkxBookPush(text);
  if (got === undefined) return false;
  const want = okxReference(text);
  assert.ok(want !== 'threw' && want !== undefined, `scanner accepted a frame the JSON.parse path does not: ${text}`);
  const norm = (p: NonNullable<typeof got>) => ({
    ...p,
    data: p.data.map((d) => ({ ...d, asks: two(d.asks), bids: two(d.bids) })),
  });
  assert.deepEqual(norm(got), norm(want));
  return true;
}

const okxLevels = fc.array(
  fc.tuple(
    levels.map((ls) => ls[0] ?? ['1', '2']),
    fc.array(fc.stringMatching(/^[0-9]{1,3}$/), { maxLength: 3 }),
  ),
  { maxLength: 20 },
);
const okxFrame = fc
  .record({
    channel: fc.oneof(fc.constantFrom(...OKX_BOOK_CHANNELS), fc.string({ maxLength: 8 })),
    instId: fc.oneof(fc.stringMatching(/^[A-Z]{2,5}-[A-Z]{2,5}(-SWAP)?$/), fc.string({ maxLength: 6 })),
    action: fc.constantFrom('snapshot', 'update'),
    asks: okxLevels,
    bids: okxLevels,
    checksum: fc.option(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { nil: undefined }),
    seq: fc.option(fc.tuple(fc.integer({ min: -1, max: 2 ** 40 }), id), { nil: undefined }),
  })
  .map((r) => {
    const lv = (ls: typeof r.asks) => ls.map(([l, extra]) => [l[0], l[1], ...extra]);
    const d: Record<string, unknown> = { asks: lv(r.asks), bids: lv(r.bids), ts: '1700000000000' };
    if (r.checksum !== undefined) d.checksum = r.checksum;
    if (r.seq !== undefined) {
      d.prevSeqId = r.seq[0];
      d.seqId = r.seq[1];
    }
    const text = JSON.stringify({ arg: { channel: r.channel, instId: r.instId }, action: r.action, data: [d] });
    const strings = [r.channel, r.instId, ...r.asks.flatMap(([l]) => l), ...r.bids.flatMap(([l]) => l)];
    const plain = OKX_BOOK_CHANNELS.has(r.channel) && r.instId !== '' && strings.every(plainString);
    return { text, plain };
  });

test('on random OKX book pushes the scanner returns exactly the JSON.parse push, and accepts every plain one', () => {
  fc.assert(
    fc.property(okxFrame, (f) => {
      const scanned = okxAgrees(f.text);
      if (f.plain) assert.ok(scanned, `scanner declined a plain venue frame: ${f.text}`);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated OKX book pushes the scanner either declines or returns exactly the JSON.parse push', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(okxFrame, mutations, (f, ms) => {
      if (okxAgrees(mutate(f.text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the OKX scanner declines what the JSON.parse path must judge', () => {
  const ok =
    '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["1.5","2","0","1"]],"bids":[],"ts":"1","checksum":-5,"prevSeqId":1,"seqId":2}]}';
  assert.ok(okxAgrees(ok));
  const declined = [
    ok.replace('"books"', '"trades"'),
    ok.replace('"BTC-USDT"', '""'),
    ok.replace('"update"', '"partial"'),
    ok.replace('"checksum":-5', '"checksum":-0'),
    ok.replace('"checksum":-5', '"checksum":2147483648'),
    ok.replace('"seqId":2', '"seqId":2.5'),
    ok.replace('"1.5"', '"1\\u002e5"'),
    ok.replace('"1","checksum"', '1,"checksum"'),
    ok.replace('["1.5","2","0","1"]', '["1.5"]'),
    ok.replace('"asks":', '"asks" :'),
    `${ok} `,
  ];
  for (const t of declined) assert.equal(scanOkxBookPush(t), undefined, t);
});

// ---- Kraken v1 ---------------------------------------------------------------------------------------

function krakenReference(text: string) {
  return attempt(() => {
    const a: unknown = JSON.parse(text);
    if (!Array.isArray(a)) return undefined;
    return parseV1ChannelFrame(a);
  });
}

function krakenAgrees(text: string): boolean {
  const got = scanKrakenV1Book(text);
  if (got === undefined) return false;
  const want = krakenReference(text);
  assert.ok(want !== 'threw' && want !== undefined, `scanner accepted a frame the JSON.parse path does not: ${text}`);
  const norm = (f: NonNullable<typeof got>) => ({ ...f, asks: two(f.asks), bids: two(f.bids) });
  assert.deepEqual(norm(got), norm(want));
  return true;
}

const krakenLevels = fc.array(
  fc
    .tuple(
      levels.map((ls) => ls[0] ?? ['1', '2']),
      fc.boolean(),
    )
    .map(([l, r]) => (r ? [l[0], l[1], '1618678133.881512', 'r'] : [l[0], l[1], '1618678133.881512'])),
  { maxLength: 12 },
);
const krakenFrame = fc
  .record({
    chan: fc.nat({ max: 100_000 }),
    kind: fc.constantFrom('snapshot', 'a', 'b', 'ab', 'a+b'),
    asks: krakenLevels,
    bids: krakenLevels,
    checksum: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
    name: fc.oneof(fc.constantFrom('book-10', 'book-100', 'book-1000'), fc.string({ maxLength: 8 })),
    pair: fc.oneof(fc.stringMatching(/^[A-Z]{3,4}\/[A-Z]{3}$/), fc.string({ maxLength: 6 })),
  })
  .map((r) => {
    const c = r.checksum === undefined ? {} : { c: String(r.checksum) };
    const body =
      r.kind === 'snapshot'
        ? [{ as: r.asks, bs: r.bids }]
        : r.kind === 'a'
          ? [{ a: r.asks, ...c }]
          : r.kind === 'b'
            ? [{ b: r.bids, ...c }]
            : r.kind === 'ab'
              ? [{ a: r.asks, b: r.bids, ...c }]
              : [{ a: r.asks }, { b: r.bids, ...c }];
    const text = JSON.stringify([r.chan, ...body, r.name, r.pair]);
    const strings: string[] = [r.name, r.pair];
    for (const l of [...r.asks, ...r.bids]) strings.push(...(l as string[]));
    const plain = r.name.startsWith('book') && strings.every(plainString);
    return { text, plain };
  });

test('on random Kraken v1 book frames the scanner returns exactly the JSON.parse frame, and accepts every plain one', () => {
  fc.assert(
    fc.property(krakenFrame, (f) => {
      const scanned = krakenAgrees(f.text);
      if (f.plain) assert.ok(scanned, `scanner declined a plain venue frame: ${f.text}`);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated Kraken v1 book frames the scanner either declines or returns exactly the JSON.parse frame', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(krakenFrame, mutations, (f, ms) => {
      if (krakenAgrees(mutate(f.text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the Kraken v1 scanner declines what the JSON.parse path must judge', () => {
  const ok = '[336,{"a":[["1.50000","2.00000000","1618678133.881512"]],"c":"123"},"book-10","XBT/USD"]';
  assert.ok(krakenAgrees(ok));
  const declined = [
    ok.replace('"book-10"', '"trade"'),
    ok.replace('"c":"123"', '"c":"4294967296"'),
    ok.replace('"c":"123"', '"c":123'),
    ok.replace('"c":"123"', '"c":""'),
    ok.replace('{"a":[["1.50000","2.00000000","1618678133.881512"]],', '{'),
    ok.replace('336', '-336'),
    ok.replace('"1.50000"', '1.5'),
    ok.replace(',"book-10"', ',{"b":[]},{"a":[]},"book-10"'),
    ok.replace('[336,', '[336, '),
    `${ok}\n`,
  ];
  for (const t of declined) assert.equal(scanKrakenV1Book(t), undefined, t);
});

// ---- Bitfinex -------------------------------------------------------------------------------------------

function bitfinexReference(text: string, seqAll: boolean) {
  return attempt(() => {
    const a: unknown = JSON.parse(text);
    if (!Array.isArray(a)) return undefined;
    const f = parseChannelFrame(a, seqAll);
    return { chanId: f.chanId, seq: f.seq, body: parseBookBody(a, f.end) };
  });
}

/** The small-frame scanner reads exactly the updates, checksums and heartbeats the book scanner returns. */
function bitfinexSmallAgrees(text: string, seqAll: boolean): void {
  const book = scanBitfinexBookFrame(text, seqAll);
  const f = new BitfinexSmallFrame();
  const ok = scanBitfinexSmallFrame(text, seqAll, f);
  if (book === undefined || book.body.kind === 'snapshot') {
    assert.equal(ok, false, `small scanner accepted ${text}`);
    return;
  }
  assert.ok(ok, `small scanner declined ${text}`);
  assert.equal(f.chanId, book.chanId);
  assert.equal(Number.isNaN(f.seq) ? undefined : f.seq, book.seq);
  const b = book.body;
  if (b.kind === 'update') {
    assert.equal(f.kind, SMALL_UPDATE);
    assert.deepEqual({ price: f.price, count: f.count, amount: f.amount }, b.entry);
  } else if (b.kind === 'checksum') {
    assert.equal(f.kind, SMALL_CHECKSUM);
    assert.equal(f.checksum, b.checksum);
  } else {
    assert.equal(f.kind, SMALL_HEARTBEAT);
  }
}

function bitfinexAgrees(text: string, seqAll: boolean): boolean {
  bitfinexSmallAgrees(text, seqAll);
  const got = scanBitfinexBookFrame(text, seqAll);
  if (got === undefined) return false;
  const want = bitfinexReference(text, seqAll);
  assert.ok(want !== 'threw' && want !== undefined, `scanner accepted a frame the JSON.parse path does not: ${text}`);
  assert.deepEqual(got, want);
  return true;
}

/** Doubles as venues write them: short decimals, tiny and huge values, integers, negative amounts. */
const num = fc.oneof(
  fc.integer({ min: 1, max: 10_000_000 }).map((n) => n / 10 ** (n % 9)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
);
const entry = fc.tuple(num, fc.nat({ max: 50 }), num);
const bitfinexFrame = fc
  .record({
    chan: fc.nat({ max: 1_000_000 }),
    kind: fc.constantFrom('update', 'snapshot', 'cs', 'hb'),
    entry,
    entries: fc.array(entry, { maxLength: 30 }),
    cs: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    seq: fc.integer({ min: 0, max: 2 ** 40 }),
    seqAll: fc.boolean(),
  })
  .map((r) => {
    const body =
      r.kind === 'update' ? [r.entry] : r.kind === 'snapshot' ? [r.entries] : r.kind === 'cs' ? ['cs', r.cs] : ['hb'];
    const text = JSON.stringify([r.chan, ...body, ...(r.seqAll ? [r.seq] : [])]);
    return { text, seqAll: r.seqAll };
  });

test('on random Bitfinex book frames the scanner returns exactly the JSON.parse body, including String(n) number text', () => {
  let scanned = 0;
  fc.assert(
    fc.property(bitfinexFrame, (f) => {
      if (bitfinexAgrees(f.text, f.seqAll)) scanned++;
    }),
    { numRuns: 2000 },
  );
  assert.ok(scanned > 1000, `scanned ${scanned} of 2000`);
});

test('on randomly mutated Bitfinex book frames the scanner either declines or returns exactly the JSON.parse body', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(bitfinexFrame, mutations, (f, ms) => {
      if (bitfinexAgrees(mutate(f.text, ms), f.seqAll)) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the Bitfinex scanner keeps a number text only when it is String(n), and declines what the JSON.parse path must judge', () => {
  assert.ok(bitfinexAgrees('[1,[65000.1,3,-0.5],9]', true));
  assert.ok(bitfinexAgrees('[1,[0.000001,1,100],9]', true));
  const declined = [
    '[1,[65000.10,3,-0.5],9]', // String(65000.1) is 65000.1
    '[1,[1e5,3,-0.5],9]',
    '[1,[0.0000001,3,1],9]', // String writes 1e-7
    '[1,[65000.1,3,0],9]', // amount zero
    '[1,[65000.1,3,-0],9]',
    '[1,[65000.1,3.5,1],9]',
    '[1,[65000.1,-3,1],9]',
    '[1,[1.2345678901234567,3,1],9]', // more than 15 significant digits
    '[1,[65000.1,3,1]]', // sequence number missing
    '[1,"cs",2147483648,9]',
    '[1,"te",[1,2,3,4],9]',
    '[1,[65000.1,3,1,7],9]',
  ];
  for (const t of declined) {
    assert.equal(scanBitfinexBookFrame(t, true), undefined, t);
    assert.equal(scanBitfinexSmallFrame(t, true, new BitfinexSmallFrame()), false, t);
  }
});

// ---- Kraken v2 ---------------------------------------------------------------------------------------

function krakenV2Reference(text: string) {
  return attempt(() => {
    const o = parseLossless(text);
    if (!isRecord(o) || o.channel !== 'book') return undefined;
    return parseV2Book(o);
  });
}

function krakenV2Agrees(text: string): boolean {
  const got = scanKrakenV2Book(text);
  if (got === undefined) return false;
  const want = krakenV2Reference(text);
  assert.ok(want !== 'threw' && want !== undefined, `scanner accepted a frame the lossless path does not: ${text}`);
  assert.deepEqual(got, want);
  return true;
}

/** Number tokens as Kraken writes them (fixed decimals), and odd ones the book must judge. */
const token = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.nat({ max: 100_000 }), fc.nat({ max: 8 })).map(([n, d]) => (n / 7).toFixed(d)) },
  { weight: 1, arbitrary: fc.stringMatching(/^-?[0-9][0-9.eE+-]{0,8}$/) },
);
const v2Levels = fc.array(fc.tuple(token, token), { maxLength: 12 });
const krakenV2Frame = fc
  .record({
    type: fc.constantFrom('snapshot', 'update'),
    symbol: fc.oneof(fc.stringMatching(/^[A-Z]{3,5}\/[A-Z]{3}$/), fc.string({ maxLength: 6 })),
    bids: v2Levels,
    asks: v2Levels,
    checksum: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
    timestamp: fc.boolean(),
  })
  .map((r) => {
    const lv = (ls: typeof r.bids) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
    const cs = r.checksum === undefined ? '' : `,"checksum":${r.checksum}`;
    const ts = r.timestamp ? ',"timestamp":"2024-10-03T02:46:57.050170Z"' : '';
    const sym = JSON.stringify(r.symbol);
    const text = `{"channel":"book","type":"${r.type}","data":[{"symbol":${sym},"bids":${lv(r.bids)},"asks":${lv(r.asks)}${cs}${ts}}]}`;
    return { text, plain: plainString(r.symbol) };
  });

test('on random Kraken v2 book messages the scanner returns exactly the lossless JSON.parse message, and accepts every plain one', () => {
  fc.assert(
    fc.property(krakenV2Frame, (f) => {
      const scanned = krakenV2Agrees(f.text);
      if (f.plain) assert.ok(scanned, `scanner declined a plain venue frame: ${f.text}`);
    }),
    { numRuns: 1000 },
  );
});

test('on randomly mutated Kraken v2 book messages the scanner either declines or returns exactly the lossless message', () => {
  let accepted = 0;
  let declined = 0;
  fc.assert(
    fc.property(krakenV2Frame, mutations, (f, ms) => {
      if (krakenV2Agrees(mutate(f.text, ms))) accepted++;
      else declined++;
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 0 && declined > 0, `accepted ${accepted}, declined ${declined}`);
});

test('the Kraken v2 scanner declines what the lossless path must judge', () => {
  const ok =
    '{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12275,"qty":6597.51731160}],"asks":[],"checksum":1100635717,"timestamp":"2024-10-03T02:46:57.050170Z"}]}';
  assert.ok(krakenV2Agrees(ok));
  const declined = [
    ok.replace('"checksum":1100635717', '"checksum":01100635717'),
    ok.replace('"checksum":1100635717', '"checksum":4294967296'),
    ok.replace('"checksum":1100635717', '"checksum":-1'),
    ok.replace('"checksum":1100635717', '"checksum":1.5'),
    ok.replace('"price":0.12275', '"price":"0.12275"'),
    ok.replace('"type":"update"', '"type":"partial"'),
    ok.replace('"channel":"book"', '"channel":"trade"'),
    ok.replace('"ALGO/USD"', '"ALGO\\/USD"'),
    ok.replace('}]}', '},]}'),
  ];
  for (const t of declined) assert.equal(scanKrakenV2Book(t), undefined, t);
});
