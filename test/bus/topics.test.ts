import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUS_TOPICS, decodeMessage, encodeMessage, groupByKey, keyOf, topicOf } from '../../src/bus/topics.ts';
import { isQobError } from '../../src/core/errors.ts';
import { type BookDeltaEvent, encodeEvent } from '../../src/domain/events.ts';
import { delta, st } from './helpers.ts';

const DELTA = BUS_TOPICS['book.delta'];

describe('bus topics and message encoding', () => {
  it('names one versioned topic per event type and keys messages by venue|symbol', () => {
    assert.deepEqual(BUS_TOPICS, {
      'book.delta': 'qob.book.delta.v1',
      'book.snapshot': 'qob.book.snapshot.v1',
      trade: 'qob.trade.v1',
      status: 'qob.status.v1',
    });
    assert.equal(topicOf(delta('BTC-USDT', 1)), 'qob.book.delta.v1');
    assert.equal(keyOf(delta('BTC-USDT', 1)), 'binance|BTC-USDT');
    assert.equal(keyOf(st(1, null)), 'okx|*');
  });

  it('round-trips a batch of events through one envelope, equal to the originals', () => {
    const events = [delta('BTC-USDT', 1), delta('BTC-USDT', 2)];
    const text = encodeMessage(events);
    assert.ok(text.startsWith('{"v":1,"events":['));
    const { events: back, errors } = decodeMessage(Buffer.from(text), DELTA, 'binance|BTC-USDT');
    assert.deepEqual(errors, []);
    assert.deepEqual(back, events);
    assert.ok(Object.isFrozen(back[0]));
  });

  it('rejects garbage bytes, a non-envelope and an unknown envelope version as QOB_ERR_MALFORMED_MESSAGE', () => {
    for (const bad of [Buffer.from([0xff, 0x00, 0x13]), '[]', '{"v":2,"events":[]}', '{"v":1}', '']) {
      assert.throws(
        () => decodeMessage(bad, DELTA),
        (e) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
      );
    }
  });

  it('keeps the valid events of an envelope and reports each bad one (bad field, wrong topic, wrong key)', () => {
    const good = delta('BTC-USDT', 1);
    const badId = encodeEvent(good).replace('"id":"', '"id":"x');
    const otherKey = encodeEvent(delta('ETH-USDT', 2));
    const wrongTopic = encodeEvent(st(1));
    const text = `{"v":1,"events":[${encodeEvent(good)},${badId},${otherKey},${wrongTopic},{"__proto__":1}]}`;
    const { events, errors } = decodeMessage(text, DELTA, 'binance|BTC-USDT');
    assert.deepEqual(events, [good]);
    assert.equal(errors.length, 4);
    assert.deepEqual(
      errors.map((e) => e.context.index),
      [1, 2, 3, 4],
    );
  });

  it('groups events into per-key runs of bounded size, keeping each key in order', () => {
    const es = [1, 2, 3, 4, 5].flatMap((i) => [delta('BTC-USDT', i), delta('ETH-USDT', i)]);
    const runs = groupByKey(es, 2);
    assert.ok(runs.every((r) => r.events.length <= 2 && r.events.every((e) => keyOf(e) === r.key)));
    const btc = runs
      .filter((r) => r.key === 'binance|BTC-USDT')
      .flatMap((r) => r.events.map((e) => (e as BookDeltaEvent).lastSeq));
    assert.deepEqual(btc, [1, 2, 3, 4, 5]);
  });
});
