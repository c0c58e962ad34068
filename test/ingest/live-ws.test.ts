import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { SeededRandom } from '../../src/core/random.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import { type ConnectionStatus, ManagedConnection } from '../../src/ingest/connection.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import { waitFor } from './emulator-helpers.ts';

describe('ManagedConnection over a real local WebSocket server', () => {
  test('subscribes on open, receives frames, and after the server kills the socket reconnects and subscribes exactly once more', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const received: string[][] = [];
    wss.on('connection', (ws) => {
      const mine: string[] = [];
      received.push(mine);
      ws.on('message', (d) => {
        mine.push(String(d));
        ws.send(`ack ${String(d)}`);
      });
    });
    const records: RawRecord[] = [];
    const conn = new ManagedConnection({
      venue: 'local',
      plan: {
        id: 'local.ws.0',
        url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
        symbols: [],
        onOpen: ['SUB'],
      },
      clock: systemClock,
      random: new SeededRandom(1),
      onRecord: (r) => records.push(r),
      staleAfterMs: 60_000,
      backoff: { baseMs: 5, maxMs: 20 },
    });
    try {
      conn.start();
      await waitFor('first ack', () => records.some((r) => r.t === 'recv' && r.data === 'ack SUB'));
      for (const c of wss.clients) c.terminate();
      await waitFor('second ack', () => records.filter((r) => r.t === 'recv' && r.data === 'ack SUB').length === 2);
      assert.deepEqual(received, [['SUB'], ['SUB']]);
      assert.deepEqual(
        records.map((r) => `${r.t}:${r.epoch}`),
        ['connect:1', 'send:1', 'recv:1', 'disconnect:1', 'connect:2', 'send:2', 'recv:2'],
      );
      assert.equal(conn.liveSockets, 1);
    } finally {
      conn.close();
      assert.equal(conn.pendingTimers, 0);
      assert.equal(conn.liveSockets, 0);
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  test('a refused port is reported as an unreachable network and retried', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as AddressInfo).port;
    await new Promise<void>((r) => wss.close(() => r())); // nothing listens there now
    const statuses: ConnectionStatus[] = [];
    const conn = new ManagedConnection({
      venue: 'local',
      plan: { id: 'local.ws.0', url: `ws://127.0.0.1:${port}/`, symbols: [], onOpen: [] },
      clock: systemClock,
      random: new SeededRandom(1),
      onRecord: () => {},
      onStatus: (s) => statuses.push(s),
      staleAfterMs: 60_000,
      backoff: { baseMs: 5, maxMs: 20 },
    });
    try {
      conn.start();
      await waitFor('three refusals', () => statuses.filter((s) => s.state === 'disconnected').length >= 3);
      const down = statuses.filter((s) => s.state === 'disconnected');
      assert.ok(down.every((s) => s.unreachable === true && /network unreachable \(ECONNREFUSED\)/.test(s.reason)));
    } finally {
      conn.close();
      assert.equal(conn.pendingTimers, 0);
    }
  });
});
