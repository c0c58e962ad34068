/**
 * The platform as `qob start` builds it stores the live venues' books, not only their trades: each handler
 * the connector makes sits behind a BookEventTap whose events go to the embedded store through the bounded
 * writer. Pointed at the local venue emulator, the book the store rebuilds at an instant equals the live
 * book at that instant, through resyncs (a sequence gap), reconnects (a dropped socket) and a venue's
 * reconnect request (a make-before-break rotation), and every event is stored once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import {
  buildPlatform,
  type LiveBookEvent,
  type LiveVenue,
  type LiveVenues,
  type Platform,
  type PlatformDeps,
  type PlatformStore,
} from '../../src/platform.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { canon, sameBook, waitFor } from '../ingest/emulator-helpers.ts';

interface Run {
  readonly platform: Platform;
  readonly stored: PlatformStore;
  readonly live: LiveVenues;
  readonly venue: LiveVenue;
  /** Every book event the venue emitted, in order (a second listener beside the store). */
  readonly events: LiveBookEvent[];
  close(): Promise<void>;
}

function platformFor(
  emu: Emulator,
  venue: string,
  symbols: readonly string[],
  dataDir: string,
  tuning?: PlatformDeps['connectorTuning'],
  store?: Record<string, unknown>,
): Platform {
  const dir = mkdtempSync(join(tmpdir(), 'qob-live-books-'));
  const venues = [{ id: venue, symbols, ...emu.endpoints(venue) }];
  writeFileSync(join(dir, 'qob.config.json'), JSON.stringify({ log: { level: 'warn' }, venues, store }));
  const config = loadConfig({ cwd: dir, env: {} });
  rmSync(dir, { recursive: true, force: true });
  return buildPlatform(
    { ...config, data: { ...config.data, dir: dataDir } },
    {
      logger: silentLogger(),
      clock: systemClock,
      random: new SeededRandom(5),
      ...(tuning === undefined ? {} : { connectorTuning: tuning }),
    },
  );
}

async function run(
  emu: Emulator,
  venue: string,
  symbols: readonly string[],
  dataDir: string,
  storeFirst = true,
  tuning?: PlatformDeps['connectorTuning'],
  store?: Record<string, unknown>,
): Promise<Run> {
  const platform = platformFor(emu, venue, symbols, dataDir, tuning, store);
  let stored = storeFirst ? await platform.openStore() : undefined;
  const live = platform.startLiveVenues();
  const v = live.venues[0];
  assert.ok(v?.connector !== undefined, v?.unavailable);
  const events: LiveBookEvent[] = [];
  const stop = v.onBookEvent((e) => events.push(e));
  if (stored === undefined) {
    await inSync(emu, live);
    stored = await platform.openStore();
  }
  assert.ok(stored !== undefined);
  const s = stored;
  return {
    platform,
    stored: s,
    live,
    venue: v,
    events,
    async close() {
      stop();
      live.close();
      await s.close();
      platform.close();
    },
  };
}

async function inSync(emu: Emulator, live: LiveVenues): Promise<void> {
  let n = 0;
  await waitFor(
    'every live book in sync',
    () => {
      if (n++ % 5 === 0) emu.step(1);
      return live.status(systemClock.nowMs()).books.every((b) => b.status === 'in_sync');
    },
    15_000,
  );
}

function trackedBook(v: LiveVenue, venueSymbol: string): TrackedBook | undefined {
  return [...(v.connector?.books() ?? [])].find((b) => b.symbol.toUpperCase() === venueSymbol.toUpperCase());
}

/** Steps the in-sync market `steps` times (letting frames arrive), then waits until each live book equals the true one. */
async function trade(emu: Emulator, r: Run, pairs: readonly (readonly [string, string])[], steps: number) {
  await inSync(emu, r.live);
  for (let i = 0; i < steps; i++) {
    emu.step(1);
    await new Promise((res) => setTimeout(res, 5));
  }
  await inSync(emu, r.live);
  await waitFor(
    'the live books equal the true books',
    () =>
      pairs.every(([, emuSymbol]) => sameBook(trackedBook(r.venue, emuSymbol), emu.trueBook(r.venue.venue, emuSymbol))),
    15_000,
  );
}

/** The stored book at `atMs` equals the live book as it is now (nothing moves while this runs). */
async function assertStoredEqualsLive(r: Run, symbol: string, venueSymbol: string): Promise<void> {
  const tb = trackedBook(r.venue, venueSymbol);
  assert.ok(tb?.inSync, `${symbol} is in sync`);
  await r.stored.store.flush();
  const atMs = systemClock.nowMs();
  const at = await r.stored.store.bookAt({ venue: r.venue.venue, symbol, atMs });
  const text = (levels: readonly (readonly [string, string])[]) => levels.map(([p, q]) => `${canon(p)} ${canon(q)}`);
  const live = (side: 'bid' | 'ask') => tb.book.levels(side).map((l) => `${canon(l.price)} ${canon(l.size)}`);
  assert.ok(live('bid').length > 0 && live('ask').length > 0);
  assert.deepEqual(text(at.bids), live('bid'), `${symbol} stored bids equal the live bids`);
  assert.deepEqual(text(at.asks), live('ask'), `${symbol} stored asks equal the live asks`);
}

/**
 * Each event went out once and the stream of each book is whole: a delta follows the event it names as
 * previous (a snapshot or a delta of the same book), and after a status only a snapshot comes next.
 */
function assertChains(events: readonly LiveBookEvent[]): void {
  const seqs = events.map((e) => e.recvSeq);
  assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
  const last = new Map<string, LiveBookEvent>();
  for (const e of events) {
    const prev = last.get(e.symbol ?? '');
    if (e.type === 'book.delta') {
      assert.ok(prev !== undefined && prev.type !== 'status', `a delta of ${e.symbol} follows a snapshot or a delta`);
      assert.equal(e.prevSeq, prev.recvSeq, `the delta of ${e.symbol} follows the event it names`);
    }
    last.set(e.symbol ?? '', e);
  }
}

/** Book events of the venue in the store: every event the venue emitted, each once. */
async function assertStoredOnce(r: Run, from: number): Promise<void> {
  await r.stored.store.flush();
  const sql = r.stored.store.sqlEngine;
  const venue = r.venue.venue;
  const dup = await sql.query(
    'select recv_seq, count(*)::int as n from book_deltas where venue = $1 group by recv_seq having count(*) > 1',
    [venue],
  );
  assert.deepEqual(dup, [], 'no delta stored twice');
  const sent = r.events.slice(from);
  const count = async (q: string) => Number((await sql.query(q, [venue]))[0]?.n);
  assert.equal(
    await count('select count(*)::int as n from book_deltas where venue = $1'),
    sent.filter((e) => e.type === 'book.delta').length,
    'each delta stored once',
  );
  assert.equal(
    await count("select count(*)::int as n from book_snapshots where venue = $1 and source = 'venue'"),
    sent.filter((e) => e.type === 'book.snapshot').length,
    'each snapshot stored once',
  );
  assert.equal(
    await count('select count(*)::int as n from venue_status where venue = $1'),
    sent.filter((e) => e.type === 'status').length,
    'each status change stored once',
  );
  assert.equal(r.stored.overflow(), 0, 'the writer refused nothing');
}

describe('platform live books: what the live venues apply is stored, each once, and rebuilds the live book', () => {
  let emu: Emulator;
  let root: string;
  before(async () => {
    emu = await startEmulator({ seed: 17, venues: ['binance'] });
    root = mkdtempSync(join(tmpdir(), 'qob-live-books-data-'));
  });
  after(async () => {
    await emu.close();
    rmSync(root, { recursive: true, force: true });
  });

  const binance = [
    ['BTC-USDT', 'BTCUSDT'],
    ['ETH-USDT', 'ETHUSDT'],
  ] as const;

  it('binance: the stored book at an instant (store query and history API) equals the live book, and every snapshot and delta is stored once', async () => {
    const r = await run(emu, 'binance', ['BTC-USDT', 'ETH-USDT'], join(root, 'binance'));
    try {
      await trade(emu, r, binance, 40);
      assert.ok(r.events.some((e) => e.type === 'book.snapshot' && e.symbol === 'BTC-USDT'));
      assert.ok(r.events.filter((e) => e.type === 'book.delta').length >= 20, 'deltas were emitted');
      for (const [symbol, venueSymbol] of binance) await assertStoredEqualsLive(r, symbol, venueSymbol);
      assertChains(r.events);
      await assertStoredOnce(r, 0);

      // The history API (opened after the store, as `qob start` does) serves the same book.
      const api = await r.platform.startApi({ live: r.live, port: 0 });
      try {
        const atMs = Math.floor(systemClock.nowMs());
        const res = await fetch(`${api.url}/api/v1/books/binance/BTC-USDT/at?time=${atMs}&depth=50`);
        assert.equal(res.status, 200, await res.clone().text());
        const body = (await res.json()) as Record<'bids' | 'asks', { price: string; size: string }[]>;
        const tb = trackedBook(r.venue, 'BTCUSDT');
        assert.ok(tb?.inSync);
        const text = (levels: readonly { price: string; size: string }[]) =>
          levels.map((l) => `${canon(l.price)} ${canon(l.size)}`);
        assert.deepEqual(text(body.bids), text(tb.book.levels('bid', 50)), 'the API serves the live bids');
        assert.deepEqual(text(body.asks), text(tb.book.levels('ask', 50)), 'the API serves the live asks');
      } finally {
        await api.close();
      }
    } finally {
      await r.close();
    }
  });

  it('binance: a sequence gap and a dropped socket each store a status, then a fresh snapshot, and the stored book still equals the live book', async () => {
    const r = await run(emu, 'binance', ['BTC-USDT', 'ETH-USDT'], join(root, 'binance-faults'));
    try {
      await trade(emu, r, binance, 10);
      const before = r.events.length;
      emu.inject('binance', { kind: 'skip-sequence' });
      await trade(emu, r, binance, 20);
      const afterGap = r.events.slice(before);
      const gapStatus = afterGap.findIndex((e) => e.type === 'status');
      assert.ok(gapStatus >= 0, 'the gap stored a status');
      const lost = afterGap[gapStatus]?.symbol;
      assert.ok(
        afterGap.slice(gapStatus).some((e) => e.type === 'book.snapshot' && e.symbol === lost),
        'the resync stored a fresh snapshot',
      );
      for (const [symbol, venueSymbol] of binance) await assertStoredEqualsLive(r, symbol, venueSymbol);

      const beforeDrop = r.events.length;
      emu.inject('binance', { kind: 'drop-connection' });
      emu.step(1);
      // The socket is gone: its books are invalidated without a frame, and that is stored at once.
      await waitFor('both books stored as lost', () => {
        const st = r.events.slice(beforeDrop).filter((e) => e.type === 'status');
        return binance.every(([s]) => st.some((e) => e.symbol === s));
      });
      await trade(emu, r, binance, 20);
      for (const [symbol] of binance) {
        assert.ok(
          r.events.slice(beforeDrop).some((e) => e.type === 'book.snapshot' && e.symbol === symbol),
          `${symbol} was stored from a fresh snapshot after the reconnect`,
        );
      }
      for (const [symbol, venueSymbol] of binance) await assertStoredEqualsLive(r, symbol, venueSymbol);
      assertChains(r.events);
      await assertStoredOnce(r, 0);
    } finally {
      emu.clearFaults('binance');
      await r.close();
    }
  });

  it('binance: across make-before-break rotations the replacement connection is stored from fresh snapshots, each event once', async () => {
    // Connections live 2.5 s, so the connector rotates several times: a replacement socket syncs its own
    // handler while the old one serves, then takes over.
    const r = await run(emu, 'binance', ['BTC-USDT', 'ETH-USDT'], join(root, 'binance-rotation'), true, {
      connection: { maxConnectionMs: 2_500, rotateMarginMs: 1_000 },
      recovery: { snapshotDelayMs: 20 },
    });
    try {
      await trade(emu, r, binance, 10);
      const handlerBefore = r.venue.connector?.handler;
      const before = r.events.length;
      // The replacement's first book snapshot request is refused once: its other book syncs and moves
      // while the old socket still serves, and none of that may go out twice or out of order.
      emu.inject('binance', { kind: 'snapshot-429', retryAfterS: 0.3 });
      let n = 0;
      await waitFor(
        'two rotations',
        () => {
          if (n++ % 3 === 0) emu.step(1);
          return (r.venue.connector?.connections()[0]?.epoch ?? 0) >= 3;
        },
        20_000,
      );
      await trade(emu, r, binance, 10);
      assert.notEqual(r.venue.connector?.handler, handlerBefore, 'another handler serves');
      for (const [symbol] of binance) {
        assert.ok(
          r.events.slice(before).some((e) => e.type === 'book.snapshot' && e.symbol === symbol),
          `${symbol} was stored from a fresh snapshot after the rotation`,
        );
      }
      for (const [symbol, venueSymbol] of binance) await assertStoredEqualsLive(r, symbol, venueSymbol);
      assertChains(r.events);
      await assertStoredOnce(r, 0);
    } finally {
      await r.close();
    }
  });

  it('binance into a writer that refuses events when full: they are counted, and once it drains the stored book is rebuilt from a fresh snapshot', async () => {
    const r = await run(emu, 'binance', ['BTC-USDT', 'ETH-USDT'], join(root, 'binance-full'), true, undefined, {
      writerQueueSize: 2,
    });
    try {
      await trade(emu, r, binance, 30);
      assert.ok(r.stored.overflow() > 0, 'the writer refused events');
      const stored = async (symbol: string, venueSymbol: string): Promise<boolean> => {
        await r.stored.store.flush();
        return assertStoredEqualsLive(r, symbol, venueSymbol).then(
          () => true,
          () => false,
        );
      };
      for (const [symbol, venueSymbol] of binance) {
        let ok = await stored(symbol, venueSymbol);
        for (let i = 0; !ok && i < 50; i++) {
          await new Promise((res) => setTimeout(res, 100));
          ok = await stored(symbol, venueSymbol);
        }
        if (!ok) await assertStoredEqualsLive(r, symbol, venueSymbol); // fails with the difference
      }
      const dup = await r.stored.store.sqlEngine.query(
        "select recv_seq from book_deltas where venue = 'binance' group by recv_seq having count(*) > 1",
      );
      assert.deepEqual(dup, [], 'no delta stored twice');
    } finally {
      await r.close();
    }
  });

  it('a live venue started before the store opened is stored from fresh snapshots of its books', async () => {
    const r = await run(emu, 'binance', ['BTC-USDT', 'ETH-USDT'], join(root, 'binance-late'), false);
    try {
      const from = r.events.length;
      assert.ok(
        binance.every(([s]) => r.events.slice(from - 2).some((e) => e.type === 'book.snapshot' && e.symbol === s)),
        'opening the store emitted a snapshot of each book',
      );
      await trade(emu, r, binance, 20);
      for (const [symbol, venueSymbol] of binance) await assertStoredEqualsLive(r, symbol, venueSymbol);
      await assertStoredOnce(r, from - 2);
    } finally {
      await r.close();
    }
  });
});
