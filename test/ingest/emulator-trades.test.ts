/**
 * Public trades through the venue emulator: each venue's real connector and feed handler, the emulator
 * serving the trades of its L3 true book (the simulated matching engine) on the venue's own trade channel.
 * Every trade made after the subscription must be emitted once, in order, with the exact price, size and
 * taker side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TradeEvent } from '../../src/domain/events.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { venueById } from '../../src/venues/index.ts';
import { canon, connect, waitFor } from './emulator-helpers.ts';

/** Venue, connector symbol (the handler's book symbol), emulator symbol. */
const CASES = [
  ['binance', 'BTCUSDT', 'BTCUSDT'],
  ['binance-usdm', 'BTCUSDT', 'BTCUSDT'],
  ['bitfinex', 'tBTCUSD', 'tBTCUSD'],
  ['bybit', 'linear:BTCUSDT', 'linear:BTCUSDT'],
  ['bybit', 'spot:BTCUSDT', 'spot:BTCUSDT'],
  ['okx', 'BTC-USDT', 'BTC-USDT'],
  ['kraken', 'BTC/USD', 'BTC/USD'],
  ['coinbase', 'BTC-USD', 'BTC-USD'],
  ['bitstamp', 'btcusd', 'btcusd'],
] as const;

describe('public trades through the emulator, on each venue trade channel', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 77 });
  });
  after(async () => {
    await emu.close();
  });

  for (const [venue, symbol, emuSymbol] of CASES) {
    test(`${venue} ${symbol}: every trade after the subscription arrives once, in order, exact`, async () => {
      const trades: TradeEvent[] = [];
      const reg = venueById(venue);
      assert.ok(reg !== undefined);
      const h = connect(emu, venue, [symbol], {
        handlerFactory: (o) => reg.createFeedHandler({ ...o, onTrade: (t) => trades.push(t) }),
      });
      try {
        let n = 0;
        await waitFor('book in sync', () => {
          if (n++ % 5 === 0) emu.step(1);
          return h.book(symbol)?.status === 'in_sync';
        });
        const truth = emu.trueL3Book(venue, emuSymbol);
        // Let in-flight frames land, then count from here: every later trade must arrive.
        await new Promise((r) => setTimeout(r, 50));
        const seen = trades.length;
        const from = truth.trades.length;
        for (let i = 0; i < 80; i++) emu.step(1);
        const expected = truth.trades.slice(from);
        assert.ok(expected.length > 0, 'the flow traded');
        await waitFor('every trade', () => trades.length - seen >= expected.length);
        await new Promise((r) => setTimeout(r, 30));
        assert.deepEqual(
          trades.slice(seen).map((t) => `${t.tradeId} ${t.aggressor} ${canon(t.price)} ${canon(t.size)}`),
          expected.map((t) => `${Number(t.tradeId)} ${t.aggressor} ${canon(t.price)} ${canon(t.size)}`),
        );
      } finally {
        h.connector.close();
      }
    });

    test(`${venue} ${symbol}: through the connector's onTrade, repeated and reordered frames never deliver a trade twice or out of order`, async () => {
      const trades: TradeEvent[] = [];
      const h = connect(emu, venue, [symbol], { onTrade: (t) => trades.push(t) });
      try {
        let n = 0;
        await waitFor('book in sync', () => {
          if (n++ % 5 === 0) emu.step(1);
          return h.book(symbol)?.status === 'in_sync';
        });
        const truth = emu.trueL3Book(venue, emuSymbol);
        for (const kind of ['duplicate-frame', 'reorder-frames', 'duplicate-frame'] as const) {
          emu.inject(venue, { kind, count: 5 });
          for (let i = 0; i < 30; i++) emu.step(1);
          emu.clearFaults(venue);
          await new Promise((r) => setTimeout(r, 30));
        }
        await waitFor('book back in sync', () => {
          emu.step(1);
          return h.book(symbol)?.status === 'in_sync';
        });
        const index = new Map(truth.trades.map((t, i) => [String(Number(t.tradeId)), i]));
        const at = trades.map((t) => index.get(String(t.tradeId)) ?? -1);
        assert.ok(at.length > 0, 'trades were delivered');
        assert.ok(
          at.every((i) => i >= 0),
          'only true trades',
        );
        assert.equal(new Set(at).size, at.length, 'no trade twice');
        const swapped = at.filter((x, i) => i > 0 && x < (at[i - 1] as number)).length;
        // A reordered pair of frames may arrive swapped: the venue's own order is what a consumer sees.
        assert.ok(swapped <= 5, `at most the reordered frames are out of order (${swapped})`);
      } finally {
        h.connector.close();
      }
    });
  }
});
