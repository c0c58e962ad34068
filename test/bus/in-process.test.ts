import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deduplicator } from '../../src/bus/bus.ts';
import { InProcessBus } from '../../src/bus/in-process.ts';
import { BUS_TOPICS } from '../../src/bus/topics.ts';
import { isQobError, type QobError } from '../../src/core/errors.ts';
import type { BookDeltaEvent, MarketEvent, StatusEvent } from '../../src/domain/events.ts';
import { delta, gate, perKeyOrdered, st, until } from './helpers.ts';

const DELTA = BUS_TOPICS['book.delta'];
const STATUS = BUS_TOPICS.status;
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT'];

function deltas(n: number): BookDeltaEvent[] {
  return Array.from({ length: n }, (_, i) => delta(SYMBOLS[i % SYMBOLS.length] as string, i + 1));
}

describe('InProcessBus', () => {
  it('delivers every event to every group, each key to one member of a group, in per-key order', async () => {
    const bus = new InProcessBus();
    const a1: MarketEvent[] = [];
    const a2: MarketEvent[] = [];
    const b: MarketEvent[] = [];
    await bus.subscribe(DELTA, 'a', (es) => void a1.push(...es));
    await bus.subscribe(DELTA, 'a', (es) => void a2.push(...es));
    await bus.subscribe([DELTA], 'b', (es) => void b.push(...es));
    const sent = deltas(400);
    await bus.publish(DELTA, sent.slice(0, 150));
    await bus.publish(DELTA, sent.slice(150));
    await until(() => a1.length + a2.length === 400 && b.length === 400);
    assert.deepEqual(
      b.map((e) => e.id),
      sent.map((e) => e.id),
    );
    const keys1 = new Set(a1.map((e) => e.symbol));
    for (const e of a2) assert.ok(!keys1.has(e.symbol), `${e.symbol} went to both members of group a`);
    assert.ok(perKeyOrdered(a1 as BookDeltaEvent[]) && perKeyOrdered(a2 as BookDeltaEvent[]));
    await bus.close();
  });

  it('refuses an unknown topic, an event on the wrong topic and a bad group with QOB_ERR_INVALID_ARGUMENT', async () => {
    const bus = new InProcessBus();
    await assert.rejects(bus.publish('nope' as typeof DELTA, []), (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'));
    await assert.rejects(bus.publish(STATUS, [delta('BTC-USDT', 1)]), (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'));
    await assert.rejects(
      bus.subscribe(DELTA, 'bad group!', () => {}),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
    await bus.close();
  });

  it('drops the oldest market data for a slow subscriber, counts it, and still delivers the newest', async () => {
    const bus = new InProcessBus({ capacity: 10 });
    const g = gate();
    const got: MarketEvent[] = [];
    const errors: QobError[] = [];
    const sub = await bus.subscribe(
      DELTA,
      'slow',
      async (es) => {
        await g.promise;
        got.push(...es);
      },
      { maxBatch: 5, onError: (e) => errors.push(e) },
    );
    const sent = deltas(100);
    await bus.publish(DELTA, sent.slice(0, 1));
    await new Promise((r) => setImmediate(r)); // the first event is now in the blocked handler
    for (let i = 1; i < 100; i++) await bus.publish(DELTA, [sent[i] as MarketEvent]); // never waits
    g.open();
    await until(() => got.length === 11);
    assert.equal(sub.stats().dropped, 89);
    assert.equal(errors.length, 89);
    assert.ok(errors.every((e) => e.code === 'QOB_ERR_QUEUE_FULL'));
    assert.equal(got.at(-1)?.id, sent[99]?.id, 'the newest event is delivered');
    assert.deepEqual(
      got.slice(1).map((e) => e.id),
      sent.slice(90).map((e) => e.id),
    );
    await bus.close();
  });

  it('never drops status events: publish waits for a slow subscriber (back-pressure) and all arrive in order', async () => {
    const bus = new InProcessBus({ capacity: 2 });
    const g = gate();
    const got: StatusEvent[] = [];
    const sub = await bus.subscribe(
      STATUS,
      'ops',
      async (es) => {
        await g.promise;
        got.push(...(es as StatusEvent[]));
      },
      { maxBatch: 1 },
    );
    const sent = Array.from({ length: 10 }, (_, i) => st(i));
    let done = false;
    const p = bus.publish(STATUS, sent).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'publish must wait while the subscriber queue is full');
    g.open();
    await p;
    await until(() => got.length === 10);
    assert.deepEqual(
      got.map((e) => e.id),
      sent.map((e) => e.id),
    );
    assert.equal(sub.stats().dropped, 0);
    await bus.close();
  });

  it('redelivers a batch whose handler failed, and counts the failure', async () => {
    const bus = new InProcessBus();
    let calls = 0;
    const got: MarketEvent[] = [];
    const errors: QobError[] = [];
    const sub = await bus.subscribe(
      DELTA,
      'g',
      (es) => {
        calls++;
        if (calls === 1) throw new Error('boom');
        got.push(...es);
      },
      { retryDelayMs: 1, onError: (e) => errors.push(e) },
    );
    await bus.publish(DELTA, deltas(3));
    await until(() => got.length === 3);
    assert.equal(sub.stats().handlerErrors, 1);
    assert.equal(sub.stats().delivered, 3);
    assert.equal(errors[0]?.code, 'QOB_ERR_INTERNAL');
    await bus.close();
  });

  it('hands a redelivered event (same id) to the handler only once when a deduplicator is given', async () => {
    const bus = new InProcessBus();
    const dedup = new Deduplicator(1000);
    const got: MarketEvent[] = [];
    const sub = await bus.subscribe(DELTA, 'g', (es) => void got.push(...es), { dedup });
    const sent = deltas(10);
    await bus.publish(DELTA, sent);
    await bus.publish(DELTA, [...sent.slice(5), ...sent.slice(5)]);
    await bus.publish(DELTA, [delta('BTC-USDT', 1000)]);
    await until(() => sub.stats().delivered === 11);
    assert.equal(got.length, 11);
    assert.equal(sub.stats().duplicates, 10);
    assert.equal(new Set(got.map((e) => e.id)).size, 11);
    await bus.close();
  });

  it('stops delivering after close or abort; close is idempotent; publishing to a closed bus is QOB_ERR_CLOSED', async () => {
    const ac = new AbortController();
    const bus = new InProcessBus({ signal: ac.signal });
    const got: MarketEvent[] = [];
    const sub = await bus.subscribe(DELTA, 'g', (es) => void got.push(...es));
    const sub2ac = new AbortController();
    const got2: MarketEvent[] = [];
    await bus.subscribe(DELTA, 'h', (es) => void got2.push(...es), { signal: sub2ac.signal });
    sub2ac.abort();
    await sub.close();
    await sub.close();
    await bus.publish(DELTA, deltas(3));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length + got2.length, 0);
    ac.abort();
    await bus.close();
    await assert.rejects(bus.publish(DELTA, deltas(1)), (e) => isQobError(e, 'QOB_ERR_CLOSED'));
  });
});

describe('Deduplicator', () => {
  it('forgets the oldest id once more than `window` distinct ids were seen', () => {
    const d = new Deduplicator(3);
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(d.add(id), true);
    assert.equal(d.size, 3);
    assert.equal(d.has('a'), false);
    assert.equal(d.add('b'), false);
    assert.throws(
      () => new Deduplicator(0),
      (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
  });

  it('filters duplicates inside one batch without remembering them until commit', () => {
    const d = new Deduplicator();
    const e = delta('BTC-USDT', 1);
    assert.equal(d.fresh([e, e]).length, 1);
    assert.equal(d.has(e.id), false);
    d.commit([e]);
    assert.equal(d.fresh([e]).length, 0);
    assert.equal(d.duplicates, 2);
  });
});
