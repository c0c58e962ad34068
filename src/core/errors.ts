/**
 * The closed error catalogue. Every error the platform raises has a stable code, an HTTP status for when it
 * reaches a client, and a retry class. `test/core/errors.test.ts` pins this table: changing a code or its
 * class is a breaking change and must be deliberate.
 */

export type RetryClass = 'retryable' | 'non-retryable' | 'fatal';

export interface ErrorSpec {
  readonly status: number;
  readonly retry: RetryClass;
  readonly summary: string;
}

export const ERROR_CATALOGUE = {
  // Input and parsing
  QOB_ERR_INVALID_DECIMAL: {
    status: 400,
    retry: 'non-retryable',
    summary: 'A price or size is not a finite decimal number',
  },
  QOB_ERR_NEGATIVE_SIZE: { status: 400, retry: 'non-retryable', summary: 'A size is negative' },
  QOB_ERR_NONPOSITIVE_PRICE: { status: 400, retry: 'non-retryable', summary: 'A price is zero or negative' },
  QOB_ERR_DECIMAL_RANGE: {
    status: 400,
    retry: 'non-retryable',
    summary: 'A decimal does not fit the exact range of the book at its scale',
  },
  QOB_ERR_DIVISION_BY_ZERO: { status: 400, retry: 'non-retryable', summary: 'Division of a decimal by zero' },
  QOB_ERR_MALFORMED_MESSAGE: {
    status: 400,
    retry: 'non-retryable',
    summary: 'A venue or client message does not have the expected shape',
  },
  QOB_ERR_UNKNOWN_MESSAGE: {
    status: 400,
    retry: 'non-retryable',
    summary: 'A message type that this handler does not know',
  },
  QOB_ERR_INVALID_SYMBOL: { status: 400, retry: 'non-retryable', summary: 'A symbol cannot be parsed or normalized' },
  QOB_ERR_INVALID_ARGUMENT: { status: 400, retry: 'non-retryable', summary: 'An argument is out of its allowed range' },
  QOB_ERR_PROTOTYPE_POISONING: {
    status: 400,
    retry: 'non-retryable',
    summary: 'Input contains a __proto__ or constructor.prototype key',
  },

  // Configuration
  QOB_ERR_CONFIG_INVALID: { status: 500, retry: 'fatal', summary: 'The configuration has one or more invalid keys' },
  QOB_ERR_CONFIG_FILE: { status: 500, retry: 'fatal', summary: 'The configuration file cannot be read or parsed' },

  // Book integrity
  QOB_ERR_SEQUENCE_GAP: {
    status: 409,
    retry: 'retryable',
    summary: 'A book update does not follow the previous one: the book must resync',
  },
  QOB_ERR_CHECKSUM_MISMATCH: {
    status: 409,
    retry: 'retryable',
    summary: 'The book checksum differs from the venue checksum: the book must resync',
  },
  QOB_ERR_CROSSED_BOOK: {
    status: 409,
    retry: 'retryable',
    summary: 'Best bid is above best ask on one venue: the book must resync',
  },
  QOB_ERR_SNAPSHOT_STALE: {
    status: 409,
    retry: 'retryable',
    summary: 'The snapshot does not overlap the buffered updates',
  },
  QOB_ERR_BOOK_NOT_SYNCED: { status: 503, retry: 'retryable', summary: 'The book is not in sync and cannot be served' },
  QOB_ERR_BOOK_EMPTY: { status: 409, retry: 'non-retryable', summary: 'The book side has no levels for this query' },
  QOB_ERR_INSUFFICIENT_LIQUIDITY: {
    status: 409,
    retry: 'non-retryable',
    summary: 'The book does not hold enough size to fill the request',
  },
  QOB_ERR_DUPLICATE_ORDER: { status: 409, retry: 'retryable', summary: 'An L3 add reuses a live order id: resync' },
  QOB_ERR_UNKNOWN_ORDER: { status: 409, retry: 'retryable', summary: 'An L3 update names an order the book lacks' },

  // Lookups
  QOB_ERR_UNKNOWN_VENUE: { status: 404, retry: 'non-retryable', summary: 'No venue with that id' },
  QOB_ERR_UNKNOWN_INSTRUMENT: { status: 404, retry: 'non-retryable', summary: 'No instrument with that symbol' },
  QOB_ERR_NOT_FOUND: { status: 404, retry: 'non-retryable', summary: 'The requested resource does not exist' },

  // Replay and files
  QOB_ERR_CAPTURE_FORMAT: { status: 400, retry: 'non-retryable', summary: 'A capture file is not in a known format' },
  QOB_ERR_IO: { status: 500, retry: 'retryable', summary: 'A file or stream could not be read or written' },

  // Lifecycle
  QOB_ERR_CLOSED: { status: 503, retry: 'non-retryable', summary: 'The resource was closed' },
  QOB_ERR_ABORTED: { status: 499, retry: 'non-retryable', summary: 'The operation was aborted by its AbortSignal' },
  QOB_ERR_QUEUE_FULL: { status: 503, retry: 'retryable', summary: 'A bounded queue is full and refuses more items' },
  QOB_ERR_STORE_DISABLED: { status: 503, retry: 'non-retryable', summary: 'No store is configured: no history' },
  QOB_ERR_RATE_LIMITED: {
    status: 429,
    retry: 'retryable',
    summary: 'The venue rate-limited us (429/418) past our tries',
  },
  QOB_ERR_VENUE_UNAVAILABLE: {
    status: 503,
    retry: 'retryable',
    summary: 'The venue is unreachable, timed out or failed',
  },
  QOB_ERR_VENUE_REJECTED: { status: 502, retry: 'non-retryable', summary: 'The venue rejected a request (4xx)' },
  QOB_ERR_INTERNAL: { status: 500, retry: 'fatal', summary: 'An invariant was broken: this is a bug' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Every error the platform throws on purpose. `context` holds what was wrong, safe to show to a client. */
export class QobError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retry: RetryClass;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    this.name = 'QobError';
    this.code = code;
    this.status = spec.status;
    this.retry = spec.retry;
    this.context = Object.freeze({ ...context });
  }

  toJSON(): {
    code: ErrorCode;
    message: string;
    status: number;
    retry: RetryClass;
    context: Readonly<Record<string, unknown>>;
  } {
    return { code: this.code, message: this.message, status: this.status, retry: this.retry, context: this.context };
  }
}

export function isQobError(e: unknown, code?: ErrorCode): e is QobError {
  return e instanceof QobError && (code === undefined || e.code === code);
}

/** Shorthand used in parsers: `throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'missing "b"', { venue })`. */
export function qobError(
  code: ErrorCode,
  message: string,
  context?: Record<string, unknown>,
  cause?: unknown,
): QobError {
  return new QobError(code, message, context, cause === undefined ? undefined : { cause });
}
