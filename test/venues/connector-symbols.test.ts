/** Each live connector spec spells our normalized symbols the way its `plan` (and the venue) expects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { venueById } from '../../src/venues/index.ts';

function mapper(venue: string): (symbol: string) => string {
  const f = venueById(venue)?.connector?.toVenueSymbol;
  assert.ok(f !== undefined, `${venue} has a symbol mapping`);
  return f;
}

const CASES: Record<string, [normalized: string, venueSymbol: string][]> = {
  binance: [
    ['BTC-USDT', 'BTCUSDT'],
    ['ETH-BTC', 'ETHBTC'],
  ],
  'binance-usdm': [
    ['BTC-USDT-PERP', 'BTCUSDT'],
    ['ETH-USDT-20250328', 'ETHUSDT_250328'],
  ],
  bybit: [
    ['BTC-USDT', 'spot:BTCUSDT'],
    ['ETH-USDT-PERP', 'linear:ETHUSDT'],
  ],
  okx: [
    ['BTC-USDT', 'BTC-USDT'],
    ['BTC-USDT-PERP', 'BTC-USDT-SWAP'],
    ['BTC-USD-20250328', 'BTC-USD-250328'],
  ],
};

const UNSUPPORTED: Record<string, string[]> = {
  binance: ['BTC-USDT-PERP', 'BTC-USD-20250328'],
  'binance-usdm': ['BTC-USDT', 'BTC-USD-20240329-60000-C'],
  bybit: ['BTC-USD-PERP', 'BTC-USDC-PERP', 'BTC-USDT-20250328'],
  okx: ['BTC-USD-20240329-60000-C'],
};

describe('connector symbol mapping', () => {
  for (const [venue, cases] of Object.entries(CASES)) {
    it(`${venue}: normalized symbols map to the symbols its connector plans`, () => {
      const f = mapper(venue);
      for (const [n, v] of cases) assert.equal(f(n), v, n);
      // What the mapping returns is what the connector's plan subscribes.
      const spec = venueById(venue)?.connector;
      assert.ok(spec !== undefined);
      const planned = spec.plan([f(cases[0]?.[0] ?? '')], spec.defaultEndpoints).flatMap((p) => p.symbols);
      assert.deepEqual(planned, [cases[0]?.[1]]);
    });

    it(`${venue}: instruments it does not list, and text that is not a normalized symbol, are QOB_ERR_INVALID_SYMBOL`, () => {
      const f = mapper(venue);
      for (const s of [...(UNSUPPORTED[venue] ?? []), 'btc-usdt', 'BTCUSDT', 'XBT-USD']) {
        assert.throws(
          () => f(s),
          (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
          s,
        );
      }
    });
  }
});
