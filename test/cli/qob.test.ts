/**
 * The `qob` command line, run as users run it: `node bin/qob.mjs ...` in a child process, with Node 24
 * (node_modules/.bin/node) and, to prove the re-exec, with the machine's older Node when it has one.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Decimal } from '../../src/core/fixed.ts';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');
const fixtures = resolve(repoRoot, '../shared/fixtures');
const krakenCapture = join(fixtures, 'kraken/cryptofeed_KRAKEN.books.jsonl');

/**
 * The environment without QOB_* variables (unknown ones are config errors) plus `extra`; the API of
 * `qob start` listens on a free port (QOB_API_PORT=0) so that parallel runs do not collide.
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { QOB_API_PORT: '0', QOB_DASHBOARD_PORT: '0' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

/** An empty working directory, so no qob.config.json is read. */
function emptyDir(): string {
  return tempDir('qob-cli-');
}

function qob(args: string[], options: { node?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const r = spawnSync(options.node ?? node24, [bin, ...args], {
    cwd: options.cwd ?? emptyDir(),
    env: cleanEnv(options.env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A Node older than 22 on PATH outside node_modules (the machine's system Node), if any. */
function systemOldNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const p = join(dir, 'node');
    if (!existsSync(p)) continue;
    try {
      const v = execFileSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (Number(v.split('.')[0]) < 22) return p;
    } catch {}
  }
  return undefined;
}

const COMMANDS = ['start', 'replay', 'config', 'version', 'help'];

describe('qob help', () => {
  it('--help lists every command and exits 0', () => {
    const r = qob(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  it('every command has its own --help, the same text as qob help COMMAND', () => {
    for (const c of COMMANDS) {
      const r = qob([c, '--help']);
      assert.equal(r.code, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: qob ${c}`), c);
      assert.equal(qob(['help', c]).stdout, r.stdout, c);
    }
  });

  it('an unknown command or option is a one-line QOB_ERR_INVALID_ARGUMENT with exit 2', () => {
    for (const args of [['frobnicate'], ['replay', '--bogus', 'x']]) {
      const r = qob(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^qob: QOB_ERR_INVALID_ARGUMENT: .*--help/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  it('version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = qob(['version', '--json']);
    assert.equal(r.code, 0);
    assert.equal((JSON.parse(r.stdout) as { version: string }).version, pkg.version);
    assert.match(qob(['--version']).stdout, new RegExp(`^qob ${pkg.version.replaceAll('.', '\\.')} `));
  });
});

describe('qob under an older Node', () => {
  it('re-executes itself with Node 24: --help works under the system Node', (t) => {
    const old = systemOldNode();
    if (old === undefined) return t.skip('no Node older than 22 on PATH');
    const r = qob(['--help'], { node: old });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, qob(['--help']).stdout);
    const v = qob(['version', '--json'], { node: old });
    assert.match((JSON.parse(v.stdout) as { node: string }).node, /^v2[4-9]\./, 'the command ran on Node 24');
  });

  it('forwards the exit code and SIGTERM through the re-exec', async (t) => {
    const old = systemOldNode();
    if (old === undefined) return t.skip('no Node older than 22 on PATH');
    assert.equal(qob(['replay', '/nonexistent/capture.jsonl'], { node: old }).code, 2);
    const child = spawn(old, [bin, 'start', '--offline', '--json'], { cwd: emptyDir(), env: cleanEnv() });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await new Promise<void>((res) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) res();
      });
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(err, /stopped after/, 'the Node 24 child shut down cleanly');
  });
});

describe('qob replay', () => {
  it('a missing file, an unknown venue and an unknown format are one-line errors with their code, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['replay', '--format', 'cryptofeed', '/nonexistent/capture.jsonl'], /^qob: QOB_ERR_IO: /],
      [['replay', '--venue', 'no_such_venue', '/nonexistent/capture.jsonl'], /^qob: QOB_ERR_UNKNOWN_VENUE: /],
      [['replay', '--format', 'csv', '/nonexistent/capture.jsonl'], /^qob: QOB_ERR_CAPTURE_FORMAT: /],
      [['replay'], /^qob: QOB_ERR_INVALID_ARGUMENT: /],
    ];
    for (const [args, re] of cases) {
      const r = qob(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('a capture that is not a capture is QOB_ERR_CAPTURE_FORMAT', () => {
    const f = join(emptyDir(), 'junk.jsonl');
    writeFileSync(f, 'hello\nworld\n');
    const r = qob(['replay', f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qob: QOB_ERR_CAPTURE_FORMAT: /);
  });

  it('--json --verify prints exactly one JSON report with exact decimal prices and exits 0 on a clean capture', (t) => {
    if (!existsSync(krakenCapture)) return t.skip('../shared/fixtures absent');
    const r = qob(['replay', '--format', 'cryptofeed', krakenCapture, '--verify', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const report = JSON.parse(r.stdout) as { messages: number; books: Record<string, unknown>[] };
    assert.ok(report.messages > 0);
    assert.ok(report.books.length > 0);
    for (const b of report.books) {
      for (const k of [
        'venue',
        'symbol',
        'updates',
        'checksumsVerified',
        'checksumFailures',
        'gaps',
        'resyncs',
        'crossed',
        'bestBid',
        'bestAsk',
        'hash',
      ]) {
        assert.ok(k in b, `book lacks ${k}`);
      }
      for (const k of ['bestBid', 'bestAsk']) assert.match(String(b[k]), /^\d+(\.\d+)?$/, `${k} is an exact decimal`);
      assert.equal(b.checksumFailures, 0);
    }
  });

  it('--verify exits 1 after a checksum failure and still prints the report', (t) => {
    if (!existsSync(krakenCapture)) return t.skip('../shared/fixtures absent');
    // One checksum changed in a temporary copy of the capture.
    const text = readFileSync(krakenCapture, 'utf8').replace(/\\"c\\":\\"\d+\\"/, '\\"c\\":\\"1\\"');
    const f = join(emptyDir(), 'tampered.jsonl');
    writeFileSync(f, text);
    const r = qob(['replay', f, '--verify']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /cksum bad/);
    assert.match(r.stdout, /problems in 1 book/);
    const j = qob(['replay', f, '--json']);
    assert.equal(j.code, 0, 'without --verify the exit code is 0');
    const report = JSON.parse(j.stdout) as { books: { checksumFailures: number }[] };
    assert.equal(
      report.books.reduce((s, b) => s + b.checksumFailures, 0),
      1,
    );
  });
});

interface StatusTick {
  type: string;
  synthetic: boolean;
  books: {
    symbol: string;
    bestBid: string;
    bestAsk: string;
    spread: string;
    mid: string;
    bidLevels: number;
    askLevels: number;
    updates: number;
    crossed: number;
  }[];
}

describe('qob start', () => {
  it('--offline --duration --json prints JSON status ticks of uncrossed synthetic books and exits 0', () => {
    const r = qob(['start', '--offline', '--duration', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /built-in synthetic venue/);
    assert.match(r.stderr, /--offline: real venues are not started/);
    const ticks = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StatusTick);
    assert.ok(ticks.length >= 2, `got ${ticks.length} ticks`);
    for (const tick of ticks) {
      assert.equal(tick.type, 'status');
      assert.equal(tick.synthetic, true);
      assert.deepEqual(
        tick.books.map((b) => b.symbol),
        ['BTC-USDT', 'ETH-USDT'],
      );
      for (const b of tick.books) {
        assert.equal(
          Decimal.parse(b.bestAsk).sub(Decimal.parse(b.bestBid)).toString(),
          Decimal.parse(b.spread).toString(),
        );
        assert.equal(Decimal.parse(b.spread).sign(), 1, 'never crossed nor locked');
        assert.ok(b.bidLevels > 0 && b.askLevels > 0);
        assert.equal(b.crossed, 0);
      }
    }
    const last = ticks.at(-1)?.books[0]?.updates ?? 0;
    assert.ok(last > (ticks[0]?.books[0]?.updates ?? 0), 'updates keep coming');
  });

  it('is deterministic: the same seed gives the same first tick', () => {
    const first = (seed: string): unknown => {
      const r = qob(['start', '--offline', '--duration', '0.1', '--json', '--seed', seed]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout.split('\n')[0] ?? '') as StatusTick).books;
    };
    assert.deepEqual(first('7'), first('7'));
    assert.notDeepEqual(first('7'), first('8'));
  });

  it('prints readable status lines and says what it is', () => {
    const r = qob(['start', '--offline', '--duration', '0.3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /built-in synthetic venue "sim"/);
    assert.match(r.stdout, /^sim:BTC-USDT +bid \d+(\.\d+)? +ask /m);
    assert.match(r.stdout, /stopped after/);
  });

  it('uses the configured sim symbols and refuses an invalid configuration', () => {
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'qob.config.json'), JSON.stringify({ venues: [{ id: 'sim', symbols: ['SOL-USDT'] }] }));
    const r = qob(['start', '--duration', '0.1', '--json'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout.split('\n')[0] ?? '') as StatusTick).books.map((b) => b.symbol),
      ['SOL-USDT'],
    );
    const bad = qob(['start', '--duration', '0.1'], { env: { QOB_API_PORT: 'eighty' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^qob: QOB_ERR_CONFIG_INVALID: .*api\.port/);
  });
});

describe('qob config', () => {
  it('prints the effective configuration with secrets redacted', () => {
    const cwd = emptyDir();
    writeFileSync(
      join(cwd, 'qob.config.json'),
      JSON.stringify({ venues: [{ id: 'okx', symbols: ['BTC-USDT'], apiKey: 'env:OKX_KEY' }] }),
    );
    const r = qob(['config', '--set', 'api.port=9091'], {
      cwd,
      env: { OKX_KEY: 'very-secret-key', QOB_LOG_LEVEL: 'warn' },
    });
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { api: { port: number }; log: { level: string }; venues: { apiKey: string }[] };
    assert.equal(c.api.port, 9091);
    assert.equal(c.log.level, 'warn');
    assert.equal(c.venues[0]?.apiKey, '[redacted]');
    assert.ok(!r.stdout.includes('very-secret-key'));
  });

  it('lists every validation error with its key and exits 2', () => {
    const r = qob(['config', '--set', 'api.port=abc', '--set', 'nope.key=1'], { env: { QOB_LOG_LEVEL: 'loud' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /QOB_ERR_CONFIG_INVALID/);
    assert.match(r.stderr, /^ {2}api\.port: expected an integer/m);
    assert.match(r.stderr, /^ {2}nope\.key: unknown key/m);
    assert.match(r.stderr, /^ {2}log\.level: expected one of/m);
  });
});
