/**
 * Make-before-break rotation through the venue emulator: with a short maximum connection age the
 * connector rotates again and again while the market moves; the served book never leaves `in_sync`, and
 * the recording (the tap) never interleaves two sockets of one connection, so it replays to the same book.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TradeEvent } from '../../src/domain/events.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import { connect, converge, sameBook, waitFor } from './emulator-helpers.ts';

/** Every ws record of one connection belongs to the socket opened by the last `connect` before it. */
function assertNoInterleaving(records: readonly RawRecord[], conn: string): void {
  let epoch: number | undefined;
  for (const r of records) {
    if (r.conn !== conn) continue;
    if (r.t === 'connect') {
      assert.equal(epoch, undefined, `connect of epoch ${r.epoch} before the previous socket's disconnect`);
      epoch = r.epoch;
    } else if (r.t === 'disconnect') {
      assert.equal(r.epoch, epoch, 'disconnect of the open socket');
      epoch = undefined;
    } else assert.equal(r.epoch, epoch, `${r.t} of epoch ${r.epoch} while epoch ${epoch} is open`);
  }
}

describe('make-before-break rotation through the emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 23, venues: ['binance', 'bybit'] });
  });
  after(async () => {
    await emu.close();
  });

  for (const [venue, symbol, emuSymbol] of [
    ['binance', 'BTCUSDT', 'BTCUSDT'],
    ['bybit', 'linear:BTCUSDT', 'linear:BTCUSDT'],
  ] as const) {
    test(`${venue}: planned rotations keep the served book in sync and true, and the recording never interleaves sockets`, async () => {
      const records: RawRecord[] = [];
      const h = connect(emu, venue, [symbol], {
        connection: { backoff: { baseMs: 10, maxMs: 100 }, maxConnectionMs: 500, rotateMarginMs: 100 },
        tap: (r) => records.push(r),
      });
      try {
        await converge(emu, h, venue, [[symbol, emuSymbol]]);
        const syncedAt = h.statuses.length;
        const conn = h.connector.connections()[0];
        assert.ok(conn !== undefined);
        let samples = 0;
        let outOfSync = 0;
        await waitFor(
          'three rotations',
          () => {
            emu.step(1);
            samples++;
            if (h.book(symbol)?.status !== 'in_sync') outOfSync++;
            return conn.rotations >= 3;
          },
          15_000,
        );
        assert.equal(outOfSync, 0, `the served book left in_sync in ${outOfSync} of ${samples} samples`);
        const later = h.statuses.slice(syncedAt).filter((s) => s.scope === 'book');
        assert.deepEqual(
          later.map((s) => s.status),
          [],
          'no book status change across rotations (no gap to report)',
        );
        assert.ok(
          h.statuses.some((s) => s.scope === 'connection' && s.status === 'connected' && s.reason === 'rotated'),
          'the connection reports each rotation',
        );
        await waitFor('the book equals the true book', () => sameBook(h.book(symbol), emu.trueBook(venue, emuSymbol)));
        assert.ok(h.connector.liveSockets <= 2);
        h.connector.close();
        assertNoInterleaving(records, conn.plan.id);
        assert.equal(h.connector.liveSockets, 0, 'no sockets left');
        assert.equal(h.connector.pendingTimers, 0, 'no timers left');
      } finally {
        h.connector.close();
      }
    });
  }

  test("binance: across planned rotations the connector's onTrade delivers every trade once, in order", async () => {
    const trades: TradeEvent[] = [];
    const h = connect(emu, 'binance', ['ETHUSDT'], {
      connection: { backoff: { baseMs: 10, maxMs: 100 }, maxConnectionMs: 400, rotateMarginMs: 100 },
      onTrade: (t) => trades.push(t),
    });
    try {
      await converge(emu, h, 'binance', [['ETHUSDT', 'ETHUSDT']]);
      await new Promise((r) => setTimeout(r, 50));
      const truth = emu.trueL3Book('binance', 'ETHUSDT');
      const seen = trades.length;
      const from = truth.trades.length;
      const conn = h.connector.connections()[0];
      await waitFor(
        'three rotations',
        () => {
          emu.step(1);
          return (conn?.rotations ?? 0) >= 3;
        },
        15_000,
      );
      await new Promise((r) => setTimeout(r, 100));
      const expected = truth.trades.slice(from).map((t) => String(Number(t.tradeId)));
      assert.ok(expected.length > 0, 'the flow traded');
      assert.deepEqual(
        trades.slice(seen).map((t) => String(t.tradeId)),
        expected,
      );
    } finally {
      h.connector.close();
    }
  });

  test('binance: with make-before-break off, a planned rotation is a reported gap that resyncs', async () => {
    const h = connect(emu, 'binance', ['ETHUSDT'], {
      connection: { backoff: { baseMs: 10, maxMs: 100 }, maxConnectionMs: 400, rotateMarginMs: 100 },
      makeBeforeBreak: false,
    });
    try {
      await converge(emu, h, 'binance', [['ETHUSDT', 'ETHUSDT']]);
      const conn = h.connector.connections()[0];
      await waitFor('a rotation', () => (conn?.rotations ?? 0) >= 1);
      await converge(emu, h, 'binance', [['ETHUSDT', 'ETHUSDT']]);
      const trail = h.statuses.filter((s) => s.scope === 'book').map((s) => s.status);
      assert.ok(trail.filter((s) => s === 'in_sync').length >= 2, `the rotation is a gap: ${trail.join(' > ')}`);
    } finally {
      h.connector.close();
    }
  });
});
