/**
 * KafkaBus across a broker restart, on a single-node Kafka of its own (scripts/stack.sh kafka-up in a
 * temporary QOB_STACK_DIR, ports 27092/27093), never the shared one. Reuses the jars of the main stack
 * (.stack/kafka-libs, or QOB_STACK_KAFKA_LIBS); skips with a message when Java or the jars are absent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Deduplicator } from '../../src/bus/bus.ts';
import { KafkaBus } from '../../src/bus/kafka.ts';
import { BUS_TOPICS } from '../../src/bus/topics.ts';
import type { BookDeltaEvent } from '../../src/domain/events.ts';
import { ownKafka, ownKafkaSkipReason } from '../support/own-kafka.ts';
import { delta, perKeyOrdered, until } from './helpers.ts';

const PORT = 27092;
const DELTA = BUS_TOPICS['book.delta'];
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT', 'DOGE-USDT'];

const SKIP = ownKafkaSkipReason();

describe('KafkaBus across a broker restart (own single-node Kafka)', () => {
  const kafka = ownKafka(PORT, 'qob-kafka-restart-');

  before(async () => {
    if (SKIP) return;
    await kafka.up();
  });
  after(() => kafka.dispose());

  it('delivers every event exactly once (after dedup) and in per-key order while the broker restarts mid-stream', {
    skip: SKIP,
  }, async () => {
    const bus = await KafkaBus.connect({
      brokers: [kafka.broker],
      topicPrefix: 'restart.',
      partitions: 3,
      eventsPerMessage: 8,
      timeoutMs: 5000,
      deliveryTimeoutMs: 150_000,
    });
    try {
      const N = 6000;
      const sent = Array.from({ length: N }, (_, i) => delta(SYMBOLS[i % SYMBOLS.length] as string, i + 1));
      const got: BookDeltaEvent[] = [];
      const sub = await bus.subscribe(DELTA, 'restart.consumer', (es) => void got.push(...(es as BookDeltaEvent[])), {
        dedup: new Deduplicator(),
        retryDelayMs: 200,
      });

      // The publisher never stops: batches go out one after another (a publish waits out the restart).
      let published = 0;
      const publisher = (async () => {
        for (let i = 0; i < N; i += 100) {
          await bus.publish(DELTA, sent.slice(i, i + 100));
          published = i + 100;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await until(() => published >= N / 3 && got.length > 0, 60_000, 'a third of the stream before the restart');
      await kafka.down();
      const duringOutage = published;
      await kafka.up();
      await publisher;
      await until(() => got.length >= N, 120_000, 'every event after the restart');
      await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive
      await sub.close();

      assert.ok(duringOutage < N, 'the broker went down while the stream was still being published');
      assert.equal(got.length, N, 'each event handed over exactly once');
      assert.deepEqual(new Set(got.map((e) => e.id)), new Set(sent.map((e) => e.id)));
      assert.ok(perKeyOrdered(got), 'per-key order holds across the restart');
      assert.equal(sub.stats().malformed, 0);
    } finally {
      await bus.close();
    }
  });
});
