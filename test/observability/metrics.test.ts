import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { createMetrics, METRIC_NAMES } from '../../src/observability/metrics.ts';

describe('metrics', () => {
  it('the registry text declares every core metric', async () => {
    const m = createMetrics();
    const text = await m.registry.metrics();
    for (const name of METRIC_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    for (const name of [
      'book_updates',
      'checksum_failures',
      'gaps',
      'resyncs',
      'frames_malformed',
      'replay_messages',
    ]) {
      assert.match(text, new RegExp(`qob_\\w*${name}`), name);
    }
    m.close();
  });

  it('counts per venue and symbol', async () => {
    const m = createMetrics();
    m.bookUpdates.inc({ venue: 'kraken', symbol: 'BTC-USD' }, 3);
    m.checksumFailures.inc({ venue: 'kraken', symbol: 'BTC-USD' });
    const text = await m.registry.metrics();
    assert.match(text, /qob_book_updates_total\{venue="kraken",symbol="BTC-USD"\} 3/);
    assert.match(text, /qob_book_checksum_failures_total\{venue="kraken",symbol="BTC-USD"\} 1/);
    m.close();
  });

  it('uses its own registry: two instances do not share counters and the global registry stays empty', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.gaps.inc({ venue: 'okx', symbol: 'BTC-USDT' });
    assert.doesNotMatch(await b.registry.metrics(), /qob_book_gaps_total\{/);
    assert.doesNotMatch(await globalRegistry.metrics(), /qob_/);
    a.close();
    a.close();
    b.close();
  });

  it('adds process metrics only when asked', async () => {
    const m = createMetrics({ processMetrics: true });
    assert.match(await m.registry.metrics(), /qob_process_cpu_user_seconds_total/);
    m.close();
  });
});
