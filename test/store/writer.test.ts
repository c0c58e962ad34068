import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/ingest/clock.ts';
import { BatchWriter } from '../../src/store/writer.ts';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BatchWriter', () => {
  test('a full queue refuses and counts overflow without throwing, and keeps what it accepted', async () => {
    const gate = deferred();
    const written: number[] = [];
    const w = new BatchWriter<number>(
      async (b) => {
        await gate.promise;
        written.push(...b);
      },
      { maxQueued: 5, batchSize: 100, flushIntervalMs: 0 },
    );
    const accepted = Array.from({ length: 8 }, (_, i) => w.append(i));
    assert.deepEqual(accepted, [true, true, true, true, true, false, false, false]);
    assert.equal(w.stats().overflow, 3);
    const f = w.flush();
    assert.equal(w.append(99), false, 'in-flight items still count against the bound');
    gate.resolve();
    await f;
    assert.deepEqual(written, [0, 1, 2, 3, 4]);
    assert.equal(w.stats().acked, 5);
    assert.equal(w.stats().overflow, 4);
    await w.close();
  });

  test('a failed batch goes back to the head of the queue and is written by the next flush, in order', async () => {
    let fail = true;
    const written: number[] = [];
    const w = new BatchWriter<number>(
      async (b) => {
        if (fail) throw new Error('engine down');
        written.push(...b);
      },
      { batchSize: 2, flushIntervalMs: 0 },
    );
    w.append(1);
    await assert.rejects(w.flush(), /engine down/);
    w.append(2);
    w.append(3);
    assert.equal(w.stats().queued, 3);
    assert.equal(w.stats().flushErrors, 1);
    fail = false;
    await w.flush();
    assert.deepEqual(written, [1, 2, 3]);
    assert.equal(w.stats().acked, 3);
    await w.close();
  });

  test('the injected clock flushes what waits every interval, and close() flushes once and stops the timer', async () => {
    const clock = new ManualClock();
    const written: number[] = [];
    const w = new BatchWriter<number>(
      async (b) => {
        written.push(...b);
      },
      { batchSize: 1000, flushIntervalMs: 100, clock },
    );
    w.append(1);
    await clock.advanceAsync(99);
    assert.deepEqual(written, []);
    await clock.advanceAsync(1);
    assert.deepEqual(written, [1]);
    w.append(2);
    const c1 = w.close();
    const c2 = w.close();
    assert.equal(c1, c2);
    await c1;
    assert.deepEqual(written, [1, 2]);
    assert.equal(clock.pending, 0);
    assert.equal(w.append(3), false);
    assert.equal(w.stats().refusedClosed, 1);
  });

  test('reaching batchSize starts a flush without waiting for the timer', async () => {
    const written: number[] = [];
    const w = new BatchWriter<number>(
      async (b) => {
        written.push(...b);
      },
      { batchSize: 3, flushIntervalMs: 0 },
    );
    w.append(1);
    w.append(2);
    assert.deepEqual(written, []);
    w.append(3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(written, [1, 2, 3]);
    await w.close();
  });

  test('with pipeline 2 the next batch is handed over before the first commits; failed batches go back in order and the rest are acknowledged', async () => {
    const calls: { batch: number[]; gate: ReturnType<typeof deferred> }[] = [];
    const failed = deferred();
    const w = new BatchWriter<number>(
      (b) => {
        const gate = deferred();
        calls.push({ batch: [...b], gate });
        return gate.promise;
      },
      { batchSize: 2, flushIntervalMs: 0, pipeline: 2, onError: () => failed.resolve() },
    );
    // Reaching batchSize starts the flush.
    for (let i = 1; i <= 7; i++) w.append(i);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      calls.map((c) => c.batch),
      [
        [1, 2],
        [3, 4],
      ],
      'two batches in flight, no more',
    );
    assert.equal(w.stats().inFlight, 4);
    calls[1]?.gate.resolve();
    calls[0]?.gate.reject(new Error('engine down'));
    await failed.promise;
    // [3, 4] committed; [1, 2] is handed back ahead of what was never sent.
    assert.equal(w.stats().acked, 2);
    assert.equal(w.stats().queued, 5);
    assert.equal(w.stats().inFlight, 0);
    assert.equal(calls.length, 2, 'nothing more is sent after a failure until the next flush');
    const g = w.flush();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      calls.slice(2).map((c) => c.batch),
      [
        [1, 2],
        [5, 6],
      ],
    );
    calls[2]?.gate.resolve();
    calls[3]?.gate.resolve();
    while (calls.length < 5) await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls[4]?.batch, [7]);
    calls[4]?.gate.resolve();
    await g;
    assert.equal(w.stats().acked, 7);
    await w.close();
  });
});
