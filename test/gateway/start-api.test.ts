/**
 * `qob start` serves the API while it runs (run as users run it, in a child process): `--api-port 0`
 * picks a free port and says where, `--no-api` serves nothing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  env.QOB_DASHBOARD_PORT = '0'; // parallel test files must not fight over port 3000
  return env;
}

describe('qob start and the API', () => {
  it('--offline --api-port 0 serves a ready API at the URL it prints, until it stops', async () => {
    const child = spawn(node24, [bin, 'start', '--offline', '--duration', '4', '--api-port', '0'], {
      cwd: tempDir('qob-gw-cli-'),
      env: cleanEnv(),
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const url = await new Promise<string>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /API on (http:\/\/[^ ]+) /.exec(out);
        if (m?.[1] !== undefined) res(m[1]);
      });
      child.on('exit', () => rej(new Error(`exited before printing the API URL\n${out}\n${err}`)));
    });
    let ready = 0;
    for (let i = 0; i < 40 && ready !== 200; i++) {
      ready = (await fetch(`${url}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, 'ready once the first status is published');
    const status = (await (await fetch(`${url}/api/v1/status`)).json()) as { books: { symbol: string }[] };
    assert.deepEqual(
      status.books.map((b) => b.symbol),
      ['BTC-USDT', 'ETH-USDT'],
    );
    assert.equal(await exited, 0, err);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens after qob start stopped');
  });

  it('--no-api serves nothing and says nothing about an API', () => {
    const r = spawnSync(node24, [bin, 'start', '--offline', '--duration', '0.2', '--no-api'], {
      cwd: tempDir('qob-gw-cli-'),
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /API on/);
  });

  it('--api-port must be a port', () => {
    const r = spawnSync(node24, [bin, 'start', '--offline', '--duration', '0.2', '--api-port', '70000'], {
      cwd: tempDir('qob-gw-cli-'),
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^qob: QOB_ERR_INVALID_ARGUMENT: --api-port/);
  });
});
