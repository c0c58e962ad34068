import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InProcessBus } from '../../src/bus/in-process.ts';
import { BUS_TOPICS } from '../../src/bus/topics.ts';
import { SeededRandom } from '../../src/core/random.ts';
import type { MarketEvent } from '../../src/domain/events.ts';
import { ManualClock } from '../../src/ingest/clock.ts';
import { Ingestion } from '../../src/services/ingestion.ts';
import { venueSymbolMapper } from '../../src/services/symbols.ts';
import { fakeFetch, fakeSockets, tick } from '../ingest/helpers.ts';

const depth = (U: number, u: number, bid: string) =>
  JSON.stringify({
    stream: 'btcusdt@depth@100ms',
    data: { e: 'depthUpdate', E: 1, s: 'BTCUSDT', U, u, b: [[bid, '1']], a: [['101.0', '2']] },
  });
const tradeFrame = (t: number) =>
  JSON.stringify({
    stream: 'btcusdt@trade',
    data: { e: 'trade', E: 2, T: 2, s: 'BTCUSDT', t, p: '100.5', q: '0.25', m: false },
  });

describe('live ingestion (qob service ingestion --live)', () => {
  test('runs the venue connector and publishes its books and trades under normalized symbols', async () => {
    const bus = new InProcessBus();
    const got: MarketEvent[] = [];
    await bus.subscribe([BUS_TOPICS['book.snapshot'], BUS_TOPICS['book.delta'], BUS_TOPICS.trade], 'test', (events) => {
      got.push(...events);
    });
    const ing = new Ingestion({ bus, seqBase: 1 });
    const clock = new ManualClock();
    const fs = fakeSockets();
    const ff = fakeFetch();
    const connector = ing.live({
      venue: 'binance',
      symbols: ['BTC-USDT'],
      endpoints: { wsBase: 'ws://emu', restBase: 'http://emu' },
      clock,
      random: new SeededRandom(3),
      createSocket: fs.factory,
      fetch: ff.fetch,
    });
    try {
      fs.sockets[0]?.open();
      fs.sockets[0]?.message(depth(101, 102, '100.0'));
      await clock.advanceAsync(2_000);
      assert.ok(ff.calls.length >= 1, 'the connector asked for the REST snapshot');
      ff.calls[0]?.resolve(200, JSON.stringify({ lastUpdateId: 100, bids: [['99.0', '1']], asks: [['102.0', '1']] }));
      await tick();
      fs.sockets[0]?.message(depth(103, 103, '100.5'));
      fs.sockets[0]?.message(tradeFrame(7));
      fs.sockets[0]?.message(tradeFrame(7)); // a repeated frame: the connector drops the copy
      await ing.flush();
      await tick();
      const snaps = got.filter((e) => e.type === 'book.snapshot');
      const deltas = got.filter((e) => e.type === 'book.delta');
      const trades = got.filter((e) => e.type === 'trade');
      assert.ok(snaps.length >= 1, 'a snapshot once the book synced');
      assert.ok(deltas.length >= 1, 'a delta for the next update');
      assert.equal(trades.length, 1, 'the trade once');
      for (const e of got) assert.equal(e.symbol, 'BTC-USDT');
      const seqs = got.map((e) => e.recvSeq);
      assert.equal(new Set(seqs).size, seqs.length, 'one sequence: no number given twice');
    } finally {
      connector.close();
      await ing.close();
      await bus.close();
    }
  });

  test('rejects a venue without a live connector', () => {
    const ing = new Ingestion({ bus: new InProcessBus(), seqBase: 1 });
    assert.throws(() => ing.live({ venue: 'sim', symbols: ['BTC-USDT'] }), { code: 'QOB_ERR_UNKNOWN_VENUE' });
  });
});

describe('venueSymbolMapper', () => {
  test('maps perpetuals to -PERP through the venue spec, not by splitting off the quote', () => {
    assert.equal(venueSymbolMapper('binance-usdm')('BTCUSDT'), 'BTC-USDT-PERP');
    assert.equal(venueSymbolMapper('okx')('BTC-USDT-SWAP'), 'BTC-USDT-PERP');
    assert.equal(venueSymbolMapper('bybit')('linear:BTCUSDT'), 'BTC-USDT-PERP');
  });

  test('maps spot pairs through the venue spec, whatever the venue spelling', () => {
    assert.equal(venueSymbolMapper('binance')('btcusdt'), 'BTC-USDT');
    assert.equal(venueSymbolMapper('bybit')('spot:ETHUSDT'), 'ETH-USDT');
    assert.equal(venueSymbolMapper('okx')('ETH-USDT'), 'ETH-USDT');
    assert.equal(venueSymbolMapper('bitfinex')('tBTCUSD'), 'BTC-USD');
    assert.equal(venueSymbolMapper('bitstamp')('btcusd'), 'BTC-USD');
  });

  test('with configured symbols, maps exactly and refuses a book that is not configured', () => {
    const m = venueSymbolMapper('binance-usdm', ['BTC-USDT-PERP']);
    assert.equal(m('btcusdt'), 'BTC-USDT-PERP');
    assert.throws(() => m('ETHUSDT'), { code: 'QOB_ERR_INVALID_SYMBOL' });
  });
});
