/**
 * Internal helpers of the domain model (not re-exported by index.ts): exact decimal validation with the
 * offending field named in every error, and safe descriptions of untrusted values.
 */
import { type ErrorCode, type QobError, qobError } from '../core/errors.ts';
import { Decimal, MAX_SCALE } from '../core/fixed.ts';

/** Longest canonical decimal text the domain accepts (a 46-digit integer part at 18 fraction digits). */
export const MAX_DECIMAL_TEXT = 64;

/** A short, safe description of an untrusted value for error messages and contexts. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'bigint') return `bigint ${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  return `${typeof v} ${String(v)}`;
}

/** An error naming the offending field: context `{ field, problem, value }`. */
export function fieldError(code: ErrorCode, field: string, problem: string, value: unknown, cause?: unknown): QobError {
  const shown = describe(value);
  return qobError(code, `${field}: ${problem} (got ${shown})`, { field, problem, value: shown }, cause);
}

/**
 * Parses exact decimal text (or a Decimal) into a normalized Decimal. Rejects non-strings, '', NaN,
 * Infinity and junk with QOB_ERR_INVALID_DECIMAL, and values beyond 18 fraction digits or 64 characters of
 * canonical text with QOB_ERR_DECIMAL_RANGE. JS numbers are refused: they may already have lost digits.
 */
export function exactDecimal(v: unknown, field: string): Decimal {
  let d: Decimal;
  if (v instanceof Decimal) {
    d = v.normalize();
  } else if (typeof v === 'string') {
    try {
      d = Decimal.parse(v).normalize();
    } catch (e) {
      throw fieldError('QOB_ERR_INVALID_DECIMAL', field, 'not a finite exact decimal', v, e);
    }
  } else {
    throw fieldError('QOB_ERR_INVALID_DECIMAL', field, 'must be decimal text', v);
  }
  if (d.scale > MAX_SCALE) {
    throw fieldError('QOB_ERR_DECIMAL_RANGE', field, `more than ${MAX_SCALE} fraction digits`, String(v));
  }
  if (d.toString().length > MAX_DECIMAL_TEXT) {
    throw fieldError('QOB_ERR_DECIMAL_RANGE', field, `longer than ${MAX_DECIMAL_TEXT} characters`, String(v));
  }
  return d;
}

/** Canonical text of a price: exact, strictly positive (QOB_ERR_NONPOSITIVE_PRICE otherwise). */
export function priceText(v: unknown, field: string): string {
  const d = exactDecimal(v, field);
  if (d.sign() <= 0) throw fieldError('QOB_ERR_NONPOSITIVE_PRICE', field, 'must be positive', String(v));
  return d.toString();
}

/** Canonical text of a size: exact, zero or positive (QOB_ERR_NEGATIVE_SIZE otherwise). */
export function sizeText(v: unknown, field: string): string {
  const d = exactDecimal(v, field);
  if (d.sign() < 0) throw fieldError('QOB_ERR_NEGATIVE_SIZE', field, 'must not be negative', String(v));
  return d.toString();
}
