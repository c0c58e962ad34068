/**
 * Exact fixed-point numbers for the hot path: a decimal is held as a safe integer scaled by 10^scale
 * (`"65000.12"` at scale 2 is `6500012`). Every value a book stores is exact; a value that would not be
 * exact is rejected, never rounded. Parsing works on the venue's own text, never on `JSON.parse` numbers.
 */
import { qobError } from './errors.ts';

/** The largest scale a book uses; 10^18 is beyond exact doubles, so values at that scale must be small. */
export const MAX_SCALE = 18;

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i); // 10^0..10^22 are exact doubles

export function pow10(n: number): number {
  const p = POW10[n];
  if (p === undefined) throw qobError('QOB_ERR_DECIMAL_RANGE', `scale ${n} is out of range`, { scale: n });
  return p;
}

/**
 * Parses `text` into an integer scaled by 10^scale.
 * Returns NaN when the text has a non-zero digit beyond `scale` (the caller grows its scale and retries:
 * see `fractionDigits`). Throws QOB_ERR_INVALID_DECIMAL for anything that is not a finite decimal and
 * QOB_ERR_DECIMAL_RANGE when the scaled value is not a safe integer.
 */
export function parseScaled(text: string, scale: number): number {
  if (typeof text !== 'string') throw invalid(String(text)); // JS callers may pass a number or undefined
  const plain = parsePlain(text, scale);
  if (plain !== -1) return plain;
  const n = text.length;
  if (n === 0) throw invalid(text);
  let i = 0;
  let neg = false;
  let c = text.charCodeAt(0);
  if (c === 45 /* - */) {
    neg = true;
    i = 1;
  } else if (c === 43 /* + */) {
    i = 1;
  }
  let m = 0;
  let digits = 0;
  let frac = -1;
  let needsScale = false;
  for (; i < n; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (frac >= 0) {
        frac++;
        if (frac > scale) {
          if (c !== 48) needsScale = true;
          continue;
        }
      }
      m = m * 10 + (c - 48);
    } else if (c === 46 /* . */ && frac < 0) {
      frac = 0;
    } else if (c === 101 /* e */ || c === 69 /* E */) {
      if (digits === 0) throw invalid(text);
      return parseExponent(text, scale);
    } else {
      throw invalid(text);
    }
  }
  if (digits === 0) throw invalid(text);
  if (needsScale) return Number.NaN;
  const used = frac < 0 ? 0 : Math.min(frac, scale);
  const r = used === scale ? m : m * pow10(scale - used);
  if (r > Number.MAX_SAFE_INTEGER) throw range(text, scale);
  if (r === 0) return 0;
  return neg ? -r : r;
}

/**
 * Fast path of `parseScaled` for the text venues send: unsigned digits with at most one dot. Returns -1
 * for anything else (sign, exponent, empty, stray characters, out of range) so that the general parser
 * decides, and NaN like it when a non-zero digit lies beyond `scale`. For hot loops that fall back to
 * `parseScaled` (which reports the error) whenever the result is not a valid value.
 */
export function parsePlain(text: string, scale: number): number {
  return parsePlainAt(text, 0, text.length, scale);
}

/** `parsePlain(text.slice(start, end), scale)` without the slice: the same value for the same text. */
export function parsePlainAt(text: string, start: number, end: number, scale: number): number {
  let i = start;
  let m = 0;
  let c = 0;
  for (; i < end; i++) {
    c = text.charCodeAt(i) - 48;
    if (c >>> 0 > 9) break;
    m = m * 10 + c;
  }
  let f = 0;
  if (i < end) {
    if (c !== -2 /* . */) return -1;
    const intDigits = i - start;
    i++;
    if (intDigits === 0 && i === end) return -1;
    let zerosBeyond = true;
    for (; i < end; i++) {
      c = text.charCodeAt(i) - 48;
      if (c >>> 0 > 9) return -1;
      if (f < scale) {
        m = m * 10 + c;
        f++;
      } else if (c !== 0) zerosBeyond = false;
    }
    if (!zerosBeyond) return Number.NaN;
  } else if (end === start) {
    return -1;
  }
  const r = f === scale ? m : m * (POW10[scale - f] as number);
  return r > Number.MAX_SAFE_INTEGER ? -1 : r;
}

/** Slow path for exponent notation (`7e-7`, which `String(n)` produces for small numbers). */
function parseExponent(text: string, scale: number): number {
  const d = Decimal.parse(text);
  if (d.scale > scale) {
    const q = d.rescale(scale);
    if (q === undefined) return Number.NaN;
    return toSafe(q.coef, text, scale);
  }
  return toSafe(d.coef * 10n ** BigInt(scale - d.scale), text, scale);
}

function toSafe(v: bigint, text: string, scale: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw range(text, scale);
  return Number(v);
}

/** Number of fraction digits needed to hold `text` exactly (trailing zeros do not count). */
export function fractionDigits(text: string): number {
  return Decimal.parse(text).normalize().scale;
}

/** Number of fraction digits as written, trailing zeros included (`"600.00000000"` -> 8). */
export function writtenFractionDigits(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  const e = text.search(/[eE]/);
  return (e < 0 ? text.length : e) - dot - 1;
}

/**
 * Formats a scaled integer with exactly `decimals` fraction digits. Throws QOB_ERR_INTERNAL when dropping
 * digits would change the value (formatting never rounds).
 */
export function formatScaled(v: number, scale: number, decimals: number = scale): string {
  const neg = v < 0;
  let s = String(neg ? -v : v);
  if (scale > 0) {
    if (s.length <= scale) s = '0'.repeat(scale - s.length + 1) + s;
    let intPart = s.slice(0, s.length - scale);
    let fracPart = s.slice(s.length - scale);
    if (decimals < scale) {
      const dropped = fracPart.slice(decimals);
      if (!/^0*$/.test(dropped)) {
        throw qobError('QOB_ERR_INTERNAL', `formatting ${s} at ${decimals} decimals would round`, {
          value: v,
          scale,
          decimals,
        });
      }
      fracPart = fracPart.slice(0, decimals);
    } else if (decimals > scale) {
      fracPart += '0'.repeat(decimals - scale);
    }
    if (intPart === '') intPart = '0';
    s = fracPart.length > 0 ? `${intPart}.${fracPart}` : intPart;
  } else if (decimals > 0) {
    s = `${s}.${'0'.repeat(decimals)}`;
  }
  return neg ? `-${s}` : s;
}

/** Canonical text of a scaled integer: no trailing fraction zeros, no trailing dot (`6500010, 2` -> `"65000.1"`). */
export function formatCanonical(v: number, scale: number): string {
  if (scale === 0) return String(v);
  const s = formatScaled(v, scale);
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

function invalid(text: string) {
  return qobError('QOB_ERR_INVALID_DECIMAL', `not a finite decimal: ${JSON.stringify(text.slice(0, 64))}`, {
    value: text.slice(0, 64),
  });
}

function range(text: string, scale: number) {
  return qobError('QOB_ERR_DECIMAL_RANGE', `${text.slice(0, 64)} does not fit an exact integer at scale ${scale}`, {
    value: text.slice(0, 64),
    scale,
  });
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * An immutable exact decimal of any size: `coef * 10^-scale`. For the domain model and queries (VWAP,
 * notional, P&L); the book's hot path uses scaled safe integers instead.
 */
export class Decimal {
  readonly coef: bigint;
  readonly scale: number;

  private constructor(coef: bigint, scale: number) {
    this.coef = coef;
    this.scale = scale;
  }

  static readonly ZERO = new Decimal(0n, 0);

  static of(coef: bigint, scale: number): Decimal {
    if (!Number.isInteger(scale) || scale < 0 || scale > 1000) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `scale ${scale} is out of range`, { scale });
    }
    return new Decimal(coef, scale);
  }

  static fromScaled(v: number, scale: number): Decimal {
    if (!Number.isSafeInteger(v)) throw qobError('QOB_ERR_DECIMAL_RANGE', `${v} is not a safe integer`, { value: v });
    return new Decimal(BigInt(v), scale);
  }

  /** Parses decimal text (exponent allowed). Rejects empty, NaN, Infinity and anything else. */
  static parse(text: string): Decimal {
    if (typeof text !== 'string' || text.length === 0 || text.length > 400) throw invalid(String(text));
    const m = DECIMAL_RE.exec(text);
    if (m === null) throw invalid(text);
    const intDigits = m[2] ?? '';
    const fracDigits = m[3] ?? '';
    if (intDigits.length + fracDigits.length === 0) throw invalid(text);
    const exp = m[4] === undefined ? 0 : Number(m[4]);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) throw invalid(text);
    let coef = BigInt(intDigits + fracDigits || '0');
    if (m[1] === '-') coef = -coef;
    let scale = fracDigits.length - exp;
    if (scale < 0) {
      coef *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return new Decimal(coef, scale);
  }

  /** From a JS number: uses its shortest round-trip text, so `0.1` is exactly 0.1. Rejects NaN and Infinity. */
  static fromNumber(n: number): Decimal {
    if (!Number.isFinite(n)) throw invalid(String(n));
    return Decimal.parse(String(n));
  }

  sign(): -1 | 0 | 1 {
    return this.coef === 0n ? 0 : this.coef < 0n ? -1 : 1;
  }

  isZero(): boolean {
    return this.coef === 0n;
  }

  /** Drops trailing fraction zeros. */
  normalize(): Decimal {
    let c = this.coef;
    let s = this.scale;
    while (s > 0 && c % 10n === 0n) {
      c /= 10n;
      s--;
    }
    return s === this.scale ? this : new Decimal(c, s);
  }

  /** The same value at another scale, or undefined when that would drop non-zero digits. */
  rescale(scale: number): Decimal | undefined {
    if (scale === this.scale) return this;
    if (scale > this.scale) return new Decimal(this.coef * 10n ** BigInt(scale - this.scale), scale);
    const f = 10n ** BigInt(this.scale - scale);
    if (this.coef % f !== 0n) return undefined;
    return new Decimal(this.coef / f, scale);
  }

  private align(o: Decimal): [bigint, bigint, number] {
    if (this.scale === o.scale) return [this.coef, o.coef, this.scale];
    if (this.scale > o.scale) return [this.coef, o.coef * 10n ** BigInt(this.scale - o.scale), this.scale];
    return [this.coef * 10n ** BigInt(o.scale - this.scale), o.coef, o.scale];
  }

  add(o: Decimal): Decimal {
    const [a, b, s] = this.align(o);
    return new Decimal(a + b, s);
  }

  sub(o: Decimal): Decimal {
    const [a, b, s] = this.align(o);
    return new Decimal(a - b, s);
  }

  mul(o: Decimal): Decimal {
    return new Decimal(this.coef * o.coef, this.scale + o.scale);
  }

  neg(): Decimal {
    return new Decimal(-this.coef, this.scale);
  }

  abs(): Decimal {
    return this.coef < 0n ? this.neg() : this;
  }

  /** Quotient rounded half-even to `scale` fraction digits. */
  div(o: Decimal, scale: number): Decimal {
    if (o.coef === 0n) throw qobError('QOB_ERR_DIVISION_BY_ZERO', 'division by zero', { dividend: this.toString() });
    // (a / 10^sa) / (b / 10^sb) = a * 10^(sb - sa) / b; computed at `scale` digits.
    let num = this.coef * 10n ** BigInt(scale + o.scale);
    let den = o.coef * 10n ** BigInt(this.scale);
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    let q = num / den;
    const r = num - q * den;
    const twice = (r < 0n ? -r : r) * 2n;
    if (twice > den || (twice === den && q % 2n !== 0n)) q += r < 0n ? -1n : 1n;
    return new Decimal(q, scale);
  }

  cmp(o: Decimal): -1 | 0 | 1 {
    const [a, b] = this.align(o);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  eq(o: Decimal): boolean {
    return this.cmp(o) === 0;
  }

  /** Scaled safe integer at `scale`, or throws QOB_ERR_DECIMAL_RANGE. */
  toScaled(scale: number): number {
    const r = this.rescale(scale);
    if (r === undefined) {
      throw qobError('QOB_ERR_DECIMAL_RANGE', `${this.toString()} has more than ${scale} fraction digits`, {
        value: this.toString(),
        scale,
      });
    }
    return toSafe(r.coef, this.toString(), scale);
  }

  /** For statistics and pixels only: never on the money path. */
  toNumber(): number {
    return Number(this.toString());
  }

  /** Canonical text: no exponent, no trailing fraction zeros. */
  toString(): string {
    const n = this.normalize();
    return n.toFixed(n.scale);
  }

  /** Text with exactly `decimals` fraction digits, rounded half-even when it has more. */
  toFixed(decimals: number): string {
    let d: Decimal = this;
    if (decimals < this.scale) d = this.div(new Decimal(1n, 0), decimals);
    else if (decimals > this.scale) d = this.rescale(decimals) as Decimal;
    const neg = d.coef < 0n;
    let s = (neg ? -d.coef : d.coef).toString();
    if (decimals > 0) {
      if (s.length <= decimals) s = '0'.repeat(decimals - s.length + 1) + s;
      s = `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}`;
    }
    return neg ? `-${s}` : s;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Longest decimal text accepted for a size. */
export const MAX_DECIMAL_TEXT = 64;

/**
 * Validates a size written as decimal text (the venue's own text, kept as is): returns true when it is
 * positive and false when it is zero. Throws QOB_ERR_INVALID_DECIMAL for anything that is not a finite
 * decimal, QOB_ERR_NEGATIVE_SIZE for a negative one and QOB_ERR_DECIMAL_RANGE for text longer than
 * MAX_DECIMAL_TEXT characters.
 */
export function sizeIsPositive(text: string): boolean {
  if (typeof text !== 'string') throw invalid(String(text));
  const n = text.length;
  if (n > MAX_DECIMAL_TEXT) throw range(text, MAX_DECIMAL_TEXT);
  // One pass: every character a digit except at most one dot, and at least one digit.
  let or = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >>> 0 > 9) {
      if (d !== -2 || dots !== 0) return sizeIsPositiveSlow(text);
      dots = 1;
    } else {
      or |= d;
    }
  }
  if (n - dots === 0) throw invalid(text);
  return or !== 0;
}

function sizeIsPositiveSlow(text: string): boolean {
  const d = Decimal.parse(text);
  // Exponent notation is short to write but not to hold: bound the canonical text too (`1e400`).
  if (d.toString().length > MAX_DECIMAL_TEXT) throw range(text, MAX_DECIMAL_TEXT);
  const s = d.sign();
  if (s < 0) throw qobError('QOB_ERR_NEGATIVE_SIZE', `size must not be negative: ${text}`, { size: text });
  return s > 0;
}

/** Canonical text of decimal text: no leading integer zeros, no trailing fraction zeros, no exponent. */
export function canonicalDecimal(text: string): string {
  const n = text.length;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && dot < 0) dot = i;
    else if (c < 48 || c > 57) return Decimal.parse(text).toString();
  }
  let start = 0;
  const intEnd = dot < 0 ? n : dot;
  while (start < intEnd - 1 && text.charCodeAt(start) === 48) start++;
  if (dot < 0) return start === 0 ? text : text.slice(start);
  let end = n;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  if (end === dot + 1) end = dot;
  if (start === dot) return `0${text.slice(start, end)}`;
  return start === 0 && end === n ? text : text.slice(start, end);
}
