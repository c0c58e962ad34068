/**
 * The distributed path with the real engines: a real capture replayed through ingestion -> Kafka -> two
 * orderbook instances -> Redis -> a gateway source, and storage -> PostgreSQL, against the all-in-one path
 * (the venue handler itself, `runReplay`, and a store fed in process). Skips without the engines.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { RedisCache } from '../../src/bus/redis-cache.ts';
import { BUS_TOPICS } from '../../src/bus/topics.ts';
import type { QobError } from '../../src/core/errors.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { runReplay } from '../../src/replay/replay.ts';
import { BookEventTap, guessSymbol } from '../../src/services/book-events.ts';
import { Ingestion } from '../../src/services/ingestion.ts';
import { OrderbookService } from '../../src/services/orderbook.ts';
import { RedisMarketData } from '../../src/services/redis-source.ts';
import { StorageService } from '../../src/services/storage.ts';
import { openStore, type SqlStore } from '../../src/store/index.ts';
import { venueById } from '../../src/venues/index.ts';
import { engines, finalSeqs, missingEngines, recordingBus, uniquePrefix, until } from './helpers.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const CAPTURE = resolve(repoRoot, '../shared/fixtures/binance/cryptofeed_BINANCE.jsonl.zst');
const DEPTH = 20;

describe('the distributed path (ingestion -> Kafka -> 2 orderbooks -> Redis -> gateway; storage)', () => {
  const missing = missingEngines('kafka', 'redis', 'pg');
  const absent = !existsSync(CAPTURE);
  const prefix = uniquePrefix('svc');
  const closers: (() => Promise<unknown>)[] = [];
  const errors: QobError[] = [];
  let published: ReturnType<typeof recordingBus>['published'] = [];
  let obs: OrderbookService[] = [];
  let source: RedisMarketData;
  let storage: StorageService;
  let pgStore: SqlStore;
  let ingestBus: KafkaBus;
  let brokerList: string[] = [];

  before(async () => {
    if (missing !== undefined || absent) return;
    const brokers = (engines.kafka as string).split(',');
    const bus = () => KafkaBus.connect({ brokers, topicPrefix: prefix, partitions: 6, maxWaitTimeMs: 10 });
    const cacheA = await RedisCache.connect({ url: engines.redis as string, keyPrefix: `${prefix}:` });
    const cacheB = await RedisCache.connect({ url: engines.redis as string, keyPrefix: `${prefix}:` });
    const cacheG = await RedisCache.connect({ url: engines.redis as string, keyPrefix: `${prefix}:` });
    closers.push(
      () => cacheA.close(),
      () => cacheB.close(),
      () => cacheG.close(),
    );
    const [busA, busB, busS] = [await bus(), await bus(), await bus()];
    ingestBus = await bus();
    closers.push(
      () => busA.close(),
      () => busB.close(),
      () => busS.close(),
      () => ingestBus.close(),
    );
    source = await RedisMarketData.start({ cache: cacheG, refreshMs: 200 });
    closers.push(() => source.close());
    const onError = (e: QobError) => errors.push(e);
    obs = [
      await OrderbookService.start({ bus: busA, cache: cacheA, group: `${prefix}-ob`, depth: DEPTH, onError }),
      await OrderbookService.start({ bus: busB, cache: cacheB, group: `${prefix}-ob`, depth: DEPTH, onError }),
    ];
    closers.push(async () => {
      for (const o of obs) await o.close();
    });
    pgStore = await openStore({ engine: 'postgres', url: engines.pg as string, schema: prefix });
    closers.push(async () => {
      await pgStore.sqlEngine.query(`drop schema if exists ${prefix} cascade`).catch(() => undefined);
      await pgStore.close();
    });
    storage = await StorageService.start({ bus: busS, store: pgStore, group: `${prefix}-st`, onError });
    closers.push(() => storage.close());

    const rec = recordingBus(ingestBus);
    const ingestion = new Ingestion({ bus: rec, seqBase: 1, snapshotEvery: 50 });
    await ingestion.replay(CAPTURE, 'cryptofeed');
    await ingestion.close();
    published = rec.published;
    brokerList = brokers;
  });

  after(async () => {
    // Bounded: a close that hangs must not hold the run (reported, not hidden).
    for (const c of closers.reverse()) {
      const r = await Promise.race([
        c().then(
          () => 'closed',
          () => 'failed',
        ),
        new Promise((done) => setTimeout(() => done('timeout'), 5000).unref()),
      ]);
      if (r === 'timeout') console.error(`a close did not finish in 5 s: ${c.toString().slice(0, 60)}`);
    }
  });

  it('serves through the gateway source the same final books as the all-in-one replay', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    if (absent) return t.skip('../shared/fixtures absent');
    const finals = finalSeqs(published);
    const state = () =>
      JSON.stringify({
        published: published.length,
        obs: obs.map((o) => [o.stats, o.subscriptionStats(), o.books().map((b) => `${b.symbol}:${b.status}:${b.seq}`)]),
        storage: [storage.stats, storage.subscriptionStats()],
        gateway: source.books().map((b) => `${b.symbol}:${b.status}:${source.version(b.venue, b.symbol)}`),
      });
    setTimeout(() => t.diagnostic(state()), 15_000).unref();
    assert.equal(finals.size, 4, 'the capture has four books');
    await until(
      () => [...finals].every(([k, seq]) => source.version(k.split('|')[0] ?? '', k.split('|')[1] ?? '') >= seq),
      60_000,
      'the gateway source to reach every final book',
    );
    // All-in-one: the venue's own handler over the same capture, and `qob replay`'s report.
    const report = await runReplay(CAPTURE);
    const reg = venueById('binance');
    assert.ok(reg !== undefined);
    const ref = new BookEventTap('binance', reg.createFeedHandler, { emit: () => {} });
    for await (const r of readCapture(CAPTURE)) {
      if (r.t === 'recv') ref.onFrame(r.conn, r.data, r.tsMs);
      else if (r.t === 'http') ref.onHttp(r.url, r.data, r.tsMs);
      else if (r.t === 'connect') ref.onConnect(r.conn, r.addr, r.tsMs);
      else if (r.t === 'send') ref.onSend(r.conn, r.data, r.tsMs);
    }
    const owners = new Set<number>();
    for (const b of report.books) {
      const symbol = guessSymbol(b.symbol);
      const served = source.book('binance', symbol);
      assert.ok(served?.inSync, `${symbol} is served in sync`);
      assert.equal(served.book?.bestBid()?.price ?? null, b.bestBid, `${symbol} best bid`);
      assert.equal(served.book?.bestAsk()?.price ?? null, b.bestAsk, `${symbol} best ask`);
      const tracked = [...ref.books()].find((x) => x.symbol === b.symbol);
      assert.ok(tracked !== undefined);
      assert.deepEqual(served.book?.toJSON(DEPTH), tracked.book.toJSON(DEPTH), `${symbol} top ${DEPTH} levels`);
      assert.equal(served.book?.hash(DEPTH), tracked.book.hash(DEPTH), `${symbol} top-${DEPTH} hash`);
      // The full book rebuilt by the owning orderbook instance hashes like the replay's.
      const full = obs
        .map((o, i) => ({ i, sb: o.book('binance', symbol) }))
        .filter((x) => x.sb?.inSync === true && x.sb.seq === finals.get(`binance|${symbol}`));
      assert.ok(full.length >= 1, `an orderbook instance holds ${symbol} at its final sequence`);
      for (const f of full) {
        assert.equal(f.sb?.book.hash(), b.hash, `${symbol} full-book hash`);
        owners.add(f.i);
      }
    }
    t.diagnostic(`books held at the end by instance(s) ${[...owners].join(', ')}`);
  });

  it('stores through the storage service the same rows as the all-in-one store', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    if (absent) return t.skip('../shared/fixtures absent');
    const toStore = published.filter((e) => e.type !== 'status');
    await until(() => storage.stats.stored >= toStore.length, 60_000, 'storage to write every event');
    const mem = await openStore({ engine: 'embedded', dataDir: undefined });
    try {
      for (const e of toStore) assert.ok(mem.append(e));
      await mem.flush();
      const rows = async (s: SqlStore) => ({
        trades: await s.sqlEngine.query(
          'select venue, symbol, recv_seq::text as r, ts_recv_ms, price::text as p, size::text as s, aggressor, trade_id from trades order by recv_seq',
        ),
        deltas: await s.sqlEngine.query(
          'select venue, symbol, recv_seq::text as r, prev_seq::text as pv, last_seq::text as l, bids, asks from book_deltas order by recv_seq',
        ),
        snapshots: await s.sqlEngine.query(
          'select venue, symbol, recv_seq::text as r, venue_seq::text as v, source, bid_prices::text as bp, bid_sizes::text as bs, ask_prices::text as ap, ask_sizes::text as az from book_snapshots order by recv_seq',
        ),
      });
      const [want, got] = [await rows(mem), await rows(pgStore)];
      assert.ok(want.deltas.length > 100 && want.snapshots.length >= 4);
      assert.deepEqual(got, want);
    } finally {
      await mem.close();
    }
  });

  it('counts a malformed message as a typed error and keeps consuming', async (t) => {
    if (missing !== undefined) return t.skip(missing);
    if (absent) return t.skip('../shared/fixtures absent');
    // After the rest ran (the tests above), so their books do not depend on it.
    const before = obs.reduce((n, o) => n + o.stats.malformed, 0);
    const producer = new Producer({ clientId: `${prefix}-raw`, bootstrapBrokers: brokerList });
    await producer.send({
      messages: [
        {
          topic: ingestBus.topicName(BUS_TOPICS['book.delta']),
          key: Buffer.from('binance|NKN-USDT'),
          value: Buffer.from('{not json'),
        },
      ],
    });
    await producer.close();
    await until(
      () => obs.reduce((n, o) => n + o.stats.malformed, 0) > before,
      30_000,
      'the malformed message to be counted',
    );
    await until(() => storage.stats.malformed === 1, 30_000, 'storage to count it');
    const typed = errors.filter((e) => e.code === 'QOB_ERR_MALFORMED_MESSAGE');
    assert.equal(
      typed.length,
      2,
      'reported once to the orderbook group and once to storage, as QOB_ERR_MALFORMED_MESSAGE',
    );
    assert.equal(typed[0]?.context.topic, ingestBus.topicName(BUS_TOPICS['book.delta']));
    for (const o of obs) assert.equal(o.subscriptionStats()?.handlerErrors, 0);
    // Consuming goes on past it: a restarted ingestion (a later sequence base) is served to the end.
    const rec = recordingBus(ingestBus);
    const again = new Ingestion({ bus: rec, seqBase: 1_000_000 });
    await again.replay(CAPTURE, 'cryptofeed');
    await again.close();
    const finals = finalSeqs(rec.published);
    await until(
      () => [...finals].every(([k, seq]) => source.version('binance', k.slice('binance|'.length)) >= seq),
      60_000,
      'the books of the second replay to be served',
    );
    assert.ok(source.books().every((b) => b.inSync));
  });
});
