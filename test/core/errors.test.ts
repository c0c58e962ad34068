import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERROR_CATALOGUE, type ErrorCode, isQobError, QobError, qobError } from '../../src/core/errors.ts';

/**
 * The pinned catalogue: code -> [HTTP status, retry class]. Changing src/core/errors.ts (a new code, a
 * removed code, a different status or retry class) fails this test until the table below is edited too,
 * so every change to the public error contract is deliberate.
 */
const PINNED: Record<string, readonly [number, 'retryable' | 'non-retryable' | 'fatal']> = {
  QOB_ERR_INVALID_DECIMAL: [400, 'non-retryable'],
  QOB_ERR_NEGATIVE_SIZE: [400, 'non-retryable'],
  QOB_ERR_NONPOSITIVE_PRICE: [400, 'non-retryable'],
  QOB_ERR_DECIMAL_RANGE: [400, 'non-retryable'],
  QOB_ERR_DIVISION_BY_ZERO: [400, 'non-retryable'],
  QOB_ERR_MALFORMED_MESSAGE: [400, 'non-retryable'],
  QOB_ERR_UNKNOWN_MESSAGE: [400, 'non-retryable'],
  QOB_ERR_INVALID_SYMBOL: [400, 'non-retryable'],
  QOB_ERR_INVALID_ARGUMENT: [400, 'non-retryable'],
  QOB_ERR_PROTOTYPE_POISONING: [400, 'non-retryable'],
  QOB_ERR_CONFIG_INVALID: [500, 'fatal'],
  QOB_ERR_CONFIG_FILE: [500, 'fatal'],
  QOB_ERR_SEQUENCE_GAP: [409, 'retryable'],
  QOB_ERR_CHECKSUM_MISMATCH: [409, 'retryable'],
  QOB_ERR_CROSSED_BOOK: [409, 'retryable'],
  QOB_ERR_SNAPSHOT_STALE: [409, 'retryable'],
  QOB_ERR_BOOK_NOT_SYNCED: [503, 'retryable'],
  QOB_ERR_BOOK_EMPTY: [409, 'non-retryable'],
  QOB_ERR_INSUFFICIENT_LIQUIDITY: [409, 'non-retryable'],
  QOB_ERR_DUPLICATE_ORDER: [409, 'retryable'],
  QOB_ERR_UNKNOWN_ORDER: [409, 'retryable'],
  QOB_ERR_UNKNOWN_VENUE: [404, 'non-retryable'],
  QOB_ERR_UNKNOWN_INSTRUMENT: [404, 'non-retryable'],
  QOB_ERR_NOT_FOUND: [404, 'non-retryable'],
  QOB_ERR_CAPTURE_FORMAT: [400, 'non-retryable'],
  QOB_ERR_IO: [500, 'retryable'],
  QOB_ERR_CLOSED: [503, 'non-retryable'],
  QOB_ERR_ABORTED: [499, 'non-retryable'],
  QOB_ERR_QUEUE_FULL: [503, 'retryable'],
  QOB_ERR_STORE_DISABLED: [503, 'non-retryable'],
  QOB_ERR_RATE_LIMITED: [429, 'retryable'],
  QOB_ERR_VENUE_UNAVAILABLE: [503, 'retryable'],
  QOB_ERR_VENUE_REJECTED: [502, 'non-retryable'],
  QOB_ERR_INTERNAL: [500, 'fatal'],
};

describe('error catalogue', () => {
  test('holds exactly the pinned codes, no more and no fewer', () => {
    assert.deepEqual(Object.keys(ERROR_CATALOGUE).sort(), Object.keys(PINNED).sort());
  });

  test('every code has its pinned HTTP status and retry class', () => {
    for (const [code, [status, retry]] of Object.entries(PINNED)) {
      const spec = ERROR_CATALOGUE[code as ErrorCode];
      assert.equal(spec.status, status, `${code} status`);
      assert.equal(spec.retry, retry, `${code} retry class`);
    }
  });

  test('every code is spelled QOB_ERR_ followed by capitals and underscores', () => {
    for (const code of Object.keys(ERROR_CATALOGUE)) assert.match(code, /^QOB_ERR_[A-Z_]+$/);
  });

  test('every code has a non-empty summary and a status that is an HTTP error status', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      assert.ok(spec.summary.length > 0, code);
      assert.ok(Number.isInteger(spec.status) && spec.status >= 400 && spec.status < 600, code);
    }
  });
});

describe('QobError', () => {
  test('carries its code, the status and retry class of the catalogue, and a frozen copy of the context', () => {
    const ctx = { venue: 'binance', value: 'abc' };
    const e = new QobError('QOB_ERR_SEQUENCE_GAP', 'gap', ctx);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'QobError');
    assert.equal(e.code, 'QOB_ERR_SEQUENCE_GAP');
    assert.equal(e.status, 409);
    assert.equal(e.retry, 'retryable');
    assert.deepEqual(e.context, ctx);
    assert.ok(Object.isFrozen(e.context));
    ctx.venue = 'changed';
    assert.equal(e.context.venue, 'binance');
  });

  test('serialises with toJSON to code, message, status, retry and context', () => {
    const e = qobError('QOB_ERR_INVALID_DECIMAL', 'not a finite decimal: "x"', { value: 'x' });
    assert.deepEqual(JSON.parse(JSON.stringify(e)), {
      code: 'QOB_ERR_INVALID_DECIMAL',
      message: 'not a finite decimal: "x"',
      status: 400,
      retry: 'non-retryable',
      context: { value: 'x' },
    });
  });

  test('keeps the cause it was given and has an empty context by default', () => {
    const cause = new Error('root');
    const e = qobError('QOB_ERR_IO', 'read failed', undefined, cause);
    assert.equal(e.cause, cause);
    assert.deepEqual(e.context, {});
    assert.equal(qobError('QOB_ERR_IO', 'x').cause, undefined);
  });

  test('isQobError recognises QobErrors, optionally of one code, and nothing else', () => {
    const e = qobError('QOB_ERR_CLOSED', 'closed');
    assert.equal(isQobError(e), true);
    assert.equal(isQobError(e, 'QOB_ERR_CLOSED'), true);
    assert.equal(isQobError(e, 'QOB_ERR_IO'), false);
    assert.equal(isQobError(new Error('x')), false);
    assert.equal(isQobError({ code: 'QOB_ERR_CLOSED' }), false);
  });
});
