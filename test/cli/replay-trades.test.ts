/**
 * `qob replay` takes trades through the same dedup as the live connector: a trade frame recorded twice
 * (a venue repeat, a rotation's overlap) is counted and handed over once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { TradeEvent } from '../../src/domain/events.ts';
import { runReplay } from '../../src/replay/replay.ts';

const trade = (id: number, price: string) =>
  JSON.stringify({
    data: {
      id,
      timestamp: '1641343699',
      amount: 0.5,
      amount_str: '0.50000000',
      price: Number(price),
      price_str: price,
      type: 0,
      microtimestamp: `164134369959${id % 10}000`,
      buy_order_id: 1,
      sell_order_id: 2,
    },
    channel: 'live_trades_ethusd',
    event: 'trade',
  });

it('a trade frame that appears twice in a capture is counted and delivered once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qob-replay-trades-'));
  try {
    const path = join(dir, 'bitstamp.jsonl');
    const lines = [
      { t: 'header', exchange: 'BITSTAMP' },
      { t: 'connect', conn: 'c1', ts: 1, addr: 'wss://ws.bitstamp.net' },
      { t: 'recv', conn: 'c1', ts: 2, data: trade(11, '3805.44') },
      { t: 'recv', conn: 'c1', ts: 3, data: trade(11, '3805.44') },
      { t: 'recv', conn: 'c1', ts: 4, data: trade(12, '3805.45') },
      { t: 'recv', conn: 'c1', ts: 5, data: trade(12, '3805.45') },
      { t: 'recv', conn: 'c1', ts: 6, data: trade(13, '3805.46') },
    ];
    writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const seen: TradeEvent[] = [];
    const report = await runReplay(path, { onTrade: (t) => seen.push(t) });
    assert.equal(report.venue, 'bitstamp');
    assert.equal(report.malformed, 0);
    assert.equal(report.trades, 3);
    assert.deepEqual(
      seen.map((t) => [t.symbol, t.tradeId, t.price]),
      [
        ['ETH-USD', '11', '3805.44'],
        ['ETH-USD', '12', '3805.45'],
        ['ETH-USD', '13', '3805.46'],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
