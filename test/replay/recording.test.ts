/** Our recording format (src/replay/recording.ts, docs/RECORDING.md): writer, rotation, torn files, bounded queue. */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import type { RawRecord } from '../../src/ingest/raw-record.ts';
import {
  listRecordingFiles,
  type RawSource,
  Recorder,
  type RecordingIssue,
  readRecording,
  readRecordingHeader,
  recordSource,
} from '../../src/replay/recording.ts';
import { tempDir } from '../support/temp-dir.ts';

const T0 = Date.UTC(2024, 0, 2, 23, 59, 30);

function tmp(): string {
  return tempDir('qob-recording-');
}

/** `n` records of `venue`, one every `stepMs`, with every record type and optional field. */
function records(venue: string, n: number, stepMs: number, offsetMs = 0): RawRecord[] {
  const out: RawRecord[] = [];
  for (let i = 0; i < n; i++) {
    const tsMs = T0 + offsetMs + i * stepMs + 0.25;
    const conn = `${venue}.ws.0`;
    if (i === 0) out.push({ t: 'connect', venue, conn, tsMs, url: `wss://${venue}.example/ws`, epoch: 1 });
    else if (i === 1) out.push({ t: 'send', venue, conn, tsMs, data: '{"op":"subscribe"}' });
    else if (i === 2) out.push({ t: 'http', venue, conn: `${venue}.http`, tsMs, url: 'https://x/depth', data: '{}' });
    else if (i === n - 1) out.push({ t: 'disconnect', venue, conn, tsMs, epoch: 1 });
    else out.push({ t: 'recv', venue, conn, tsMs, data: `{"seq":${i},"text":"é\\n\\"${'x'.repeat(i % 7)}"}` });
  }
  return out;
}

async function readAll(path: string, venue?: string) {
  const issues: RecordingIssue[] = [];
  const out: RawRecord[] = [];
  for await (const r of readRecording(path, { onIssue: (i) => issues.push(i), ...(venue ? { venue } : {}) })) {
    out.push(r);
  }
  return { records: out, issues };
}

describe('Recorder and readRecording', () => {
  it('records written across many rotations (time, UTC midnight, size) read back identical, in time order, every file starting with its own header', async () => {
    const dir = tmp();
    const a = records('kraken', 40, 1000);
    const b = records('binance-usdm', 40, 1000, 500);
    const rec = new Recorder({
      dir,
      rotateMs: 7000,
      rotateBytes: 400,
      flushIntervalMs: 0,
      venues: ['kraken', 'binance-usdm'],
      symbols: { kraken: ['XBT/USD'], 'binance-usdm': ['BTCUSDT'] },
      now: () => T0,
      host: 'test-host',
      qobVersion: '9.9.9',
    });
    for (let i = 0; i < 40; i++) {
      rec.record(a[i] as RawRecord);
      rec.record(b[i] as RawRecord);
      if (i % 3 === 2) await rec.flush();
    }
    await rec.close();
    const stats = rec.stats();
    assert.equal(stats.written, 80);
    assert.equal(stats.dropped, 0);

    const groups = await listRecordingFiles(dir);
    assert.equal(groups.length, 2, 'one file sequence per venue');
    assert.ok(stats.files >= 10 && groups.flat().length === stats.files, `rotated several times (${stats.files})`);
    for (const files of groups) {
      let seq = -1;
      for (const f of files) {
        const h = await readRecordingHeader(f);
        assert.ok(h !== undefined, `${f} starts with a header`);
        assert.equal(h.format, 'qob-recording');
        assert.equal(h.version, 1);
        assert.ok(basename(f).startsWith(`${h.venue}-`), 'the file is named after its venue');
        assert.ok(f.includes(`/${h.venue}/${new Date(h.fileStartMs).toISOString().slice(0, 10)}/`), f);
        assert.ok(h.seq > seq, 'seq grows within a venue');
        seq = h.seq;
        assert.deepEqual(h.venues, ['kraken', 'binance-usdm']);
        assert.deepEqual(h.symbols, { kraken: ['XBT/USD'], 'binance-usdm': ['BTCUSDT'] });
        assert.equal(h.host, 'test-host');
        assert.equal(h.qob, '9.9.9');
        assert.equal(h.startedMs, T0);
      }
    }
    assert.ok(
      groups.flat().some((f) => f.includes('/2024-01-03/')),
      'records after UTC midnight went to the next day',
    );

    const { records: back, issues } = await readAll(dir);
    assert.deepEqual(issues, []);
    const expected = [...a, ...b].sort((x, y) => x.tsMs - y.tsMs);
    assert.deepEqual(back, expected);
    assert.deepEqual((await readAll(dir, 'kraken')).records, a, 'a venue filter keeps that venue in order');
    const one = (groups[1] as string[])[0] as string;
    const first = await readAll(one);
    assert.deepEqual(first.issues, []);
    assert.deepEqual(first.records, a.slice(0, first.records.length), 'a single file reads on its own');
  });

  it('a file whose writer died (flushed, never closed) is read up to its last flush and reported torn; a file cut mid-block too; neither is fatal', async () => {
    const dir = tmp();
    const rs = records('okx', 30, 10);
    const rec = new Recorder({ dir, flushIntervalMs: 0 });
    for (const r of rs.slice(0, 20)) rec.record(r);
    await rec.flush();
    const [[live]] = (await listRecordingFiles(dir)) as [[string]];
    const died = join(dir, 'died.qobrec.zst');
    copyFileSync(live, died); // what is on disk if the process dies now
    for (const r of rs.slice(20)) rec.record(r);
    await rec.close();

    const d = await readAll(died);
    assert.deepEqual(d.records, rs.slice(0, 20), 'everything flushed is read');
    assert.equal(d.issues.length, 1);
    assert.equal(d.issues[0]?.kind, 'torn');

    const cut = join(dir, 'cut.qobrec.zst');
    copyFileSync(live, cut);
    truncateSync(cut, statSync(cut).size - 40);
    const c = await readAll(cut);
    assert.ok(c.records.length < rs.length, 'the cut tail is missing');
    assert.deepEqual(c.records, rs.slice(0, c.records.length), 'what is read is an exact prefix');
    assert.deepEqual(
      c.issues.map((i) => i.kind),
      ['torn'],
    );
    const whole = await readAll(live);
    assert.deepEqual(whole.records, rs, 'the closed file is complete');
    assert.deepEqual(whole.issues, [], 'and has no issue');
  });

  it('a torn last line (no newline, cut JSON) and a bad line are reported; every other record is read', async () => {
    const dir = tmp();
    const rs = records('kraken', 6, 5);
    const header = { t: 'header', format: 'qob-recording', version: 1, venue: 'kraken', venues: ['kraken'] };
    const h = JSON.stringify({ ...header, symbols: {}, startedMs: T0, fileStartMs: T0, seq: 0, host: 'h', qob: 'x' });
    const lines = [h, ...rs.slice(0, 3).map((r) => JSON.stringify(r)), 'not json', JSON.stringify(rs[3])];
    const f = join(dir, 'torn.qobrec');
    writeFileSync(f, `${lines.join('\n')}\n${JSON.stringify(rs[4]).slice(0, 30)}`);
    const { records: back, issues } = await readAll(f);
    assert.deepEqual(back, rs.slice(0, 4));
    assert.deepEqual(
      issues.map((i) => [i.kind, 'line' in i ? i.line : -1]),
      [
        ['bad-line', 5],
        ['torn', 7],
      ],
    );
  });

  it('a file that is not a recording is QOB_ERR_CAPTURE_FORMAT', async () => {
    const f = join(tmp(), 'x.qobrec');
    writeFileSync(f, '{"t":"recv","conn":"a","ts":1,"data":"{}"}\n');
    await assert.rejects(readAll(f), (e) => isQobError(e, 'QOB_ERR_CAPTURE_FORMAT'));
  });

  it('when the bounded queue is full, records are dropped and counted, never blocking, and a gap marker with the count precedes the next record of that venue', async () => {
    const dir = tmp();
    const rec = new Recorder({ dir, flushIntervalMs: 0, maxQueueBytes: 2000, batchBytes: 1_000_000 });
    const rs = records('bybit', 60, 1);
    for (const r of rs.slice(0, 50)) rec.record(r); // synchronous: nothing can be written meanwhile
    const dropped = rec.stats().dropped;
    assert.ok(dropped > 0 && dropped < 50, `some records dropped (${dropped})`);
    assert.ok(rec.stats().queuedBytes <= 2000, 'the queue stays within its bound');
    await rec.flush();
    for (const r of rs.slice(50)) rec.record(r);
    await rec.close();
    assert.equal(rec.stats().gaps, 1);

    const seen: (RawRecord | RecordingIssue)[] = [];
    for await (const r of readRecording(dir, { onIssue: (i) => seen.push(i) })) seen.push(r);
    const kept = 50 - dropped;
    assert.deepEqual(seen.slice(0, kept), rs.slice(0, kept), 'the records that fitted, in order');
    const gap = seen[kept] as RecordingIssue;
    assert.equal(gap.kind, 'gap');
    assert.equal(gap.kind === 'gap' && gap.gap.dropped, dropped);
    assert.equal(gap.kind === 'gap' && gap.gap.fromMs, rs[kept]?.tsMs);
    assert.equal(gap.kind === 'gap' && gap.gap.toMs, rs[49]?.tsMs);
    assert.deepEqual(seen.slice(kept + 1), rs.slice(50), 'recording goes on after the gap');
  });

  it('close() is idempotent, later records are counted as dropped, and an aborted close rejects with QOB_ERR_ABORTED after releasing the files', async () => {
    const rec = new Recorder({ dir: tmp(), flushIntervalMs: 0 });
    rec.record(records('okx', 1, 1)[0] as RawRecord);
    const p = rec.close();
    assert.equal(rec.close(), p);
    await p;
    rec.record(records('okx', 1, 1)[0] as RawRecord);
    assert.equal(rec.stats().dropped, 1);
    await assert.rejects(rec.append(records('okx', 1, 1)[0] as RawRecord), (e) => isQobError(e, 'QOB_ERR_CLOSED'));

    const dir = tmp();
    const ac = new AbortController();
    const r2 = new Recorder({ dir, flushIntervalMs: 0 });
    for (const r of records('okx', 10, 1)) r2.record(r);
    ac.abort();
    await assert.rejects(r2.close({ signal: ac.signal }), (e) => isQobError(e, 'QOB_ERR_ABORTED'));
    assert.equal(r2.stats().dropped, 10, 'the queued records were discarded and counted');
  });

  it("aborting the recorder's signal closes it at once: what was flushed reads back, later records are dropped", async () => {
    const dir = tmp();
    const ac = new AbortController();
    const rec = new Recorder({ dir, flushIntervalMs: 0, signal: ac.signal });
    const rs = records('okx', 5, 1);
    for (const r of rs) rec.record(r);
    await rec.flush();
    ac.abort();
    await rec.close().catch(() => {});
    rec.record(rs[0] as RawRecord);
    assert.equal(rec.stats().dropped, 1, 'closed by the signal');
    const back = await readAll(dir);
    assert.deepEqual(back.records, rs);
  });

  it('recordSource records a source until it stops and closes the recorder, even when the source fails', async () => {
    const rs = records('kraken', 8, 3);
    const source: RawSource = {
      async run(tap) {
        for (const r of rs) tap(r);
      },
    };
    const dir = tmp();
    const stats = await recordSource(source, new Recorder({ dir, flushIntervalMs: 0 }), new AbortController().signal);
    assert.equal(stats.written, 8);
    assert.deepEqual((await readAll(dir)).records, rs);

    const failing: RawSource = {
      async run(tap) {
        tap(rs[0] as RawRecord);
        throw new Error('connection lost for good');
      },
    };
    const dir2 = tmp();
    const rec = new Recorder({ dir: dir2, flushIntervalMs: 0 });
    await assert.rejects(recordSource(failing, rec, new AbortController().signal), /connection lost/);
    assert.deepEqual((await readAll(dir2)).records, rs.slice(0, 1), 'what came before the failure is on disk');
    assert.match(
      readFileSync(((await listRecordingFiles(dir2))[0] as string[])[0] as string)
        .subarray(0, 4)
        .toString('hex'),
      /^28b52ffd$/,
    );
  });
});
