import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { ManualClock } from '../../src/ingest/clock.ts';
import { parseRetryAfterMs, RestClient, type RestClientOptions } from '../../src/ingest/rest.ts';
import { fakeFetch, tick } from './helpers.ts';

function setup(over: Partial<RestClientOptions> = {}) {
  const clock = new ManualClock();
  const ff = fakeFetch();
  const client = new RestClient({
    venue: 'test',
    clock,
    random: new SeededRandom(3),
    limit: { weight: 100, windowMs: 60_000 },
    fetch: ff.fetch,
    backoff: { baseMs: 100, maxMs: 1_000 },
    ...over,
  });
  return { clock, ff, client };
}

describe('RestClient', () => {
  test('Retry-After on 429 is waited out in full before the next try', async () => {
    const { clock, ff, client } = setup();
    const p = client.get({ url: 'http://v/depth', weight: 1 });
    await tick();
    ff.calls[0]?.resolve(429, 'slow down', { 'retry-after': '7' });
    await clock.advanceAsync(6_999);
    assert.equal(ff.calls.length, 1, 'no second try before Retry-After has passed');
    await clock.advanceAsync(2);
    assert.equal(ff.calls.length, 2);
    ff.calls[1]?.resolve(200, '{"ok":1}');
    const res = await p;
    assert.equal(res.body, '{"ok":1}');
    assert.equal(res.tries, 2);
    client.close();
  });

  test('a 418 ban pauses every request of the client, not just the one that got it', async () => {
    const { clock, ff, client } = setup();
    const a = client.get({ url: 'http://v/a', weight: 1 });
    await tick();
    ff.calls[0]?.resolve(418, 'banned', { 'retry-after': '30' });
    await tick();
    const b = client.get({ url: 'http://v/b', weight: 1 });
    await clock.advanceAsync(29_000);
    assert.equal(ff.calls.length, 1);
    await clock.advanceAsync(1_001);
    assert.ok(ff.calls.length >= 2);
    for (const c of ff.calls.slice(1)) c.resolve(200, c.url);
    await clock.advanceAsync(1);
    for (const c of ff.calls.slice(1)) c.resolve(200, c.url);
    assert.equal((await a).body, 'http://v/a');
    assert.equal((await b).body, 'http://v/b');
    client.close();
  });

  test('close cancels a Retry-After wait: the request rejects with QOB_ERR_CLOSED and no timer is left', async () => {
    const { clock, ff, client } = setup();
    const p = client.get({ url: 'http://v/depth', weight: 1 });
    await tick();
    ff.calls[0]?.resolve(429, '', { 'retry-after': '60' });
    await clock.advanceAsync(1_000);
    client.close();
    await assert.rejects(p, (e: unknown) => isQobError(e, 'QOB_ERR_CLOSED'));
    assert.equal(clock.pending, 0);
    assert.equal(ff.calls.length, 1);
  });

  test("the request's AbortSignal cancels its wait with QOB_ERR_ABORTED", async () => {
    const { clock, ff, client } = setup();
    const ac = new AbortController();
    const p = client.get({ url: 'http://v/depth', weight: 1 }, ac.signal);
    await tick();
    ff.calls[0]?.resolve(429, '', { 'retry-after': '60' });
    await clock.advanceAsync(10);
    ac.abort();
    await assert.rejects(p, (e: unknown) => isQobError(e, 'QOB_ERR_ABORTED'));
    client.close();
  });

  test('5xx is retried a bounded number of times, then fails with QOB_ERR_VENUE_UNAVAILABLE', async () => {
    const { clock, ff, client } = setup({ maxTries: 3 });
    const p = client.get({ url: 'http://v/x', weight: 1 });
    const outcome = p.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    for (let i = 0; i < 3; i++) {
      await clock.advanceAsync(2_000);
      ff.calls[i]?.resolve(503, 'down');
    }
    await clock.advanceAsync(5_000);
    const e = await outcome;
    assert.ok(isQobError(e, 'QOB_ERR_VENUE_UNAVAILABLE'), String(e));
    assert.equal(ff.calls.length, 3);
    client.close();
  });

  test('other 4xx fail at once with QOB_ERR_VENUE_REJECTED', async () => {
    const { ff, client } = setup();
    const p = client.get({ url: 'http://v/x', weight: 1 });
    await tick();
    ff.calls[0]?.resolve(400, '{"code":-1121,"msg":"Invalid symbol."}');
    await assert.rejects(p, (e: unknown) => isQobError(e, 'QOB_ERR_VENUE_REJECTED'));
    assert.equal(ff.calls.length, 1);
    client.close();
  });

  test('a timeout counts as a failed try and is reported as unavailable', async () => {
    const { clock, ff, client } = setup({ maxTries: 1, timeoutMs: 5_000 });
    const p = client.get({ url: 'http://v/x', weight: 1 });
    const outcome = p.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await clock.advanceAsync(5_001);
    const e = await outcome;
    assert.ok(isQobError(e, 'QOB_ERR_VENUE_UNAVAILABLE') && /within 5000 ms/.test(e.message), String(e));
    assert.equal(ff.calls.length, 1);
    client.close();
  });

  test('the weight limiter never spends more than the budget within one rolling window', async () => {
    const { clock, ff, client } = setup({ limit: { weight: 10, windowMs: 1_000 } });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      pending.push(client.get({ url: `http://v/${i}`, weight: 4 }).catch((e: unknown) => e));
    }
    await tick();
    assert.equal(ff.calls.length, 2, '4 + 4 fit in 10, a third 4 does not');
    for (const c of ff.calls) c.resolve(200, c.url);
    await clock.advanceAsync(999);
    assert.equal(ff.calls.length, 2);
    await clock.advanceAsync(1);
    assert.equal(ff.calls.length, 4);
    client.close();
    const outcomes = await Promise.all(pending);
    assert.equal(outcomes.filter((e) => isQobError(e, 'QOB_ERR_CLOSED')).length, 3, 'waiting requests end with close');
  });

  test('Retry-After accepts delta seconds and HTTP dates', () => {
    assert.equal(parseRetryAfterMs('120', 0), 120_000);
    assert.equal(parseRetryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4_000), 6_000);
    assert.equal(parseRetryAfterMs(null, 0), undefined);
    assert.equal(parseRetryAfterMs('soon', 0), undefined);
  });
});
