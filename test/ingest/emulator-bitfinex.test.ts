import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import {
  bitfinexConnector,
  bitfinexSymbol,
  bitfinexTradingSymbol,
  createBitfinexConnectorSpec,
  parseBitfinexPairList,
} from '../../src/venues/bitfinex/connector.ts';
import type { ConnectionPlan } from '../../src/venues/connector-spec.ts';
import { venueById } from '../../src/venues/index.ts';
import { connect, converge, sameBook, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail, closeAndCheck, connectionStatuses } from './emulator-venue-helpers.ts';

const PAIRS = [
  ['tBTCUSD', 'tBTCUSD'],
  ['tETHUSD', 'tETHUSD'],
] as const;

describe('bitfinex connector spec', () => {
  test('is registered as the bitfinex connector, on wss://api-pub.bitfinex.com/ws/2', () => {
    assert.equal(venueById('bitfinex')?.connector, bitfinexConnector);
    const [p] = bitfinexConnector.plan(['tBTCUSD'], bitfinexConnector.defaultEndpoints);
    assert.equal(p?.url, 'wss://api-pub.bitfinex.com/ws/2');
  });

  test('sends conf 65536|131072 before any subscription, then P0 books of len 250 and trades, 12 symbols (24 of 25 channels) per socket', () => {
    const plans = bitfinexConnector.plan(
      Array.from({ length: 30 }, (_, i) => `A${i}USD`),
      bitfinexConnector.defaultEndpoints,
    );
    assert.deepEqual(
      plans.map((p) => p.symbols.length),
      [12, 12, 6],
    );
    const frames = (plans[2] as ConnectionPlan).onOpen.map((f) => JSON.parse(f));
    assert.deepEqual(frames[0], { event: 'conf', flags: 65536 | 131072 });
    assert.deepEqual(frames[1], {
      event: 'subscribe',
      channel: 'book',
      symbol: 'tA24USD',
      prec: 'P0',
      freq: 'F0',
      len: '250',
    });
    assert.deepEqual(frames[7], { event: 'subscribe', channel: 'trades', symbol: 'tA24USD' });
    assert.equal(frames.length, 13);
  });

  test('our symbols map to Bitfinex trading symbols (USDT is UST); options are refused', () => {
    assert.equal(bitfinexConnector.toVenueSymbol, bitfinexSymbol);
    assert.equal(bitfinexSymbol('BTC-USD'), 'tBTCUSD');
    assert.equal(bitfinexSymbol('ETH-USDT'), 'tETHUST');
    assert.equal(bitfinexSymbol('DOGE-USD'), 'tDOGE:USD');
    assert.equal(bitfinexSymbol('BTC-USDT-PERP'), 'tBTCF0:USTF0');
    assert.throws(
      () => bitfinexSymbol('BTC-USD-20240329-60000-C'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });

  test('symbols take the t prefix; lengths other than 1, 25, 100 and 250 are refused', () => {
    assert.equal(bitfinexTradingSymbol('btcusd'), 'tBTCUSD');
    assert.equal(bitfinexTradingSymbol('tETHUSD'), 'tETHUSD');
    assert.throws(
      () => createBitfinexConnectorSpec({ len: 50 }),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });

  test('a book recovers with a new connection; info 20051 asks for one; pong answers the ping', () => {
    const [plan] = bitfinexConnector.plan(['tBTCUSD'], bitfinexConnector.defaultEndpoints);
    assert.deepEqual(
      bitfinexConnector.recovery('tBTCUSD', plan as ConnectionPlan, bitfinexConnector.defaultEndpoints),
      {
        kind: 'reconnect',
      },
    );
    const isReq = bitfinexConnector.isReconnectRequest as (f: string) => boolean;
    assert.ok(isReq('{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}'));
    assert.ok(!isReq('{"event":"info","code":20060,"msg":"Entering in Maintenance mode"}'));
    assert.ok(!isReq('{"event":"info","version":2,"serverId":"x","platform":{"status":1}}'));
    assert.ok(bitfinexConnector.appPing?.isPong('{"event":"pong","ts":1,"cid":1}'));
    assert.ok(!bitfinexConnector.appPing?.isPong('[17000,"hb",5]'));
  });

  test('the exchange pair list becomes t-prefixed spot instruments; a malformed list is refused', () => {
    const list = parseBitfinexPairList('[["BTCUSD","ETHUST","TESTBTC:TESTUSD","DOGE:USD"]]');
    assert.deepEqual(
      list.map((i) => [i.venueSymbol, i.symbol]),
      [
        ['tBTCUSD', 'BTC-USD'],
        ['tETHUST', 'ETH-USDT'],
        ['tTESTBTC:TESTUSD', 'TESTBTC-TESTUSD'],
        ['tDOGE:USD', 'DOGE-USD'],
      ],
    );
    assert.throws(
      () => parseBitfinexPairList('{"x":1}'),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

describe('bitfinex live connector against the venue emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 19, venues: ['bitfinex'] });
  });
  after(async () => {
    await emu.close();
  });

  test('books built through the connector equal the true books, with checksums verified and none failed', async () => {
    const h = connect(emu, 'bitfinex', ['tBTCUSD', 'tETHUSD']);
    try {
      await converge(emu, h, 'bitfinex', PAIRS);
      for (let i = 0; i < 30; i++) emu.step(1);
      await converge(emu, h, 'bitfinex', PAIRS);
      for (const [b, e] of PAIRS) {
        const tb = h.book(b);
        assert.ok(sameBook(tb, emu.trueBook('bitfinex', e)), `${b} equals the true book`);
        assert.ok((tb?.checksumsVerified ?? 0) > 10);
        assert.equal(tb?.checksumFailures, 0);
        assert.equal(tb?.gaps, 0);
      }
      const instruments = await h.connector.instruments();
      assert.deepEqual(instruments.map((i) => i.venueSymbol).sort(), ['tBTCUSD', 'tETHUSD']);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a sequence gap reconnects once for the connection and both books equal the true books', async () => {
    const h = connect(emu, 'bitfinex', ['tBTCUSD', 'tETHUSD']);
    try {
      await converge(emu, h, 'bitfinex', PAIRS);
      const opened = emu.stats.venues.bitfinex?.connectionsOpened ?? 0;
      emu.inject('bitfinex', { kind: 'skip-sequence' });
      emu.step(2);
      await waitFor('the gap is seen', () => (h.book('tBTCUSD')?.gaps ?? 0) + (h.book('tETHUSD')?.gaps ?? 0) >= 1);
      await converge(emu, h, 'bitfinex', PAIRS);
      assert.equal(h.connector.counters.reconnectRequests, 1);
      assert.equal(emu.stats.venues.bitfinex?.connectionsOpened, opened + 1);
      assert.equal(h.connector.liveSockets, 1);
      for (const [b] of PAIRS) assertTruthful(bookTrail(h.statuses, b));
    } finally {
      closeAndCheck(h);
    }
  });

  test('a corrupt checksum is caught, the connection replaced and the book rebuilt equal to the true book', async () => {
    const h = connect(emu, 'bitfinex', ['tBTCUSD']);
    try {
      await converge(emu, h, 'bitfinex', [PAIRS[0]]);
      emu.inject('bitfinex', { kind: 'corrupt-checksum' });
      await waitFor('the mismatch is seen', () => {
        emu.step(1);
        return (h.book('tBTCUSD')?.checksumFailures ?? 0) === 1;
      });
      await converge(emu, h, 'bitfinex', [PAIRS[0]]);
      assert.equal(h.connector.counters.reconnectRequests, 1);
      const trail = bookTrail(h.statuses, 'tBTCUSD');
      assert.ok(trail.includes('stale'));
      assertTruthful(trail);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a dropped connection reconnects, sends conf and subscriptions again, and the book is true', async () => {
    const h = connect(emu, 'bitfinex', ['tETHUSD']);
    try {
      await converge(emu, h, 'bitfinex', [PAIRS[1]]);
      emu.inject('bitfinex', { kind: 'drop-connection' });
      emu.step(1);
      await waitFor('the drop is seen', () => bookTrail(h.statuses, 'tETHUSD').includes('disconnected'));
      await converge(emu, h, 'bitfinex', [PAIRS[1]]);
      emu.step(5);
      await converge(emu, h, 'bitfinex', [PAIRS[1]]);
      assert.ok((h.book('tETHUSD')?.checksumsVerified ?? 0) > 0, 'checksums flow on the new socket (conf resent)');
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'tETHUSD'));
    } finally {
      closeAndCheck(h);
    }
  });

  test('an unanswered ping replaces the socket, and the book comes back equal to the true book', async () => {
    const h = connect(emu, 'bitfinex', ['tBTCUSD'], {
      specPatch: {
        appPing: { ...(bitfinexConnector.appPing as NonNullable<typeof bitfinexConnector.appPing>), intervalMs: 50 },
      },
      connection: { backoff: { baseMs: 5, maxMs: 40 }, pongTimeoutMs: 150 },
    });
    try {
      await converge(emu, h, 'bitfinex', [PAIRS[0]]);
      emu.inject('bitfinex', { kind: 'suppress-pong' });
      await waitFor('the silent socket is replaced', () =>
        connectionStatuses(h, 'stale').some((s) => /no pong/.test(s.reason)),
      );
      emu.clearFaults('bitfinex');
      await converge(emu, h, 'bitfinex', [PAIRS[0]]);
      await waitFor('one socket left at the emulator', () => emu.connections('bitfinex').length === 1);
      assertTruthful(bookTrail(h.statuses, 'tBTCUSD'));
    } finally {
      closeAndCheck(h);
    }
  });
});
