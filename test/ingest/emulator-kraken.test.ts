import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { ConnectionPlan } from '../../src/venues/connector-spec.ts';
import { venueById } from '../../src/venues/index.ts';
import {
  createKrakenConnectorSpec,
  krakenConnector,
  krakenSymbol,
  krakenV2Symbol,
  parseKrakenAssetPairs,
} from '../../src/venues/kraken/connector.ts';
import { connect, converge, sameBook, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail, closeAndCheck, connectionStatuses } from './emulator-venue-helpers.ts';

const PAIRS = [
  ['BTC/USD', 'BTC/USD'],
  ['ETH/USD', 'ETH/USD'],
] as const;

describe('kraken connector spec', () => {
  test('is registered as the kraken connector, on wss://ws.kraken.com/v2', () => {
    assert.equal(venueById('kraken')?.connector, krakenConnector);
    const [p] = krakenConnector.plan(['BTC/USD'], krakenConnector.defaultEndpoints);
    assert.equal(p?.url, 'wss://ws.kraken.com/v2');
  });

  test('subscribes the instrument channel first, then books at depth 1000 and live trades in batches of 10, 50 per socket', () => {
    const syms = Array.from({ length: 60 }, (_, i) => `A${i}/USD`);
    const plans = krakenConnector.plan(syms, krakenConnector.defaultEndpoints);
    assert.deepEqual(
      plans.map((p) => p.symbols.length),
      [50, 10],
    );
    const first = plans[0] as ConnectionPlan;
    assert.deepEqual(JSON.parse(first.onOpen[0] as string), {
      method: 'subscribe',
      params: { channel: 'instrument', snapshot: true },
    });
    assert.equal(first.onOpen.length, 11);
    const sub = JSON.parse(first.onOpen[1] as string);
    assert.deepEqual(sub.params.channel, 'book');
    assert.equal(sub.params.depth, 1000);
    assert.equal(sub.params.symbol.length, 10);
    assert.deepEqual(JSON.parse(first.onOpen[6] as string), {
      method: 'subscribe',
      params: { channel: 'trade', symbol: syms.slice(0, 10), snapshot: false },
    });
  });

  test('recovers a book by unsubscribing and subscribing it again, and pings with {"method":"ping"}', () => {
    const [plan] = krakenConnector.plan(['BTC/USD'], krakenConnector.defaultEndpoints);
    const r = krakenConnector.recovery('BTC/USD', plan as ConnectionPlan, krakenConnector.defaultEndpoints);
    assert.equal(r.kind, 'resubscribe');
    const frames = r.kind === 'resubscribe' ? r.frames.map((f) => JSON.parse(f)) : [];
    assert.deepEqual(
      frames.map((f) => [f.method, f.params.channel, f.params.symbol, f.params.depth]),
      [
        ['unsubscribe', 'book', ['BTC/USD'], 1000],
        ['subscribe', 'book', ['BTC/USD'], 1000],
      ],
    );
    assert.equal(krakenConnector.appPing?.frame, '{"method":"ping"}');
    assert.ok(krakenConnector.appPing?.isPong('{"method":"pong","req_id":3,"time_in":"x","time_out":"y"}'));
    assert.ok(!krakenConnector.appPing?.isPong('{"channel":"heartbeat"}'));
    assert.equal(krakenConnector.snapshotOnConnect, false);
  });

  test('our spot symbols map to v2 symbols; derivatives are refused', () => {
    assert.equal(krakenConnector.toVenueSymbol, krakenSymbol);
    assert.equal(krakenSymbol('BTC-USD'), 'BTC/USD');
    assert.equal(krakenSymbol('DOGE-EUR'), 'DOGE/EUR');
    assert.throws(
      () => krakenSymbol('BTC-USD-PERP'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });

  test('refuses a depth Kraken does not offer', () => {
    assert.throws(
      () => createKrakenConnectorSpec({ depth: 50 }),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });

  test('AssetPairs wsname XBT/USD becomes the v2 symbol BTC/USD; an error body is refused', () => {
    assert.equal(krakenV2Symbol('XBT/USD'), 'BTC/USD');
    assert.equal(krakenV2Symbol('XDG/EUR'), 'DOGE/EUR');
    const body = JSON.stringify({
      error: [],
      result: {
        XXBTZUSD: {
          altname: 'XBTUSD',
          wsname: 'XBT/USD',
          pair_decimals: 1,
          lot_decimals: 8,
          tick_size: '0.1',
          status: 'online',
        },
        XETHZUSD: { altname: 'ETHUSD', wsname: 'ETH/USD', pair_decimals: 2, lot_decimals: 8, status: 'cancel_only' },
      },
    });
    const list = parseKrakenAssetPairs(body);
    assert.equal(list.length, 1);
    assert.equal(list[0]?.venueSymbol, 'BTC/USD');
    assert.equal(list[0]?.symbol, 'BTC-USD');
    assert.equal(list[0]?.tickSize, '0.1');
    assert.equal(list[0]?.lotSize, '0.00000001');
    assert.throws(
      () => parseKrakenAssetPairs('{"error":["EGeneral:Too many requests"]}'),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

describe('kraken live connector against the venue emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 11, venues: ['kraken'] });
  });
  after(async () => {
    await emu.close();
  });

  test('books built through the connector equal the true books, with checksums verified and none failed', async () => {
    const h = connect(emu, 'kraken', ['BTC/USD', 'ETH/USD']);
    try {
      await converge(emu, h, 'kraken', PAIRS);
      for (let i = 0; i < 30; i++) emu.step(1);
      await converge(emu, h, 'kraken', PAIRS);
      for (const [b, e] of PAIRS) {
        const tb = h.book(b);
        assert.ok(sameBook(tb, emu.trueBook('kraken', e)), `${b} equals the true book`);
        assert.ok((tb?.checksumsVerified ?? 0) > 10);
        assert.equal(tb?.checksumFailures, 0);
      }
      const subs = [...(emu.connections('kraken')[0]?.subscriptions ?? [])].sort();
      assert.deepEqual(subs, ['book:BTC/USD', 'book:ETH/USD', 'instrument', 'trade:BTC/USD', 'trade:ETH/USD']);
      const instruments = await h.connector.instruments();
      assert.deepEqual(instruments.map((i) => i.venueSymbol).sort(), ['BTC/USD', 'ETH/USD']);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a corrupt checksum is caught, the book resubscribed once and rebuilt equal to the true book', async () => {
    const h = connect(emu, 'kraken', ['BTC/USD']);
    try {
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      emu.inject('kraken', { kind: 'corrupt-checksum' });
      emu.step(2);
      await waitFor('the mismatch is seen', () => (h.book('BTC/USD')?.checksumFailures ?? 0) === 1);
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      assert.equal(h.connector.counters.resubscribes, 1);
      assert.equal(h.connector.counters.reconnectRequests, 0);
      const trail = bookTrail(h.statuses, 'BTC/USD');
      assert.ok(trail.includes('stale'));
      assertTruthful(trail);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a dropped connection reconnects, resubscribes from onOpen and ends equal to the true book', async () => {
    const h = connect(emu, 'kraken', ['BTC/USD']);
    try {
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      const opened = emu.stats.venues.kraken?.connectionsOpened ?? 0;
      emu.inject('kraken', { kind: 'drop-connection' });
      emu.step(1);
      await waitFor('the drop is seen', () => bookTrail(h.statuses, 'BTC/USD').includes('disconnected'));
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      assert.equal(emu.stats.venues.kraken?.connectionsOpened, opened + 1);
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'BTC/USD'));
    } finally {
      closeAndCheck(h);
    }
  });

  test('a suppressed pong replaces the socket, and the book comes back equal to the true book', async () => {
    const h = connect(emu, 'kraken', ['BTC/USD'], {
      specPatch: {
        appPing: { ...(krakenConnector.appPing as NonNullable<typeof krakenConnector.appPing>), intervalMs: 50 },
      },
      connection: { backoff: { baseMs: 5, maxMs: 40 }, pongTimeoutMs: 150 },
    });
    try {
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      emu.inject('kraken', { kind: 'suppress-pong' });
      await waitFor('the silent socket is replaced', () =>
        connectionStatuses(h, 'stale').some((s) => /no pong/.test(s.reason)),
      );
      emu.clearFaults('kraken');
      await converge(emu, h, 'kraken', [PAIRS[0]]);
      await waitFor('one socket left at the emulator', () => emu.connections('kraken').length === 1);
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'BTC/USD'));
    } finally {
      closeAndCheck(h);
    }
  });
});
