import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { L2Book, type RawLevel } from '../../src/book/l2-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';

function book(bids: string[][], asks: string[][], options = {}): L2Book {
  const b = new L2Book(options);
  b.applySnapshot(bids, asks);
  return b;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isQobError(e) && e.code === code, `expected ${code}`);
}

describe('L2Book crossed and locked', () => {
  test('a book with best bid above best ask is crossed and not locked', () => {
    const b = book([['101', '1']], [['100', '1']]);
    assert.equal(b.isCrossed(), true);
    assert.equal(b.isLocked(), false);
    assert.equal(b.spread()?.toString(), '-1');
  });

  test('a book with best bid equal to best ask is locked and not crossed, even at different spellings', () => {
    const b = book([['100.10', '1']], [['100.1000', '2']]);
    assert.equal(b.isLocked(), true);
    assert.equal(b.isCrossed(), false);
    assert.equal(b.spread()?.toString(), '0');
  });

  test('a normal or one-sided book is neither crossed nor locked', () => {
    assert.equal(book([['99', '1']], [['100', '1']]).isCrossed(), false);
    assert.equal(book([['99', '1']], []).isLocked(), false);
    assert.equal(book([], [['1', '1']]).isCrossed(), false);
  });
});

describe('L2Book mid and microprice', () => {
  test('mid is exact with one more fraction digit', () => {
    assert.equal(
      book([['100.01', '1']], [['100.02', '1']])
        .mid()
        ?.toString(),
      '100.015',
    );
    assert.equal(
      book([['99', '1']], [['101', '1']])
        .mid()
        ?.toString(),
      '100',
    );
  });

  test('microprice weights each side by the size on the other side', () => {
    // (bid * askSize + ask * bidSize) / (bidSize + askSize) = (100 * 3 + 102 * 1) / 4 = 100.5
    const b = book([['100', '1']], [['102', '3']]);
    assert.equal(b.microprice(), 100.5);
    // Equal sizes give the mid.
    assert.equal(book([['100.5', '2']], [['101.5', '2']]).microprice(), 101);
    // Heavier bid pulls it toward the ask.
    const m = book([['100', '9']], [['101', '1']]).microprice()!;
    assert.ok(m > 100.5 && m < 101);
  });

  test('mid, spread and microprice are undefined when a side is empty', () => {
    const b = book([['100', '1']], []);
    assert.equal(b.mid(), undefined);
    assert.equal(b.spread(), undefined);
    assert.equal(b.microprice(), undefined);
  });
});

describe('L2Book estimateFill', () => {
  const b = book(
    [
      ['99', '1'],
      ['98', '2'],
      ['97', '3'],
    ],
    [
      ['101', '1'],
      ['102', '2'],
      ['103', '3'],
    ],
  );

  test('a buy walks the asks from the lowest price and reports exact notional and VWAP', () => {
    const f = b.estimateFill('buy', '2');
    assert.equal(f.filled, '2');
    assert.equal(f.notional, '203');
    assert.equal(f.vwap, '101.5');
    assert.equal(f.worstPrice, '102');
    assert.equal(f.levelsConsumed, 2);
    assert.equal(f.complete, true);
    // (101.5 - 101) / 101 in bps, a cost: positive.
    assert.ok(Math.abs(f.slippageBps! - (0.5 / 101) * 10000) < 1e-6);
    assert.ok(f.slippageBps! > 0);
  });

  test('a sell walks the bids from the highest price and its slippage is also positive as a cost', () => {
    const f = b.estimateFill('sell', '1.5');
    assert.equal(f.filled, '1.5');
    assert.equal(f.notional, '148'); // 99 + 0.5 * 98
    assert.equal(f.worstPrice, '98');
    assert.equal(f.complete, true);
    assert.ok(Decimal.parse(f.vwap!).eq(Decimal.parse('148').div(Decimal.parse('1.5'), 8)));
    assert.ok(f.slippageBps! > 0);
  });

  test('a fill within the best level has zero slippage', () => {
    const f = b.estimateFill('sell', '0.5');
    assert.equal(f.vwap, '99');
    assert.equal(f.slippageBps, 0);
  });

  test('a fill larger than the side is partial: complete is false and filled is what the book held', () => {
    const f = b.estimateFill('buy', '10');
    assert.equal(f.requested, '10');
    assert.equal(f.filled, '6');
    assert.equal(f.notional, String(101 + 204 + 309));
    assert.equal(f.levelsConsumed, 3);
    assert.equal(f.complete, false);
  });

  test('a fill against an empty side fills nothing and has no VWAP', () => {
    const f = new L2Book().estimateFill('buy', '1');
    assert.equal(f.filled, '0');
    assert.equal(f.vwap, undefined);
    assert.equal(f.worstPrice, undefined);
    assert.equal(f.slippageBps, undefined);
    assert.equal(f.complete, false);
  });

  test('a request with more size digits than the book compares exactly', () => {
    const f = b.estimateFill('buy', '1.000000001');
    assert.equal(f.filled, '1.000000001');
    assert.equal(f.notional, '101.000000102');
  });

  test('a zero, negative or malformed size is a typed error', () => {
    throwsCode(() => b.estimateFill('buy', '0'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.estimateFill('buy', '-1'), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.estimateFill('buy', 'NaN'), 'QOB_ERR_INVALID_DECIMAL');
  });
});

describe('L2Book depth queries', () => {
  const b = book(
    [
      ['99', '1'],
      ['98', '2'],
    ],
    [
      ['101', '1.5'],
      ['102', '2'],
    ],
  );

  test('cumulativeSizeTo sums the levels at or better than the price', () => {
    assert.equal(b.cumulativeSizeTo('bid', '98').toString(), '3');
    assert.equal(b.cumulativeSizeTo('bid', '98.5').toString(), '1');
    assert.equal(b.cumulativeSizeTo('ask', '101').toString(), '1.5');
    assert.equal(b.cumulativeSizeTo('ask', '100').toString(), '0');
  });

  test('depthWithinBps is inclusive and rejects a negative or non-finite band', () => {
    // mid 100; 100 bps -> [99, 101]
    const d = b.depthWithinBps(100);
    assert.equal(d.bids.toString(), '1');
    assert.equal(d.asks.toString(), '1.5');
    throwsCode(() => b.depthWithinBps(-1), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.depthWithinBps(Number.NaN), 'QOB_ERR_INVALID_ARGUMENT');
  });
});

describe('L2Book rejects bad input with a typed error and leaves the book unchanged', () => {
  const cases: Array<[string, unknown, string]> = [
    ['NaN price', ['NaN', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['Infinity price', ['Infinity', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['Infinity size', ['100', 'Infinity'], 'QOB_ERR_INVALID_DECIMAL'],
    ['empty price', ['', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['empty size', ['100', ''], 'QOB_ERR_INVALID_DECIMAL'],
    ['negative size', ['100', '-1'], 'QOB_ERR_NEGATIVE_SIZE'],
    ['zero price', ['0', '1'], 'QOB_ERR_NONPOSITIVE_PRICE'],
    ['negative price', ['-100', '1'], 'QOB_ERR_NONPOSITIVE_PRICE'],
    ['1e999 price', ['1e999', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['1.2.3 price', ['1.2.3', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['number price', [100, '1'], 'QOB_ERR_MALFORMED_MESSAGE'],
    ['number size', ['100', 1], 'QOB_ERR_MALFORMED_MESSAGE'],
    ['missing size', ['100'], 'QOB_ERR_MALFORMED_MESSAGE'],
    ['__proto__ as a price', ['__proto__', '1'], 'QOB_ERR_INVALID_DECIMAL'],
    ['an object level with a __proto__ key', JSON.parse('{"__proto__":["1","2"]}'), 'QOB_ERR_MALFORMED_MESSAGE'],
    ['a null level', null, 'QOB_ERR_MALFORMED_MESSAGE'],
    ['a price beyond the exact range', ['9007199254740992', '1'], 'QOB_ERR_DECIMAL_RANGE'],
    ['a size written with more than 64 characters', ['99', `1.${'1'.repeat(64)}`], 'QOB_ERR_DECIMAL_RANGE'],
    [
      'regression: a size in exponent form whose canonical text is huge (1e400)',
      ['99', '1e400'],
      'QOB_ERR_DECIMAL_RANGE',
    ],
    [
      'regression: a size in exponent form with 400 fraction digits (1e-400)',
      ['99', '1e-400'],
      'QOB_ERR_DECIMAL_RANGE',
    ],
  ];

  for (const [name, level, code] of cases) {
    test(`${name} -> ${code}, in a delta, a snapshot and set()`, () => {
      const b = book(
        [
          ['99.5', '1.25'],
          ['99', '3'],
        ],
        [['100.5', '2']],
      );
      const before = b.hash();
      const good: RawLevel = ['98', '4.125'];
      // The bad level comes after a good one that grows the size scale: that must not leak either.
      const delta = [good, level] as RawLevel[];
      throwsCode(() => b.applyDelta(delta, []), code);
      assert.equal(b.hash(), before);
      throwsCode(() => b.applyDelta([], delta), code);
      assert.equal(b.hash(), before);
      throwsCode(() => b.applySnapshot(delta, [['200', '1']]), code);
      assert.equal(b.hash(), before);
      if (Array.isArray(level)) {
        // set() takes the texts themselves: a non-string is not a decimal.
        const setCode = code === 'QOB_ERR_MALFORMED_MESSAGE' ? 'QOB_ERR_INVALID_DECIMAL' : code;
        throwsCode(() => b.set('bid', level[0] as string, level[1] as string), setCode);
        assert.equal(b.hash(), before);
      }
      assert.deepEqual(b.levels('bid'), [
        { price: '99.5', size: '1.25' },
        { price: '99', size: '3' },
      ]);
    });
  }

  test('a bad last ask undoes the bids and asks of the same delta applied before it', () => {
    const b = book([['99', '3']], [['100.5', '2']]);
    const before = b.hash();
    throwsCode(
      () =>
        b.applyDelta(
          [
            ['99', '0'],
            ['98.75', '1'],
          ],
          [
            ['100.5', '7'],
            ['101', 'x'],
          ],
        ),
      'QOB_ERR_INVALID_DECIMAL',
    );
    assert.equal(b.hash(), before);
    b.applyDelta([['99', '0']], [['101', '1']]);
    assert.deepEqual(b.toJSON(), {
      bids: [],
      asks: [
        { price: '100.5', size: '2' },
        { price: '101', size: '1' },
      ],
    });
  });

  test('regression: a null level in a delta raised a TypeError instead of QOB_ERR_MALFORMED_MESSAGE', () => {
    const b = new L2Book();
    throwsCode(() => b.applyDelta([null as unknown as RawLevel], []), 'QOB_ERR_MALFORMED_MESSAGE');
    throwsCode(() => b.applyDelta([], [undefined as unknown as RawLevel]), 'QOB_ERR_MALFORMED_MESSAGE');
  });

  test('regression: set() with a number or undefined instead of text threw a TypeError', () => {
    const b = book([['1', '1']], []);
    const before = b.hash();
    throwsCode(() => b.set('bid', 100 as unknown as string, '1'), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => b.set('bid', '100', undefined as unknown as string), 'QOB_ERR_INVALID_DECIMAL');
    assert.equal(b.hash(), before);
  });

  test('regression: truncate with a negative depth left a side with a negative length', () => {
    const b = book(
      [
        ['1', '1'],
        ['2', '1'],
      ],
      [['3', '1']],
    );
    const before = b.hash();
    throwsCode(() => b.truncate(-1), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.truncate(Number.NaN), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => b.truncate(1.5), 'QOB_ERR_INVALID_ARGUMENT');
    assert.equal(b.hash(), before);
    assert.equal(b.bids.length, 2);
    b.truncate(Number.POSITIVE_INFINITY);
    assert.equal(b.hash(), before);
    b.truncate(1);
    assert.deepEqual(b.levels('bid'), [{ price: '2', size: '1' }]);
  });
});

describe('L2Book scales', () => {
  test('the price scale grows exactly when a price with more fraction digits arrives, and existing levels keep their value', () => {
    const b = book([['100', '1']], [['101', '2']]);
    assert.equal(b.priceScale, 0);
    b.applyDelta([['100.125', '0.00000001']], [['101.5', '3.5']]);
    assert.equal(b.priceScale, 3);
    assert.deepEqual(b.levels('bid'), [
      { price: '100.125', size: '0.00000001' },
      { price: '100', size: '1' },
    ]);
    assert.deepEqual(b.levels('ask'), [
      { price: '101', size: '2' },
      { price: '101.5', size: '3.5' },
    ]);
    // Trailing zeros do not grow the scale.
    b.set('bid', '100.1250000000', '1.000000000000');
    assert.equal(b.priceScale, 3);
  });

  test('regression: sizes beyond 2^53 at their precision (Bitstamp xrpeur 112716000.00000000) are kept exactly', () => {
    const b = book(
      [
        ['0.7348', '112716000.00000000'],
        ['0.7347', '0.12345678'],
      ],
      [['0.7352', '123456789012345678.12345678']],
    );
    assert.deepEqual(b.levels('bid'), [
      { price: '0.7348', size: '112716000' },
      { price: '0.7347', size: '0.12345678' },
    ]);
    assert.equal(b.bestAsk()?.size, '123456789012345678.12345678');
    assert.equal(b.bids.sizeAt(0), '112716000.00000000'); // the venue's own text, for checksums
    assert.equal(b.estimateFill('sell', '112716000.1').notional, '82823716.87347');
  });

  test('equal content hashes equal whatever the scales', () => {
    const a = book([['100.1', '1.5']], [['101', '2']]);
    const b = book([['100.10', '1.50']], [['101.000', '2']], { priceScale: 6 });
    assert.equal(a.hash(), b.hash());
    assert.notEqual(a.hash(), book([['100.1', '1.5']], [['101', '2.1']]).hash());
  });

  test('a book with fixedScale rejects extra digits with QOB_ERR_DECIMAL_RANGE', () => {
    const b = book([['100.1', '1']], [], { priceScale: 1, fixedScale: true });
    const before = b.hash();
    throwsCode(() => b.set('bid', '100.12', '1'), 'QOB_ERR_DECIMAL_RANGE');
    assert.equal(b.hash(), before);
  });

  test('growing a scale beyond what the held levels can represent exactly is QOB_ERR_DECIMAL_RANGE', () => {
    const p = book([['90000000000', '1']], []);
    const before = p.hash();
    throwsCode(() => p.set('bid', '1.000001', '1'), 'QOB_ERR_DECIMAL_RANGE');
    assert.equal(p.hash(), before);
  });

  test('the largest exact price is accepted, and one more is not', () => {
    const b = new L2Book();
    b.set('bid', '9007199254740991', '1');
    assert.equal(b.bestBid()?.price, '9007199254740991');
    throwsCode(() => b.set('bid', '9007199254740992', '1'), 'QOB_ERR_DECIMAL_RANGE');
  });

  test('an invalid initial scale is QOB_ERR_INVALID_ARGUMENT', () => {
    throwsCode(() => new L2Book({ priceScale: -1 }), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => new L2Book({ priceScale: 19 }), 'QOB_ERR_INVALID_ARGUMENT');
    throwsCode(() => new L2Book({ priceScale: 1.5 }), 'QOB_ERR_INVALID_ARGUMENT');
  });
});
