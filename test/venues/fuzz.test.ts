/**
 * Fuzz tests of every registered venue handler: after a realistic subscribe and snapshot for one book,
 * garbage goes through `onFrame` and `onHttp` (random text, random bytes, every prefix of real-shaped
 * frames, hostile numbers in well-formed frames, mutated frames with arrays for objects and the other way
 * round, `__proto__` and `constructor.prototype` keys). Whatever arrives:
 * - `onFrame` and `onHttp` never throw (the feed-handler contract);
 * - a frame that is not a JSON object or array is counted once (`malformed` or `unknown`), and no frame is
 *   counted twice;
 * - `Object.prototype` is never polluted;
 * - every level of every book is exact: a positive finite price, a positive finite size text, bids strictly
 *   descending, asks strictly ascending; a stale book holds no levels; an `in_sync` book is never crossed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../src/core/fixed.ts';
import type { TrackedBook, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { VENUES } from '../../src/venues/index.ts';

const NUM_RUNS = 200;

// ---- hostile values ----------------------------------------------------------------------------------------

/** A value token: `str` is rendered as a JSON string, `raw` is pasted into the JSON text as is. */
interface Tok {
  readonly kind: 'str' | 'raw';
  readonly v: string;
}

const DIGITS_400 = '9'.repeat(400);
const HOSTILE_TEXT = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  DIGITS_400,
  `1${'0'.repeat(399)}`,
  `0.${'0'.repeat(398)}1`,
  '-1',
  '-0',
  '-0.5',
  '',
  ' ',
  ' 1',
  '1 ',
  '0x1F',
  '1_000',
  '1.2.3',
  '.',
  '-',
  '+1',
  '.5',
  '5.',
  '1e-400',
  '1e400',
  '1e99999999999',
  '7e-7',
  '1E+2',
  '\u0663',
  '\uff11',
  'null',
  'undefined',
  '__proto__',
];
const HOSTILE_RAW = [
  '1e309',
  '-1e309',
  DIGITS_400,
  '1e-400',
  '-0',
  '0',
  '-1',
  '1e400',
  'null',
  'true',
  '{}',
  '[]',
  '{"__proto__":{"polluted":"yes"}}',
];
const PRICES = ['99', '99.5', '100', '100.0', '100.5', '101', '101.25', '102', '98.123456789'];
const SIZES = ['0', '0.0', '1', '2.50', '0.00000001', '3', '12345678901234567890.5'];

const priceTok: fc.Arbitrary<Tok> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...PRICES).map((v): Tok => ({ kind: 'str', v })) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_TEXT).map((v): Tok => ({ kind: 'str', v })) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_RAW).map((v): Tok => ({ kind: 'raw', v })) },
);
const sizeTok: fc.Arbitrary<Tok> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SIZES).map((v): Tok => ({ kind: 'str', v })) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_TEXT).map((v): Tok => ({ kind: 'str', v })) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_RAW).map((v): Tok => ({ kind: 'raw', v })) },
);
type Level = readonly [Tok, Tok];
const levels: fc.Arbitrary<Level[]> = fc.array(fc.tuple(priceTok, sizeTok), { maxLength: 4 });

/** A token as JSON text for venues that send decimals as strings. */
function s(t: Tok): string {
  return t.kind === 'raw' ? t.v : JSON.stringify(t.v);
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A token as JSON text for venues that send decimals as bare numbers (Bitfinex, Kraken v2). */
function n(t: Tok): string {
  return t.kind === 'str' && JSON_NUMBER.test(t.v) ? t.v : s(t);
}

function pairs(ls: readonly Level[], render: (t: Tok) => string = s): string {
  return ls.map(([p, q]) => `[${render(p)},${render(q)}]`).join(',');
}

// ---- venue scenarios ---------------------------------------------------------------------------------------

/** A handler with one book brought in sync, and builders of well-formed frames for that book. */
interface Session {
  readonly h: VenueFeedHandler;
  /** A well-formed book update (with the next sequence ids) carrying the given level tokens. */
  update(bids: readonly Level[], asks: readonly Level[]): void;
  /** A well-formed snapshot (frame or REST body) that restarts the book's sync. */
  snapshot(bids: readonly Level[], asks: readonly Level[]): void;
}

interface Scenario {
  readonly start: () => Session;
  /** Real-shaped frames: their prefixes and mutations are fed as garbage. */
  readonly samples: readonly string[];
  /** A URL whose body the handler parses (its REST snapshot), if it uses any. */
  readonly httpUrl?: string;
  /** Frames a handler answers without JSON (documented exceptions to "not JSON is counted"). */
  readonly plainText?: ReadonlySet<string>;
}

function handler(id: string): VenueFeedHandler {
  const reg = VENUES.find((v) => v.id === id);
  assert.ok(reg !== undefined, `venue ${id} is registered`);
  return reg.createFeedHandler();
}

const KRAKEN_SUB =
  '{"channelID":42,"channelName":"book-10","event":"subscriptionStatus","pair":"XBT/USD","status":"subscribed","subscription":{"depth":10,"name":"book"}}';
const KRAKEN_SNAPSHOT =
  '[42,{"as":[["101.00000","1.50000000","1618678132.1"],["102.00000","2.00000000","1618678132.2"]],"bs":[["100.00000","3.00000000","1618678132.3"]]},"book-10","XBT/USD"]';

function kraken(): Session {
  const h = handler('kraken');
  h.onConnect('c', 'wss://ws.kraken.com', 0);
  h.onSend('c', '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}', 0);
  h.onFrame('c', '{"connectionID":1,"event":"systemStatus","status":"online","version":"1.9.0"}', 0);
  h.onFrame('c', KRAKEN_SUB, 0);
  h.onFrame('c', KRAKEN_SNAPSHOT, 1);
  const level = (ls: readonly Level[]) => ls.map(([p, q]) => `[${s(p)},${s(q)},"1618678133.0"]`).join(',');
  return {
    h,
    // No "c": the handler verifies a checksum only when the venue sends one.
    update: (b, a) => h.onFrame('c', `[42,{"a":[${level(a)}]},{"b":[${level(b)}]},"book-10","XBT/USD"]`, 2),
    snapshot: (b, a) => h.onFrame('c', `[42,{"as":[${level(a)}],"bs":[${level(b)}]},"book-10","XBT/USD"]`, 2),
  };
}

function okx(): Session {
  const h = handler('okx');
  h.onConnect('c', 'wss://ws.okx.com:8443/ws/v5/public', 0);
  let seq = 10;
  const push = (action: string, b: string, a: string, prev: number) =>
    `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"${action}","data":[{"asks":[${a}],"bids":[${b}],"ts":"1652459226000","checksum":0,"seqId":${seq},"prevSeqId":${prev}}]}`;
  h.onFrame('c', '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}', 0);
  h.onFrame('c', push('snapshot', '["100","3","0","1"]', '["101","1.5","0","2"],["102","2","0","1"]', -1), 1);
  return {
    h,
    update: (b, a) => {
      const prev = seq++;
      h.onFrame('c', push('update', pairs(b), pairs(a), prev), 2);
    },
    snapshot: (b, a) => {
      seq++;
      h.onFrame('c', push('snapshot', pairs(b), pairs(a), -1), 2);
    },
  };
}

function bitfinex(): Session {
  const h = handler('bitfinex');
  h.onConnect('c', 'wss://api-pub.bitfinex.com/ws/2', 0);
  h.onSend('c', '{"event":"conf","flags":65536}', 0);
  h.onFrame('c', '{"event":"info","version":2,"serverId":"x","platform":{"status":1}}', 0);
  h.onFrame('c', '{"event":"conf","status":"OK","flags":65536}', 0);
  h.onFrame(
    'c',
    '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}',
    0,
  );
  let seq = 1;
  h.onFrame('c', `[17,[[100,1,3],[101,1,-1.5],[102,2,-2]],${seq++}]`, 1);
  // [PRICE, COUNT, AMOUNT]: the sign of the amount picks the side; a zero size becomes count 0 (delete).
  const entry = (p: Tok, q: Tok, ask: boolean) => {
    const zero = q.kind === 'str' && /^0(\.0*)?$/.test(q.v);
    const amount = n(zero ? { kind: 'str', v: '1' } : q);
    return `[${n(p)},${zero ? 0 : 1},${ask ? (amount.startsWith('-') ? amount.slice(1) : `-${amount}`) : amount}]`;
  };
  return {
    h,
    update: (b, a) => {
      for (const [p, q] of b) h.onFrame('c', `[17,${entry(p, q, false)},${seq++}]`, 2);
      for (const [p, q] of a) h.onFrame('c', `[17,${entry(p, q, true)},${seq++}]`, 2);
    },
    snapshot: (b, a) => {
      const es = [...b.map(([p, q]) => entry(p, q, false)), ...a.map(([p, q]) => entry(p, q, true))];
      h.onFrame('c', `[17,[${es.join(',')}],${seq++}]`, 2);
    },
  };
}

/** Bitfinex R0 raw books: each level token becomes one order `[ORDER_ID, PRICE, AMOUNT]`; a zero size removes one. */
function bitfinexRaw(): Session {
  const h = handler('bitfinex-l3');
  h.onConnect('c', 'wss://api-pub.bitfinex.com/ws/2', 0);
  h.onSend('c', '{"event":"conf","flags":65536}', 0);
  h.onFrame('c', '{"event":"conf","status":"OK","flags":65536}', 0);
  h.onFrame(
    'c',
    '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"R0","freq":"F0","len":"250","pair":"BTCUSD"}',
    0,
  );
  let seq = 1;
  let id = 10;
  h.onFrame('c', `[17,[[1,100,3],[2,101,-1.5],[3,102,-2]],${seq++}]`, 1);
  const entry = (p: Tok, q: Tok, ask: boolean) => {
    if (q.kind === 'str' && /^0(\.0*)?$/.test(q.v)) return `[${id++},0,${ask ? -1 : 1}]`;
    const amount = n(q);
    return `[${id++},${n(p)},${ask ? (amount.startsWith('-') ? amount.slice(1) : `-${amount}`) : amount}]`;
  };
  return {
    h,
    update: (b, a) => {
      for (const [p, q] of b) h.onFrame('c', `[17,${entry(p, q, false)},${seq++}]`, 2);
      for (const [p, q] of a) h.onFrame('c', `[17,${entry(p, q, true)},${seq++}]`, 2);
    },
    snapshot: (b, a) => {
      const es = [...b.map(([p, q]) => entry(p, q, false)), ...a.map(([p, q]) => entry(p, q, true))];
      h.onFrame('c', `[17,[${es.join(',')}],${seq++}]`, 2);
    },
  };
}

function binance(id: 'binance' | 'binance-usdm'): () => Session {
  const futures = id === 'binance-usdm';
  const ws = futures
    ? 'wss://fstream.binance.com/stream?streams=btcusdt@depth@100ms'
    : 'wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms';
  const url = futures
    ? 'https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000'
    : 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000';
  return () => {
    const h = handler(id);
    let last = 100;
    const event = (b: string, a: string) => {
      const U = last + 1;
      const pu = futures ? `,"pu":${last}` : '';
      last = U;
      return `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1634000000000,"s":"BTCUSDT","U":${U},"u":${U}${pu},"b":[${b}],"a":[${a}]}}`;
    };
    h.onConnect('c', ws, 0);
    h.onHttp(url, '{"lastUpdateId":100,"bids":[["100","3"]],"asks":[["101","1.5"],["102","2"]]}', 1);
    h.onFrame('c', event('["99","1"]', ''), 2);
    return {
      h,
      update: (b, a) => h.onFrame('c', event(pairs(b), pairs(a)), 3),
      snapshot: (b, a) => h.onHttp(url, `{"lastUpdateId":${last},"bids":[${pairs(b)}],"asks":[${pairs(a)}]}`, 3),
    };
  };
}

function bybit(): Session {
  const h = handler('bybit');
  h.onConnect('c', 'wss://stream.bybit.com/v5/public/linear', 0);
  let u = 5;
  const msg = (type: string, b: string, a: string) =>
    `{"topic":"orderbook.50.BTCUSDT","type":"${type}","ts":1786310817000,"data":{"s":"BTCUSDT","b":[${b}],"a":[${a}],"u":${u},"seq":${u * 10}},"cts":1786310816990}`;
  h.onFrame('c', '{"success":true,"ret_msg":"","conn_id":"x","op":"subscribe"}', 0);
  h.onFrame('c', msg('snapshot', '["100","3"]', '["101","1.5"],["102","2"]'), 1);
  return {
    h,
    update: (b, a) => {
      u++;
      h.onFrame('c', msg('delta', pairs(b), pairs(a)), 2);
    },
    snapshot: (b, a) => {
      u += 7;
      h.onFrame('c', msg('snapshot', pairs(b), pairs(a)), 2);
    },
  };
}

function coinbase(): Session {
  const h = handler('coinbase');
  h.onConnect('c', 'wss://advanced-trade-ws.coinbase.com', 0);
  let seq = 0;
  const up = (side: string, [p, q]: Level) =>
    `{"side":"${side}","event_time":"2026-08-09T21:05:00Z","price_level":${s(p)},"new_quantity":${s(q)}}`;
  const frame = (type: string, b: readonly Level[], a: readonly Level[]) =>
    `{"channel":"l2_data","client_id":"","timestamp":"2026-08-09T21:05:00Z","sequence_num":${seq++},"events":[{"type":"${type}","product_id":"BTC-USD","updates":[${[...b.map((l) => up('bid', l)), ...a.map((l) => up('offer', l))].join(',')}]}]}`;
  const str = (v: string): Tok => ({ kind: 'str', v });
  h.onFrame(
    'c',
    frame(
      'snapshot',
      [[str('100'), str('3')]],
      [
        [str('101'), str('1.5')],
        [str('102'), str('2')],
      ],
    ),
    1,
  );
  return {
    h,
    update: (b, a) => h.onFrame('c', frame('update', b, a), 2),
    snapshot: (b, a) => h.onFrame('c', frame('snapshot', b, a), 2),
  };
}

function bitstamp(): Session {
  const h = handler('bitstamp');
  const url = 'https://www.bitstamp.net/api/v2/order_book/btcusd/';
  let micros = 1641343680000000;
  h.onConnect('c', 'wss://ws.bitstamp.net', 0);
  h.onSend('c', '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}', 0);
  h.onFrame('c', '{"event":"bts:subscription_succeeded","channel":"diff_order_book_btcusd","data":{}}', 0);
  h.onHttp(
    url,
    `{"timestamp":"1641343680","microtimestamp":"${micros}","bids":[["100","3"]],"asks":[["101","1.5"],["102","2"]]}`,
    1,
  );
  return {
    h,
    update: (b, a) => {
      micros++;
      h.onFrame(
        'c',
        `{"data":{"timestamp":"1641343681","microtimestamp":"${micros}","bids":[${pairs(b)}],"asks":[${pairs(a)}]},"channel":"diff_order_book_btcusd","event":"data"}`,
        2,
      );
    },
    snapshot: (b, a) => {
      micros++;
      h.onHttp(
        url,
        `{"timestamp":"1641343681","microtimestamp":"${micros}","bids":[${pairs(b)}],"asks":[${pairs(a)}]}`,
        2,
      );
    },
  };
}

/** Bitstamp live_orders: each level token becomes one `order_created` (a zero size deletes an order). */
function bitstampL3(): Session {
  const h = handler('bitstamp-l3');
  const url = 'https://www.bitstamp.net/api/v2/order_book/btcusd/?group=2';
  let micros = 1641343680000000;
  let id = 10;
  h.onConnect('c', 'wss://ws.bitstamp.net', 0);
  h.onSend('c', '{"event":"bts:subscribe","data":{"channel":"live_orders_btcusd"}}', 0);
  h.onFrame('c', '{"event":"bts:subscription_succeeded","channel":"live_orders_btcusd","data":{}}', 0);
  h.onHttp(
    url,
    `{"timestamp":"1641343680","microtimestamp":"${micros}","bids":[["100","3","1"]],"asks":[["101","1.5","2"],["102","2","3"]]}`,
    1,
  );
  const orders = (ls: readonly Level[]) => ls.map(([p, q]) => `[${s(p)},${s(q)},"${id++}"]`).join(',');
  return {
    h,
    update: (b, a) => {
      for (const [side, ls] of [
        [0, b],
        [1, a],
      ] as const) {
        for (const [p, q] of ls) {
          micros++;
          const zero = q.kind === 'str' && /^0(\.0*)?$/.test(q.v);
          h.onFrame(
            'c',
            `{"data":{"id":${id},"id_str":"${id++}","order_type":${side},"datetime":"1641343681","microtimestamp":"${micros}","amount":${n(q)},"amount_str":${s(q)},"price":${n(p)},"price_str":${s(p)}},"channel":"live_orders_btcusd","event":"${zero ? 'order_deleted' : 'order_created'}"}`,
            2,
          );
        }
      }
    },
    snapshot: (b, a) => {
      micros++;
      h.onHttp(
        url,
        `{"timestamp":"1641343681","microtimestamp":"${micros}","bids":[${orders(b)}],"asks":[${orders(a)}]}`,
        2,
      );
    },
  };
}

function simVenue(): Session {
  const h = handler('sim');
  let seq = 5;
  const book = (type: string, b: readonly Level[], a: readonly Level[]) =>
    `{"type":"${type}","symbol":"BTC-USDT","seq":${seq},"ts":1767225600050,"bids":[${pairs(b)}],"asks":[${pairs(a)}]}`;
  h.onConnect('c', 'sim://in-process', 0);
  h.onFrame('c', '{"type":"info","venue":"sim","version":1,"ts":1767225600000,"instruments":[]}', 0);
  h.onFrame(
    'c',
    '{"type":"snapshot","symbol":"BTC-USDT","seq":5,"ts":1767225600000,"bids":[["100","3"]],"asks":[["101","1.5"],["102","2"]]}',
    1,
  );
  return {
    h,
    update: (b, a) => {
      seq++;
      h.onFrame('c', book('l2update', b, a), 2);
    },
    snapshot: (b, a) => h.onFrame('c', book('snapshot', b, a), 2),
  };
}

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  kraken: {
    start: kraken,
    samples: [
      KRAKEN_SUB,
      KRAKEN_SNAPSHOT,
      '[42,{"a":[["101.00000","0.00000000","1618678133.1"],["103.00000","1.00000000","1618678133.1","r"]]},{"b":[["100.00000","2.00000000","1618678133.2"]],"c":"1234567"},"book-10","XBT/USD"]',
      '{"event":"heartbeat"}',
      '{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12275,"qty":6597.51731160}],"asks":[],"checksum":1100635717,"timestamp":"2024-10-03T02:46:57.050170Z"}]}',
      '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"ALGO/USD","price_precision":5,"qty_precision":8}]}}',
    ],
  },
  okx: {
    start: okx,
    samples: [
      '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}',
      '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["101","0","0","0"]],"bids":[["100.5","1.25","0","3"]],"ts":"1652459226000","checksum":-855196043,"seqId":11,"prevSeqId":10}]}',
      '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["101","1.5","0","2"]],"bids":[["100","3","0","1"]],"ts":"1652459226000","checksum":0,"seqId":12,"prevSeqId":-1}]}',
    ],
    plainText: new Set(['pong']),
  },
  bitfinex: {
    start: bitfinex,
    samples: [
      '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}',
      '[17,[[100,1,3],[101,1,-1.5],[102,2,-2]],2]',
      '[17,[100.5,2,0.25],3]',
      '[17,[101,0,-1],4]',
      '[17,"cs",-1246734568,5]',
      '[17,"hb",6]',
    ],
  },
  'bitfinex-l3': {
    start: bitfinexRaw,
    samples: [
      '{"event":"subscribed","channel":"book","chanId":17,"symbol":"tBTCUSD","prec":"R0","freq":"F0","len":"250","pair":"BTCUSD"}',
      '[17,[[1,100,3],[2,101,-1.5],[3,102,-2]],2]',
      '[17,[4,100.5,0.25],3]',
      '[17,[2,0,-1],4]',
      '[17,"cs",-1246734568,5]',
      '[17,"hb",6]',
    ],
  },
  binance: {
    start: binance('binance'),
    httpUrl: 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000',
    samples: [
      '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1634000000000,"s":"BTCUSDT","U":102,"u":103,"b":[["100.5","1"]],"a":[["101","0"]]}}',
      '{"lastUpdateId":103,"bids":[["100","3"]],"asks":[["101","1.5"]]}',
      '{"result":null,"id":1}',
    ],
  },
  'binance-usdm': {
    start: binance('binance-usdm'),
    httpUrl: 'https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000',
    samples: [
      '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1634000000000,"T":1634000000000,"s":"BTCUSDT","U":102,"u":103,"pu":101,"b":[["100.5","1"]],"a":[["101","0"]]}}',
      '{"lastUpdateId":103,"E":1634000000000,"T":1634000000000,"bids":[["100","3"]],"asks":[["101","1.5"]]}',
    ],
  },
  bybit: {
    start: bybit,
    samples: [
      '{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1786310817000,"data":{"s":"BTCUSDT","b":[["100.5","1"]],"a":[["101","0"]],"u":6,"seq":60},"cts":1786310816990}',
      '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1786310817000,"data":{"s":"BTCUSDT","b":[["100","3"]],"a":[["101","1.5"]],"u":1,"seq":60},"cts":1786310816990}',
      '{"success":true,"ret_msg":"","conn_id":"x","op":"subscribe"}',
    ],
  },
  coinbase: {
    start: coinbase,
    samples: [
      '{"channel":"l2_data","client_id":"","timestamp":"2026-08-09T21:05:00Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2026-08-09T21:05:00Z","price_level":"100.5","new_quantity":"1"},{"side":"offer","event_time":"2026-08-09T21:05:00Z","price_level":"101","new_quantity":"0"}]}]}',
      '{"channel":"heartbeats","client_id":"","timestamp":"2026-08-09T21:05:00Z","sequence_num":2,"events":[{"current_time":"2026-08-09","heartbeat_counter":3}]}',
      '{"type":"snapshot","product_id":"ETH-USD","bids":[["100","3"]],"asks":[["101","1.5"]]}',
      '{"type":"l2update","product_id":"ETH-USD","changes":[["buy","100.5","1"],["sell","101","0"]],"time":"2021-04-17T16:43:00Z"}',
    ],
  },
  bitstamp: {
    start: bitstamp,
    httpUrl: 'https://www.bitstamp.net/api/v2/order_book/btcusd/',
    samples: [
      '{"data":{"timestamp":"1641343681","microtimestamp":"1641343680000001","bids":[["100.5","1"]],"asks":[["101","0.00000000"]]},"channel":"diff_order_book_btcusd","event":"data"}',
      '{"timestamp":"1641343681","microtimestamp":"1641343680000009","bids":[["100","3"]],"asks":[["101","1.5"]]}',
      '{"event":"bts:request_reconnect","channel":"","data":""}',
    ],
  },
  'bitstamp-l3': {
    start: bitstampL3,
    httpUrl: 'https://www.bitstamp.net/api/v2/order_book/btcusd/?group=2',
    samples: [
      '{"data":{"id":7,"id_str":"7","order_type":0,"datetime":"1641343681","microtimestamp":"1641343680000001","amount":1,"amount_str":"1","price":100.5,"price_str":"100.5"},"channel":"live_orders_btcusd","event":"order_created"}',
      '{"data":{"id":2,"id_str":"2","order_type":1,"datetime":"1641343681","microtimestamp":"1641343680000002","amount":0,"amount_str":"0","price":101,"price_str":"101"},"channel":"live_orders_btcusd","event":"order_deleted"}',
      '{"timestamp":"1641343681","microtimestamp":"1641343680000009","bids":[["100","3","1"]],"asks":[["101","1.5","2"]]}',
      '{"event":"bts:request_reconnect","channel":"","data":""}',
    ],
  },
  sim: {
    start: simVenue,
    samples: [
      '{"type":"l2update","symbol":"BTC-USDT","seq":6,"ts":1767225600050,"bids":[["100.5","1"]],"asks":[["101","0"]]}',
      '{"type":"snapshot","symbol":"BTC-USDT","seq":9,"ts":1767225600100,"bids":[["100","3"]],"asks":[["101","1.5"]]}',
      '{"type":"trades","symbol":"BTC-USDT","ts":1767225600050,"trades":[{"id":"T1","price":"101","size":"0.5","side":"buy","maker":"O1","taker":"O2"}]}',
      '{"type":"l3update","symbol":"BTC-USDT","seq":3,"ts":1767225600050,"orders":[["add","O3","bid","100.5","1"]]}',
    ],
  },
};

// ---- garbage -----------------------------------------------------------------------------------------------

/** What one fuzz step does to the handler. */
type Step =
  | { readonly kind: 'frame'; readonly data: string }
  | { readonly kind: 'http'; readonly data: string }
  | { readonly kind: 'update'; readonly bids: Level[]; readonly asks: Level[] }
  | { readonly kind: 'snapshot'; readonly bids: Level[]; readonly asks: Level[] };

const PLACEHOLDER = '\u0000RAW\u0000';

/** Hostile replacements for a node of a parsed frame (`PLACEHOLDER` marks a raw token). */
const REPLACEMENTS: readonly ((v: unknown) => unknown)[] = [
  () => null,
  () => '',
  () => 'NaN',
  () => '-1',
  () => DIGITS_400,
  () => `${PLACEHOLDER}1e309`,
  () => `${PLACEHOLDER}${DIGITS_400}`,
  () => -1,
  () => 1e308,
  () => true,
  () => [],
  () => ({}),
  // Arrays where objects are expected and objects where arrays are.
  (v) => (Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [String(i), x])) : v),
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : [v]),
  (v) => JSON.parse(`{"__proto__":{"polluted":"yes"},"v":${JSON.stringify(v) ?? 'null'}}`),
  () => ({ constructor: { prototype: { polluted: 'yes' } } }),
];

/** Every node of a JSON value, as [parent, key] pairs. */
function nodes(v: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      nodes(x, out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, k]);
      nodes(x, out);
    }
  }
  return out;
}

/** A sample frame with one node replaced by a hostile value. */
function mutate(sample: string, at: number, with_: number): string {
  const root: unknown = JSON.parse(sample);
  const all = nodes(root);
  const [parent, key] = all[at % all.length] as [Record<string | number, unknown>, string | number];
  const r = REPLACEMENTS[with_ % REPLACEMENTS.length] as (v: unknown) => unknown;
  parent[key] = r(parent[key]);
  return JSON.stringify(root).replace(/"\\u0000RAW\\u0000([^"]*)"/g, '$1');
}

function injectKeys(sample: string, which: number): string {
  const keys = [
    '"__proto__":{"polluted":"yes"},',
    '"constructor":{"prototype":{"polluted":"yes"}},',
    '"prototype":{"polluted":"yes"},',
  ];
  const i = sample.indexOf('{');
  return i < 0 ? sample : `${sample.slice(0, i + 1)}${keys[which % keys.length]}${sample.slice(i + 1)}`;
}

function steps(sc: Scenario): fc.Arbitrary<Step[]> {
  const samples = fc.constantFrom(...sc.samples);
  const frameText: fc.Arbitrary<string> = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constantFrom('', ' ', 'null', '[]', '{}', '0', '"x"', 'pong', 'NaN', 'Infinity', '[1e309]', `[${DIGITS_400}]`),
    samples.chain((x) => fc.nat(x.length).map((k) => x.slice(0, k))), // every prefix of a real-shaped frame
    fc.tuple(samples, fc.nat(), fc.nat()).map(([x, at, w]) => mutate(x, at, w)),
    fc.tuple(samples, fc.nat()).map(([x, w]) => injectKeys(x, w)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: frameText.map((data): Step => ({ kind: 'frame', data })) },
    { weight: 1, arbitrary: frameText.map((data): Step => ({ kind: 'http', data })) },
    { weight: 4, arbitrary: fc.tuple(levels, levels).map(([bids, asks]): Step => ({ kind: 'update', bids, asks })) },
    { weight: 1, arbitrary: fc.tuple(levels, levels).map(([bids, asks]): Step => ({ kind: 'snapshot', bids, asks })) },
  );
  return fc.array(step, { minLength: 1, maxLength: 12 });
}

// ---- invariants --------------------------------------------------------------------------------------------

function isJsonContainer(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

function bad(h: VenueFeedHandler): number {
  return h.counters.malformed + h.counters.unknown;
}

function checkBook(tb: TrackedBook, where: string): void {
  const book = tb.book;
  for (const side of ['bid', 'ask'] as const) {
    const levelsOf = book.side(side);
    let prev: number | undefined;
    for (let i = 0; i < levelsOf.length; i++) {
      const p = levelsOf.priceAt(i);
      assert.ok(Number.isSafeInteger(p) && p > 0, `${where}: ${side} ${i} price ${p} is a positive scaled integer`);
      assert.ok(Decimal.parse(book.formatPrice(p)).sign() > 0, `${where}: ${side} price text`);
      const size = levelsOf.sizeAt(i);
      assert.ok(size !== '', `${where}: ${side} ${i} has an empty size`);
      assert.ok(Decimal.parse(size).sign() > 0, `${where}: ${side} ${i} size ${size} is a positive finite decimal`);
      if (prev !== undefined) {
        assert.ok(side === 'bid' ? p < prev : p > prev, `${where}: ${side}s are strictly ordered at level ${i}`);
      }
      prev = p;
    }
  }
  // The canonical text the book serves (sizes are checked by shape: an exponent size such as "1e400" is
  // accepted by the book and its 401-digit canonical text is longer than Decimal.parse reads).
  for (const l of [...book.levels('bid'), ...book.levels('ask')]) {
    assert.ok(Decimal.parse(l.price).sign() > 0, `${where}: level price ${l.price}`);
    assert.match(l.size, CANONICAL_POSITIVE, `${where}: level size at ${l.price}`);
  }
  if (tb.status === 'stale') assert.ok(book.isEmpty, `${where}: a stale book holds no levels`);
  if (tb.status === 'in_sync') assert.ok(!book.isCrossed(), `${where}: an in_sync book is crossed`);
}

/** Canonical text of a positive decimal: no sign, exponent, leading or trailing zeros. */
const CANONICAL_POSITIVE = /^(?!0$)(0|[1-9]\d*)(\.\d*[1-9])?$/;

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

function checkNoPollution(where: string): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS, `${where}: Object.prototype`);
  const probe = {} as Record<string, unknown>;
  assert.equal(probe.polluted, undefined, `${where}: a fresh object inherits nothing`);
  assert.equal(([] as unknown as Record<string, unknown>).polluted, undefined, `${where}: arrays inherit nothing`);
}

function run(sc: Scenario, venue: string, script: readonly Step[]): void {
  const session = sc.start();
  const h = session.h;
  for (const [i, st] of script.entries()) {
    const where = `${venue} step ${i} (${st.kind})`;
    const before = bad(h);
    switch (st.kind) {
      case 'frame':
        h.onFrame('c', st.data, 10 + i);
        if (!isJsonContainer(st.data) && !sc.plainText?.has(st.data)) {
          assert.equal(bad(h), before + 1, `${where}: ${JSON.stringify(st.data).slice(0, 80)} is counted once`);
        }
        assert.ok(bad(h) <= before + 1, `${where}: a frame is counted at most once`);
        break;
      case 'http':
        h.onHttp(sc.httpUrl ?? 'https://example.invalid/api', st.data, 10 + i);
        if (sc.httpUrl !== undefined && !isJsonContainer(st.data)) {
          assert.ok(bad(h) > before, `${where}: a REST snapshot body that is not JSON is counted`);
        }
        break;
      case 'update':
        session.update(st.bids, st.asks);
        break;
      case 'snapshot':
        session.snapshot(st.bids, st.asks);
        break;
    }
    for (const tb of h.books()) checkBook(tb, where);
    checkNoPollution(where);
  }
}

// ---- tests -------------------------------------------------------------------------------------------------

describe('venue handlers under garbage', () => {
  it('every registered venue has a fuzz scenario', () => {
    assert.deepEqual(VENUES.map((v) => v.id).sort(), Object.keys(SCENARIOS).sort());
  });

  for (const v of VENUES) {
    const sc = SCENARIOS[v.id];
    if (sc === undefined) continue;

    it(`${v.id}: the scenario brings one book in sync with the realistic frames`, () => {
      const { h } = sc.start();
      const books = [...h.books()];
      assert.equal(books.filter((b) => b.status === 'in_sync').length, 1, JSON.stringify(books.map((b) => b.report())));
      assert.equal(bad(h), 0, 'the realistic frames are all understood');
    });

    it(`${v.id}: onFrame and onHttp never throw, bad frames are counted, nothing is polluted, books stay exact and an in_sync book is never crossed`, () => {
      fc.assert(
        fc.property(steps(sc), (script) => run(sc, v.id, script)),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

// ---- regressions found by this fuzzing ---------------------------------------------------------------------

describe('regressions found by fuzzing the venue handlers', () => {
  const str = (v: string): Tok => ({ kind: 'str', v });
  const crossedBids: Level[] = [[str('101'), str('1')]];
  const crossedAsks: Level[] = [[str('99'), str('1')]];

  for (const id of ['binance', 'binance-usdm'] as const) {
    it(`${id}: a crossed REST snapshot arriving while the book is in sync does not leave an in_sync crossed book`, () => {
      const { h, snapshot, update } = (SCENARIOS[id] as Scenario).start();
      const tb = [...h.books()][0] as TrackedBook;
      assert.equal(tb.status, 'in_sync');
      snapshot(crossedBids, crossedAsks);
      assert.equal(tb.crossed, 1, 'the crossed snapshot is counted');
      assert.equal(tb.status, 'stale');
      assert.ok(tb.book.isEmpty);
      update([[str('100'), str('1')]], []); // buffered until a good snapshot arrives
      assert.equal(tb.status, 'stale');
      snapshot([[str('100'), str('1')]], [[str('101'), str('1')]]);
      update([[str('100'), str('2')]], []);
      assert.equal(tb.status, 'in_sync', 'the next good snapshot resyncs the book');
      assert.equal(tb.resyncs, 1);
      assert.equal(tb.book.bestBid()?.size, '2');
    });
  }

  it('bitstamp: a crossed REST snapshot is never marked in_sync', () => {
    const { h, snapshot, update } = (SCENARIOS.bitstamp as Scenario).start();
    const tb = [...h.books()][0] as TrackedBook;
    assert.equal(tb.status, 'in_sync');
    snapshot(crossedBids, crossedAsks);
    assert.equal(tb.crossed, 1, 'the crossed snapshot is counted');
    assert.equal(tb.status, 'stale');
    assert.ok(tb.book.isEmpty);
    update([[str('100'), str('2')]], []); // buffered: no snapshot to apply it to
    assert.equal(tb.status, 'stale');
    snapshot([[str('100'), str('1')]], [[str('101'), str('1')]]);
    assert.equal(tb.status, 'in_sync', 'the next good snapshot resyncs the book');
    assert.equal(tb.resyncs, 1);
  });
});
