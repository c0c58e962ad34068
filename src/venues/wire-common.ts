/**
 * Parsing helpers every venue's wire module shares: typed errors that name the venue, JSON parsing that
 * never throws a bare SyntaxError, and validation of `[price, size, ...]` text levels. Venue specifics stay
 * in each venue's own `wire.ts`.
 */
import { type QobError, qobError } from '../core/errors.ts';

/** A `QOB_ERR_MALFORMED_MESSAGE` whose context names the venue. */
export function malformedMessage(venue: string, message: string, context: Record<string, unknown> = {}): QobError {
  return qobError('QOB_ERR_MALFORMED_MESSAGE', `${venue}: ${message}`, { venue, ...context });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON.parse that reports bad text as a typed error naming the venue. */
export function parseJson(venue: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_MALFORMED_MESSAGE',
      `${venue}: not JSON: ${(e as Error).message}`,
      { venue, text: text.slice(0, 80) },
      e,
    );
  }
}

/** Parses a frame that must be a JSON object. */
export function parseJsonObject(venue: string, text: string): Record<string, unknown> {
  const v = parseJson(venue, text);
  if (!isRecord(v)) throw malformedMessage(venue, 'frame is not a JSON object');
  return v;
}

/**
 * Checks that `v` is an array of levels whose first two fields are text (`[price, size, ...]`), as most
 * venues send them, and returns it typed. The numbers themselves are validated by the book.
 */
export function textLevels<L extends ArrayLike<string>>(venue: string, v: unknown, field: string): L[] {
  if (!Array.isArray(v)) throw malformedMessage(venue, `"${field}" must be an array of [price, size]`, { field });
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw malformedMessage(venue, `"${field}[${i}]" must be [price, size] strings`, { field, index: i });
    }
  }
  return v as L[];
}
