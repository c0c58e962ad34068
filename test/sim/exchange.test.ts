import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { SimExchange, type SimTimer, startSimDriver } from '../../src/sim/exchange.ts';

function frames(seed: number, steps: number): string[] {
  const ex = new SimExchange({ seed, symbols: ['BTC-USDT', 'SOL-USDT'], l3: true });
  const out: string[] = [];
  ex.connect((f) => out.push(f));
  ex.step(steps);
  return out;
}

describe('SimExchange', () => {
  it('is deterministic: the same seed and steps publish the same frames, byte for byte', () => {
    const a = frames(5, 200);
    assert.deepEqual(a, frames(5, 200));
    assert.notDeepEqual(a, frames(6, 200));
  });

  it('a connection gets info, a snapshot per symbol, then trades, l2update and l3update frames', () => {
    const out = frames(1, 100).map((f) => JSON.parse(f) as { type: string; symbol?: string });
    assert.equal(out[0]?.type, 'info');
    assert.deepEqual(
      out.slice(1, 3).map((f) => [f.type, f.symbol]),
      [
        ['snapshot', 'BTC-USDT'],
        ['snapshot', 'SOL-USDT'],
      ],
    );
    const types = new Set(out.slice(3).map((f) => f.type));
    assert.deepEqual([...types].sort(), ['l2update', 'l3update', 'trades']);
  });

  it('numbers l2update frames per book without holes, starting after the snapshot, on the virtual clock', () => {
    const ex = new SimExchange({ seed: 2, symbols: ['BTC-USDT', 'ETH-USDT'], stepMs: 100, startMs: 1_000_000 });
    const seqs = new Map<string, number[]>();
    const ts: number[] = [];
    ex.connect((text) => {
      const f = JSON.parse(text) as { type: string; symbol: string; seq: number; ts: number };
      if (f.type === 'snapshot' || f.type === 'l2update') seqs.set(f.symbol, [...(seqs.get(f.symbol) ?? []), f.seq]);
      if (f.type === 'l2update') ts.push(f.ts);
    });
    ex.step(50);
    for (const [symbol, s] of seqs) {
      assert.equal(s[0], 0, `${symbol} snapshot at seq 0`);
      assert.deepEqual(s, [...s.keys()], `${symbol}: 0, 1, 2, ...`);
      assert.equal(ex.seq(symbol), s.at(-1));
    }
    assert.equal(ex.nowMs, 1_000_000 + 50 * 100);
    assert.equal(ts.at(-1), ex.nowMs);
  });

  it('answers a snapshot request with the current book and refuses unknown symbols', () => {
    const ex = new SimExchange({ seed: 1, symbols: ['ETH-USDT'] });
    const out: string[] = [];
    const conn = ex.connect((f) => out.push(f));
    ex.step(10);
    conn.send('{"op":"snapshot","symbol":"ETH-USDT"}');
    const snap = JSON.parse(out.at(-1) as string) as { type: string; seq: number; bids: [string, string][] };
    assert.equal(snap.type, 'snapshot');
    assert.equal(snap.seq, ex.seq('ETH-USDT'));
    assert.deepEqual(snap.bids, ex.engine('ETH-USDT').l2().bids);
    conn.send('{"op":"snapshot","symbol":"NOPE-USDT"}');
    assert.equal((JSON.parse(out.at(-1) as string) as { type: string }).type, 'error');
    conn.close();
    const n = out.length;
    ex.step(5);
    assert.equal(out.length, n, 'a closed connection gets nothing');
    assert.throws(
      () => ex.engine('NOPE-USDT'),
      (e: unknown) => isQobError(e, 'QOB_ERR_UNKNOWN_INSTRUMENT'),
    );
  });

  it('the driver runs steps on the injected timer at the configured rate and stops on close', () => {
    let fire: (() => void) | undefined;
    let cleared = false;
    const timer: SimTimer = {
      setInterval: (fn) => {
        fire = fn;
        return 1;
      },
      clearInterval: () => {
        cleared = true;
      },
    };
    const ex = new SimExchange({ seed: 1, symbols: ['SOL-USDT'] });
    const d = startSimDriver(ex, { stepsPerSecond: 25, ticksPerSecond: 10, timer });
    for (let i = 0; i < 10; i++) fire?.();
    assert.equal(ex.steps, 25, 'fractions are carried between ticks');
    d.close();
    d.close();
    assert.equal(cleared, true);
    fire?.();
    assert.equal(ex.steps, 25);
  });
});
