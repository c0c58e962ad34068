/**
 * `buildGateway(deps, options)` builds the HTTP API as a Fastify instance without listening (fastify
 * style: build in one module, listen in another, src/gateway/server.ts). Everything a route serves comes
 * from `deps.source` (a `MarketDataSource`), `deps.history` (a `HistorySource`, the store) and
 * `deps.metrics`; the gateway never reaches into the platform.
 *
 * Cross-cutting rules, all here:
 * - one error format `{ error: { code, message, context? } }` with the catalogue's HTTP status;
 * - inputs validated by the route schemas (unknown query parameters are refused, not dropped);
 * - `__proto__` / `constructor.prototype` in a query or JSON body: 400 QOB_ERR_PROTOTYPE_POISONING;
 * - every route declares a permission, checked when the app becomes ready;
 * - the OpenAPI 3.1 document is generated from the route schemas: /api-docs (interactive page, assets
 *   served from the @fastify/swagger-ui package, so offline) and /api-docs/json.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { qobError } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { errorBody, toQobError } from './errors.ts';
import type { HistorySource } from './history.ts';
import { checkPermissions, type Permission, type RoutePermission } from './permissions.ts';
import { historyRoutes } from './routes/history.ts';
import { marketRoutes } from './routes/market.ts';
import { opsRoutes } from './routes/ops.ts';
import type { MarketDataSource, MetricsRegistry } from './source.ts';

export interface GatewayDeps {
  readonly source: MarketDataSource;
  readonly metrics: MetricsRegistry;
  /** Stored trades, candles and past books (the store); without it the history routes answer 503. */
  readonly history?: HistorySource;
  /** Request errors and internal failures are logged here (default: nothing is logged). */
  readonly logger?: Logger;
}

export interface GatewayOptions {
  /** Serve the OpenAPI document and its interactive page at /api-docs (default true). */
  readonly docs?: boolean;
  /** Largest request body in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  /** Version written into the OpenAPI document. */
  readonly version?: string;
  /** Publish period of the /ws API in ms (default `WS_TICK_MS`); 0: no timer, call `app.qobWs.tick()`. */
  readonly wsTickMs?: number;
}

export const DOCS_PREFIX = '/api-docs';
/**
 * The /ws publish period: 25 ms, so a book that moves on every `qob start` sim step (25 a second) reaches a
 * dashboard at that rate. At 50 ms the ladder could update at most 20 times a second, and timer drift kept it
 * just under (19.3/s measured by bench/dashboard.bench.ts), short of the dashboard's 20 updates a second.
 */
export const WS_TICK_MS = 25;
const POISON_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** A key that can reach an object's prototype once a parser expands `a[b]` or `a.b` paths. */
const POISON_PATH = /__proto__|constructor\s*(?:\.|\[)\s*prototype/;

/** The first key path that reaches a prototype (`__proto__`, or `constructor` holding `prototype`), if any. */
export function findPrototypeKey(value: unknown, maxDepth = 64): string | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (typeof v !== 'object' || v === null || depth > maxDepth) continue;
    for (const k of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[k];
      const p = path === '' ? k : `${path}.${k}`;
      if (k === '__proto__') return p;
      if (k === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return `${p}.prototype`;
      }
      stack.push({ v: child, path: p, depth: depth + 1 });
    }
  }
  return undefined;
}

function checkQuery(req: FastifyRequest): void {
  const q = req.query;
  if (typeof q !== 'object' || q === null) return;
  for (const k of Object.keys(q)) {
    if (POISON_KEYS.has(k) || POISON_PATH.test(k)) {
      throw qobError('QOB_ERR_PROTOTYPE_POISONING', `query parameter ${JSON.stringify(k)} is not allowed`, {
        field: k,
        in: 'query',
      });
    }
  }
}

/** JSON bodies: parsed with JSON.parse, then refused when a key reaches a prototype. */
function parseJsonBody(_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body === '') {
    done(qobError('QOB_ERR_MALFORMED_MESSAGE', 'the JSON body is empty', { in: 'body' }));
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    done(qobError('QOB_ERR_MALFORMED_MESSAGE', 'the body is not valid JSON', { in: 'body' }));
    return;
  }
  const key = findPrototypeKey(value);
  if (key !== undefined) {
    done(
      qobError('QOB_ERR_PROTOTYPE_POISONING', `body key ${JSON.stringify(key)} is not allowed`, {
        field: key,
        in: 'body',
      }),
    );
    return;
  }
  done(null, value);
}

/** OpenAPI path of a Fastify route URL: `/books/:venue` -> `/books/{venue}`. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export async function buildGateway(deps: GatewayDeps, options: GatewayOptions = {}): Promise<FastifyInstance> {
  const log = deps.logger;
  const app = Fastify({
    // Fastify gets no logger of its own: with one, every request pays for a child logger (validated), two
    // response listeners (a closure) and two clock reads, only to log lines this gateway turns off. Errors
    // are logged by the error handler below with `deps.logger`; `app.log` is set to it after building, so
    // what logs through the instance (the /ws API, Fastify's server-level messages) still does. `req.log`
    // logs nothing.
    logger: false,
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
  }) as unknown as FastifyInstance;
  if (log !== undefined) app.log = log;

  // Every route and its permission; checked once every plugin has registered its routes.
  // The route options object is kept, not its config: a scope's own onRoute hook may replace the config later.
  const routes: { method: string; url: string; options: { config?: { permission?: Permission } } }[] = [];
  const permissionOf = (r: (typeof routes)[number]): Permission | undefined => r.options.config?.permission;
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: r.url, options: r });
    }
  });
  app.addHook('onReady', async () => {
    checkPermissions(
      routes.map((r): RoutePermission => ({ method: r.method, url: r.url, permission: permissionOf(r) })),
    );
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    parseJsonBody(req, body as string, done),
  );
  // A callback hook, not an async one: no promise per request on the hot path.
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      checkQuery(req);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const { error, internal } = toQobError(err);
    if (internal) log?.error({ err, method: req.method, url: req.url }, 'request failed');
    else log?.debug({ code: error.code, method: req.method, url: req.url }, error.message);
    reply.status(error.status).type('application/json').send(errorBody(error));
  });
  app.setNotFoundHandler((req, reply) => {
    const error = qobError('QOB_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, {
      method: req.method,
    });
    reply.status(error.status).type('application/json').send(errorBody(error));
  });

  if (options.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Quantum Order Book API',
          version: options.version ?? '0.1.0',
          description:
            'Exact crypto order books from many venues. Prices and sizes are exact decimal text. Every error is ' +
            '`{ "error": { "code", "message", "context"? } }` with a code from the error catalogue. Every ' +
            'operation names the permission it needs in `x-permission`.',
        },
        tags: [
          { name: 'market data', description: 'Venues, instruments and books' },
          { name: 'status', description: 'Venue and book status' },
          { name: 'history', description: 'Stored trades, candles and past books' },
          { name: 'operations', description: 'Probes and metrics' },
        ],
      },
      transformObject: (documentObject) => {
        const doc = (documentObject as { openapiObject: { paths?: Record<string, Record<string, object>> } })
          .openapiObject;
        for (const r of routes) {
          const op = doc.paths?.[openapiPath(r.url)]?.[r.method.toLowerCase()] as Record<string, unknown> | undefined;
          const permission = permissionOf(r);
          if (op !== undefined && permission !== undefined) op['x-permission'] = permission;
        }
        return doc as never;
      },
    });
  }

  marketRoutes(app, deps.source);
  historyRoutes(app, deps.history);
  opsRoutes(app, deps.source, deps.metrics);
  // /ws live market data (docs/WS_PROTOCOL.md)
  (await import('./ws/index.ts')).registerWsApi(app, deps.source, { tickMs: options.wsTickMs ?? WS_TICK_MS });

  if (options.docs !== false) {
    // The docs plugin's own routes (page, assets, JSON) are public; they are declared so in their own scope.
    await app.register(async (docs) => {
      docs.addHook('onRoute', (r) => {
        r.config = { ...(r.config ?? {}), permission: 'public' };
      });
      await docs.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });
    });
  }
  return app;
}
