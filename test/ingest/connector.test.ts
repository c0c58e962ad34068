import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRandom } from '../../src/core/random.ts';
import { ManualClock } from '../../src/ingest/clock.ts';
import {
  type ConnectorAlert,
  type ConnectorOptions,
  type ConnectorStatus,
  createConnector,
} from '../../src/ingest/connector.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import { binanceSpotConnector } from '../../src/venues/binance/connector.ts';
import { createBinanceSpotFeedHandler } from '../../src/venues/binance/spot.ts';
import { createBybitConnectorSpec } from '../../src/venues/bybit/connector.ts';
import { createBybitFeedHandler } from '../../src/venues/bybit/handler.ts';
import { fakeFetch, fakeSockets, tick } from './helpers.ts';

const ev = (U: number, u: number, bid = '100.0', size = '1') =>
  JSON.stringify({
    stream: 'btcusdt@depth@100ms',
    data: { e: 'depthUpdate', E: 1, s: 'BTCUSDT', U, u, b: [[bid, size]], a: [['101.0', '2']] },
  });
const snap = (L: number) => JSON.stringify({ lastUpdateId: L, bids: [['99.0', '1']], asks: [['102.0', '1']] });

function binance(over: Partial<ConnectorOptions> = {}) {
  const clock = new ManualClock();
  const fs = fakeSockets();
  const ff = fakeFetch();
  const statuses: ConnectorStatus[] = [];
  const alerts: ConnectorAlert[] = [];
  const records: RawRecord[] = [];
  const c = createConnector({
    spec: binanceSpotConnector,
    handlerFactory: (o) => createBinanceSpotFeedHandler(o),
    symbols: ['BTCUSDT'],
    endpoints: { wsBase: 'ws://emu', restBase: 'http://emu' },
    clock,
    random: new SeededRandom(11),
    tap: (r) => records.push(r),
    onStatus: (s) => statuses.push(s),
    onAlert: (a) => alerts.push(a),
    createSocket: fs.factory,
    fetch: ff.fetch,
    recovery: { snapshotDelayMs: 100, maxTries: 3, backoff: { baseMs: 100, maxMs: 1_000 }, timeoutMs: 5_000 },
    ...over,
  });
  const book = () => [...c.books()].find((b) => b.symbol === 'BTCUSDT');
  const bookStatuses = () => statuses.filter((s) => s.scope === 'book').map((s) => s.status);
  return { clock, fs, ff, statuses, alerts, records, c, book, bookStatuses };
}

describe('VenueConnector (REST-snapshot venue)', () => {
  test('fetches a snapshot after connect, bridges the buffered events and reports in_sync', async () => {
    const { clock, fs, ff, c, book, bookStatuses, records } = binance();
    assert.match(fs.sockets[0]?.url ?? '', /^ws:\/\/emu\/stream\?streams=btcusdt@depth@100ms\/btcusdt@trade$/);
    fs.sockets[0]?.open();
    fs.sockets[0]?.message(ev(101, 102));
    await clock.advanceAsync(100);
    assert.equal(ff.calls.length, 1);
    assert.equal(ff.calls[0]?.url, 'http://emu/api/v3/depth?symbol=BTCUSDT&limit=5000');
    ff.calls[0]?.resolve(200, snap(100));
    await tick();
    assert.equal(book()?.status, 'in_sync');
    assert.equal(book()?.book.bestBid()?.price, '100');
    assert.deepEqual(bookStatuses(), ['connecting', 'syncing', 'in_sync']);
    assert.deepEqual(
      records.map((r) => r.t),
      ['connect', 'recv', 'http'],
    );
    c.close();
    assert.equal(clock.pending, 0);
  });

  test('a snapshot whose request began in an older connection epoch is discarded, never applied', async () => {
    const { clock, fs, ff, c, book, records } = binance();
    fs.sockets[0]?.open();
    fs.sockets[0]?.message(ev(101, 102));
    await clock.advanceAsync(100);
    assert.equal(ff.calls.length, 1);
    // The socket drops while the snapshot is in flight; a new socket (epoch 2) opens.
    fs.sockets[0]?.drop(1006);
    await clock.advanceAsync(1_000);
    fs.sockets[1]?.open();
    fs.sockets[1]?.message(ev(201, 202));
    ff.calls[0]?.resolve(200, snap(100)); // late answer for epoch 1
    await tick();
    assert.equal(c.counters.discardedSnapshots, 1);
    assert.notEqual(book()?.status, 'in_sync');
    assert.equal(records.filter((r) => r.t === 'http').length, 0, 'the discarded body is not recorded either');
    await clock.advanceAsync(100);
    assert.equal(ff.calls.length, 2);
    ff.calls[1]?.resolve(200, snap(200));
    await tick();
    assert.equal(book()?.status, 'in_sync');
    assert.equal(book()?.lastSeq, 202);
    c.close();
  });

  test('a sequence gap marks the book stale, refetches the snapshot and resyncs', async () => {
    const { clock, fs, ff, c, book, bookStatuses } = binance();
    fs.sockets[0]?.open();
    fs.sockets[0]?.message(ev(101, 102));
    await clock.advanceAsync(100);
    ff.calls[0]?.resolve(200, snap(100));
    await tick();
    fs.sockets[0]?.message(ev(105, 106)); // 103..104 missing
    assert.equal(book()?.status, 'stale');
    assert.equal(book()?.book.isEmpty, true, 'a stale book holds no levels');
    await clock.advanceAsync(1);
    assert.equal(ff.calls.length, 2);
    fs.sockets[0]?.message(ev(107, 108));
    ff.calls[1]?.resolve(200, snap(106));
    await tick();
    assert.equal(book()?.status, 'in_sync');
    assert.deepEqual(bookStatuses(), ['connecting', 'syncing', 'in_sync', 'stale', 'syncing', 'in_sync']);
    c.close();
  });

  test('429 on the snapshot: the next try waits at least Retry-After, and close cancels the wait', async () => {
    const { clock, fs, ff, c } = binance();
    fs.sockets[0]?.open();
    await clock.advanceAsync(100);
    ff.calls[0]?.resolve(429, '', { 'retry-after': '20' });
    await clock.advanceAsync(19_900);
    assert.equal(ff.calls.length, 1);
    c.close();
    await clock.advanceAsync(60_000);
    assert.equal(ff.calls.length, 1, 'nothing is sent after close');
    assert.equal(clock.pending, 0);
    assert.equal(c.liveSockets, 0);
  });

  test('snapshots that never overlap: bounded tries, then the book is failed and one alert raised', async () => {
    const { clock, fs, ff, c, alerts, book, bookStatuses } = binance();
    fs.sockets[0]?.open();
    fs.sockets[0]?.message(ev(500, 501));
    for (let i = 0; i < 10; i++) {
      await clock.advanceAsync(1_000);
      for (const call of ff.calls.slice(i)) if (call) call.resolve(200, snap(100)); // always older than U=500
    }
    assert.equal(ff.calls.length, 3, 'maxTries snapshots');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.kind, 'book_failed');
    assert.equal(book()?.status, 'failed');
    assert.equal(bookStatuses().at(-1), 'failed');
    c.close();
  });

  test('an unreachable network is named in the venue status and retried with backoff', async () => {
    const { clock, fs, statuses, c } = binance({ connection: { backoff: { baseMs: 100, maxMs: 400 } } });
    const refused = Object.assign(new Error('getaddrinfo ENOTFOUND stream.binance.com'), { code: 'ENOTFOUND' });
    fs.sockets[0]?.drop(1006, refused);
    await clock.advanceAsync(500);
    fs.sockets[1]?.drop(1006, refused);
    const venue = statuses.filter((s) => s.scope === 'venue');
    assert.ok(
      venue.some(
        (s) => s.status === 'disconnected' && s.unreachable && /network unreachable \(ENOTFOUND\)/.test(s.reason),
      ),
    );
    assert.equal(fs.sockets.length, 2);
    await clock.advanceAsync(500);
    assert.equal(fs.sockets.length, 3);
    c.close();
  });
});

describe('VenueConnector (resubscribe venue)', () => {
  const bybitBook = (type: string, u: number, bid = '100') =>
    JSON.stringify({
      topic: 'orderbook.50.BTCUSDT',
      type,
      ts: 1,
      data: { s: 'BTCUSDT', b: [[bid, '1']], a: [['101', '1']], u, seq: u },
    });

  test('a gap sends unsubscribe+subscribe once and the next snapshot brings the book back', async () => {
    const clock = new ManualClock();
    const fs = fakeSockets();
    const statuses: ConnectorStatus[] = [];
    const c = createConnector({
      spec: createBybitConnectorSpec({ depth: 50 }),
      handlerFactory: (o) => createBybitFeedHandler(o),
      symbols: ['linear:BTCUSDT'],
      endpoints: { wsBase: 'ws://emu', restBase: 'http://emu' },
      clock,
      random: new SeededRandom(2),
      onStatus: (s) => statuses.push(s),
      createSocket: fs.factory,
    });
    const s = fs.sockets[0];
    assert.equal(s?.url, 'ws://emu/v5/public/linear');
    s?.open();
    assert.deepEqual(s?.sent, [
      '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}',
      '{"op":"subscribe","args":["publicTrade.BTCUSDT"]}',
    ]);
    s?.message(bybitBook('snapshot', 10));
    s?.message(bybitBook('delta', 11));
    s?.message(bybitBook('delta', 13)); // gap
    await clock.advanceAsync(1);
    assert.deepEqual(s?.sent.slice(2), [
      '{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}',
      '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}',
    ]);
    s?.message(bybitBook('snapshot', 20, '99'));
    const tb = [...c.books()][0];
    assert.equal(tb?.status, 'in_sync');
    assert.equal(tb?.book.bestBid()?.price, '99');
    const book = statuses.filter((x) => x.scope === 'book').map((x) => x.status);
    assert.deepEqual(book, ['connecting', 'syncing', 'in_sync', 'stale', 'syncing', 'in_sync']);
    c.close();
    assert.equal(clock.pending, 0);
  });
});
