/**
 * The gateway's one error format: `{ "error": { "code", "message", "context"? } }`, with the HTTP status
 * of the code in the error catalogue (src/core/errors.ts). Fastify's own failures (validation, bad JSON,
 * unknown routes) are mapped to catalogue codes; anything unexpected becomes QOB_ERR_INTERNAL with a
 * generic message (the details go to the log, never to the client).
 */
import { ERROR_CATALOGUE, type ErrorCode, isQobError, type QobError, qobError } from '../core/errors.ts';

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly context?: Record<string, unknown>;
  };
}

/** The JSON schema of `ErrorBody` (response schema of every route's 4xx and 5xx). */
export const ERROR_SCHEMA = {
  type: 'object',
  description: 'The one error format: a catalogue code, a message and what was wrong.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
        message: { type: 'string' },
        context: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

/** Context values a client may see: JSON scalars, arrays and plain objects (bigints as text), bounded. */
function safeValue(v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (depth >= 4 || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return v.slice(0, 100).map((x) => safeValue(x, depth + 1));
  if (v instanceof Error) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const s = safeValue(x, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

export function errorBody(e: QobError): ErrorBody {
  const context = safeValue(e.context, 0) as Record<string, unknown>;
  return {
    error: { code: e.code, message: e.message, ...(Object.keys(context).length === 0 ? {} : { context }) },
  };
}

interface AjvIssue {
  readonly instancePath?: string;
  readonly message?: string;
  readonly keyword?: string;
  readonly params?: Record<string, unknown>;
}

interface FastifyLikeError {
  readonly code?: string;
  readonly statusCode?: number;
  readonly message?: string;
  readonly validation?: readonly AjvIssue[];
  readonly validationContext?: string;
}

/** `querystring` issue `/depth` -> `depth`; a missing or extra property names itself. */
function fieldOf(issue: AjvIssue): string {
  const p = issue.params ?? {};
  const extra = p.additionalProperty ?? p.missingProperty;
  const path = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  if (typeof extra === 'string') return path === '' ? extra : `${path}.${extra}`;
  return path;
}

const WHERE: Readonly<Record<string, string>> = { querystring: 'query', params: 'path', body: 'body' };

/** Any error thrown while serving a request, as a catalogue error. `internal` is true for bugs. */
export function toQobError(err: unknown): { error: QobError; internal: boolean } {
  if (isQobError(err)) return { error: err, internal: false };
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyLikeError;
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const issue = e.validation[0] as AjvIssue;
    const field = fieldOf(issue);
    const where = WHERE[e.validationContext ?? ''] ?? e.validationContext ?? 'request';
    const problem = issue.message ?? 'is invalid';
    return {
      error: qobError('QOB_ERR_INVALID_ARGUMENT', `${where} ${field === '' ? 'value' : field} ${problem}`, {
        field,
        in: where,
        problem,
      }),
      internal: false,
    };
  }
  const status = e.statusCode ?? 500;
  if (status === 404) {
    return { error: qobError('QOB_ERR_NOT_FOUND', 'no such route', {}), internal: false };
  }
  if (status >= 400 && status < 500) {
    // Fastify's request errors (bad JSON, unsupported media type, body too large): the request is malformed.
    return {
      error: qobError('QOB_ERR_MALFORMED_MESSAGE', e.message ?? 'malformed request', {
        ...(e.code === undefined ? {} : { reason: e.code }),
      }),
      internal: false,
    };
  }
  return { error: qobError('QOB_ERR_INTERNAL', 'internal error', {}), internal: true };
}
