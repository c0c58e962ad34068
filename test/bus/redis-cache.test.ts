/**
 * RedisCache against a real Redis: set QOB_TEST_REDIS_URL (`eval "$(bash scripts/stack.sh env)"` after
 * `bash scripts/stack.sh up`). Each run uses keys of its own (a random prefix).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCache } from '../../src/bus/redis-cache.ts';
import { isQobError, type QobError } from '../../src/core/errors.ts';
import { type BookDeltaEvent, bookSnapshot } from '../../src/domain/events.ts';
import { delta, st, until } from './helpers.ts';

const URL = process.env.QOB_TEST_REDIS_URL;
const SKIP = URL ? false : 'QOB_TEST_REDIS_URL is not set (run `bash scripts/stack.sh up` and eval its env)';

function snap(seq: number) {
  return bookSnapshot({
    venue: 'kraken',
    symbol: 'BTC-USD',
    tsRecvMs: 1_700_000_000_000 + seq,
    seq,
    bids: [[`${60000 + seq}`, '1.5']],
    asks: [[`${60100 + seq}`, '2']],
  });
}

describe('RedisCache (real Redis)', () => {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  let cache: RedisCache;

  before(async () => {
    if (SKIP) return;
    cache = await RedisCache.connect({ url: URL ?? '', keyPrefix: prefix });
  });
  after(async () => {
    if (SKIP) return;
    const r = new Redis(URL ?? '');
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
    await cache?.close();
  });

  it('keeps the latest book snapshot by version and never goes backwards, whatever order writes land in', {
    skip: SKIP,
  }, async () => {
    assert.equal(await cache.getBook('kraken', 'BTC-USD'), null);
    assert.equal(await cache.putBook(snap(5), 5), true);
    assert.equal(await cache.putBook(snap(3), 3), false, 'an older version is refused');
    assert.equal(await cache.putBook(snap(5), 5), false, 'the same version is refused');
    const results = await Promise.all([9, 7, 12, 8, 11].map((v) => cache.putBook(snap(v), v)));
    assert.ok(results.includes(true));
    const got = await cache.getBook('kraken', 'BTC-USD');
    assert.equal(got?.version, 12);
    assert.deepEqual(got?.event, snap(12));
    await assert.rejects(cache.putBook(snap(13), -1), (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'));
  });

  it('a versioned book write says which version it replaced, or which newer one refused it', {
    skip: SKIP,
  }, async () => {
    const other = { ...snap(1), symbol: 'ETH-USD' };
    assert.deepEqual(await cache.putBookVersioned(other, 4), { stored: true, previous: -1 }, 'nothing before');
    assert.deepEqual(await cache.putBookVersioned(other, 10), { stored: true, previous: 4 });
    assert.deepEqual(await cache.putBookVersioned(other, 7), { stored: false, previous: 10 });
    assert.deepEqual(await cache.putBookVersioned(other, 10), { stored: false, previous: 10 });
  });

  it('keeps the latest status per book and per venue connection, by version', { skip: SKIP }, async () => {
    assert.equal(await cache.putStatus(st(2), 2), true);
    assert.equal(await cache.putStatus(st(1), 1), false);
    assert.equal(await cache.putStatus(st(3, null), 1), true, 'the venue-wide status is a separate entry');
    assert.equal((await cache.getStatus('okx', 'BTC-USDT'))?.event.reason, 'r2');
    assert.equal((await cache.getStatus('okx', null))?.event.reason, 'r3');
  });

  it('fans deltas out over pub/sub, per key or to all, in publish order, and skips a malformed payload', {
    skip: SKIP,
  }, async () => {
    const one: BookDeltaEvent[] = [];
    const all: BookDeltaEvent[] = [];
    const errors: QobError[] = [];
    const s1 = await cache.subscribeDeltas(['binance|BTC-USDT'], (d) => one.push(d));
    const s2 = await cache.subscribeDeltas('*', (d) => all.push(d), { onError: (e) => errors.push(e) });
    const sent = [1, 2, 3, 4].flatMap((i) => [delta('BTC-USDT', i), delta('ETH-USDT', i)]);
    const receivers = await cache.publishDeltas(sent);
    assert.ok(receivers >= 2);
    const raw = new Redis(URL ?? '');
    await raw.publish(`${prefix}delta:binance|ETH-USDT`, 'not json');
    await raw.quit();
    await cache.publishDeltas([delta('ETH-USDT', 5)]);
    await until(() => all.length === 9 && one.length === 4, 10_000, 'the deltas');
    assert.deepEqual(
      one.map((d) => d.lastSeq),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      all.filter((d) => d.symbol === 'ETH-USDT').map((d) => d.lastSeq),
      [1, 2, 3, 4, 5],
    );
    assert.equal(s2.malformed(), 1);
    assert.equal(errors[0]?.code, 'QOB_ERR_MALFORMED_MESSAGE');
    await s1.close();
    await s1.close();
    await s2.close();
  });
});
