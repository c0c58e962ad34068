import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import {
  type BookDeltaInput,
  bookDelta,
  bookSnapshot,
  decodeEvent,
  EVENT_TYPES,
  encodeEvent,
  eventFromJSON,
  FEED_STATUSES,
  type MarketEvent,
  status,
  trade,
} from '../../src/domain/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const T0 = 1_700_000_000_000;

const DELTA: BookDeltaInput = {
  venue: 'binance',
  symbol: 'BTC-USDT',
  tsEventMs: T0,
  tsRecvMs: T0 + 12.5,
  changes: [
    { side: 'bid', price: '65000.10', size: '1.50000000' },
    { side: 'ask', price: '65000.2', size: '0.00000000' },
  ],
  firstSeq: 100,
  lastSeq: 102,
};

function throwsCode(fn: () => unknown, code: string, field?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isQobError(e), `not a QobError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.context.field, field, e.message);
    return true;
  });
}

// ---- arbitraries ------------------------------------------------------------------------------------

const venueArb = fc.constantFrom('binance', 'binance-usdm', 'kraken', 'okx', 'bitfinex', 'sim', 'ccxt:gateio');
const symbolArb = fc.constantFrom('BTC-USDT', 'ETH-USD-PERP', 'BTC-USD-20220527', 'BTC-USD-20240329-60000-C');
/** Exact decimal text, sometimes with trailing zeros (which the constructors drop). */
const decimalText = (min: bigint) =>
  fc
    .tuple(fc.bigInt({ min, max: 10n ** 15n }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 3 }))
    .map(([c, s, z]) => Decimal.of(c, s).toFixed(s + z));
const tsArb = fc.tuple(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 0, max: 999 }));
const tsMs = tsArb.map(([ms, us]) => ms + us / 1000);
const seqArb = fc.option(fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }), { nil: null });
const commonArb = fc.record({
  venue: venueArb,
  symbol: symbolArb,
  tsEventMs: fc.option(tsMs, { nil: null }),
  tsRecvMs: tsMs,
  recvSeq: fc.nat(),
});

const snapshotArb = fc
  .tuple(
    commonArb,
    fc.uniqueArray(fc.bigInt({ min: 1n, max: 10n ** 12n }), { maxLength: 20 }),
    fc.uniqueArray(fc.bigInt({ min: 1n, max: 10n ** 12n }), { maxLength: 20 }),
    fc.array(decimalText(1n), { minLength: 20, maxLength: 20 }),
    seqArb,
  )
  .map(([c, bidTicks, askTicks, sizes, seq]) =>
    bookSnapshot({
      ...c,
      bids: [...bidTicks]
        .sort((a, b) => (a < b ? 1 : -1))
        .map((t, i) => [Decimal.of(t, 2).toString(), sizes[i] ?? '1'] as const),
      asks: [...askTicks]
        .sort((a, b) => (a < b ? -1 : 1))
        .map((t, i) => [Decimal.of(t, 2).toString(), sizes[i] ?? '1'] as const),
      seq,
    }),
  );

const deltaArb = fc
  .tuple(
    commonArb,
    fc.array(
      fc.record({
        side: fc.constantFrom('bid' as const, 'ask' as const),
        price: decimalText(1n),
        size: decimalText(0n),
      }),
      { maxLength: 20 },
    ),
    seqArb,
    fc.option(fc.tuple(fc.nat({ max: 1000 }), fc.integer({ min: 0, max: 1e12 })), { nil: null }),
  )
  .map(([c, changes, prevSeq, range]) =>
    bookDelta({
      ...c,
      changes,
      prevSeq,
      firstSeq: range === null ? null : range[1],
      lastSeq: range === null ? null : range[1] + range[0],
    }),
  );

const tradeArb = fc
  .tuple(
    commonArb,
    decimalText(1n),
    decimalText(1n),
    fc.constantFrom('buy' as const, 'sell' as const, 'unknown' as const),
    fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.maxSafeNat()), { nil: null }),
  )
  .map(([c, price, size, aggressor, tradeId]) => trade({ ...c, price, size, aggressor, tradeId }));

const statusArb = fc
  .tuple(commonArb, fc.boolean(), fc.constantFrom(...FEED_STATUSES), fc.string({ maxLength: 80 }))
  .map(([c, venueWide, st, reason]) => status({ ...c, symbol: venueWide ? null : c.symbol, status: st, reason }));

const eventArb: fc.Arbitrary<MarketEvent> = fc.oneof(snapshotArb, deltaArb, tradeArb, statusArb);

// ---- tests ------------------------------------------------------------------------------------------

describe('event constructors', () => {
  test('a delta keeps its changes in order with canonical decimal text, size 0 meaning delete', () => {
    const e = bookDelta(DELTA);
    assert.equal(e.type, 'book.delta');
    assert.equal(e.schemaVersion, 1);
    assert.deepEqual(e.changes, [
      { side: 'bid', price: '65000.1', size: '1.5' },
      { side: 'ask', price: '65000.2', size: '0' },
    ]);
    assert.equal(e.tsEventMs, T0);
    assert.equal(e.tsRecvMs, T0 + 12.5);
    assert.equal(e.prevSeq, null);
    assert.equal(e.recvSeq, 0);
  });

  test('a snapshot needs strictly sorted sides and positive sizes', () => {
    const base = { venue: 'okx', symbol: 'BTC-USDT', tsRecvMs: T0, seq: 5 };
    const e = bookSnapshot({
      ...base,
      bids: [
        ['2', '1'],
        ['1.0', '3e-3'],
      ],
      asks: [['3', '1']],
    });
    assert.deepEqual(e.bids, [
      ['2', '1'],
      ['1', '0.003'],
    ]);
    assert.equal(e.tsEventMs, null);
    throwsCode(
      () =>
        bookSnapshot({
          ...base,
          bids: [
            ['1', '1'],
            ['2', '1'],
          ],
          asks: [],
        }),
      'QOB_ERR_INVALID_ARGUMENT',
      'bids[1].price',
    );
    throwsCode(
      () =>
        bookSnapshot({
          ...base,
          bids: [],
          asks: [
            ['1', '1'],
            ['1.0', '1'],
          ],
        }),
      'QOB_ERR_INVALID_ARGUMENT',
      'asks[1].price',
    );
    throwsCode(
      () => bookSnapshot({ ...base, bids: [['1', '0']], asks: [] }),
      'QOB_ERR_INVALID_ARGUMENT',
      'bids[0].size',
    );
  });

  test('a trade has a positive size, a known aggressor, and a numeric trade id becomes text', () => {
    const base = {
      venue: 'kraken',
      symbol: 'BTC-USD',
      tsRecvMs: T0,
      price: '65000',
      size: '0.1',
      aggressor: 'buy',
    } as const;
    assert.equal(trade({ ...base, tradeId: 123456789 }).tradeId, '123456789');
    assert.equal(trade(base).tradeId, null);
    throwsCode(() => trade({ ...base, size: '0' }), 'QOB_ERR_INVALID_ARGUMENT', 'size');
    throwsCode(() => trade({ ...base, aggressor: 'taker' as 'buy' }), 'QOB_ERR_INVALID_ARGUMENT', 'aggressor');
    throwsCode(() => trade({ ...base, tradeId: 1.5 }), 'QOB_ERR_INVALID_ARGUMENT', 'tradeId');
  });

  test('a status is about one book or, with a null symbol, about the whole venue', () => {
    const book = status({ venue: 'bybit', symbol: 'BTC-USDT-PERP', tsRecvMs: T0, status: 'stale', reason: 'gap' });
    const venue = status({ venue: 'bybit', tsRecvMs: T0, status: 'disconnected', reason: 'socket closed' });
    assert.equal(book.symbol, 'BTC-USDT-PERP');
    assert.equal(venue.symbol, null);
    assert.equal(venue.id, `bybit|*|status|r${T0}#0`);
    throwsCode(
      () => status({ venue: 'bybit', tsRecvMs: T0, status: 'ok' as 'stale', reason: '' }),
      'QOB_ERR_INVALID_ARGUMENT',
      'status',
    );
  });

  test('bad prices and sizes are typed errors naming the offending change', () => {
    const withChange = (price: unknown, size: unknown) =>
      bookDelta({ ...DELTA, changes: [DELTA.changes[0]!, { side: 'ask', price, size } as never] });
    for (const junk of ['NaN', 'Infinity', '-Infinity', '', ' 1', '1,5', '0x1F', 'abc']) {
      throwsCode(() => withChange(junk, '1'), 'QOB_ERR_INVALID_DECIMAL', 'changes[1].price');
      throwsCode(() => withChange('1', junk), 'QOB_ERR_INVALID_DECIMAL', 'changes[1].size');
    }
    throwsCode(() => withChange(65000.1, '1'), 'QOB_ERR_INVALID_DECIMAL', 'changes[1].price');
    throwsCode(() => withChange('0', '1'), 'QOB_ERR_NONPOSITIVE_PRICE', 'changes[1].price');
    throwsCode(() => withChange('-1', '1'), 'QOB_ERR_NONPOSITIVE_PRICE', 'changes[1].price');
    throwsCode(() => withChange('1', '-0.5'), 'QOB_ERR_NEGATIVE_SIZE', 'changes[1].size');
    throwsCode(() => withChange('1e-19', '1'), 'QOB_ERR_DECIMAL_RANGE', 'changes[1].price');
    throwsCode(
      () => bookDelta({ ...DELTA, changes: [{ side: 'buy' as 'bid', price: '1', size: '1' }] }),
      'QOB_ERR_INVALID_ARGUMENT',
      'changes[0].side',
    );
  });

  test('bad venue, symbol, timestamps and sequence ids are typed errors naming the field', () => {
    throwsCode(() => bookDelta({ ...DELTA, venue: 'ftx' }), 'QOB_ERR_UNKNOWN_VENUE', 'venue');
    throwsCode(() => bookDelta({ ...DELTA, symbol: 'BTCUSDT' }), 'QOB_ERR_INVALID_SYMBOL', 'symbol');
    throwsCode(() => bookDelta({ ...DELTA, tsRecvMs: Number.NaN }), 'QOB_ERR_INVALID_ARGUMENT', 'tsRecvMs');
    throwsCode(() => bookDelta({ ...DELTA, tsEventMs: -1 }), 'QOB_ERR_INVALID_ARGUMENT', 'tsEventMs');
    throwsCode(() => bookDelta({ ...DELTA, lastSeq: 2 ** 53 }), 'QOB_ERR_INVALID_ARGUMENT', 'lastSeq');
    throwsCode(() => bookDelta({ ...DELTA, firstSeq: 103 }), 'QOB_ERR_INVALID_ARGUMENT', 'firstSeq');
    throwsCode(() => bookDelta({ ...DELTA, lastSeq: null }), 'QOB_ERR_INVALID_ARGUMENT', 'lastSeq');
    throwsCode(() => bookDelta({ ...DELTA, recvSeq: -1 }), 'QOB_ERR_INVALID_ARGUMENT', 'recvSeq');
  });

  test('property: a bad price or size anywhere in a delta is a typed error naming that change', () => {
    const junk = fc.constantFrom('NaN', 'Infinity', '', '-', '.', '1e', '1.2.3', '--1', 'abc', '0', '-3');
    fc.assert(
      fc.property(deltaArb, fc.nat(), junk, fc.boolean(), (e, k, bad, inPrice) => {
        fc.pre(e.changes.length > 0);
        const i = k % e.changes.length;
        const changes = e.changes.map((c, j) =>
          j !== i ? c : inPrice ? { ...c, price: bad } : { ...c, size: bad === '0' ? '-0.1' : bad },
        );
        assert.throws(
          () => bookDelta({ ...e, changes }),
          (err: unknown) =>
            isQobError(err) &&
            err.context.field === `changes[${i}].${inPrice ? 'price' : 'size'}` &&
            ['QOB_ERR_INVALID_DECIMAL', 'QOB_ERR_NONPOSITIVE_PRICE', 'QOB_ERR_NEGATIVE_SIZE'].includes(err.code),
        );
      }),
    );
  });
});

describe('event ids', () => {
  test('sequenced events take their id from the venue, so two collectors agree', () => {
    const a = bookDelta(DELTA);
    const b = bookDelta({ ...DELTA, tsRecvMs: T0 + 99, recvSeq: 7 });
    assert.equal(a.id, 'binance|BTC-USDT|book.delta|s:100:102');
    assert.equal(a.id, b.id);
    const t = trade({
      venue: 'okx',
      symbol: 'BTC-USDT',
      tsRecvMs: T0,
      price: '1',
      size: '1',
      aggressor: 'sell',
      tradeId: 'x1',
    });
    assert.equal(t.id, 'okx|BTC-USDT|trade|tx1');
  });

  test('an OKX keep-alive (seqId == prevSeqId) does not collide with the delta before it', () => {
    const update = bookDelta({ ...DELTA, venue: 'okx', firstSeq: null, prevSeq: 10, lastSeq: 12 });
    const keepAlive = bookDelta({ ...DELTA, venue: 'okx', firstSeq: null, prevSeq: 12, lastSeq: 12, changes: [] });
    assert.notEqual(update.id, keepAlive.id);
  });

  test('unsequenced events are told apart by receive time and receive counter', () => {
    const k = { ...DELTA, venue: 'kraken', firstSeq: null, lastSeq: null };
    const a = bookDelta({ ...k, recvSeq: 1 });
    const b = bookDelta({ ...k, recvSeq: 2 });
    assert.notEqual(a.id, b.id);
    assert.equal(a.id, `kraken|BTC-USDT|book.delta|r${T0 + 12.5}#1`);
    assert.equal(bookDelta({ ...k, recvSeq: 1 }).id, a.id);
  });
});

describe('immutability', () => {
  test('property: events, their arrays and their levels are frozen; mutation throws in strict mode', () => {
    fc.assert(
      fc.property(eventArb, (e) => {
        assert.ok(Object.isFrozen(e));
        for (const key of Object.keys(e)) {
          assert.throws(() => {
            (e as unknown as Record<string, unknown>)[key] = 'changed';
          }, TypeError);
        }
        assert.throws(() => {
          (e as unknown as Record<string, unknown>).extra = 1;
        }, TypeError);
        const arrays =
          e.type === 'book.snapshot' ? [e.bids, e.asks] : e.type === 'book.delta' ? [e.changes] : ([] as const);
        for (const a of arrays) {
          assert.ok(Object.isFrozen(a));
          assert.throws(() => (a as unknown[]).push(a[0]), TypeError);
          for (const item of a) {
            assert.ok(Object.isFrozen(item));
            assert.throws(() => {
              (item as unknown as Record<string, unknown>)[Array.isArray(item) ? 0 : 'price'] = '1';
            }, TypeError);
          }
        }
      }),
    );
  });
});

describe('encoding', () => {
  test('property: decode(encode(e)) equals e, is frozen, and encodes to the same text', () => {
    fc.assert(
      fc.property(eventArb, (e) => {
        const text = encodeEvent(e);
        const d = decodeEvent(text);
        assert.deepEqual(d, e);
        assert.ok(Object.isFrozen(d));
        assert.equal(encodeEvent(d), text);
      }),
    );
  });

  test('__proto__ and constructor keys are rejected anywhere with QOB_ERR_PROTOTYPE_POISONING', () => {
    const text = encodeEvent(bookDelta(DELTA));
    throwsCode(() => decodeEvent(text.replace('{', '{"__proto__":{"polluted":1},')), 'QOB_ERR_PROTOTYPE_POISONING');
    throwsCode(
      () => decodeEvent(text.replace('{"side"', '{"constructor":{"prototype":{}},"side"')),
      'QOB_ERR_PROTOTYPE_POISONING',
    );
    const parsed = JSON.parse(text.replace('{', '{"__proto__":{"x":1},'));
    throwsCode(() => eventFromJSON(parsed), 'QOB_ERR_PROTOTYPE_POISONING', '.__proto__');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('the decoder names the offending field of a bad event', () => {
    const o = JSON.parse(encodeEvent(bookDelta(DELTA)));
    const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...o, ...patch });
    throwsCode(() => decodeEvent(bad({ schemaVersion: 2 })), 'QOB_ERR_MALFORMED_MESSAGE', 'schemaVersion');
    throwsCode(() => decodeEvent(bad({ type: 'book.l3' })), 'QOB_ERR_UNKNOWN_MESSAGE', 'type');
    throwsCode(() => decodeEvent(bad({ id: 'binance|BTC-USDT|book.delta|s:1:2' })), 'QOB_ERR_MALFORMED_MESSAGE', 'id');
    throwsCode(() => decodeEvent(bad({ tsEventMs: undefined })), 'QOB_ERR_MALFORMED_MESSAGE', 'tsEventMs');
    throwsCode(() => decodeEvent(bad({ tsRecvMs: '1700000000000' })), 'QOB_ERR_MALFORMED_MESSAGE', 'tsRecvMs');
    throwsCode(() => decodeEvent(bad({ lastSeq: 1.5 })), 'QOB_ERR_MALFORMED_MESSAGE', 'lastSeq');
    throwsCode(
      () => decodeEvent(bad({ changes: [{ side: 'bid', price: 65000.1, size: '1' }] })),
      'QOB_ERR_INVALID_DECIMAL',
      'changes[0].price',
    );
    throwsCode(() => decodeEvent(bad({ venue: 'nope' })), 'QOB_ERR_UNKNOWN_VENUE', 'venue');
    throwsCode(() => decodeEvent('{"type":'), 'QOB_ERR_MALFORMED_MESSAGE', '(text)');
    throwsCode(() => decodeEvent('[1,2]'), 'QOB_ERR_MALFORMED_MESSAGE', '(root)');
  });

  test('unknown extra fields are ignored (forward compatibility within a version)', () => {
    const e = bookDelta(DELTA);
    const o = { ...JSON.parse(encodeEvent(e)), addedLater: 'x' };
    assert.deepEqual(decodeEvent(JSON.stringify(o)), e);
  });

  test('property: arbitrary text or JSON never decodes into anything but an event or a QobError', () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          decodeEvent(text);
        } catch (e) {
          assert.ok(isQobError(e), `not a QobError: ${String(e)}`);
        }
      }),
    );
  });

  test('property: replacing one field of a valid event with junk gives a QobError naming a field, or a valid event', () => {
    fc.assert(
      fc.property(eventArb, fc.nat(), fc.jsonValue(), (e, k, junk) => {
        const o = JSON.parse(encodeEvent(e)) as Record<string, unknown>;
        const keys = Object.keys(o);
        const key = keys[k % keys.length]!;
        o[key] = junk;
        try {
          const d = decodeEvent(JSON.stringify(o));
          assert.deepEqual(decodeEvent(encodeEvent(d)), d); // the junk happened to be a valid value
        } catch (err) {
          assert.ok(isQobError(err), `not a QobError: ${String(err)}`);
          assert.equal(typeof err.context.field, 'string', err.message);
        }
      }),
    );
  });
});

describe('docs/EVENTS.md', () => {
  test('documents every event type, status value and field', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs/EVENTS.md'), 'utf8');
    const samples: MarketEvent[] = [
      bookSnapshot({ venue: 'sim', symbol: 'BTC-USDT', tsRecvMs: T0, bids: [], asks: [] }),
      bookDelta(DELTA),
      trade({ venue: 'sim', symbol: 'BTC-USDT', tsRecvMs: T0, price: '1', size: '1', aggressor: 'buy' }),
      status({ venue: 'sim', tsRecvMs: T0, status: 'connected', reason: '' }),
    ];
    const names = new Set<string>([...EVENT_TYPES, ...FEED_STATUSES, 'side', 'price', 'size']);
    for (const e of samples) for (const k of Object.keys(e)) names.add(k);
    for (const n of names) assert.ok(doc.includes(`\`${n}\``), `docs/EVENTS.md does not mention \`${n}\``);
  });
});
