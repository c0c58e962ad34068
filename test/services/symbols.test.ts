import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { venueSymbolMapper } from '../../src/services/symbols.ts';

describe('venue symbols to normalized symbols for the ingestion service', () => {
  it('maps spot and perpetual spellings through the venue specs, not by splitting off a quote', () => {
    assert.equal(venueSymbolMapper('binance')('BTCUSDT'), 'BTC-USDT');
    assert.equal(venueSymbolMapper('okx')('BTC-USDT-SWAP'), 'BTC-USDT-PERP');
    assert.equal(venueSymbolMapper('okx')('BTC-USDT'), 'BTC-USDT');
  });

  it("maps Kraken's legacy XBT spelling (v1 feed) to the same instrument as BTC (v2 feed)", () => {
    const kraken = venueSymbolMapper('kraken');
    assert.equal(kraken('XBT/USD'), 'BTC-USD');
    assert.equal(kraken('BTC/USD'), 'BTC-USD');
  });

  it('refuses a venue symbol outside the configured symbols with QOB_ERR_INVALID_SYMBOL', () => {
    const map = venueSymbolMapper('binance', ['BTC-USDT']);
    assert.equal(map('BTCUSDT'), 'BTC-USDT');
    assert.throws(
      () => map('ETHUSDT'),
      (e) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });
});
