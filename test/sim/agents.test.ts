import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { AgentFlow, SIM_INSTRUMENTS, simInstrument } from '../../src/sim/agents.ts';
import { type EngineEvent, MatchingEngine, sequentialIds } from '../../src/sim/matching-engine.ts';

function run(symbol: string, seed: number, steps: number, each?: (e: MatchingEngine, f: AgentFlow) => void) {
  let t = 0;
  const events: EngineEvent[] = [];
  const inst = simInstrument(symbol);
  const engine = new MatchingEngine({
    instrument: inst,
    clock: () => t,
    orderIds: sequentialIds('O'),
    tradeIds: sequentialIds('T'),
    onEvent: (e) => events.push(e),
  });
  const flow = new AgentFlow({ engine, instrument: inst, seed });
  for (let i = 0; i < steps; i++) {
    t += 50;
    flow.step();
    each?.(engine, flow);
  }
  return { events, engine, flow };
}

describe('AgentFlow', () => {
  it('is deterministic: the same seed and number of steps give the identical event sequence', () => {
    for (const symbol of ['BTC-USDT', 'ETH-USDT', 'SOL-USDT']) {
      const a = run(symbol, 7, 300).events;
      const b = run(symbol, 7, 300).events;
      assert.ok(a.length > 1000, `${symbol}: ${a.length} events`);
      assert.deepEqual(a, b);
    }
  });

  it('a different seed gives a different event sequence', () => {
    assert.notDeepEqual(run('BTC-USDT', 7, 50).events.slice(0, 500), run('BTC-USDT', 8, 50).events.slice(0, 500));
  });

  it('keeps both sides of the book populated, never crossed, with a tight spread near the fair value', () => {
    let wide = 0;
    const steps = 3000;
    run('ETH-USDT', 3, steps, (e, f) => {
      const bid = e.bestBidTicks();
      const ask = e.bestAskTicks();
      assert.ok(bid !== undefined && ask !== undefined, 'both sides have orders after every step');
      assert.ok(bid < ask, 'never crossed');
      if ((ask - bid) / bid > 10 / 10_000) wide++;
      assert.ok(Math.abs((bid + ask) / 2 - f.fairTicks) / f.fairTicks < 0.01, 'the book follows the fair value');
    });
    assert.ok(wide < steps * 0.05, `spread above 10 bps in ${wide} of ${steps} steps`);
  });

  it('produces every kind of flow: market orders, cancellations, trades, volatile regimes and bursts', () => {
    const { flow, engine } = run('BTC-USDT', 11, 4000);
    const s = flow.stats;
    assert.ok(s.marketOrders > 100, `market orders ${s.marketOrders}`);
    assert.ok(s.cancels > 1000, `cancels ${s.cancels}`);
    assert.ok(s.trades > 1000, `trades ${s.trades}`);
    assert.ok(s.volatileSteps > 0 && s.volatileSteps < s.steps, `volatile steps ${s.volatileSteps}`);
    assert.ok(s.burstSteps > 0, `burst steps ${s.burstSteps}`);
    // Liquidity is clustered near the mid: most resting size within 20 bps of the best prices.
    const bid = engine.bestBidTicks() as number;
    const near = engine.orders('bid').filter((o) => o.priceTicks >= bid * (1 - 20 / 10_000)).length;
    assert.ok(near >= engine.orders('bid').length * 0.6, `${near} of ${engine.orders('bid').length} bids near`);
  });

  it('lists several instruments with realistic grids and refuses a non-normalized symbol', () => {
    for (const s of ['BTC-USDT', 'ETH-USDT', 'SOL-USDT']) assert.equal(SIM_INSTRUMENTS[s]?.symbol, s);
    assert.equal(simInstrument('DOGE-USDT').symbol, 'DOGE-USDT');
    assert.throws(
      () => simInstrument('btc/usdt'),
      (e: unknown) => isQobError(e, 'QOB_ERR_INVALID_SYMBOL'),
    );
  });
});
