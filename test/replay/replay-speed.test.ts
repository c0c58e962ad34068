/**
 * Replays of both formats (cryptofeed captures and our recordings) with speed control: a recording of a
 * real capture rebuilds the capture's books, and the speed changes waits, never output.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import { readCapture } from '../../src/replay/capture.ts';
import { Pacer, type ReplayClock, type ReplaySpeed } from '../../src/replay/pacing.ts';
import { Recorder } from '../../src/replay/recording.ts';
import { replayRecording, runReplay } from '../../src/replay/replay.ts';
import { venueByCaptureName } from '../../src/venues/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const fixtures = resolve(repoRoot, '../shared/fixtures');
const KRAKEN = join(fixtures, 'kraken/cryptofeed_KRAKEN.books.jsonl');
const BINANCE = join(fixtures, 'binance/cryptofeed_BINANCE.books.jsonl');

/** A clock whose sleeps return at once and move time forward; it remembers every wait. */
function fakeClock(): ReplayClock & { waits: number[] } {
  let now = 1000;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
}

function tmp(): string {
  return tempDir('qob-replay-speed-');
}

/** Writes a cryptofeed capture into our format (what `qob record` would have written live). */
async function convert(capture: string, recorder: Recorder): Promise<number> {
  let venue: string | undefined;
  let n = 0;
  for await (const c of readCapture(capture)) {
    if (c.t === 'header') {
      venue = venueByCaptureName(c.exchange)?.id;
      continue;
    }
    assert.ok(venue !== undefined, `${capture} names a known venue in its header`);
    let r: RawRecord;
    if (c.t === 'http')
      r = { t: 'http', venue, conn: c.conn || `${venue}.http`, tsMs: c.tsMs, url: c.url, data: c.data };
    else if (c.t === 'connect') r = { t: 'connect', venue, conn: c.conn, tsMs: c.tsMs, url: c.addr };
    else r = { t: c.t, venue, conn: c.conn, tsMs: c.tsMs, data: c.data };
    await recorder.append(r);
    n++;
  }
  return n;
}

describe('replaying our recordings of real captures', () => {
  it('a multi-venue recording of the Kraken and Binance captures, rotated into many files, rebuilds exactly the books of the cryptofeed replays', async (t) => {
    if (!existsSync(KRAKEN) || !existsSync(BINANCE)) return t.skip('../shared/fixtures absent');
    const dir = tmp();
    const recorder = new Recorder({ dir, rotateBytes: 16 * 1024, flushIntervalMs: 0, maxQueueBytes: 64 * 1024 });
    const n = (await convert(KRAKEN, recorder)) + (await convert(BINANCE, recorder));
    await recorder.close();
    assert.equal(recorder.stats().dropped, 0);
    assert.equal(recorder.stats().written, n);
    assert.ok(recorder.stats().files > 4, 'rotated');

    const [kraken, binance, ours] = await Promise.all([runReplay(KRAKEN), runReplay(BINANCE), replayRecording(dir)]);
    assert.equal(ours.format, 'qob');
    assert.equal(ours.records, n);
    assert.equal(ours.files, recorder.stats().files);
    assert.deepEqual([ours.badLines, ours.torn, ours.gaps, ours.dropped], [0, 0, 0, 0]);
    assert.deepEqual(
      ours.venues.map((v) => v.venue),
      ['binance', 'kraken'],
    );
    for (const cf of [kraken, binance]) {
      const { badLines: _, ...expected } = cf;
      assert.deepEqual(
        ours.venues.find((v) => v.venue === cf.venue),
        expected,
        `${cf.venue}: same counts and books`,
      );
    }
    const only = await replayRecording(dir, { venue: 'kraken' });
    assert.deepEqual(only.venues, [ours.venues[1]], '--venue replays one venue of the recording');
  });

  it('speed 1, 10 and max give identical reports and book hashes for both formats', async (t) => {
    if (!existsSync(KRAKEN)) return t.skip('../shared/fixtures absent');
    const dir = tmp();
    const recorder = new Recorder({ dir, flushIntervalMs: 0 });
    await convert(KRAKEN, recorder);
    await recorder.close();
    const speeds: ReplaySpeed[] = [1, 10, 'max'];
    const cf = [];
    const ours = [];
    for (const speed of speeds) {
      const clock = fakeClock();
      cf.push(await runReplay(KRAKEN, { speed, clock }));
      ours.push(await replayRecording(dir, { speed, clock }));
      if (speed === 'max') assert.deepEqual(clock.waits, [], 'max never waits');
      else assert.ok(clock.waits.length > 100, `speed ${speed} waited (${clock.waits.length} times)`);
    }
    assert.deepEqual(cf[1], cf[0]);
    assert.deepEqual(cf[2], cf[0]);
    assert.deepEqual(ours[1], ours[0]);
    assert.deepEqual(ours[2], ours[0]);
    assert.ok((cf[0]?.books.length ?? 0) > 0);
  });
});

describe('pacing', () => {
  const stamps = [5000, 5100, 5350, 5350, 5300, 6000.5];

  function hand(dir: string): { capture: string; recording: string } {
    // The same schedule in both formats; the frames are not Kraken's, so the handler just counts them.
    const capture = join(dir, 'c.jsonl');
    writeFileSync(
      capture,
      `${[
        JSON.stringify({ t: 'header', format: 2, exchange: 'KRAKEN', recorded: 5 }),
        ...stamps.map((ts) => JSON.stringify({ t: 'recv', conn: 'KRAKEN.ws.1', ts: ts / 1000, data: '{"x":1}' })),
      ].join('\n')}\n`,
    );
    return { capture, recording: join(dir, 'rec') };
  }

  it('the clock sees the recorded gaps at speed 1, a tenth of them at speed 10, none at max; records stamped earlier than the previous one wait nothing', async () => {
    const dir = tmp();
    const { capture, recording } = hand(dir);
    const rec = new Recorder({ dir: recording, flushIntervalMs: 0 });
    for (const ts of stamps) rec.record({ t: 'recv', venue: 'kraken', conn: 'kraken.ws.0', tsMs: ts, data: '{"x":1}' });
    await rec.close();
    const expected: [ReplaySpeed, number[]][] = [
      [1, [100, 250, 650.5]],
      [10, [10, 25, 65.05]],
      ['max', []],
    ];
    for (const [speed, waits] of expected) {
      for (const run of [
        (clock: ReplayClock) => runReplay(capture, { speed, clock }),
        (clock: ReplayClock) => replayRecording(recording, { speed, clock }),
      ]) {
        const clock = fakeClock();
        await run(clock);
        assert.equal(clock.waits.length, waits.length, `speed ${speed}: ${clock.waits.join(', ')}`);
        clock.waits.forEach((w, i) => {
          assert.ok(Math.abs(w - (waits[i] as number)) < 1e-3, `speed ${speed}: ${w}`);
        });
      }
    }
  });

  it('waits are anchored to the first record: a slow handler is caught up, not added to the schedule', () => {
    const clock = fakeClock();
    const p = new Pacer(1, clock);
    assert.equal(p.wait(0), undefined, 'the first record starts the schedule');
    clock.sleep(70); // the handler took 70 ms
    clock.waits.length = 0;
    void p.wait(100);
    assert.deepEqual(clock.waits, [30]);
    clock.sleep(500);
    clock.waits.length = 0;
    assert.equal(p.wait(200), undefined, 'behind schedule: no wait');
  });

  it('an aborted replay stops with QOB_ERR_ABORTED; a speed that is not positive is QOB_ERR_INVALID_ARGUMENT', async () => {
    const { capture } = hand(tmp());
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runReplay(capture, { speed: 1, clock: fakeClock(), signal: ac.signal }), (e) =>
      isQobError(e, 'QOB_ERR_ABORTED'),
    );
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new Pacer(bad),
        (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
        String(bad),
      );
    }
  });
});
