/**
 * The HTTP API over a platform running the simulated venue offline, through `app.inject`: every route's
 * happy path, input validation, the one error format, the prototype-poisoning guard and what responses
 * never contain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { buildGateway, type MarketDataSource } from '../../src/gateway/index.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { allKeys, type SimGateway, simGateway } from './helpers.ts';

interface Level {
  price: string;
  size: string;
}
interface ErrorJson {
  error: { code: string; message: string; context?: Record<string, unknown> };
}

function assertError(r: { statusCode: number; json(): unknown }, status: number, code: keyof typeof ERROR_CATALOGUE) {
  const body = r.json() as ErrorJson;
  assert.equal(r.statusCode, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.equal(ERROR_CATALOGUE[code].status, status, 'the status is the catalogue status of the code');
  assert.equal(typeof body.error.message, 'string');
  assert.deepEqual(Object.keys(body), ['error']);
  return body.error;
}

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

describe('gateway routes over a sim platform', () => {
  let g: SimGateway;
  before(async () => {
    g = await simGateway();
    g.publish();
  });
  after(async () => g?.close());

  it('GET /api/v1/venues lists sim with its name, state and symbols', async () => {
    const r = await g.app.inject('/api/v1/venues');
    assert.equal(r.statusCode, 200);
    const { venues } = r.json() as { venues: { id: string; name: string; kind: string; symbols: string[] }[] };
    assert.deepEqual(
      venues.map((v) => [v.id, v.name, v.kind, v.symbols]),
      [['sim', 'Simulator', 'sim', ['BTC-USDT', 'ETH-USDT']]],
    );
  });

  it('GET /api/v1/instruments lists normalized symbols with their parts and venues', async () => {
    const r = await g.app.inject('/api/v1/instruments');
    assert.equal(r.statusCode, 200);
    const { instruments } = r.json() as {
      instruments: { symbol: string; base: string; quote: string; kind: string }[];
    };
    assert.deepEqual(
      instruments.map((i) => [i.symbol, i.base, i.quote, i.kind]),
      [
        ['BTC-USDT', 'BTC', 'USDT', 'spot'],
        ['ETH-USDT', 'ETH', 'USDT', 'spot'],
      ],
    );
  });

  it('GET /api/v1/books/sim/BTC-USDT?depth=5 serves exactly the book levels, best first, as decimal text', async () => {
    const r = await g.app.inject('/api/v1/books/sim/BTC-USDT?depth=5');
    assert.equal(r.statusCode, 200);
    const body = r.json() as { status: string; depth: number; bids: Level[]; asks: Level[] };
    const book = g.sim.handler.book('BTC-USDT')?.book;
    assert.ok(book !== undefined);
    assert.equal(body.status, 'in_sync');
    assert.equal(body.depth, 5);
    assert.deepEqual(body.bids, book.levels('bid', 5));
    assert.deepEqual(body.asks, book.levels('ask', 5));
    assert.equal(body.bids.length, 5);
    for (const l of [...body.bids, ...body.asks]) {
      assert.match(l.price, DECIMAL);
      assert.match(l.size, DECIMAL);
    }
    assert.equal(Decimal.parse((body.asks[0] as Level).price).cmp(Decimal.parse((body.bids[0] as Level).price)), 1);
  });

  it('depth defaults to 20 and symbols are case-insensitive', async () => {
    const r = await g.app.inject('/api/v1/books/sim/btc-usdt');
    assert.equal(r.statusCode, 200);
    const body = r.json() as { symbol: string; depth: number; bids: Level[] };
    assert.equal(body.symbol, 'BTC-USDT');
    assert.equal(body.depth, 20);
    assert.ok(body.bids.length <= 20);
  });

  it('GET /api/v1/books/consolidated/BTC-USDT gives levels with a per-venue breakdown, excluded venues and opportunity', async () => {
    const r = await g.app.inject('/api/v1/books/consolidated/BTC-USDT?depth=3');
    assert.equal(r.statusCode, 200);
    const body = r.json() as {
      venues: string[];
      excluded: unknown[];
      bids: (Level & { venues: (Level & { venue: string })[] })[];
      opportunity: unknown;
    };
    assert.deepEqual(body.venues, ['sim']);
    assert.deepEqual(body.excluded, []);
    assert.equal(body.opportunity, null, 'one venue cannot cross itself');
    assert.equal(body.bids.length, 3);
    const best = body.bids[0];
    assert.deepEqual(best?.venues, [{ venue: 'sim', price: best?.price, size: best?.size }]);
  });

  it('GET /api/v1/status reports every venue and book with its staleness', async () => {
    const r = await g.app.inject('/api/v1/status');
    assert.equal(r.statusCode, 200);
    const body = r.json() as { tsMs: number; venues: { venue: string }[]; books: { symbol: string; ageMs: unknown }[] };
    assert.equal(body.tsMs, g.clock.nowMs());
    assert.deepEqual(
      body.venues.map((v) => v.venue),
      ['sim'],
    );
    assert.deepEqual(
      body.books.map((b) => b.symbol),
      ['BTC-USDT', 'ETH-USDT'],
    );
    for (const b of body.books) assert.ok('ageMs' in b);
  });

  it('GET /healthz answers ok', async () => {
    const r = await g.app.inject('/healthz');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  it('GET /metrics serves the platform registry in Prometheus text format with our metric names', async () => {
    const r = await g.app.inject('/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    for (const name of METRIC_NAMES) assert.match(r.body, new RegExp(`^# TYPE ${name} `, 'm'));
    assert.match(r.body, /^qob_book_updates_total\{venue="sim",symbol="BTC-USDT"\} [1-9]/m);
  });

  for (const [depth, problem] of [
    ['0', />= 1/],
    ['abc', /integer/],
    ['100000', /<= 1000/],
    ['1.5', /integer/],
  ] as const) {
    it(`depth=${depth} is refused with 400 QOB_ERR_INVALID_ARGUMENT naming the field`, async () => {
      for (const url of [
        `/api/v1/books/sim/BTC-USDT?depth=${depth}`,
        `/api/v1/books/consolidated/BTC-USDT?depth=${depth}`,
      ]) {
        const e = assertError(await g.app.inject(url), 400, 'QOB_ERR_INVALID_ARGUMENT');
        assert.equal(e.context?.field, 'depth');
        assert.equal(e.context?.in, 'query');
        assert.match(String(e.context?.problem), problem);
      }
    });
  }

  it('an unknown query parameter is refused, not ignored', async () => {
    const e = assertError(await g.app.inject('/api/v1/books/sim/BTC-USDT?dpeth=5'), 400, 'QOB_ERR_INVALID_ARGUMENT');
    assert.equal(e.context?.field, 'dpeth');
  });

  it('an unknown venue is 404 QOB_ERR_UNKNOWN_VENUE', async () => {
    const e = assertError(await g.app.inject('/api/v1/books/nosuch/BTC-USDT'), 404, 'QOB_ERR_UNKNOWN_VENUE');
    assert.equal(e.context?.venue, 'nosuch');
  });

  it('a symbol no venue carries is 404 QOB_ERR_UNKNOWN_INSTRUMENT', async () => {
    assertError(await g.app.inject('/api/v1/books/sim/SOL-USDT'), 404, 'QOB_ERR_UNKNOWN_INSTRUMENT');
    assertError(await g.app.inject('/api/v1/books/consolidated/SOL-USDT'), 404, 'QOB_ERR_UNKNOWN_INSTRUMENT');
  });

  it('a symbol outside the normalized scheme is 400 QOB_ERR_INVALID_SYMBOL', async () => {
    assertError(await g.app.inject('/api/v1/books/sim/XBT-USD'), 400, 'QOB_ERR_INVALID_SYMBOL');
    assertError(await g.app.inject('/api/v1/books/sim/BTCUSDT'), 400, 'QOB_ERR_INVALID_SYMBOL');
  });

  it('an unknown route is 404 QOB_ERR_NOT_FOUND in the same error format', async () => {
    assertError(await g.app.inject('/api/v1/orders/sim/BTC-USDT'), 404, 'QOB_ERR_NOT_FOUND');
    assertError(await g.app.inject({ method: 'POST', url: '/api/v1/venues' }), 404, 'QOB_ERR_NOT_FOUND');
  });

  for (const query of [
    '__proto__=1',
    '__proto__[polluted]=1',
    'constructor[prototype][polluted]=1',
    'constructor.prototype.x=1',
  ]) {
    it(`?${query} is refused with 400 QOB_ERR_PROTOTYPE_POISONING`, async () => {
      assertError(await g.app.inject(`/api/v1/venues?${query}`), 400, 'QOB_ERR_PROTOTYPE_POISONING');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  it('responses carry no internal fields: no scaled integers, no book internals, no stack traces', async () => {
    const urls = [
      '/api/v1/venues',
      '/api/v1/instruments',
      '/api/v1/books/sim/BTC-USDT?depth=50',
      '/api/v1/books/consolidated/ETH-USDT?depth=50',
      '/api/v1/status',
      '/api/v1/books/sim/BTC-USDT?depth=0',
      '/api/v1/books/nosuch/BTC-USDT',
      '/nope',
    ];
    const forbidden = [
      'stack',
      'priceScale',
      'scale',
      'coef',
      'book',
      'handler',
      'connections',
      'key',
      'lastSeq',
      'cause',
    ];
    for (const url of urls) {
      const r = await g.app.inject(url);
      const keys = allKeys(r.json());
      for (const k of forbidden) assert.ok(!keys.has(k), `${url} exposes ${k}`);
      assert.doesNotMatch(r.body, /at .*\.ts:\d+/, `${url} exposes a stack trace`);
    }
    const book = (await g.app.inject('/api/v1/books/sim/BTC-USDT?depth=50')).json() as { bids: Level[] };
    for (const l of book.bids) assert.equal(typeof l.price, 'string', 'prices are decimal text, never numbers');
  });
});

describe('gateway over a source that is not ready or fails', () => {
  const refs = {
    venue: 'sim',
    symbol: 'BTC-USDT',
    venueSymbol: 'BTC-USDT',
    status: 'stale',
    reason: 'sequence gap',
    inSync: false,
    book: undefined,
    updates: 7,
    // Internal fields a source might carry: never serialized.
    apiSecret: 'hunter2',
  };
  const source = (over: Partial<MarketDataSource> = {}): MarketDataSource => ({
    venues: () => [{ id: 'sim', kind: 'sim', state: 'connected', reason: 'test', symbols: ['BTC-USDT'] }],
    books: () => [refs],
    book: (v, s) => (v === 'sim' && s === 'BTC-USDT' ? refs : undefined),
    status: () => ({ tsMs: 1, venues: [], books: [] }),
    readiness: () => ({ ready: false, reason: '0 of 1 sim books in sync' }),
    ...over,
  });
  const metrics = { contentType: 'text/plain', metrics: async () => '' };

  it('a book that is not in sync is 503 QOB_ERR_BOOK_NOT_SYNCED with its status, never its levels', async () => {
    const app = await buildGateway({ source: source(), metrics });
    const e = assertError(await app.inject('/api/v1/books/sim/BTC-USDT'), 503, 'QOB_ERR_BOOK_NOT_SYNCED');
    assert.deepEqual(e.context, { venue: 'sim', symbol: 'BTC-USDT', status: 'stale', reason: 'sequence gap' });
    const c = assertError(await app.inject('/api/v1/books/consolidated/BTC-USDT'), 503, 'QOB_ERR_BOOK_NOT_SYNCED');
    assert.deepEqual(c.context?.excluded, [{ venue: 'sim', status: 'stale' }]);
    assert.doesNotMatch((await app.inject('/api/v1/instruments')).body, /hunter2/);
    await app.close();
  });

  it('/readyz is 503 until the source is ready, then 200', async () => {
    let ready = false;
    const app = await buildGateway({
      source: source({ readiness: () => ({ ready, reason: ready ? 'all in sync' : 'syncing' }) }),
      metrics,
    });
    assertError(await app.inject('/readyz'), 503, 'QOB_ERR_BOOK_NOT_SYNCED');
    ready = true;
    const r = await app.inject('/readyz');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ready', reason: 'all in sync' });
    await app.close();
  });

  it('an unexpected failure is 500 QOB_ERR_INTERNAL with a generic message: no stack, no internal message', async () => {
    const app = await buildGateway({
      source: source({
        venues: () => {
          throw new Error('secret internal detail');
        },
      }),
      metrics,
    });
    const r = await app.inject('/api/v1/venues');
    const e = assertError(r, 500, 'QOB_ERR_INTERNAL');
    assert.equal(e.message, 'internal error');
    assert.doesNotMatch(r.body, /secret internal detail|at .*:\d+/);
    await app.close();
  });
});

describe('JSON bodies', () => {
  const metrics = { contentType: 'text/plain', metrics: async () => '' };
  const source: MarketDataSource = {
    venues: () => [],
    books: () => [],
    book: () => undefined,
    status: () => ({ tsMs: 0, venues: [], books: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
  };

  // No route takes a body yet; a route added for the test proves the app-wide JSON parser's guard.
  async function withEcho() {
    const app = await buildGateway({ source, metrics }, { docs: false });
    app.post('/echo', { config: { permission: 'public' } }, async (req) => ({ got: req.body }));
    await app.ready();
    return app;
  }

  for (const payload of [
    '{"__proto__":{"polluted":true}}',
    '{"a":{"b":{"__proto__":{"polluted":true}}}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '[{"x":1},{"__proto__":{"polluted":true}}]',
  ]) {
    it(`${payload} is refused with 400 QOB_ERR_PROTOTYPE_POISONING`, async () => {
      const app = await withEcho();
      const r = await app.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      assertError(r, 400, 'QOB_ERR_PROTOTYPE_POISONING');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      await app.close();
    });
  }

  it('a clean body passes and invalid JSON is 400 QOB_ERR_MALFORMED_MESSAGE', async () => {
    const app = await withEcho();
    const ok = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"constructor":1}',
    });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { got: { constructor: 1 } });
    const bad = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    assertError(bad, 400, 'QOB_ERR_MALFORMED_MESSAGE');
    await app.close();
  });
});
