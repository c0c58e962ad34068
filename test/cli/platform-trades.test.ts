/**
 * The platform as `qob start` builds it (`buildPlatform` -> `startLiveVenues` -> the gateway's market data
 * and the store), pointed at the local venue emulator: trades reach the gateway's trade stream and the store
 * (beside the books' events, test/platform/live-books.test.ts) through the connector's dedup, so a venue sending every frame twice (the emulator's `duplicate-frame`
 * fault) still delivers each trade once. The order-by-order feeds (`book: "l3"`) run and are served as
 * L2 books like any other.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { SeededRandom } from '../../src/core/random.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { TradeBatch } from '../../src/gateway/ws/tape.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { buildPlatform, createMarketData, type LiveVenues } from '../../src/platform.ts';
import { canon, waitFor } from '../ingest/emulator-helpers.ts';

/** Config venue entry, emulator venue, emulator symbol of BTC-USD. */
const VENUES = [
  { id: 'bitstamp', book: 'l2', emuSymbol: 'btcusd' },
  { id: 'bitfinex', book: 'l3', emuSymbol: 'tBTCUSD' },
  { id: 'bitstamp', book: 'l3', emuSymbol: 'btcusd' },
  { id: 'kraken', book: 'l2', emuSymbol: 'BTC/USD' },
] as const;

function platformFor(emu: Emulator, entries: readonly (typeof VENUES)[number][], dataDir: string) {
  const dir = mkdtempSync(join(tmpdir(), 'qob-platform-trades-'));
  const venues = entries.map((v) => ({
    id: v.id,
    book: v.book,
    symbols: ['BTC-USD'],
    ...emu.endpoints(v.id),
  }));
  writeFileSync(join(dir, 'qob.config.json'), JSON.stringify({ log: { level: 'warn' }, venues }));
  const config = loadConfig({ cwd: dir, env: {} });
  rmSync(dir, { recursive: true, force: true });
  return buildPlatform(
    { ...config, data: { ...config.data, dir: dataDir } },
    { logger: silentLogger(), clock: systemClock, random: new SeededRandom(3) },
  );
}

async function inSync(emu: Emulator, live: LiveVenues): Promise<void> {
  let n = 0;
  await waitFor(
    'every book in sync',
    () => {
      if (n++ % 5 === 0) emu.step(1);
      return live.status(systemClock.nowMs()).books.every((b) => b.status === 'in_sync');
    },
    15_000,
  );
}

describe('platform live trades: each trade once downstream, even when the venue repeats frames', () => {
  let emu: Emulator;
  let root: string;
  before(async () => {
    emu = await startEmulator({ seed: 91 });
    root = mkdtempSync(join(tmpdir(), 'qob-platform-trades-data-'));
  });
  after(async () => {
    await emu.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const entry of VENUES) {
    it(`${entry.id} (${entry.book}): with every frame sent twice, the gateway's trade stream and the store get each trade once`, async () => {
      const platform = platformFor(emu, [entry], join(root, `${entry.id}-${entry.book}`));
      const stored = await platform.openStore();
      assert.ok(stored !== undefined);
      const live = platform.startLiveVenues();
      const source = createMarketData({ live, clock: systemClock });
      const tape: string[] = [];
      const stopTape = source.onTrades((b: TradeBatch) => {
        for (const t of b.trades) tape.push(`${b.venue} ${b.symbol} ${t.id}`);
      });
      const events: TradeEvent[] = [];
      const venue = live.venues[0];
      assert.ok(venue?.connector !== undefined, venue?.unavailable);
      const stopEvents = venue.onTrade((t) => events.push(t));
      let bookEvents = 0; // the store also gets the venue's book events
      const stopBooks = venue.onBookEvent(() => bookEvents++);
      try {
        await inSync(emu, live);
        const truth = emu.trueL3Book(entry.id, entry.emuSymbol);
        emu.inject(entry.id, { kind: 'duplicate-frame', count: Number.POSITIVE_INFINITY });
        for (let i = 0; i < 60; i++) emu.step(1);
        if (entry.id === 'bitfinex') {
          // One sequence per connection: the handler sees the repeat as a gap and the connection is renewed.
          await new Promise((r) => setTimeout(r, 200));
        } else {
          await waitFor(
            'the repeated trades arrived and were dropped',
            () => venue.connector?.tradeDedup.dropped !== 0,
          );
        }
        emu.clearFaults(entry.id);
        await inSync(emu, live);
        await new Promise((r) => setTimeout(r, 50));

        assert.ok(events.length > 0, 'trades were delivered');
        const ids = events.map((t) => `${t.symbol} ${t.tradeId}`);
        assert.equal(new Set(ids).size, ids.length, 'no trade twice on the venue stream');
        const trueIds = new Set(truth.trades.map((t) => String(Number(t.tradeId))));
        assert.ok(
          events.every((t) => trueIds.has(String(t.tradeId))),
          'only true trades',
        );
        assert.equal(new Set(tape).size, tape.length, 'no trade twice on the gateway trade stream');
        assert.equal(tape.length, events.filter((t) => t.aggressor !== 'unknown').length);
        assert.ok(tape.every((k) => k.startsWith(`${entry.id} BTC-USD `)));
        assert.equal(stored.appended(), events.length + bookEvents, 'the store was handed each trade once');
        assert.equal(venue.trades, events.length);
      } finally {
        stopTape();
        stopEvents();
        stopBooks();
        live.close();
        await stored.close();
        platform.close();
      }
    });
  }

  it('an L3 feed (book: "l3") is served as the derived L2 book: equal to the true book, under the venue id', async () => {
    const platform = platformFor(emu, [VENUES[1], { id: 'bitstamp', book: 'l3', emuSymbol: 'btcusd' }], root);
    const live = platform.startLiveVenues();
    try {
      assert.deepEqual(
        live.venues.map((v) => v.connector?.connections().map((c) => c.plan.id)),
        [['bitfinex.raw.0'], ['bitstamp.l3.0']],
      );
      await inSync(emu, live);
      const source = createMarketData({ live, clock: systemClock });
      for (const [venue, emuSymbol] of [
        ['bitfinex', 'tBTCUSD'],
        ['bitstamp', 'btcusd'],
      ] as const) {
        // The served book's best five levels a side equal the true book's (the raw feed's `len` bounds depth).
        await waitFor(`${venue} served book equals the true book`, () => {
          const ref = source.book(venue, 'BTC-USD');
          const truth = emu.trueL3Book(venue, emuSymbol).l2(5);
          const book = ref?.inSync === true ? ref.book : undefined;
          if (book === undefined) return false;
          const text = (levels: readonly { price: string; size: string }[]) =>
            levels.map((l) => `${canon(l.price)} ${canon(l.size)}`).join('|');
          const want = (levels: readonly (readonly string[])[]) =>
            levels.map(([p, q]) => `${canon(p ?? '')} ${canon(q ?? '')}`).join('|');
          return (
            truth.bids.length > 0 &&
            text(book.levels('bid', 5)) === want(truth.bids) &&
            text(book.levels('ask', 5)) === want(truth.asks)
          );
        });
      }
    } finally {
      live.close();
      platform.close();
    }
  });
});
