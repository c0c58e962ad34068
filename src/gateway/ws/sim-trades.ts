/**
 * The trade stream of the built-in simulated exchange, in the shape `WsMarketSource.onTrades` takes: for the
 * platform's market-data source (and tests). It listens on its own in-process connection to the exchange.
 */
import type { SimExchange } from '../../sim/exchange.ts';
import { parseFrame } from '../../venues/sim/wire.ts';
import type { TradeBatch } from './tape.ts';

/** Calls `listener` with each trades frame of `exchange` until the returned function is called. */
export function onSimTrades(exchange: SimExchange, listener: (batch: TradeBatch) => void, venue = 'sim'): () => void {
  const conn = exchange.connect((text) => {
    // Book frames are most of the feed: only trades frames are parsed.
    if (!text.includes('"trades"')) return;
    let f: ReturnType<typeof parseFrame>;
    try {
      f = parseFrame(text);
    } catch {
      return;
    }
    if (f.kind !== 'trades') return;
    const tsMs = f.msg.tsEventMs;
    listener({
      venue,
      symbol: f.msg.symbol,
      trades: f.msg.trades.map((t) => ({ id: t.id, price: t.price, size: t.size, side: t.side, tsMs })),
    });
  });
  return () => conn.close();
}
