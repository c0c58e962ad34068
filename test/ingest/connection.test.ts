import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { SeededRandom } from '../../src/core/random.ts';
import { backoffDelayMs, ManualClock } from '../../src/ingest/clock.ts';
import {
  type ConnectionStatus,
  ManagedConnection,
  type ManagedConnectionOptions,
} from '../../src/ingest/connection.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import { fakeSockets } from './helpers.ts';

function setup(over: Partial<ManagedConnectionOptions> = {}) {
  const clock = new ManualClock();
  const fs = fakeSockets();
  const records: RawRecord[] = [];
  const statuses: ConnectionStatus[] = [];
  const conn = new ManagedConnection({
    venue: 'test',
    plan: { id: 'test.ws.0', url: 'ws://x/test', symbols: ['A'], onOpen: ['SUB A'] },
    clock,
    random: new SeededRandom(7),
    onRecord: (r) => records.push(r),
    onStatus: (s) => statuses.push(s),
    staleAfterMs: 10_000,
    createSocket: fs.factory,
    ...over,
  });
  return { clock, fs, records, statuses, conn };
}

describe('backoff', () => {
  test('every delay lies within [d/2, d] of its attempt and never exceeds the maximum', () => {
    const r = new SeededRandom(1);
    const opts = { baseMs: 100, maxMs: 5_000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const x = backoffDelayMs(attempt, opts, r);
        assert.ok(x >= d / 2 && x <= d, `attempt ${attempt}: ${x} outside [${d / 2}, ${d}]`);
      }
    }
  });

  test('the same seed gives the same delays', () => {
    const a = new SeededRandom(9);
    const b = new SeededRandom(9);
    const o = { baseMs: 250, maxMs: 30_000 };
    for (let i = 0; i < 10; i++) assert.equal(backoffDelayMs(i, o, a), backoffDelayMs(i, o, b));
  });
});

describe('ManagedConnection', () => {
  test('sends the plan frames on open and records connect/send/recv with the socket epoch', () => {
    const { fs, records, conn } = setup();
    conn.start();
    fs.sockets[0]?.open();
    fs.sockets[0]?.message('hello');
    assert.deepEqual(fs.sockets[0]?.sent, ['SUB A']);
    assert.deepEqual(
      records.map((r) => [r.t, r.epoch, r.data ?? r.url]),
      [
        ['connect', 1, 'ws://x/test'],
        ['send', 1, 'SUB A'],
        ['recv', 1, 'hello'],
      ],
    );
    conn.close();
  });

  test('reconnects after a drop with a new epoch and backoff delays that grow, then resets after a healthy period', () => {
    const { clock, fs, statuses, conn } = setup({
      backoff: { baseMs: 100, maxMs: 10_000 },
      healthyAfterMs: 5_000,
      staleAfterMs: 1e9,
      wsPingIntervalMs: 1e8,
      pongTimeoutMs: 1e8,
    });
    conn.start();
    for (let i = 0; i < 5; i++) {
      fs.sockets[i]?.open();
      fs.sockets[i]?.drop(1006);
      clock.advance(20_000);
    }
    const delays = statuses.filter((s) => s.state === 'disconnected').map((s) => s.retryInMs as number);
    assert.equal(delays.length, 5);
    for (let i = 0; i < 5; i++) {
      const d = Math.min(10_000, 100 * 2 ** i);
      assert.ok((delays[i] as number) >= d / 2 && (delays[i] as number) <= d, `delay ${i}`);
    }
    // Healthy for longer than healthyAfterMs: the next drop backs off from the start again.
    fs.sockets[5]?.open();
    clock.advance(6_000);
    fs.sockets[5]?.drop(1006);
    const last = statuses.filter((s) => s.state === 'disconnected').at(-1)?.retryInMs as number;
    assert.ok(last <= 100, `after a healthy period the delay restarts at the base, got ${last}`);
    assert.deepEqual(
      fs.sockets.slice(0, 6).map((_, i) => i + 1),
      [1, 2, 3, 4, 5, 6],
    );
    assert.equal(conn.epoch, 6);
    conn.close();
  });

  test('a feed silent for staleAfterMs is replaced by a new socket, while frames keep it alive', () => {
    const { clock, fs, statuses, conn } = setup({ staleAfterMs: 10_000, wsPingIntervalMs: 1e8 });
    conn.start();
    fs.sockets[0]?.open();
    for (let i = 0; i < 5; i++) {
      clock.advance(6_000);
      fs.sockets[0]?.message('data');
    }
    assert.equal(fs.sockets.length, 1, 'frames every 6 s keep the socket');
    clock.advance(10_001);
    assert.ok(statuses.some((s) => s.state === 'stale' && /no data/.test(s.reason)));
    assert.equal(fs.sockets[0]?.terminated, true);
    clock.advance(1);
    assert.equal(fs.sockets.length, 2, 'a new socket is opening');
    conn.close();
  });

  test('app pongs do not count as data: a heartbeat-only feed is replaced after the stale timeout', () => {
    const { clock, fs, conn } = setup({
      staleAfterMs: 30_000,
      appPing: { intervalMs: 5_000, frame: 'ping', isPong: (f) => f === 'pong' },
    });
    conn.start();
    const s = fs.sockets[0];
    s?.open();
    for (let t = 0; t < 29; t++) {
      clock.advance(1_000);
      if (s?.sent.at(-1) === 'ping') s.message('pong');
    }
    assert.ok((s?.sent.filter((x) => x === 'ping').length ?? 0) >= 4, 'pings were sent while idle');
    assert.equal(s?.terminated, false);
    clock.advance(2_000);
    assert.equal(s?.terminated, true);
    conn.close();
  });

  test('an unanswered ping replaces the socket after the pong timeout', () => {
    const { clock, fs, statuses, conn } = setup({ wsPingIntervalMs: 5_000, pongTimeoutMs: 2_000, staleAfterMs: 1e9 });
    conn.start();
    fs.sockets[0]?.open();
    clock.advance(5_000);
    assert.equal(fs.sockets[0]?.pings, 1);
    fs.sockets[0]?.pong();
    clock.advance(5_000);
    assert.equal(fs.sockets[0]?.pings, 2);
    clock.advance(2_000);
    assert.equal(fs.sockets[0]?.terminated, true);
    assert.ok(statuses.some((s) => s.state === 'stale' && /no pong/.test(s.reason)));
    conn.close();
  });

  test('rotates before the maximum connection age: the new socket opens first, then the old one goes', () => {
    const { clock, fs, records, statuses, conn } = setup({
      maxConnectionMs: 100_000,
      rotateMarginMs: 10_000,
      staleAfterMs: 1e9,
      wsPingIntervalMs: 1e8,
    });
    conn.start();
    fs.sockets[0]?.open();
    clock.advance(89_999);
    assert.equal(fs.sockets.length, 1);
    clock.advance(1);
    assert.equal(fs.sockets.length, 2);
    assert.ok(
      statuses.some((s) => s.state === 'rotating'),
      'a gap marker status is emitted',
    );
    assert.equal(fs.sockets[0]?.terminated, false, 'the old socket serves until the new one is open');
    fs.sockets[0]?.message('old');
    fs.sockets[1]?.open();
    assert.equal(fs.sockets[0]?.terminated, true);
    assert.equal(conn.liveSockets, 1);
    assert.deepEqual(fs.sockets[1]?.sent, ['SUB A'], 'subscriptions restored once');
    assert.deepEqual(
      records.map((r) => `${r.t}:${r.epoch}`),
      ['connect:1', 'send:1', 'recv:1', 'disconnect:1', 'connect:2', 'send:2'],
    );
    conn.close();
  });

  test('make-before-break: the replacement subscribes beside the old socket, reports through onCandidateRecord, and takes over only at promote()', () => {
    const candidate: RawRecord[] = [];
    const { clock, fs, records, statuses, conn } = setup({
      maxConnectionMs: 100_000,
      rotateMarginMs: 10_000,
      staleAfterMs: 1e9,
      wsPingIntervalMs: 1e8,
      onCandidateRecord: (r) => candidate.push(r),
    });
    conn.start();
    fs.sockets[0]?.open();
    clock.advance(90_000);
    fs.sockets[1]?.open();
    assert.equal(fs.sockets[0]?.terminated, false, 'the old socket still serves');
    assert.equal(conn.liveSockets, 2);
    assert.equal(conn.candidateEpoch, 2);
    assert.deepEqual(fs.sockets[1]?.sent, ['SUB A'], 'the replacement subscribes at once');
    fs.sockets[0]?.message('old');
    fs.sockets[1]?.message('new');
    conn.send('resync');
    assert.deepEqual(fs.sockets[0]?.sent, ['SUB A', 'resync'], 'sends go to the serving socket');
    assert.deepEqual(
      candidate.map((r) => `${r.t}:${r.epoch}`),
      ['connect:2', 'send:2', 'recv:2'],
    );
    conn.promote();
    assert.equal(fs.sockets[0]?.terminated, true);
    assert.equal(conn.liveSockets, 1);
    assert.equal(conn.epoch, 2);
    assert.equal(conn.rotations, 1);
    fs.sockets[1]?.message('after');
    assert.deepEqual(
      records.map((r) => `${r.t}:${r.epoch}`),
      ['connect:1', 'send:1', 'recv:1', 'send:1', 'disconnect:1', 'recv:2'],
      'the serving stream never interleaves two sockets',
    );
    assert.ok(statuses.some((s) => s.state === 'connected' && s.reason === 'rotated'));
    conn.close();
    assert.equal(conn.pendingTimers, 0);
  });

  test('make-before-break: a replacement that dies before promotion is discarded and the rotation is tried again', () => {
    const candidate: RawRecord[] = [];
    const { clock, fs, conn } = setup({
      maxConnectionMs: 100_000,
      rotateMarginMs: 10_000,
      staleAfterMs: 1e9,
      wsPingIntervalMs: 1e8,
      backoff: { baseMs: 100, maxMs: 100 },
      onCandidateRecord: (r) => candidate.push(r),
    });
    conn.start();
    fs.sockets[0]?.open();
    clock.advance(90_000);
    fs.sockets[1]?.open();
    fs.sockets[1]?.drop(1006);
    assert.equal(candidate.at(-1)?.t, 'disconnect');
    assert.equal(conn.liveSockets, 1);
    assert.equal(fs.sockets[0]?.terminated, false);
    clock.advance(100);
    assert.equal(fs.sockets.length, 3, 'a new replacement is opened');
    conn.close();
  });

  test('make-before-break: when the old socket dies first, the open replacement takes over at once', () => {
    const { clock, fs, statuses, conn } = setup({
      maxConnectionMs: 100_000,
      rotateMarginMs: 10_000,
      staleAfterMs: 1e9,
      wsPingIntervalMs: 1e8,
      onCandidateRecord: () => {},
    });
    conn.start();
    fs.sockets[0]?.open();
    clock.advance(90_000);
    fs.sockets[1]?.open();
    fs.sockets[0]?.drop(1006);
    assert.equal(conn.liveSockets, 1);
    assert.equal(conn.epoch, 2);
    assert.equal(fs.sockets.length, 2, 'no extra reconnect');
    assert.ok(statuses.some((s) => s.state === 'connected' && s.reason === 'rotated'));
    conn.close();
  });

  test('the send queue is bounded: a full queue throws QOB_ERR_QUEUE_FULL, queued frames follow the plan frames', () => {
    const { fs, conn } = setup({ maxQueued: 2 });
    conn.start();
    conn.send('q1');
    conn.send('q2');
    assert.throws(
      () => conn.send('q3'),
      (e: unknown) => isQobError(e, 'QOB_ERR_QUEUE_FULL'),
    );
    fs.sockets[0]?.open();
    assert.deepEqual(fs.sockets[0]?.sent, ['SUB A', 'q1', 'q2']);
    assert.equal(conn.queued, 0);
    conn.close();
  });

  test('close is idempotent, honours the AbortSignal and leaves no timer and no socket', () => {
    const ac = new AbortController();
    const { clock, fs, conn, records } = setup({ signal: ac.signal, maxConnectionMs: 1e6 });
    conn.start();
    fs.sockets[0]?.open();
    assert.ok(clock.pending > 0);
    ac.abort();
    conn.close();
    conn.close();
    assert.equal(clock.pending, 0);
    assert.equal(conn.liveSockets, 0);
    assert.equal(fs.sockets[0]?.terminated, true);
    assert.equal(records.filter((r) => r.t === 'disconnect').length, 1);
    assert.throws(
      () => conn.send('x'),
      (e: unknown) => isQobError(e, 'QOB_ERR_CLOSED'),
    );
  });

  test('ten drops in a row leave exactly one live socket, subscribed once, and no stray timers', () => {
    const { clock, fs, conn } = setup({ backoff: { baseMs: 10, maxMs: 200 }, staleAfterMs: 1e9 });
    conn.start();
    for (let i = 0; i < 10; i++) {
      const s = fs.sockets.at(-1);
      s?.open();
      s?.drop(1006);
      clock.advance(250);
    }
    fs.sockets.at(-1)?.open();
    assert.equal(fs.live().length, 1);
    assert.equal(conn.liveSockets, 1);
    assert.deepEqual(fs.live()[0]?.sent, ['SUB A']);
    // stale check, ping and healthy timers of the one live socket
    assert.equal(conn.pendingTimers, 3);
    conn.close();
    assert.equal(clock.pending, 0);
  });

  test('an unreachable network says so in the status and keeps retrying', () => {
    const { clock, fs, statuses, conn } = setup({ backoff: { baseMs: 100, maxMs: 1_000 } });
    conn.start();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 4; i++) {
      fs.sockets.at(-1)?.drop(1006, refused);
      clock.advance(1_000);
    }
    const down = statuses.filter((s) => s.state === 'disconnected');
    assert.equal(down.length >= 4, true);
    assert.ok(down.every((s) => s.unreachable === true && /network unreachable \(ECONNREFUSED\)/.test(s.reason)));
    assert.equal(fs.sockets.length, 5, 'still retrying');
    conn.close();
  });
});
