/**
 * Bitfinex public trades (`trades` channel, docs.bitfinex.com/reference/ws-public-trades) as our trade
 * events, shared by the price-level and the raw-book handlers. The snapshot (sent newest first) is
 * emitted oldest first; `tu` repeats a trade already sent as `te` (same ID), so only `te` is emitted.
 * The frame is validated whole before any event is made: a bad trade rejects the whole frame.
 */
import { type TradeEvent, trade } from '../../domain/events.ts';
import { normalizedBitfinexSymbol } from './connector.ts';
import type { BitfinexTrade, TradesBody } from './wire.ts';

/** The trade events of one `trades` frame body of trading symbol `symbol` (`tBTCUSD`); none for `hb`/`tu`. */
export function bitfinexTradeEvents(venue: string, symbol: string, body: TradesBody, tsRecvMs: number): TradeEvent[] {
  if (body.kind === 'heartbeat' || body.kind === 'tu') return [];
  const raw: readonly BitfinexTrade[] = body.kind === 'snapshot' ? [...body.trades].reverse() : [body.trade];
  const sym = normalizedBitfinexSymbol(symbol);
  return raw.map((t) =>
    trade({
      venue,
      symbol: sym,
      price: t.price,
      size: t.amount,
      aggressor: t.side,
      tradeId: t.id,
      tsEventMs: t.mts,
      tsRecvMs,
    }),
  );
}
