/** Assertions shared by the per-venue emulator integration tests (emulator-<venue>.test.ts). */
import assert from 'node:assert/strict';
import type { ConnectorStatus } from '../../src/ingest/connector.ts';
import type { Harness } from './emulator-helpers.ts';

/** Book statuses of one symbol, in order. */
export function bookTrail(statuses: readonly ConnectorStatus[], symbol: string): string[] {
  return statuses.filter((s) => s.scope === 'book' && s.symbol === symbol).map((s) => s.status);
}

/** After losing sync a book only comes back through `syncing`: status events never skip the resync. */
export function assertTruthful(trail: readonly string[]): void {
  assert.ok(trail.includes('in_sync'), `the book reached in_sync: ${trail.join(' > ')}`);
  for (let i = 1; i < trail.length; i++) {
    if (trail[i] === 'in_sync') {
      assert.ok(trail[i - 1] === 'syncing', `in_sync must follow syncing: ${trail.join(' > ')}`);
    }
  }
}

/** Closes twice (idempotent) and checks that no timer and no socket is left. */
export function closeAndCheck(h: Harness): void {
  h.connector.close();
  h.connector.close();
  assert.equal(h.connector.pendingTimers, 0, 'no timers left');
  assert.equal(h.connector.liveSockets, 0, 'no sockets left');
}

export function connectionStatuses(h: Harness, status: string): ConnectorStatus[] {
  return h.statuses.filter((s) => s.scope === 'connection' && s.status === status);
}
