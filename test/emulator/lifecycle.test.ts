import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { connect } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('emulator lifecycle', () => {
  it('the same seed and steps give the same true books; another seed gives others', async () => {
    const a = await startEmulator({ seed: 42, venues: ['binance', 'okx'], levels: 30 });
    const b = await startEmulator({ seed: 42, venues: ['okx', 'binance'], levels: 30 });
    const c = await startEmulator({ seed: 43, venues: ['binance'], levels: 30 });
    try {
      for (const e of [a, b, c]) e.step(25);
      assert.deepEqual(a.trueBook('binance', 'BTCUSDT'), b.trueBook('binance', 'BTCUSDT'));
      assert.deepEqual(a.trueBook('okx', 'ETH-USDT', 10), b.trueBook('okx', 'ETH-USDT', 10));
      assert.notDeepEqual(a.trueBook('binance', 'BTCUSDT'), c.trueBook('binance', 'BTCUSDT'));
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('refuses unknown venues, symbols and fault kinds with typed errors, and upgrades to unknown paths with 404', async () => {
    await assert.rejects(startEmulator({ venues: ['nope'] }), (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE'));
    const emu = await startEmulator({ venues: ['binance', 'bybit'] });
    try {
      assert.throws(
        () => emu.endpoints('okx'),
        (e) => isQobError(e, 'QOB_ERR_UNKNOWN_VENUE'),
      );
      assert.throws(
        () => emu.trueBook('binance', 'XRPUSDT'),
        (e) => isQobError(e, 'QOB_ERR_UNKNOWN_INSTRUMENT'),
      );
      assert.throws(
        () => emu.inject('binance', { kind: 'explode' as 'stall' }),
        (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
      );
      assert.throws(
        () => emu.inject('bybit', { kind: 'corrupt-checksum' }),
        (e) => isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(connect(emu, `${emu.endpoints('binance').wsBase}/nowhere`), /HTTP 404/);
      await assert.rejects(connect(emu, `ws://127.0.0.1:${emu.port}/okx/ws/v5/public`), /HTTP 404/);
    } finally {
      await emu.close();
    }
  });

  it('close() is idempotent, closes client sockets and makes step() fail with QOB_ERR_CLOSED', async () => {
    const emu = await startEmulator({ venues: ['okx'] });
    const c = await connect(emu, `${emu.endpoints('okx').wsBase}`);
    await Promise.all([emu.close(), emu.close()]);
    await emu.close();
    await c.waitClosed();
    assert.throws(
      () => emu.step(),
      (e) => isQobError(e, 'QOB_ERR_CLOSED'),
    );
  });

  it('a process that starts the emulator with a timer, serves clients and closes it exits by itself', async () => {
    const script = `
      import { startEmulator } from './src/emulator/index.ts';
      import { WebSocket } from 'ws';
      const emu = await startEmulator({ autoStepMs: 5, serverPingMs: 5 });
      const ws = new WebSocket(emu.endpoints('binance').wsBase + '/stream?streams=btcusdt@depth@100ms');
      await new Promise((r) => ws.once('message', r));
      emu.inject('binance', { kind: 'slow-reads', delayMs: 50 });
      await fetch(emu.endpoints('binance').restBase + '/api/v3/depth?symbol=BTCUSDT');
      await emu.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(guard);
    assert.equal(code, 0, `the child did not exit by itself: ${out}`);
    assert.match(out, /closed/);
  });
});
