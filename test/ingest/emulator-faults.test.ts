import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { ConnectorStatus } from '../../src/ingest/connector.ts';
import { bybitConnector } from '../../src/venues/bybit/connector.ts';
import { connect, converge, type Harness, waitFor } from './emulator-helpers.ts';

/** Book statuses of one symbol, in order. */
function bookTrail(statuses: readonly ConnectorStatus[], symbol: string): string[] {
  return statuses.filter((s) => s.scope === 'book' && s.symbol === symbol).map((s) => s.status);
}

/** After losing sync a book only comes back through `syncing`: status events never skip the resync. */
function assertTruthful(trail: readonly string[]): void {
  for (let i = 1; i < trail.length; i++) {
    if (trail[i] === 'in_sync') {
      assert.ok(trail[i - 1] === 'syncing', `in_sync must follow syncing: ${trail.join(' > ')}`);
    }
  }
}

async function closeAndCheck(h: Harness): Promise<void> {
  h.connector.close();
  h.connector.close();
  assert.equal(h.connector.pendingTimers, 0, 'no timers left');
  assert.equal(h.connector.liveSockets, 0, 'no sockets left');
}

describe('live connectors under emulator faults', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 9 });
  });
  after(async () => {
    await emu.close();
  });

  test('binance: a dropped connection reconnects, refetches the snapshot and the book equals the true book', async () => {
    const h = connect(emu, 'binance', ['BTCUSDT']);
    try {
      await converge(emu, h, 'binance', [['BTCUSDT', 'BTCUSDT']]);
      const opened = emu.stats.venues.binance?.connectionsOpened ?? 0;
      emu.inject('binance', { kind: 'drop-connection' });
      emu.step(1);
      await waitFor('the drop is seen', () => bookTrail(h.statuses, 'BTCUSDT').includes('disconnected'));
      await converge(emu, h, 'binance', [['BTCUSDT', 'BTCUSDT']]);
      assert.equal(emu.stats.venues.binance?.connectionsOpened, opened + 1);
      assert.equal(h.connector.liveSockets, 1);
      assertTruthful(bookTrail(h.statuses, 'BTCUSDT'));
    } finally {
      await closeAndCheck(h);
    }
  });

  test('binance: a skipped sequence marks the book stale, then a new snapshot resyncs it', async () => {
    const h = connect(emu, 'binance', ['ETHUSDT']);
    try {
      await converge(emu, h, 'binance', [['ETHUSDT', 'ETHUSDT']]);
      const before = h.connector.counters.snapshotRequests;
      emu.inject('binance', { kind: 'skip-sequence' });
      emu.step(2);
      await waitFor('the gap is seen', () => (h.book('ETHUSDT')?.gaps ?? 0) === 1);
      await converge(emu, h, 'binance', [['ETHUSDT', 'ETHUSDT']]);
      assert.ok(h.connector.counters.snapshotRequests > before);
      const trail = bookTrail(h.statuses, 'ETHUSDT');
      assert.ok(trail.includes('stale'));
      assertTruthful(trail);
    } finally {
      await closeAndCheck(h);
    }
  });

  test('bybit: a skipped sequence resubscribes once and the book equals the true book', async () => {
    const h = connect(emu, 'bybit', ['linear:BTCUSDT']);
    try {
      await converge(emu, h, 'bybit', [['linear:BTCUSDT', 'linear:BTCUSDT']]);
      emu.inject('bybit', { kind: 'skip-sequence' });
      emu.step(2);
      await waitFor('the gap is seen', () => (h.book('linear:BTCUSDT')?.gaps ?? 0) === 1);
      await converge(emu, h, 'bybit', [['linear:BTCUSDT', 'linear:BTCUSDT']]);
      assert.equal(h.connector.counters.resubscribes, 1);
      assertTruthful(bookTrail(h.statuses, 'linear:BTCUSDT'));
    } finally {
      await closeAndCheck(h);
    }
  });

  test('okx: a corrupt checksum is caught, the book resubscribed and rebuilt equal to the true book', async () => {
    const h = connect(emu, 'okx', ['BTC-USDT']);
    try {
      await converge(emu, h, 'okx', [['BTC-USDT', 'BTC-USDT']]);
      emu.inject('okx', { kind: 'corrupt-checksum' });
      emu.step(2);
      await waitFor('the mismatch is seen', () => (h.book('BTC-USDT')?.checksumFailures ?? 0) === 1);
      await converge(emu, h, 'okx', [['BTC-USDT', 'BTC-USDT']]);
      assert.equal(h.connector.counters.resubscribes, 1);
      assertTruthful(bookTrail(h.statuses, 'BTC-USDT'));
    } finally {
      await closeAndCheck(h);
    }
  });

  test('binance: 429 on the snapshot waits at least Retry-After before the next request', async () => {
    emu.inject('binance', { kind: 'snapshot-429', retryAfterS: 1 });
    const h = connect(emu, 'binance', ['BTCUSDT']);
    try {
      await converge(emu, h, 'binance', [['BTCUSDT', 'BTCUSDT']]);
      const depth = h.fetchTimes.filter((f) => f.url.includes('/depth'));
      assert.ok(depth.length >= 2);
      const gap = (depth[1]?.atMs ?? 0) - (depth[0]?.atMs ?? 0);
      assert.ok(gap >= 1000, `second snapshot request came ${gap} ms after the 429`);
    } finally {
      await closeAndCheck(h);
    }
  });

  test('binance: close cancels a long Retry-After wait and leaves nothing behind', async () => {
    emu.inject('binance', { kind: 'snapshot-418', retryAfterS: 120 });
    const h = connect(emu, 'binance', ['BTCUSDT']);
    try {
      await waitFor(
        'the snapshot was refused',
        () => (emu.stats.venues.binance?.faultsFired ?? 0) > 0 && h.fetchTimes.length === 1,
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.notEqual(h.book('BTCUSDT')?.status, 'in_sync');
    } finally {
      await closeAndCheck(h);
      emu.clearFaults('binance');
    }
  });

  test('bybit: pong suppressed then 10 drops within a second: one live socket, subscriptions restored once, true book', async () => {
    const h = connect(emu, 'bybit', ['linear:ETHUSDT'], {
      specPatch: {
        appPing: { ...(bybitConnector.appPing as NonNullable<typeof bybitConnector.appPing>), intervalMs: 50 },
      },
      connection: { backoff: { baseMs: 5, maxMs: 40 }, pongTimeoutMs: 150 },
    });
    try {
      await converge(emu, h, 'bybit', [['linear:ETHUSDT', 'linear:ETHUSDT']]);
      emu.inject('bybit', { kind: 'suppress-pong' });
      await waitFor('the silent socket is replaced', () =>
        h.statuses.some((s) => s.scope === 'connection' && s.status === 'stale' && /no pong/.test(s.reason)),
      );
      emu.inject('bybit', { kind: 'drop-connection', count: 10 });
      const fired = () => emu.stats.faultsFired['drop-connection'] ?? 0;
      const start = fired();
      await waitFor('ten drops', () => {
        emu.step(1);
        return fired() - start >= 10;
      });
      emu.clearFaults('bybit');
      await converge(emu, h, 'bybit', [['linear:ETHUSDT', 'linear:ETHUSDT']]);
      await waitFor('one socket left at the emulator', () => emu.connections('bybit').length === 1);
      assert.equal(h.connector.liveSockets, 1);
      const subs = emu.connections('bybit')[0]?.subscriptions ?? [];
      assert.deepEqual([...subs], ['orderbook.1000.ETHUSDT', 'publicTrade.ETHUSDT']);
      assertTruthful(bookTrail(h.statuses, 'linear:ETHUSDT'));
    } finally {
      await closeAndCheck(h);
    }
  });

  test('okx: a stalled feed that still answers pings is replaced after the stale timeout', async () => {
    const h = connect(emu, 'okx', ['BTC-USDT'], { connection: { staleAfterMs: 300 } });
    try {
      await converge(emu, h, 'okx', [['BTC-USDT', 'BTC-USDT']]);
      emu.inject('okx', { kind: 'stall' });
      await waitFor('stale detected', () =>
        h.statuses.some((s) => s.scope === 'connection' && s.status === 'stale' && /no data/.test(s.reason)),
      );
      emu.clearFaults('okx');
      await converge(emu, h, 'okx', [['BTC-USDT', 'BTC-USDT']]);
      assert.equal(h.connector.liveSockets, 1);
    } finally {
      await closeAndCheck(h);
    }
  });

  test('binance: the venue closing at its connection lifetime is one gap, our planned rotation (make-before-break) none, both end in a true book', async () => {
    const h = connect(emu, 'binance', ['BTCUSDT'], { connection: { maxConnectionMs: 600, rotateMarginMs: 100 } });
    try {
      await converge(emu, h, 'binance', [['BTCUSDT', 'BTCUSDT']]);
      emu.inject('binance', { kind: 'rotate' });
      emu.step(1);
      await waitFor('planned rotation', () =>
        h.statuses.some((s) => s.scope === 'connection' && s.status === 'rotating'),
      );
      await waitFor('rotated', () => h.connector.connections()[0]?.rotations === 1);
      await converge(emu, h, 'binance', [['BTCUSDT', 'BTCUSDT']]);
      assert.equal(h.connector.liveSockets, 1);
      const trail = bookTrail(h.statuses, 'BTCUSDT');
      assert.equal(
        trail.filter((x) => x === 'stale').length,
        1,
        `only the venue's close is a gap, the planned rotation is not: ${trail.join(' > ')}`,
      );
      assertTruthful(trail);
    } finally {
      await closeAndCheck(h);
    }
  });
});
