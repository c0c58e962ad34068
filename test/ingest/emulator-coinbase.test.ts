import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { coinbaseConnector, coinbaseProductId, parseCoinbaseProducts } from '../../src/venues/coinbase/connector.ts';
import type { CoinbaseFeedHandler } from '../../src/venues/coinbase/handler.ts';
import type { ConnectionPlan } from '../../src/venues/connector-spec.ts';
import { venueById } from '../../src/venues/index.ts';
import { connect, converge, type Harness, sameBook, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail, closeAndCheck, connectionStatuses } from './emulator-venue-helpers.ts';

const PAIRS = [
  ['BTC-USD', 'BTC-USD'],
  ['ETH-USD', 'ETH-USD'],
] as const;

describe('coinbase connector spec', () => {
  test('is registered as the coinbase connector, on wss://advanced-trade-ws.coinbase.com', () => {
    assert.equal(venueById('coinbase')?.connector, coinbaseConnector);
    const [p] = coinbaseConnector.plan(['BTC-USD'], coinbaseConnector.defaultEndpoints);
    assert.equal(p?.url, 'wss://advanced-trade-ws.coinbase.com');
  });

  test('every socket subscribes heartbeats and one level2 message for its products, at most 50 per socket', () => {
    const plans = coinbaseConnector.plan(
      Array.from({ length: 70 }, (_, i) => `a${i}-usd`),
      coinbaseConnector.defaultEndpoints,
    );
    assert.deepEqual(
      plans.map((p) => p.symbols.length),
      [50, 20],
    );
    const [hb, l2] = (plans[1] as ConnectionPlan).onOpen.map((f) => JSON.parse(f));
    assert.deepEqual(hb, { type: 'subscribe', channel: 'heartbeats' });
    assert.equal(l2.channel, 'level2');
    assert.equal(l2.product_ids[0], 'A50-USD');
  });

  test('our spot symbols are product ids; derivatives are refused', () => {
    assert.equal(coinbaseConnector.toVenueSymbol, coinbaseProductId);
    assert.equal(coinbaseProductId('BTC-USD'), 'BTC-USD');
    assert.throws(
      () => coinbaseProductId('BTC-USD-PERP'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });

  test('a book recovers with a new connection: sequence_num is one counter per connection', () => {
    const [plan] = coinbaseConnector.plan(['BTC-USD'], coinbaseConnector.defaultEndpoints);
    assert.deepEqual(
      coinbaseConnector.recovery('BTC-USD', plan as ConnectionPlan, coinbaseConnector.defaultEndpoints),
      {
        kind: 'reconnect',
      },
    );
    assert.equal(coinbaseConnector.appPing, undefined, 'WebSocket protocol pings');
  });

  test('products: online spot products become instruments; a body without products is refused', () => {
    const body = JSON.stringify({
      products: [
        {
          product_id: 'BTC-USD',
          base_currency_id: 'BTC',
          quote_currency_id: 'USD',
          base_increment: '0.00000001',
          quote_increment: '0.01',
          price_increment: '0.01',
          status: 'online',
          trading_disabled: false,
          is_disabled: false,
          product_type: 'SPOT',
        },
        { product_id: 'OLD-USD', base_currency_id: 'OLD', quote_currency_id: 'USD', status: 'delisted' },
      ],
    });
    const list = parseCoinbaseProducts(body);
    assert.deepEqual(
      list.map((i) => [i.venueSymbol, i.symbol, i.tickSize, i.lotSize]),
      [['BTC-USD', 'BTC-USD', '0.01', '0.00000001']],
    );
    assert.throws(
      () => parseCoinbaseProducts('{"error":"x"}'),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

describe('coinbase live connector against the venue emulator', () => {
  let emu: Emulator;
  /** The emulator serves Advanced Trade at `/ws` under its venue prefix (production: the host root). */
  const at = (e: Emulator) => {
    const ep = e.endpoints('coinbase');
    return ep.wsBase.endsWith('/ws') ? ep : { ...ep, wsBase: `${ep.wsBase}/ws` };
  };
  const open = (symbols: readonly string[], over: Parameters<typeof connect>[3] = {}): Harness =>
    connect(emu, 'coinbase', symbols, { endpoints: at(emu), ...over });
  before(async () => {
    emu = await startEmulator({ seed: 13, venues: ['coinbase'] });
  });
  after(async () => {
    await emu.close();
  });

  test('books built through the connector equal the true books while the market moves', async () => {
    const h = open(['BTC-USD', 'ETH-USD']);
    try {
      await converge(emu, h, 'coinbase', PAIRS);
      for (let i = 0; i < 30; i++) emu.step(1);
      await converge(emu, h, 'coinbase', PAIRS);
      for (const [b, e] of PAIRS) {
        const tb = h.book(b);
        assert.ok(sameBook(tb, emu.trueBook('coinbase', e)), `${b} equals the true book`);
        assert.equal(tb?.gaps, 0);
      }
      const subs = [...(emu.connections('coinbase')[0]?.subscriptions ?? [])].sort();
      assert.deepEqual(subs, [
        'heartbeats:heartbeats',
        'level2:BTC-USD',
        'level2:ETH-USD',
        'market_trades:BTC-USD',
        'market_trades:ETH-USD',
      ]);
      const instruments = await h.connector.instruments();
      assert.deepEqual(instruments.map((i) => i.venueSymbol).sort(), ['BTC-USD', 'ETH-USD']);
    } finally {
      closeAndCheck(h);
    }
  });

  test('a sequence gap reconnects once for every book of the connection, and both books equal the true books', async () => {
    const h = open(['BTC-USD', 'ETH-USD']);
    try {
      await converge(emu, h, 'coinbase', PAIRS);
      const opened = emu.stats.venues.coinbase?.connectionsOpened ?? 0;
      emu.inject('coinbase', { kind: 'skip-sequence' });
      emu.step(2);
      await waitFor('the gap is seen', () => (h.connector.handler as CoinbaseFeedHandler).sequenceGaps === 1);
      await converge(emu, h, 'coinbase', PAIRS);
      assert.equal(h.connector.counters.reconnectRequests, 1);
      assert.equal(h.connector.counters.resubscribes, 0);
      assert.equal(emu.stats.venues.coinbase?.connectionsOpened, opened + 1);
      assert.equal(h.connector.liveSockets, 1);
      for (const [b] of PAIRS) {
        const trail = bookTrail(h.statuses, b);
        assert.ok(trail.includes('stale') || trail.includes('disconnected'), trail.join(' > '));
        assertTruthful(trail);
      }
    } finally {
      closeAndCheck(h);
    }
  });

  test('a dropped connection reconnects and the book ends equal to the true book', async () => {
    const h = open(['BTC-USD']);
    try {
      await converge(emu, h, 'coinbase', [PAIRS[0]]);
      emu.inject('coinbase', { kind: 'drop-connection' });
      emu.step(1);
      await waitFor('the drop is seen', () => bookTrail(h.statuses, 'BTC-USD').includes('disconnected'));
      await converge(emu, h, 'coinbase', [PAIRS[0]]);
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'BTC-USD'));
    } finally {
      closeAndCheck(h);
    }
  });

  test('unanswered WebSocket pings replace the socket, and the book comes back equal to the true book', async () => {
    const h = open(['ETH-USD'], {
      connection: { backoff: { baseMs: 5, maxMs: 40 }, wsPingIntervalMs: 50, pongTimeoutMs: 150 },
    });
    try {
      await converge(emu, h, 'coinbase', [PAIRS[1]]);
      emu.inject('coinbase', { kind: 'suppress-pong' });
      await waitFor('the silent socket is replaced', () =>
        connectionStatuses(h, 'stale').some((s) => /no pong/.test(s.reason)),
      );
      emu.clearFaults('coinbase');
      await converge(emu, h, 'coinbase', [PAIRS[1]]);
      await waitFor('one socket left at the emulator', () => emu.connections('coinbase').length === 1);
      assertTruthful(bookTrail(h.statuses, 'ETH-USD'));
    } finally {
      closeAndCheck(h);
    }
  });
});
