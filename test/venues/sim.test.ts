import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2Book } from '../../src/book/l2-book.ts';
import { SimExchange } from '../../src/sim/exchange.ts';
import { venueById } from '../../src/venues/index.ts';
import type { SimFeedHandler } from '../../src/venues/sim/index.ts';

function handler(): SimFeedHandler {
  const reg = venueById('sim');
  assert.ok(reg !== undefined, 'the sim venue is registered');
  return reg.createFeedHandler() as SimFeedHandler;
}

/** The canonical text of an engine's book, through an L2Book so that both sides compare alike. */
function engineBook(ex: SimExchange, symbol: string): string {
  const b = new L2Book();
  const { bids, asks } = ex.engine(symbol).l2();
  b.applySnapshot(bids, asks);
  return b.canonicalText();
}

describe('sim feed handler', () => {
  it("rebuilds books equal to the engines' L2 books after N steps, from the wire frames alone", () => {
    const symbols = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
    const ex = new SimExchange({ seed: 9, symbols });
    const h = handler();
    let trades = 0;
    ex.connect((text) => {
      h.onFrame('c', text, ex.nowMs);
      if (text.startsWith('{"type":"trades"')) trades += (JSON.parse(text) as { trades: unknown[] }).trades.length;
    });
    for (let n = 0; n < 5; n++) {
      ex.step(60);
      for (const s of symbols) {
        const tb = h.book(s);
        assert.equal(tb?.status, 'in_sync');
        assert.equal(tb?.book.canonicalText(), engineBook(ex, s), `${s} after ${ex.steps} steps`);
        assert.equal(tb?.lastSeq, ex.seq(s));
      }
    }
    assert.equal(h.counters.malformed + h.counters.unknown, 0);
    assert.equal(
      symbols.reduce((a, s) => a + h.trades(s).count, 0),
      trades,
    );
    assert.ok(trades > 0 && h.trades('BTC-USDT').lastPrice !== null);
  });

  it('a dropped frame is detected as a gap: the book is cleared and stale until a fresh snapshot', () => {
    const ex = new SimExchange({ seed: 4, symbols: ['BTC-USDT'] });
    const h = handler();
    let drop = false;
    const conn = ex.connect((text) => {
      if (drop && text.startsWith('{"type":"l2update"')) {
        drop = false;
        return;
      }
      h.onFrame('c', text, ex.nowMs);
    });
    ex.step(20);
    const tb = h.book('BTC-USDT');
    assert.ok(tb?.inSync);
    if (tb === undefined) return;
    drop = true;
    ex.step(5);
    assert.equal(tb.gaps, 1);
    assert.equal(tb.status, 'stale');
    assert.ok(tb.book.isEmpty, 'a stale book holds no levels');
    ex.step(5);
    assert.equal(tb.status, 'stale', 'updates after a gap are not applied');
    conn.send('{"op":"snapshot","symbol":"BTC-USDT"}');
    ex.step(5);
    assert.equal(tb.status, 'in_sync');
    assert.equal(tb.resyncs, 1);
    assert.equal(tb.book.canonicalText(), engineBook(ex, 'BTC-USDT'));
  });

  it('counts malformed and unknown frames and keeps going', () => {
    const h = handler();
    h.onFrame(
      'c',
      '{"type":"snapshot","symbol":"BTC-USDT","seq":3,"ts":1,"bids":[["100","1"]],"asks":[["101","2"]]}',
      0,
    );
    h.onFrame('c', 'not json', 0);
    h.onFrame('c', '{"type":"l2update","symbol":"BTC-USDT","seq":4,"ts":2,"bids":[["100",1]],"asks":[]}', 0);
    h.onFrame(
      'c',
      '{"type":"trades","symbol":"BTC-USDT","ts":2,"trades":[{"id":"T1","price":"NaN","size":"1","side":"buy","maker":"a","taker":"b"}]}',
      0,
    );
    h.onFrame('c', '{"type":"ticker","symbol":"BTC-USDT"}', 0);
    assert.deepEqual(h.counters, { malformed: 3, unknown: 1 });
    h.onFrame('c', '{"type":"l2update","symbol":"BTC-USDT","seq":4,"ts":2,"bids":[["100","0"]],"asks":[]}', 0);
    const tb = h.book('BTC-USDT');
    assert.equal(tb?.status, 'in_sync');
    assert.equal(tb?.book.bestBid(), undefined);
    assert.equal(tb?.book.bestAsk()?.price, '101');
  });
});
