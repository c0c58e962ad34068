import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { connect, converge, sameBook } from './emulator-helpers.ts';

const CASES = [
  {
    venue: 'binance',
    symbols: ['BTCUSDT', 'ETHUSDT'],
    pairs: [
      ['BTCUSDT', 'BTCUSDT'],
      ['ETHUSDT', 'ETHUSDT'],
    ],
  },
  { venue: 'binance-usdm', symbols: ['BTCUSDT'], pairs: [['BTCUSDT', 'BTCUSDT']] },
  {
    venue: 'bybit',
    symbols: ['spot:BTCUSDT', 'linear:BTCUSDT'],
    pairs: [
      ['spot:BTCUSDT', 'spot:BTCUSDT'],
      ['linear:BTCUSDT', 'linear:BTCUSDT'],
    ],
  },
  { venue: 'okx', symbols: ['BTC-USDT'], pairs: [['BTC-USDT', 'BTC-USDT']] },
] as const;

describe('live connectors against the venue emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 5 });
  });
  after(async () => {
    await emu.close();
  });

  for (const c of CASES) {
    test(`${c.venue}: books built through the connector equal the emulator's true books while the market moves`, async () => {
      const h = connect(emu, c.venue, c.symbols);
      try {
        await converge(emu, h, c.venue, c.pairs);
        for (let i = 0; i < 30; i++) emu.step(1);
        await converge(emu, h, c.venue, c.pairs);
        for (const [b, e] of c.pairs) {
          const tb = h.book(b);
          assert.ok(sameBook(tb, emu.trueBook(c.venue, e)), `${b} equals the true book`);
          assert.equal(tb?.gaps, 0);
          assert.equal(tb?.checksumFailures, 0);
        }
        const venueStatuses = h.statuses.filter((s) => s.scope === 'venue').map((s) => s.status);
        assert.deepEqual(venueStatuses.slice(0, 2), ['connecting', 'connected']);
        assert.equal(h.connector.liveSockets, h.connector.connections().length);
      } finally {
        h.connector.close();
      }
      assert.equal(h.connector.pendingTimers, 0);
      assert.equal(h.connector.liveSockets, 0);
    });
  }
});
