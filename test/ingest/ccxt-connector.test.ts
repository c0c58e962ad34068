/**
 * The long-tail connector through ccxt pro, against the local venue emulator: ccxt's binance is pointed at
 * http://127.0.0.1:PORT/binance and ws://127.0.0.1:PORT/binance/ws (no real exchange is ever contacted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ccxt from 'ccxt';
import type { BookLevel } from '../../src/book/l2-book.ts';
import { isQobError } from '../../src/core/errors.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { type Emulator, startEmulator, type TextLevel } from '../../src/emulator/index.ts';
import {
  CCXT_NOT_EXACT,
  type CcxtConnector,
  type CcxtConnectorOptions,
  type CcxtConnectorStatus,
  ccxtLevelsToText,
  ccxtNumberText,
  createCcxtConnector,
  fromCcxtSymbol,
  isRetryableCcxtError,
  mapCcxtError,
  resolveCcxtSymbol,
  toCcxtSymbol,
} from '../../src/ingest/ccxt-connector.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import type { ConnectorAlert } from '../../src/ingest/connector.ts';

async function waitFor(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sameLevels(ours: readonly BookLevel[], truth: readonly TextLevel[]): boolean {
  return (
    ours.length === truth.length &&
    ours.every((l, i) => {
      const t = truth[i] as TextLevel;
      return Decimal.parse(l.price).eq(Decimal.parse(t[0])) && Decimal.parse(l.size).eq(Decimal.parse(t[1]));
    })
  );
}

describe('ccxt symbols', () => {
  it('maps normalized symbols to ccxt unified symbols and back', () => {
    const pairs: [string, string][] = [
      ['BTC-USDT', 'BTC/USDT'],
      ['BTC-USDT-PERP', 'BTC/USDT:USDT'],
      ['BTC-USD-20220527', 'BTC/USD:USD-220527'],
      ['BTC-USD-20240329-60000-C', 'BTC/USD:USD-240329-60000-C'],
    ];
    for (const [ours, theirs] of pairs) {
      assert.equal(toCcxtSymbol(ours), theirs);
      assert.equal(fromCcxtSymbol(theirs), ours);
    }
    assert.equal(fromCcxtSymbol('BTC/USD:BTC'), 'BTC-USD-PERP', 'an inverse perp is a perp too');
    assert.equal(fromCcxtSymbol('XBT/EUR'), 'BTC-EUR', 'assets are normalized');
  });

  it('refuses symbols outside either scheme with QOB_ERR_INVALID_SYMBOL', () => {
    assert.throws(
      () => toCcxtSymbol('btc/usdt'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
    assert.throws(
      () => fromCcxtSymbol('BTCUSDT'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });

  it('resolves through the listed markets, linear before inverse, and names a missing market', () => {
    const markets = { 'BTC/USD:BTC': { symbol: 'BTC/USD:BTC' }, 'ETH/USDT': { symbol: 'ETH/USDT' } };
    assert.equal(resolveCcxtSymbol('BTC-USD-PERP', markets), 'BTC/USD:BTC');
    assert.equal(
      resolveCcxtSymbol('BTC-USD-PERP', { ...markets, 'BTC/USD:USD': { symbol: 'BTC/USD:USD' } }),
      'BTC/USD:USD',
    );
    assert.throws(
      () => resolveCcxtSymbol('DOGE-USDT', markets, 'ccxt:x'),
      (e) => isQobError(e, 'QOB_ERR_UNKNOWN_INSTRUMENT') && e.context.ccxtSymbol === 'DOGE/USDT',
    );
  });
});

describe('ccxt numbers', () => {
  it('turns ccxt numbers into their shortest exact decimal text', () => {
    assert.equal(ccxtNumberText(0.253), '0.253');
    assert.equal(ccxtNumberText(65000.01), '65000.01');
    assert.equal(ccxtNumberText(1e-7), '0.0000001');
    assert.equal(ccxtNumberText(0.1 + 0.2), '0.30000000000000004', 'a float ccxt computed stays what it is');
    assert.throws(
      () => ccxtNumberText(Number.NaN),
      (e) => isQobError(e, 'QOB_ERR_INVALID_DECIMAL'),
    );
    assert.throws(
      () => ccxtNumberText('1.5'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_DECIMAL'),
    );
  });

  it('keeps the best depth levels, drops zero sizes and rejects bad levels with typed errors', () => {
    const levels = [
      [100.5, 1],
      [100.4, 0],
      [100.3, 2.5, 7],
      [100.2, 3],
    ];
    assert.deepEqual(ccxtLevelsToText(levels, 2), [
      ['100.5', '1'],
      ['100.3', '2.5'],
    ]);
    assert.throws(
      () => ccxtLevelsToText([[0, 1]], 5),
      (e) => isQobError(e, 'QOB_ERR_NONPOSITIVE_PRICE'),
    );
    assert.throws(
      () => ccxtLevelsToText([[1, -1]], 5),
      (e) => isQobError(e, 'QOB_ERR_NEGATIVE_SIZE'),
    );
    assert.throws(
      () => ccxtLevelsToText([[1, Number.POSITIVE_INFINITY]], 5, { side: 'bid' }),
      (e) => isQobError(e, 'QOB_ERR_INVALID_DECIMAL') && e.context.side === 'bid' && e.context.index === 0,
    );
    assert.throws(
      () => ccxtLevelsToText([[1]], 5),
      (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

describe('ccxt errors', () => {
  it('maps ccxt error classes to typed errors with the right retry decision', () => {
    const cases: [Error, string, boolean][] = [
      [new ccxt.RateLimitExceeded('slow down'), 'QOB_ERR_RATE_LIMITED', true],
      [new ccxt.DDoSProtection('ddos'), 'QOB_ERR_RATE_LIMITED', true],
      [new ccxt.ExchangeNotAvailable('down'), 'QOB_ERR_VENUE_UNAVAILABLE', true],
      [new ccxt.OnMaintenance('maintenance'), 'QOB_ERR_VENUE_UNAVAILABLE', true],
      [new ccxt.RequestTimeout('timeout'), 'QOB_ERR_VENUE_UNAVAILABLE', true],
      [new ccxt.NetworkError('econnrefused'), 'QOB_ERR_VENUE_UNAVAILABLE', true],
      [new ccxt.ChecksumError('crc'), 'QOB_ERR_CHECKSUM_MISMATCH', true],
      [new ccxt.InvalidNonce('gap'), 'QOB_ERR_SEQUENCE_GAP', true],
      [new ccxt.BadSymbol('no such market'), 'QOB_ERR_UNKNOWN_INSTRUMENT', false],
      [new ccxt.NotSupported('no watchOrderBook'), 'QOB_ERR_INVALID_ARGUMENT', false],
      [new ccxt.AuthenticationError('key'), 'QOB_ERR_VENUE_REJECTED', false],
      [new ccxt.ExchangeError('other'), 'QOB_ERR_VENUE_REJECTED', false],
      [new TypeError('x is undefined'), 'QOB_ERR_INTERNAL', true],
    ];
    for (const [e, code, retryable] of cases) {
      const q = mapCcxtError(e, { venue: 'ccxt:test' });
      assert.equal(q.code, code, `${e.constructor.name} -> ${code}`);
      assert.equal(isRetryableCcxtError(q), retryable, `${e.constructor.name} retryable: ${retryable}`);
      assert.equal(q.cause, e);
      assert.equal(q.context.venue, 'ccxt:test');
    }
    assert.equal(mapCcxtError(new ccxt.RateLimitExceeded('x')).context.ccxtError, 'RateLimitExceeded');
  });
});

describe('ccxt connector against the emulator', () => {
  let emu: Emulator;
  const open: CcxtConnector[] = [];

  before(async () => {
    emu = await startEmulator({ seed: 11, venues: ['binance'], levels: 30 });
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await emu.close();
  });

  function binanceAt(e: Emulator): Record<string, unknown> {
    const ep = e.endpoints('binance');
    return {
      urls: { api: { ws: { spot: `${ep.wsBase}/ws` }, public: `${ep.restBase}/api/v3` } },
      options: { fetchMarkets: { types: ['spot'] } },
    };
  }

  async function connect(extra: Partial<CcxtConnectorOptions> = {}) {
    const statuses: CcxtConnectorStatus[] = [];
    const alerts: ConnectorAlert[] = [];
    const c = await createCcxtConnector({
      exchangeId: 'ccxt:binance',
      symbols: ['BTC-USDT'],
      options: binanceAt(emu),
      clock: systemClock,
      random: new SeededRandom(3),
      retry: { maxTries: 3, backoff: { baseMs: 5, maxMs: 20 }, failedCooldownMs: 20 },
      onStatus: (s) => statuses.push(s),
      onAlert: (a) => alerts.push(a),
      ...extra,
    });
    open.push(c);
    return { c, statuses, alerts };
  }

  it('keeps a book equal to the venue true book, marked as ccxt and not venue-exact', async () => {
    const { c, statuses } = await connect({ depth: 10 });
    const tb = [...c.books()][0];
    assert.ok(tb !== undefined);
    assert.equal(tb.venue, 'ccxt:binance');
    assert.equal(tb.symbol, 'BTC-USDT');
    const matches = () => {
      const truth = emu.trueBook('binance', 'BTCUSDT', 10);
      return sameLevels(tb.book.levels('bid'), truth.bids) && sameLevels(tb.book.levels('ask'), truth.asks);
    };
    await waitFor('first book', () => tb.inSync && matches());
    for (let round = 0; round < 3; round++) {
      emu.step(5);
      await waitFor(`book after round ${round}`, matches);
    }
    assert.equal(tb.status, 'in_sync');
    assert.equal(tb.book.levels('bid').length, 10, 'the book holds the configured depth');
    const inSync = statuses.find((s) => s.scope === 'book' && s.status === 'in_sync');
    assert.ok(inSync !== undefined);
    assert.equal(inSync.source, 'ccxt');
    assert.equal(inSync.exact, false);
    assert.equal(inSync.ccxtSymbol, 'BTC/USDT');
    assert.ok(inSync.reason.endsWith(CCXT_NOT_EXACT), inSync.reason);
    assert.ok(statuses.every((s) => s.reason.includes(CCXT_NOT_EXACT)));
    const state = c.bookStates()[0];
    assert.ok(state !== undefined && state.updates > 1 && state.tries === 0);
    await c.close();
    assert.equal(c.pendingTimers, 0);
    assert.equal(statuses.at(-1)?.status, 'closed');
  });

  it('rejects an unknown exchange id and a symbol outside our scheme with typed errors', async () => {
    await assert.rejects(
      createCcxtConnector({ exchangeId: 'nosuchexchange', symbols: ['BTC-USDT'], clock: systemClock }),
      (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE') && e.context.exchangeId === 'nosuchexchange',
    );
    await assert.rejects(
      createCcxtConnector({ exchangeId: 'Bad Id!', symbols: ['BTC-USDT'], clock: systemClock }),
      (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE'),
    );
    await assert.rejects(
      createCcxtConnector({ exchangeId: 'binance', symbols: ['BTC/USDT'], clock: systemClock }),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
    await assert.rejects(
      createCcxtConnector({ exchangeId: 'binance', symbols: ['BTC-USDT'], depth: 0, clock: systemClock }),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
  });

  it('fails a symbol the exchange does not list for good, with a typed error and an alert', async () => {
    const { c, statuses, alerts } = await connect({ symbols: ['DOGE-USDT', 'ETH-USDT'] });
    await waitFor('failed DOGE and in-sync ETH', () => {
      const s = c.bookStates();
      return s[0]?.status === 'failed' && s[1]?.status === 'in_sync';
    });
    const failed = statuses.find((s) => s.symbol === 'DOGE-USDT' && s.status === 'failed');
    assert.ok(failed?.error !== undefined && isQobError(failed.error, 'QOB_ERR_UNKNOWN_INSTRUMENT'));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.symbol, 'DOGE-USDT');
    assert.equal(c.counters.retries, 0, 'an unknown market is not retried');
    await c.close();
  });

  it('reports a venue that cannot be reached as stale, retries with backoff, then fails with an alert', async () => {
    const dead = await startEmulator({ seed: 1, venues: ['binance'], levels: 5 });
    const options = binanceAt(dead);
    await dead.close();
    const { c, statuses, alerts } = await connect({ options });
    await waitFor('an alert', () => alerts.length > 0);
    const stale = statuses.filter((s) => s.scope === 'book' && s.status === 'stale');
    assert.ok(stale.length >= 2, 'every failed try is reported');
    assert.ok(stale.every((s) => s.error !== undefined && isQobError(s.error, 'QOB_ERR_VENUE_UNAVAILABLE')));
    assert.ok(statuses.some((s) => s.scope === 'venue' && s.status === 'disconnected' && s.unreachable === true));
    assert.equal(alerts[0]?.kind, 'book_failed');
    assert.equal(alerts[0]?.tries, 3);
    assert.ok(c.counters.retries >= 2);
    assert.equal([...c.books()][0]?.status, 'failed');
    await waitFor('a try after the cooldown', () => c.counters.errors > 3);
    await c.close();
    await c.close();
    assert.equal(c.pendingTimers, 0);
  });

  it('stops when its AbortSignal fires', async () => {
    const ac = new AbortController();
    const { c, statuses } = await connect({ signal: ac.signal });
    await waitFor('in sync', () => c.bookStates()[0]?.status === 'in_sync');
    ac.abort();
    await waitFor('closed', () => statuses.some((s) => s.scope === 'venue' && s.status === 'closed'));
    assert.equal(c.pendingTimers, 0);
    await assert.rejects(
      createCcxtConnector({ exchangeId: 'binance', symbols: ['BTC-USDT'], clock: systemClock, signal: ac.signal }),
      (e) => isQobError(e, 'QOB_ERR_ABORTED'),
    );
  });
});
