import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isQobError, type QobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import {
  createInstrument,
  type InstrumentInput,
  type InstrumentProblem,
  isLotAligned,
  isTickAligned,
  isVenueId,
  normalizeAsset,
  normalizeSymbol,
  parseNormalizedSymbol,
  parseVenueId,
  VENUE_INFO,
} from '../../src/domain/index.ts';

const BTCUSDT: InstrumentInput = {
  venue: 'binance',
  venueSymbol: 'BTCUSDT',
  base: 'BTC',
  quote: 'USDT',
  kind: 'spot',
  tickSize: '0.01000000',
  lotSize: '0.00001000',
};

const EXPIRY_20220527 = Date.UTC(2022, 4, 27, 8, 0, 0);

function problemsOf(fn: () => unknown): InstrumentProblem[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'), `expected QOB_ERR_INVALID_ARGUMENT, got ${String(e)}`);
    return (e as QobError).context.problems as InstrumentProblem[];
  }
  assert.fail('expected an error');
}

function fieldsOf(fn: () => unknown): string[] {
  return problemsOf(fn).map((p) => p.field);
}

function throwsCode(fn: () => unknown, code: string, field?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isQobError(e), `not a QobError: ${String(e)}`);
    assert.equal(e.code, code);
    if (field !== undefined) assert.equal(e.context.field, field);
    return true;
  });
}

describe('venue ids', () => {
  test('known venues and ccxt:<id> are venue ids, anything else is QOB_ERR_UNKNOWN_VENUE', () => {
    for (const id of Object.keys(VENUE_INFO)) assert.equal(parseVenueId(id), id);
    assert.equal(parseVenueId('ccxt:gateio'), 'ccxt:gateio');
    for (const bad of ['Binance', 'ccxt:', 'ccxt:Gate IO', 'ftx', '', 42, null]) {
      assert.equal(isVenueId(bad), false);
      throwsCode(() => parseVenueId(bad), 'QOB_ERR_UNKNOWN_VENUE', 'venue');
    }
  });

  test('venue info is frozen', () => {
    assert.ok(Object.isFrozen(VENUE_INFO));
    assert.ok(Object.isFrozen(VENUE_INFO.kraken));
    assert.equal(VENUE_INFO.kraken.bookIntegrity, 'checksum');
  });
});

describe('normalizeAsset', () => {
  test('maps XBT to BTC and XDG to DOGE, case-insensitively', () => {
    assert.equal(normalizeAsset('XBT'), 'BTC');
    assert.equal(normalizeAsset('xbt'), 'BTC');
    assert.equal(normalizeAsset('XDG'), 'DOGE');
  });

  test("maps Kraken's legacy four-letter X/Z codes (the parts of XXBTZUSD)", () => {
    assert.equal(normalizeAsset('XXBT'), 'BTC');
    assert.equal(normalizeAsset('ZUSD'), 'USD');
    assert.equal(normalizeAsset('XETH'), 'ETH');
    assert.equal(normalizeAsset('ZEUR'), 'EUR');
    assert.equal(normalizeAsset('XXDG'), 'DOGE');
  });

  test('leaves real assets that start with X or Z alone, and USDT stays USDT', () => {
    for (const a of ['XRP', 'XLM', 'XTZ', 'ZEC', 'ZRX', 'USDT', 'USDC', '1INCH', '1000PEPE']) {
      assert.equal(normalizeAsset(a), a);
    }
  });

  test('rejects junk with QOB_ERR_INVALID_SYMBOL', () => {
    for (const bad of ['', 'BTC/USD', 'BTC-USD', 'ETH2.S', ' BTC', 'A'.repeat(25)]) {
      throwsCode(() => normalizeAsset(bad), 'QOB_ERR_INVALID_SYMBOL', 'asset');
    }
  });
});

describe('normalized symbols', () => {
  test('spot, perp, dated future and option follow the documented scheme', () => {
    assert.equal(normalizeSymbol('BTC', 'USDT', 'spot'), 'BTC-USDT');
    assert.equal(normalizeSymbol('XBT', 'ZUSD', 'spot'), 'BTC-USD');
    assert.equal(normalizeSymbol('BTC', 'USDT', 'perp'), 'BTC-USDT-PERP');
    assert.equal(normalizeSymbol('BTC', 'USD', 'future', EXPIRY_20220527), 'BTC-USD-20220527');
    assert.equal(
      normalizeSymbol('BTC', 'USD', 'option', Date.UTC(2024, 2, 29, 8), { strike: '60000.0', optionType: 'call' }),
      'BTC-USD-20240329-60000-C',
    );
  });

  test('a future needs an expiry and a spot or perp refuses one', () => {
    throwsCode(() => normalizeSymbol('BTC', 'USD', 'future'), 'QOB_ERR_INVALID_SYMBOL', 'expiryMs');
    throwsCode(() => normalizeSymbol('BTC', 'USD', 'perp', EXPIRY_20220527), 'QOB_ERR_INVALID_SYMBOL', 'expiryMs');
    throwsCode(() => normalizeSymbol('BTC', 'BTC', 'spot'), 'QOB_ERR_INVALID_SYMBOL', 'quote');
  });

  test('parseNormalizedSymbol splits each kind into its parts', () => {
    assert.deepEqual(parseNormalizedSymbol('BTC-USDT'), { base: 'BTC', quote: 'USDT', kind: 'spot' });
    assert.deepEqual(parseNormalizedSymbol('ETH-USD-PERP'), { base: 'ETH', quote: 'USD', kind: 'perp' });
    assert.deepEqual(parseNormalizedSymbol('BTC-USD-20220527'), {
      base: 'BTC',
      quote: 'USD',
      kind: 'future',
      expiryDate: '20220527',
    });
    assert.deepEqual(parseNormalizedSymbol('BTC-USD-20240329-0.5-P'), {
      base: 'BTC',
      quote: 'USD',
      kind: 'option',
      expiryDate: '20240329',
      strike: '0.5',
      optionType: 'put',
    });
  });

  test('parseNormalizedSymbol rejects junk with QOB_ERR_INVALID_SYMBOL', () => {
    const junk = [
      '',
      'BTCUSDT',
      'btc-usdt',
      'BTC/USDT',
      'BTC-USDT-SWAP',
      'BTC-USD-20230230',
      'BTC-USD-2023023',
      'XBT-USD',
      'BTC-BTC',
      'BTC--USD',
      'BTC-USD-PERP-X',
      'BTC-USD-20240329-060000-C',
      'BTC-USD-20240329-60000-X',
      'BTC-USD-20240329-0-C',
      'BTC-USD-20240329-60000',
    ];
    for (const s of junk) throwsCode(() => parseNormalizedSymbol(s), 'QOB_ERR_INVALID_SYMBOL', 'symbol');
  });

  test('property: parseNormalizedSymbol inverts normalizeSymbol', () => {
    const asset = fc.stringMatching(/^[A-Z0-9]{1,8}$/).filter((a) => normalizeAsset(a) === a);
    fc.assert(
      fc.property(
        asset,
        asset,
        fc.constantFrom('spot', 'perp', 'future', 'option' as const),
        fc.integer({ min: 0, max: 4102444800000 }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 6 }),
        (b, q, kind, expiryMs, strikeCoef, strikeScale) => {
          fc.pre(b !== q);
          const dated = kind === 'future' || kind === 'option';
          const strike = Decimal.of(strikeCoef, strikeScale).toString();
          const option = kind === 'option' ? { strike, optionType: 'put' as const } : undefined;
          const s = normalizeSymbol(b, q, kind, dated ? expiryMs : undefined, option);
          const p = parseNormalizedSymbol(s);
          assert.equal(p.base, b);
          assert.equal(p.quote, q);
          assert.equal(p.kind, kind);
          if (dated) assert.equal(p.expiryDate, new Date(expiryMs).toISOString().slice(0, 10).replaceAll('-', ''));
          if (kind === 'option') assert.equal(p.strike, strike);
        },
      ),
    );
  });
});

describe('createInstrument', () => {
  test('a Binance spot pair gets a normalized symbol, canonical steps and precisions derived from them', () => {
    const i = createInstrument(BTCUSDT);
    assert.equal(i.symbol, 'BTC-USDT');
    assert.equal(i.tickSize, '0.01');
    assert.equal(i.lotSize, '0.00001');
    assert.equal(i.pricePrecision, 2);
    assert.equal(i.quantityPrecision, 5);
    assert.equal(i.venueSymbol, 'BTCUSDT');
  });

  test('Kraken asset codes are normalized (XBT/USD is BTC-USD)', () => {
    const i = createInstrument({ ...BTCUSDT, venue: 'kraken', venueSymbol: 'XBT/USD', base: 'XBT', quote: 'ZUSD' });
    assert.equal(i.base, 'BTC');
    assert.equal(i.quote, 'USD');
    assert.equal(i.symbol, 'BTC-USD');
  });

  test('an OKX inverse swap is a perp with a contract size; a dated future carries its expiry', () => {
    const swap = createInstrument({
      venue: 'okx',
      venueSymbol: 'BTC-USD-SWAP',
      base: 'BTC',
      quote: 'USD',
      kind: 'perp',
      tickSize: '0.1',
      lotSize: '1',
      contractSize: '100',
    });
    assert.equal(swap.symbol, 'BTC-USD-PERP');
    assert.equal(swap.contractSize, '100');
    const fut = createInstrument({
      venue: 'okx',
      venueSymbol: 'BTC-USD-220527',
      base: 'BTC',
      quote: 'USD',
      kind: 'future',
      tickSize: '0.1',
      lotSize: '1',
      contractSize: '100',
      expiryMs: EXPIRY_20220527,
    });
    assert.equal(fut.symbol, 'BTC-USD-20220527');
    assert.equal(fut.expiryMs, EXPIRY_20220527);
  });

  test('an option needs a strike and a type and gets them in its symbol', () => {
    const o = createInstrument({
      venue: 'okx',
      venueSymbol: 'BTC-USD-240329-60000-C',
      base: 'BTC',
      quote: 'USD',
      kind: 'option',
      tickSize: '0.0005',
      lotSize: '1',
      expiryMs: Date.UTC(2024, 2, 29, 8),
      strike: '60000',
      optionType: 'call',
    });
    assert.equal(o.symbol, 'BTC-USD-20240329-60000-C');
    assert.deepEqual(fieldsOf(() => createInstrument({ ...o, strike: undefined, optionType: undefined })).sort(), [
      'optionType',
      'strike',
    ]);
  });

  test('the instrument is frozen: assigning a field throws in strict mode', () => {
    const i = createInstrument(BTCUSDT);
    assert.ok(Object.isFrozen(i));
    assert.throws(() => {
      (i as { tickSize: string }).tickSize = '1';
    }, TypeError);
  });

  test('reports every problem together in one QOB_ERR_INVALID_ARGUMENT', () => {
    const fields = fieldsOf(() =>
      createInstrument({
        venue: 'nope',
        venueSymbol: '',
        base: 'B/C',
        quote: 'USDT',
        kind: 'future',
        tickSize: '0',
        lotSize: 'abc',
        pricePrecision: -1,
      }),
    );
    assert.deepEqual(fields.sort(), [
      'base',
      'expiryMs',
      'lotSize',
      'pricePrecision',
      'tickSize',
      'venue',
      'venueSymbol',
    ]);
  });

  test('tick and lot sizes must be positive exact decimals (no numbers, NaN, Infinity, negatives, zero)', () => {
    for (const bad of ['0', '-0.01', 'NaN', 'Infinity', '', '1e-30', '0x10', '1,5']) {
      assert.deepEqual(
        fieldsOf(() => createInstrument({ ...BTCUSDT, tickSize: bad })),
        ['tickSize'],
        bad,
      );
      assert.deepEqual(
        fieldsOf(() => createInstrument({ ...BTCUSDT, lotSize: bad })),
        ['lotSize'],
        bad,
      );
    }
    assert.deepEqual(
      fieldsOf(() => createInstrument({ ...BTCUSDT, tickSize: 0.01 as unknown as string })),
      ['tickSize'],
    );
    assert.equal(createInstrument({ ...BTCUSDT, tickSize: Decimal.parse('1e-2') }).tickSize, '0.01');
  });

  test('a given precision may exceed the step digits but not fall below them', () => {
    assert.equal(createInstrument({ ...BTCUSDT, pricePrecision: 4 }).pricePrecision, 4);
    assert.deepEqual(
      fieldsOf(() => createInstrument({ ...BTCUSDT, pricePrecision: 1 })),
      ['pricePrecision'],
    );
    assert.deepEqual(
      fieldsOf(() => createInstrument({ ...BTCUSDT, quantityPrecision: 2.5 })),
      ['quantityPrecision'],
    );
  });

  test('expiry belongs to futures and options only; a given symbol must match the derived one', () => {
    assert.deepEqual(
      fieldsOf(() => createInstrument({ ...BTCUSDT, expiryMs: EXPIRY_20220527 })),
      ['expiryMs'],
    );
    assert.deepEqual(
      fieldsOf(() => createInstrument({ ...BTCUSDT, symbol: 'BTC-USD' })),
      ['symbol'],
    );
    assert.equal(createInstrument({ ...BTCUSDT, symbol: 'BTC-USDT' }).symbol, 'BTC-USDT');
  });
});

describe('tick and lot alignment', () => {
  const inst = createInstrument({ ...BTCUSDT, tickSize: '0.5', lotSize: '0.001' });

  test('a price is aligned when it is a whole number of ticks, whatever its formatting', () => {
    assert.equal(isTickAligned(inst, '100.5'), true);
    assert.equal(isTickAligned(inst, '100.50000'), true);
    assert.equal(isTickAligned(inst, '1e2'), true);
    assert.equal(isTickAligned(inst, '100.25'), false);
    assert.equal(isLotAligned(inst, '0.123'), true);
    assert.equal(isLotAligned(inst, '0.1234'), false);
  });

  test('bad text is a typed error naming the field', () => {
    throwsCode(() => isTickAligned(inst, 'NaN'), 'QOB_ERR_INVALID_DECIMAL', 'price');
    throwsCode(() => isLotAligned(inst, ''), 'QOB_ERR_INVALID_DECIMAL', 'size');
  });

  test('property: k ticks are aligned and k ticks plus a tenth of a tick are not', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.integer({ min: 0, max: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        (tickCoef, tickScale, k) => {
          const tick = Decimal.of(tickCoef, tickScale);
          const i = createInstrument({ ...BTCUSDT, tickSize: tick, lotSize: tick });
          const price = tick.mul(Decimal.of(k, 0));
          assert.equal(isTickAligned(i, price), true);
          assert.equal(isLotAligned(i, price.toString()), true);
          const off = price.add(tick.div(Decimal.of(10n, 0), tick.scale + 1));
          assert.equal(isTickAligned(i, off), false);
        },
      ),
    );
  });
});
