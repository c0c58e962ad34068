import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { bitstampConnector, bitstampPair, parseBitstampTradingPairs } from '../../src/venues/bitstamp/connector.ts';
import type { ConnectionPlan } from '../../src/venues/connector-spec.ts';
import { venueById } from '../../src/venues/index.ts';
import { connect, converge, sameBook, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail, closeAndCheck, connectionStatuses } from './emulator-venue-helpers.ts';

const PAIRS = [
  ['btcusd', 'btcusd'],
  ['ethusd', 'ethusd'],
] as const;

describe('bitstamp connector spec', () => {
  test('is registered as the bitstamp connector, on wss://ws.bitstamp.net', () => {
    assert.equal(venueById('bitstamp')?.connector, bitstampConnector);
    const [p] = bitstampConnector.plan(['BTCUSD'], bitstampConnector.defaultEndpoints);
    assert.equal(p?.url, 'wss://ws.bitstamp.net');
    assert.deepEqual(p?.symbols, ['btcusd']);
  });

  test('subscribes diff_order_book, then live_trades, per pair, at most 100 pairs per socket', () => {
    const plans = bitstampConnector.plan(
      Array.from({ length: 130 }, (_, i) => `a${i}usd`),
      bitstampConnector.defaultEndpoints,
    );
    assert.deepEqual(
      plans.map((p) => p.onOpen.length),
      [200, 60],
    );
    assert.deepEqual(JSON.parse((plans[1] as ConnectionPlan).onOpen[30] as string), {
      event: 'bts:subscribe',
      data: { channel: 'live_trades_a100usd' },
    });
    assert.deepEqual(JSON.parse((plans[0] as ConnectionPlan).onOpen[0] as string), {
      event: 'bts:subscribe',
      data: { channel: 'diff_order_book_a0usd' },
    });
  });

  test('our spot symbols are lower-case pairs; derivatives are refused', () => {
    assert.equal(bitstampConnector.toVenueSymbol, bitstampPair);
    assert.equal(bitstampPair('BTC-USD'), 'btcusd');
    assert.throws(
      () => bitstampPair('BTC-USD-PERP'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });

  test('books start and restart from the REST order book, fetched after every connect', () => {
    const [plan] = bitstampConnector.plan(['btcusd'], bitstampConnector.defaultEndpoints);
    assert.equal(bitstampConnector.snapshotOnConnect, true);
    assert.deepEqual(bitstampConnector.recovery('btcusd', plan as ConnectionPlan, bitstampConnector.defaultEndpoints), {
      kind: 'rest-snapshot',
      request: { url: 'https://www.bitstamp.net/api/v2/order_book/btcusd/', weight: 1 },
    });
  });

  test('bts:request_reconnect is a reconnect request and bts:heartbeat answers our ping', () => {
    const isReq = bitstampConnector.isReconnectRequest as (f: string) => boolean;
    assert.ok(isReq('{"event":"bts:request_reconnect","channel":"","data":""}'));
    assert.ok(!isReq('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'));
    assert.equal(bitstampConnector.appPing?.frame, '{"event":"bts:heartbeat"}');
    assert.ok(bitstampConnector.appPing?.isPong('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'));
    assert.ok(!bitstampConnector.appPing?.isPong('{"event":"data","channel":"diff_order_book_btcusd","data":{}}'));
  });

  test('trading-pairs-info: enabled pairs become instruments; a body that is not a list is refused', () => {
    const body = JSON.stringify([
      { name: 'BTC/USD', url_symbol: 'btcusd', base_decimals: 8, counter_decimals: 0, trading: 'Enabled' },
      { name: 'XRP/EUR', url_symbol: 'xrpeur', base_decimals: 8, counter_decimals: 5, trading: 'Disabled' },
    ]);
    assert.deepEqual(
      parseBitstampTradingPairs(body).map((i) => [i.venueSymbol, i.symbol, i.tickSize, i.lotSize]),
      [['btcusd', 'BTC-USD', '1', '0.00000001']],
    );
    assert.throws(
      () => parseBitstampTradingPairs('{}'),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

describe('bitstamp live connector against the venue emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 17, venues: ['bitstamp'] });
  });
  after(async () => {
    await emu.close();
  });

  test('books built from REST snapshots plus diffs equal the true books while the market moves', async () => {
    const h = connect(emu, 'bitstamp', ['btcusd', 'ethusd']);
    try {
      await converge(emu, h, 'bitstamp', PAIRS);
      for (let i = 0; i < 30; i++) emu.step(1);
      await converge(emu, h, 'bitstamp', PAIRS);
      for (const [b, e] of PAIRS)
        assert.ok(sameBook(h.book(b), emu.trueBook('bitstamp', e)), `${b} equals the true book`);
      for (const [b] of PAIRS) {
        assert.ok(
          h.fetchTimes.some((f) => f.url.endsWith(`/api/v2/order_book/${b}/`)),
          `${b} snapshot fetched`,
        );
      }
      const instruments = await h.connector.instruments();
      assert.deepEqual(instruments.map((i) => i.venueSymbol).sort(), ['btcusd', 'ethusd']);
    } finally {
      closeAndCheck(h);
    }
  });

  test('429 on the snapshot waits at least Retry-After before the next request, then the book is true', async () => {
    emu.inject('bitstamp', { kind: 'snapshot-429', retryAfterS: 1 });
    const h = connect(emu, 'bitstamp', ['btcusd']);
    try {
      await converge(emu, h, 'bitstamp', [PAIRS[0]]);
      const snaps = h.fetchTimes.filter((f) => f.url.includes('/order_book/'));
      assert.ok(snaps.length >= 2);
      const gap = (snaps[1]?.atMs ?? 0) - (snaps[0]?.atMs ?? 0);
      assert.ok(gap >= 1000, `second snapshot request came ${gap} ms after the 429`);
      assertTruthful(bookTrail(h.statuses, 'btcusd'));
    } finally {
      closeAndCheck(h);
      emu.clearFaults('bitstamp');
    }
  });

  test('bts:request_reconnect opens a replacement socket at once; the book resyncs from a new snapshot', async () => {
    const h = connect(emu, 'bitstamp', ['ethusd']);
    try {
      await converge(emu, h, 'bitstamp', [PAIRS[1]]);
      const opened = emu.stats.venues.bitstamp?.connectionsOpened ?? 0;
      const snaps = () => h.fetchTimes.filter((f) => f.url.includes('/order_book/')).length;
      const before = snaps();
      emu.inject('bitstamp', { kind: 'rotate' }); // bts:request_reconnect, then the close
      emu.step(1);
      await waitFor('the replacement socket', () =>
        connectionStatuses(h, 'rotating').some((s) => s.reason === 'venue requested a reconnect'),
      );
      await converge(emu, h, 'bitstamp', [PAIRS[1]]);
      assert.equal(emu.stats.venues.bitstamp?.connectionsOpened, opened + 1);
      assert.ok(snaps() > before, 'a new snapshot was fetched');
      await waitFor('one socket left at the emulator', () => emu.connections('bitstamp').length === 1);
      assert.equal(h.connector.liveSockets, 1);
      const trail = bookTrail(h.statuses, 'ethusd');
      assert.ok(trail.includes('stale'), trail.join(' > '));
      assertTruthful(trail);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a dropped connection reconnects, refetches the snapshot and the book equals the true book', async () => {
    const h = connect(emu, 'bitstamp', ['btcusd']);
    try {
      await converge(emu, h, 'bitstamp', [PAIRS[0]]);
      emu.inject('bitstamp', { kind: 'drop-connection' });
      emu.step(1);
      await waitFor('the drop is seen', () => bookTrail(h.statuses, 'btcusd').includes('disconnected'));
      await converge(emu, h, 'bitstamp', [PAIRS[0]]);
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'btcusd'));
    } finally {
      closeAndCheck(h);
    }
  });

  test('an unanswered bts:heartbeat replaces the socket, and the book comes back equal to the true book', async () => {
    const h = connect(emu, 'bitstamp', ['btcusd'], {
      specPatch: {
        appPing: { ...(bitstampConnector.appPing as NonNullable<typeof bitstampConnector.appPing>), intervalMs: 50 },
      },
      connection: { backoff: { baseMs: 5, maxMs: 40 }, pongTimeoutMs: 150 },
    });
    try {
      await converge(emu, h, 'bitstamp', [PAIRS[0]]);
      emu.inject('bitstamp', { kind: 'suppress-pong' });
      await waitFor('the silent socket is replaced', () =>
        connectionStatuses(h, 'stale').some((s) => /no pong/.test(s.reason)),
      );
      emu.clearFaults('bitstamp');
      await converge(emu, h, 'bitstamp', [PAIRS[0]]);
      await waitFor('one socket left at the emulator', () => emu.connections('bitstamp').length === 1);
      assertTruthful(bookTrail(h.statuses, 'btcusd'));
    } finally {
      closeAndCheck(h);
    }
  });
});
