/**
 * The real `qob service` CLI, spawned: probes answer, and SIGTERM stops it gracefully with exit code 0.
 * Skips without Redis and Kafka.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { missingEngines, uniquePrefix } from './helpers.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

describe('qob service', () => {
  it('runs the orderbook service with /healthz, /readyz and /metrics and stops on SIGTERM with exit code 0', async (t) => {
    const missing = missingEngines('kafka', 'redis');
    if (missing !== undefined) return t.skip(missing);
    const prefix = uniquePrefix('cli');
    const child = spawn(
      process.execPath,
      [
        resolve(repoRoot, 'bin/qob.mjs'),
        'service',
        'orderbook',
        '--id',
        '3',
        '--probe-port',
        '0',
        '--brokers',
        process.env.QOB_TEST_KAFKA_BROKERS as string,
        '--redis',
        process.env.QOB_TEST_REDIS_URL as string,
        '--topic-prefix',
        prefix,
        '--key-prefix',
        `${prefix}:`,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const end = Date.now() + 60_000;
      while (!/probes on (http:\/\/\S+)/.test(out)) {
        if (Date.now() > end || child.exitCode !== null) assert.fail(`no probe URL; stdout ${out} stderr ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = (/probes on (http:\/\/[^\s,]+)/.exec(out) as RegExpExecArray)[1] as string;
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { service: string }).service, 'orderbook-3');
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /qob_service_books_in_sync/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `stderr: ${err}`);
      assert.match(out, /stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
