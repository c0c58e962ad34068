/**
 * The compact message encoding (version 2) the Kafka bus writes: docs/EVENTS.md, "Message encoding".
 * Pure functions, no broker needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUS_TOPICS, decodeMessage, encodeCompact, encodeMessage, keyOf } from '../../src/bus/topics.ts';
import { isQobError } from '../../src/core/errors.ts';
import { bookDelta, bookSnapshot, type MarketEvent, status, trade } from '../../src/domain/events.ts';
import { delta, st } from './helpers.ts';

const DELTA = BUS_TOPICS['book.delta'];

function roundTrip(events: MarketEvent[]): MarketEvent[] {
  const first = events[0] as MarketEvent;
  const { events: back, errors } = decodeMessage(
    Buffer.from(encodeCompact(events)),
    BUS_TOPICS[first.type],
    keyOf(first),
  );
  assert.deepEqual(errors, []);
  return back;
}

describe('compact message encoding (v2)', () => {
  it('decodes every event type back to the value its constructor built: same fields, same id, frozen', () => {
    const base = { venue: 'okx', symbol: 'BTC-USDT', tsEventMs: 1_700_000_000_000.5, tsRecvMs: 1_700_000_000_002 };
    const cases: MarketEvent[][] = [
      [
        delta('BTC-USDT', 1),
        delta('BTC-USDT', 2),
        bookDelta({ ...base, venue: 'binance', tsEventMs: null, changes: [] }),
      ],
      [
        bookSnapshot({ ...base, seq: 42, bids: [['100.5', '1']], asks: [['101', '0.25']] }),
        bookSnapshot({ ...base, recvSeq: 3, seq: null, bids: [], asks: [] }),
      ],
      [
        trade({ ...base, price: '100.1', size: '0.001', aggressor: 'buy', tradeId: 'abc"\\é' }),
        trade({ ...base, recvSeq: 7, price: '100', size: '2', aggressor: 'unknown', tradeId: null }),
      ],
      [st(1, null), st(2, null)],
      [status({ ...base, status: 'stale', reason: 'line\nbreak and "quotes"' })],
    ];
    for (const events of cases) {
      const back = roundTrip(events);
      assert.deepEqual(back, events);
      for (const e of back) {
        assert.ok(Object.isFrozen(e), `${e.type} is frozen`);
        if (e.type === 'book.delta')
          assert.ok(e.changes.every((c) => Object.isFrozen(c)) && Object.isFrozen(e.changes));
      }
    }
  });

  it('is several times smaller than the JSON envelope for book deltas', () => {
    const events = Array.from({ length: 64 }, (_, i) => delta('ETH-USDT', i + 1));
    assert.ok(encodeCompact(events).length * 2 < encodeMessage(events).length);
  });

  it('still reads the JSON envelope (v1) on the same topic', () => {
    const events = [delta('BTC-USDT', 5), delta('BTC-USDT', 6)];
    const { events: back, errors } = decodeMessage(Buffer.from(encodeMessage(events)), DELTA, 'binance|BTC-USDT');
    assert.deepEqual(errors, []);
    assert.deepEqual(back, events);
  });

  it('reports a bad event alone with its typed error and index, and delivers the others', () => {
    const a = JSON.parse(encodeCompact([delta('BTC-USDT', 1), delta('BTC-USDT', 2), delta('BTC-USDT', 3)]));
    // Second event: [tsEventMs, tsRecvMs, recvSeq, firstSeq, lastSeq, prevSeq, n, side, price, size], from 15.
    const price = a.indexOf('60002.5');
    assert.ok(price > 0);
    a[price] = '-1';
    const { events, errors } = decodeMessage(JSON.stringify(a), DELTA, 'binance|BTC-USDT');
    assert.deepEqual(
      events.map((e) => e.id),
      [delta('BTC-USDT', 1).id, delta('BTC-USDT', 3).id],
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.context.index, 1);
    assert.ok(errors[0]?.code.startsWith('QOB_ERR_'));
  });

  it('canonicalizes or rejects what the fast path does not accept, exactly as the constructor does', () => {
    const a = JSON.parse(encodeCompact([delta('BTC-USDT', 1)]));
    a[a.indexOf('60001.5')] = '60001.50';
    a[a.indexOf('2.25')] = 'abc';
    const { events, errors } = decodeMessage(JSON.stringify(a), DELTA, 'binance|BTC-USDT');
    assert.equal(events.length, 0);
    assert.equal(errors[0]?.code, 'QOB_ERR_INVALID_DECIMAL');
    const b = JSON.parse(encodeCompact([delta('BTC-USDT', 1)]));
    b[b.indexOf('60001.5')] = '60001.50';
    assert.equal(
      (decodeMessage(JSON.stringify(b), DELTA).events[0] as unknown as { changes: { price: string }[] }).changes[0]
        ?.price,
      '60001.5',
    );
  });

  it('stops at a framing error, keeping the events before it', () => {
    const a = JSON.parse(encodeCompact([delta('BTC-USDT', 1), delta('BTC-USDT', 2)]));
    a[4] = 3; // claims three events
    const { events, errors } = decodeMessage(JSON.stringify(a), DELTA);
    assert.equal(events.length, 2);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'QOB_ERR_MALFORMED_MESSAGE');
    const cut = JSON.parse(encodeCompact([delta('BTC-USDT', 1), delta('BTC-USDT', 2)])).slice(0, 20);
    const r = decodeMessage(JSON.stringify(cut), DELTA);
    assert.equal(r.events.length, 1);
    assert.equal(r.errors[0]?.code, 'QOB_ERR_MALFORMED_MESSAGE');
  });

  it('rejects a whole message of an unknown version, another topic or another key', () => {
    const ok = JSON.parse(encodeCompact([delta('BTC-USDT', 1)]));
    const bad = [
      { value: JSON.stringify([3, ...ok.slice(1)]), key: undefined, topic: DELTA },
      { value: JSON.stringify(ok), key: 'binance|ETH-USDT', topic: DELTA },
      { value: JSON.stringify(ok), key: undefined, topic: BUS_TOPICS.trade },
      { value: '[2, "book.delta"', key: undefined, topic: DELTA },
      { value: '[2, "book.delta", "binance", "BTC-USDT", -1]', key: undefined, topic: DELTA },
    ];
    for (const b of bad) {
      assert.throws(
        () => decodeMessage(b.value, b.topic, b.key),
        (e: unknown) => isQobError(e) && e.code === 'QOB_ERR_MALFORMED_MESSAGE',
        b.value.slice(0, 40),
      );
    }
  });

  it('refuses to pack events of different keys into one message', () => {
    assert.throws(
      () => encodeCompact([delta('BTC-USDT', 1), delta('ETH-USDT', 2)]),
      (e: unknown) => isQobError(e) && e.code === 'QOB_ERR_INVALID_ARGUMENT',
    );
  });
});
