/**
 * The trade dedup every trade path goes through (the live connector, `qob replay`, `qob record`): repeats
 * are dropped, memory is bounded per symbol, and one symbol's flow never evicts another's ids.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import { TRADE_DEDUP_WINDOW, TradeDedup } from '../../src/ingest/trade-dedup.ts';

const t = (symbol: string, tradeId: string | null) => ({ symbol, tradeId });

describe('TradeDedup', () => {
  it('accepts a trade once and drops its repeats, counting them', () => {
    const d = new TradeDedup();
    assert.equal(d.accept(t('BTC-USD', '1')), true);
    assert.equal(d.accept(t('BTC-USD', '2')), true);
    assert.equal(d.accept(t('BTC-USD', '1')), false);
    assert.equal(d.accept(t('BTC-USD', '2')), false);
    assert.equal(d.dropped, 2);
  });

  it('the same trade id on another symbol is another trade', () => {
    const d = new TradeDedup();
    assert.equal(d.accept(t('BTC-USD', '7')), true);
    assert.equal(d.accept(t('ETH-USD', '7')), true);
  });

  it('trades without an id are always accepted and never remembered', () => {
    const d = new TradeDedup();
    assert.equal(d.accept(t('BTC-USD', null)), true);
    assert.equal(d.accept(t('BTC-USD', null)), true);
    assert.equal(d.size, 0);
  });

  it('remembers at most the window per symbol: the oldest id is forgotten first', () => {
    const d = new TradeDedup(3);
    for (const id of ['1', '2', '3', '4']) assert.equal(d.accept(t('BTC-USD', id)), true);
    assert.equal(d.size, 3);
    assert.equal(d.accept(t('BTC-USD', '2')), false, 'still within the window');
    assert.equal(d.accept(t('BTC-USD', '1')), true, 'beyond the window: no longer recognised');
  });

  it("a busy symbol never evicts a quiet symbol's ids", () => {
    const d = new TradeDedup(4);
    d.accept(t('ETH-USD', 'e1'));
    for (let i = 0; i < 100; i++) d.accept(t('BTC-USD', String(i)));
    assert.equal(d.accept(t('ETH-USD', 'e1')), false);
    assert.equal(d.size, 5);
  });

  it('defaults to a window of 4096 and rejects a window that is not a positive integer', () => {
    assert.equal(new TradeDedup().windowPerSymbol, TRADE_DEDUP_WINDOW);
    assert.equal(TRADE_DEDUP_WINDOW, 4096);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new TradeDedup(bad),
        (e) => isQobError(e) && e.code === 'QOB_ERR_INVALID_ARGUMENT',
      );
    }
  });
});
