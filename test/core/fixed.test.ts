import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isQobError } from '../../src/core/errors.ts';
import {
  Decimal,
  formatCanonical,
  formatScaled,
  fractionDigits,
  MAX_SCALE,
  parseScaled,
  pow10,
  writtenFractionDigits,
} from '../../src/core/fixed.ts';

const safeInt = fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const scaleArb = fc.integer({ min: 0, max: MAX_SCALE });

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isQobError(e) && e.code === code);
}

describe('parseScaled', () => {
  test('parses plain decimal text to an exact scaled integer', () => {
    assert.equal(parseScaled('65000.12', 2), 6500012);
    assert.equal(parseScaled('65000.1', 2), 6500010);
    assert.equal(parseScaled('65000', 2), 6500000);
    assert.equal(parseScaled('0.00000001', 8), 1);
    assert.equal(parseScaled('+1.5', 1), 15);
    assert.equal(parseScaled('-1.5', 1), -15);
    assert.equal(parseScaled('.5', 1), 5);
    assert.equal(parseScaled('5.', 0), 5);
    assert.equal(parseScaled('600.00000000', 2), 60000);
    assert.equal(parseScaled('007', 0), 7);
  });

  test('returns +0, never -0, for negative zero', () => {
    assert.ok(Object.is(parseScaled('-0', 2), 0));
    assert.ok(Object.is(parseScaled('-0.000', 1), 0));
  });

  test('parses exponent notation exactly (String(n) gives 7e-7)', () => {
    assert.equal(parseScaled('7e-7', 8), 70);
    assert.equal(parseScaled('1.5E3', 0), 1500);
    assert.equal(parseScaled('1e+2', 1), 1000);
  });

  test('returns NaN when a non-zero digit lies beyond the scale, so that the caller grows its scale', () => {
    assert.ok(Number.isNaN(parseScaled('1.25', 1)));
    assert.ok(Number.isNaN(parseScaled('7e-7', 6)));
    assert.equal(fractionDigits('1.2500'), 2);
    assert.equal(writtenFractionDigits('1.2500'), 4);
    assert.equal(writtenFractionDigits('12'), 0);
  });

  test('rejects text that is not a finite decimal with QOB_ERR_INVALID_DECIMAL', () => {
    for (const t of [
      '',
      '-',
      '+',
      '.',
      'NaN',
      'Infinity',
      '-Infinity',
      '1.2.3',
      '1,5',
      ' 1',
      '1 ',
      '0x10',
      '1e',
      'e5',
      '--1',
      '1_000',
      '１',
    ]) {
      throwsCode(() => parseScaled(t, 2), 'QOB_ERR_INVALID_DECIMAL');
    }
  });

  test('regression: a number or undefined instead of text threw a TypeError instead of QOB_ERR_INVALID_DECIMAL', () => {
    throwsCode(() => parseScaled(5 as unknown as string, 2), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => parseScaled(undefined as unknown as string, 2), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => parseScaled(null as unknown as string, 2), 'QOB_ERR_INVALID_DECIMAL');
  });

  test('rejects values whose scaled integer is beyond the safe range with QOB_ERR_DECIMAL_RANGE', () => {
    assert.equal(parseScaled('9007199254740991', 0), Number.MAX_SAFE_INTEGER);
    assert.equal(parseScaled('90071992547409.91', 2), Number.MAX_SAFE_INTEGER);
    throwsCode(() => parseScaled('9007199254740992', 0), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => parseScaled('90071992547409.92', 2), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => parseScaled('1', 19), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => parseScaled('9'.repeat(400), 0), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => parseScaled('1e20', 0), 'QOB_ERR_DECIMAL_RANGE');
  });

  test('round-trips every safe integer at every scale through formatScaled', () => {
    fc.assert(
      fc.property(safeInt, scaleArb, (v, s) => {
        assert.equal(parseScaled(formatScaled(v, s), s), v === 0 ? 0 : v);
        assert.equal(parseScaled(formatCanonical(v, s), s), v === 0 ? 0 : v);
      }),
    );
  });

  test('agrees with Decimal.parse on every text it accepts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat(24), scaleArb, (coef, sc, scale) => {
        const text = Decimal.of(coef, sc).toFixed(sc);
        const d = Decimal.parse(text);
        let r: number;
        try {
          r = parseScaled(text, scale);
        } catch (e) {
          assert.ok(isQobError(e, 'QOB_ERR_DECIMAL_RANGE'));
          assert.ok(
            d.normalize().scale > scale ||
              d.rescale(scale)!.coef > BigInt(Number.MAX_SAFE_INTEGER) ||
              d.rescale(scale)!.coef < -BigInt(Number.MAX_SAFE_INTEGER),
          );
          return;
        }
        if (Number.isNaN(r)) assert.ok(d.normalize().scale > scale);
        else assert.ok(Decimal.fromScaled(r, scale).eq(d));
      }),
    );
  });

  test('fuzz: random text never yields a silent NaN or Infinity: a typed error, an exact value, or NaN meaning "more digits"', () => {
    const chars = fc.constantFrom(...'0123456789.-+eE xIn,_'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 30 }), fc.nat(MAX_SCALE), (text, scale) => {
        let r: number;
        try {
          r = parseScaled(text, scale);
        } catch (e) {
          assert.ok(isQobError(e), `untyped error for ${JSON.stringify(text)}: ${e}`);
          assert.ok(e.code === 'QOB_ERR_INVALID_DECIMAL' || e.code === 'QOB_ERR_DECIMAL_RANGE', e.code);
          return;
        }
        const d = Decimal.parse(text); // whatever parseScaled accepts is a decimal
        if (Number.isNaN(r)) {
          assert.ok(d.normalize().scale > scale, `NaN for ${JSON.stringify(text)} at ${scale}`);
        } else {
          assert.ok(Number.isSafeInteger(r), `${r} for ${JSON.stringify(text)}`);
          assert.ok(Decimal.fromScaled(r, scale).eq(d), `${r} for ${JSON.stringify(text)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatScaled and formatCanonical', () => {
  test('formats with exactly the requested fraction digits', () => {
    assert.equal(formatScaled(6500012, 2), '65000.12');
    assert.equal(formatScaled(5, 3), '0.005');
    assert.equal(formatScaled(-5, 3), '-0.005');
    assert.equal(formatScaled(6500010, 2, 1), '65000.1');
    assert.equal(formatScaled(12, 1, 3), '1.200');
    assert.equal(formatScaled(12, 0, 2), '12.00');
    assert.equal(formatScaled(0, 4), '0.0000');
  });

  test('refuses to drop non-zero digits (formatting never rounds) with QOB_ERR_INTERNAL', () => {
    throwsCode(() => formatScaled(6500012, 2, 1), 'QOB_ERR_INTERNAL');
  });

  test('canonical text has no trailing fraction zeros and no trailing dot', () => {
    assert.equal(formatCanonical(6500010, 2), '65000.1');
    assert.equal(formatCanonical(6500000, 2), '65000');
    assert.equal(formatCanonical(1, 8), '0.00000001');
    assert.equal(formatCanonical(-100, 2), '-1');
    assert.equal(formatCanonical(0, 5), '0');
    assert.equal(formatCanonical(42, 0), '42');
  });

  test('canonical text equals Decimal canonical text for every safe integer and scale', () => {
    fc.assert(
      fc.property(safeInt, scaleArb, (v, s) => {
        const t = formatCanonical(v, s);
        assert.equal(t, Decimal.fromScaled(v, s).toString());
        assert.doesNotMatch(t, /\.$|\.\d*0$/);
      }),
    );
  });

  test('pow10 is exact up to 10^22 and a typed error beyond', () => {
    assert.equal(pow10(0), 1);
    assert.equal(pow10(18), 1e18);
    throwsCode(() => pow10(23), 'QOB_ERR_DECIMAL_RANGE');
  });
});

describe('Decimal', () => {
  const dec = fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat(30))
    .map(([c, s]) => Decimal.of(c, s));

  test('parses text with an exponent, a sign and no integer part', () => {
    assert.equal(Decimal.parse('1.50').toString(), '1.5');
    assert.equal(Decimal.parse('1.50').scale, 2);
    assert.equal(Decimal.parse('-.5').toString(), '-0.5');
    assert.equal(Decimal.parse('7e-7').toString(), '0.0000007');
    assert.equal(Decimal.parse('1.2E+3').toString(), '1200');
    assert.equal(Decimal.parse('-0').toString(), '0');
  });

  test('rejects empty, NaN, Infinity, garbage, non-strings and huge exponents with QOB_ERR_INVALID_DECIMAL', () => {
    for (const t of ['', 'NaN', 'Infinity', '1.2.3', 'abc', '1e', '.', '-', '1e999', '1e-999', 'x'.repeat(401)]) {
      throwsCode(() => Decimal.parse(t), 'QOB_ERR_INVALID_DECIMAL');
    }
    throwsCode(() => Decimal.parse(12 as unknown as string), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => Decimal.fromNumber(Number.NaN), 'QOB_ERR_INVALID_DECIMAL');
    throwsCode(() => Decimal.fromNumber(Number.POSITIVE_INFINITY), 'QOB_ERR_INVALID_DECIMAL');
  });

  test('fromNumber uses the shortest round-trip text, so 0.1 is exactly 0.1', () => {
    assert.equal(Decimal.fromNumber(0.1).toString(), '0.1');
    assert.equal(Decimal.fromNumber(0.1).add(Decimal.fromNumber(0.2)).toString(), '0.3');
    assert.equal(Decimal.fromNumber(1e21).toString(), '1000000000000000000000');
  });

  test('toString then parse round-trips every value', () => {
    fc.assert(fc.property(dec, (d) => assert.ok(Decimal.parse(d.toString()).eq(d))));
  });

  test('toFixed at its own scale or more round-trips', () => {
    fc.assert(
      fc.property(dec, fc.nat(5), (d, extra) => {
        assert.ok(Decimal.parse(d.toFixed(d.scale + extra)).eq(d));
      }),
    );
  });

  test('add, sub and cmp are exact and consistent', () => {
    fc.assert(
      fc.property(dec, dec, (a, b) => {
        assert.ok(a.add(b).sub(b).eq(a));
        assert.equal(a.sub(b).sign(), a.cmp(b));
        assert.equal(a.cmp(b), -b.cmp(a) || 0);
        assert.ok(a.mul(b).eq(b.mul(a)));
      }),
    );
  });

  test('division rounds half to even', () => {
    const q = (a: string, b: string, s: number) => Decimal.parse(a).div(Decimal.parse(b), s).toFixed(s);
    assert.equal(q('1', '8', 2), '0.12'); // 0.125 -> 0.12
    assert.equal(q('3', '8', 2), '0.38'); // 0.375 -> 0.38
    assert.equal(q('-1', '8', 2), '-0.12');
    assert.equal(q('-3', '8', 2), '-0.38');
    assert.equal(q('5', '2', 0), '2');
    assert.equal(q('7', '2', 0), '4');
    assert.equal(q('-5', '2', 0), '-2');
    assert.equal(q('2', '3', 4), '0.6667');
    assert.equal(q('-2', '3', 4), '-0.6667');
    assert.equal(q('1', '-3', 4), '-0.3333');
    assert.equal(q('0.5', '0.25', 0), '2');
    assert.equal(Decimal.parse('0.125').toFixed(2), '0.12');
    assert.equal(Decimal.parse('0.135').toFixed(2), '0.14');
  });

  test('division is within half a unit of the last digit, ties going to the even quotient', () => {
    const nonZero = dec.filter((d) => !d.isZero());
    fc.assert(
      fc.property(dec, nonZero, fc.nat(20), (a, b, s) => {
        const q = a.div(b, s);
        assert.equal(q.scale, s);
        // error = a - q*b, compared with half an ulp of q times |b|.
        const err = a.sub(q.mul(b)).abs();
        const halfUlpTimesB = Decimal.of(5n, s + 1).mul(b.abs());
        const c = err.cmp(halfUlpTimesB);
        assert.ok(c <= 0, `${a}/${b} at ${s} gave ${q}`);
        if (c === 0) assert.equal(q.coef % 2n, 0n, `tie ${a}/${b} at ${s} gave odd ${q}`);
      }),
    );
  });

  test('division by zero is QOB_ERR_DIVISION_BY_ZERO', () => {
    throwsCode(() => Decimal.parse('1').div(Decimal.ZERO, 2), 'QOB_ERR_DIVISION_BY_ZERO');
  });

  test('rescale refuses to drop digits and toScaled refuses values beyond the safe range', () => {
    assert.equal(Decimal.parse('1.25').rescale(1), undefined);
    assert.equal(Decimal.parse('1.20').rescale(1)?.coef, 12n);
    assert.equal(Decimal.parse('1.25').toScaled(4), 12500);
    throwsCode(() => Decimal.parse('1.25').toScaled(1), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => Decimal.parse('9007199254740992').toScaled(0), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => Decimal.fromScaled(0.5, 0), 'QOB_ERR_DECIMAL_RANGE');
    throwsCode(() => Decimal.of(1n, -1), 'QOB_ERR_DECIMAL_RANGE');
  });

  test('serialises to canonical text in JSON', () => {
    assert.equal(JSON.stringify({ p: Decimal.parse('65000.10') }), '{"p":"65000.1"}');
  });
});
