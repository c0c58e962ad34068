/** `qob replay` on our recordings and `qob record`, run as users run them (a Node 24 child process). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { readCapture } from '../../src/replay/capture.ts';
import { Recorder } from '../../src/replay/recording.ts';
import { VENUES } from '../../src/venues/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');
const KRAKEN = resolve(repoRoot, '../shared/fixtures/kraken/cryptofeed_KRAKEN.books.jsonl');

function tmp(): string {
  return tempDir('qob-replay-cli-');
}

function qob(args: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  const r = spawnSync(node24, [bin, ...args], { cwd: tmp(), env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('qob replay on a qob recording', () => {
  it('a recording directory is detected by its header, replays with --verify like its cryptofeed source, at any --speed', async (t) => {
    if (!existsSync(KRAKEN)) return t.skip('../shared/fixtures absent');
    const dir = tmp();
    const rec = new Recorder({ dir, flushIntervalMs: 0, rotateBytes: 50_000 });
    for await (const c of readCapture(KRAKEN)) {
      if (c.t === 'recv' || c.t === 'send')
        await rec.append({ t: c.t, venue: 'kraken', conn: c.conn, tsMs: c.tsMs, data: c.data });
      else if (c.t === 'connect')
        await rec.append({ t: 'connect', venue: 'kraken', conn: c.conn, tsMs: c.tsMs, url: c.addr });
    }
    await rec.close();
    const cf = qob(['replay', '--format', 'cryptofeed', KRAKEN, '--json']);
    const auto = qob(['replay', dir, '--verify', '--json']);
    const explicit = qob(['replay', '--format', 'qob', dir, '--speed', '1e9', '--json']);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal(auto.stdout, explicit.stdout, 'the speed does not change the report');
    const ours = JSON.parse(auto.stdout) as { format: string; files: number; venues: { books: unknown[] }[] };
    assert.equal(ours.format, 'qob');
    assert.ok(ours.files > 1);
    assert.deepEqual(ours.venues[0]?.books, (JSON.parse(cf.stdout) as { books: unknown[] }).books);
    const one = readdirSync(join(dir, 'kraken'), { recursive: true }).find((f) => String(f).endsWith('.zst'));
    const table = qob(['replay', join(dir, 'kraken', String(one))]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^recording: 1 files, \d+ records, 0 bad lines, 0 torn files, 0 gaps/);
  });

  it('a --speed that is not a positive number or max is a one-line QOB_ERR_INVALID_ARGUMENT, exit 2', () => {
    for (const speed of ['0', '-2', 'fast', '']) {
      const r = qob(['replay', '/nonexistent', `--speed=${speed}`]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^qob: QOB_ERR_INVALID_ARGUMENT: --speed/);
    }
  });
});

describe('qob record', () => {
  it('a venue without a live connector is a one-line QOB_ERR_NOT_FOUND with exit 2 and writes nothing; bad options are reported first', (t) => {
    const out = join(tmp(), 'rec');
    const replayOnly = VENUES.find((v) => v.connector === undefined);
    if (replayOnly === undefined) return t.skip('every venue has a live connector');
    const r = qob(['record', '--venue', replayOnly.id, '--symbols', 'A,B', '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qob: QOB_ERR_NOT_FOUND: no live connector for /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(existsSync(out), false);
    const cases: [string[], RegExp][] = [
      [['record', '--symbols', 'A', '--out', out], /QOB_ERR_INVALID_ARGUMENT: .*--venue/],
      [['record', '--venue', 'nope', '--symbols', 'A', '--out', out], /QOB_ERR_UNKNOWN_VENUE/],
      [['record', '--venue', 'okx', '--out', out], /QOB_ERR_INVALID_ARGUMENT: .*--symbols/],
      [['record', '--venue', 'okx', '--symbols', 'A'], /QOB_ERR_INVALID_ARGUMENT: .*--out/],
      [['record', '--venue', 'okx', '--symbols', 'A', '--out', out, '--rotate-mb', '0'], /--rotate-mb/],
    ];
    for (const [args, re] of cases) {
      const e = qob(args);
      assert.equal(e.code, 2, args.join(' '));
      assert.match(e.stderr, re);
    }
    assert.match(qob(['record', '--help']).stdout, /^Usage: qob record/);
  });

  it('with a live connector it runs for --duration through reconnect attempts (an unreachable endpoint here), then exits 0 with its counts', (t) => {
    const live = VENUES.find((v) => v.connector !== undefined);
    if (live === undefined) return t.skip('no live connector registered');
    const out = join(tmp(), 'rec');
    const r = qob([
      'record',
      ...['--venue', live.id, '--symbols', 'BTC-USDT', '--out', out, '--duration', '1', '--json'],
      ...['--ws-base', 'ws://127.0.0.1:9', '--rest-base', 'http://127.0.0.1:9'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unreachable|ECONNREFUSED/, 'the connector reports what happens');
    const stats = JSON.parse(r.stdout) as { venue: string; written: number; dropped: number };
    assert.equal(stats.venue, live.id);
    assert.equal(stats.dropped, 0);
  });
});
