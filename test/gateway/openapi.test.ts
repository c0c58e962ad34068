/**
 * The OpenAPI document is generated from the route schemas: every route appears with the permission it
 * declares, and the document has the structure OpenAPI 3.1 requires. A route without a permission stops
 * the gateway from starting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { buildGateway, PERMISSIONS } from '../../src/gateway/index.ts';
import { type SimGateway, simGateway } from './helpers.ts';

/** Every route of the API and its permission: the contract this test pins. */
const ROUTES: Readonly<Record<string, string>> = {
  'GET /api/v1/venues': 'market:read',
  'GET /api/v1/instruments': 'market:read',
  'GET /api/v1/books/{venue}/{symbol}': 'market:read',
  'GET /api/v1/books/consolidated/{symbol}': 'market:read',
  'GET /api/v1/status': 'market:read',
  'GET /api/v1/trades/{venue}/{symbol}': 'market:read',
  'GET /api/v1/candles/{venue}/{symbol}': 'market:read',
  'GET /api/v1/books/{venue}/{symbol}/at': 'market:read',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'ops:read',
};

type Operation = {
  'x-permission'?: string;
  operationId?: string;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  parameters?: { name: string; in: string; schema?: unknown }[];
};
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

describe('OpenAPI document', () => {
  let g: SimGateway;
  let doc: Doc;
  before(async () => {
    g = await simGateway(5);
    const r = await g.app.inject('/api-docs/json');
    assert.equal(r.statusCode, 200);
    doc = r.json() as Doc;
  });
  after(async () => g?.close());

  it('is OpenAPI 3.1 with info, paths and a response for every operation', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(typeof doc.info.title, 'string');
    assert.ok(doc.info.title.length > 0);
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof doc.paths, 'object');
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      assert.match(path, /^\//, 'paths start with /');
      for (const [method, op] of Object.entries(item)) {
        assert.ok(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method));
        assert.ok(op.responses !== undefined && Object.keys(op.responses).length > 0, `${method} ${path} responses`);
        for (const [code, res] of Object.entries(op.responses)) {
          assert.match(code, /^([1-5]\d\d|[1-5]XX|default)$/, `${method} ${path} response key ${code}`);
          assert.equal(typeof res.description, 'string', `${method} ${path} ${code} has a description`);
        }
        assert.ok(op.operationId !== undefined && !ids.has(op.operationId), 'operationIds are unique');
        ids.add(op.operationId);
        // Every templated path segment is a required path parameter.
        for (const m of path.matchAll(/\{([^}]+)\}/g)) {
          assert.ok(
            op.parameters?.some((p) => p.in === 'path' && p.name === m[1]),
            `${path} declares ${m[1]}`,
          );
        }
      }
    }
  });

  it('lists every route with the permission it declares in x-permission, and nothing else', () => {
    const got: Record<string, string | undefined> = {};
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) got[`${method.toUpperCase()} ${path}`] = op['x-permission'];
    }
    assert.deepEqual(got, ROUTES);
    for (const p of Object.values(got)) assert.ok(PERMISSIONS.includes(p as never));
  });

  it('documents errors in the one error format with the catalogue codes', () => {
    const op = doc.paths['/api/v1/books/{venue}/{symbol}']?.get;
    const schema = op?.responses?.['4XX']?.content?.['application/json']?.schema as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    assert.deepEqual(schema.properties.error.properties.code.enum, Object.keys(ERROR_CATALOGUE));
  });

  it('serves the interactive page and its assets from the package, offline', async () => {
    const page = await g.app.inject('/api-docs');
    const html = page.statusCode === 302 ? await g.app.inject(String(page.headers.location)) : page;
    assert.equal(html.statusCode, 200);
    assert.match(html.body, /swagger-ui/i);
    assert.doesNotMatch(html.body, /https?:\/\/(?!localhost)[a-z]/i, 'no asset is fetched from another host');
    const js = await g.app.inject('/api-docs/static/swagger-ui-bundle.js');
    assert.equal(js.statusCode, 200);
    assert.ok(js.body.length > 100_000);
  });
});

describe('permissions', () => {
  const metrics = { contentType: 'text/plain', metrics: async () => '' };
  const source = {
    venues: () => [],
    books: () => [],
    book: () => undefined,
    status: () => ({ tsMs: 0, venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
  };

  it('the gateway refuses to start when a route declares no permission', async () => {
    const app: FastifyInstance = await buildGateway({ source, metrics });
    app.get('/api/v1/forgotten', async () => ({}));
    await assert.rejects(
      async () => {
        await app.ready();
      },
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'QOB_ERR_INTERNAL');
        assert.match(e.message, /GET \/api\/v1\/forgotten/);
        return true;
      },
    );
    await app.close().catch(() => {});
  });

  it('the gateway refuses a permission that is not in the list', async () => {
    const app = await buildGateway({ source, metrics }, { docs: false });
    app.get('/x', { config: { permission: 'everything' as never } }, async () => ({}));
    await assert.rejects(async () => {
      await app.ready();
    }, /routes without a declared permission: GET \/x/);
    await app.close().catch(() => {});
  });
});
