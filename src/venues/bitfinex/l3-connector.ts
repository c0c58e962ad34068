/**
 * Live connector spec for Bitfinex raw (order-by-order, L3) books: the same socket, flags, symbols,
 * pings, limits and recovery as the price-level connector (connector.ts), subscribing `book` with
 * `prec: "R0"` (docs.bitfinex.com/reference/ws-public-raw-books) and `trades` per symbol. `len` bounds
 * the orders per side (1, 25, 100 or 250; default 250). Pair it with `createBitfinexRawBookHandler`.
 */
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { malformedMessage } from '../wire-common.ts';
import {
  BITFINEX_DEFAULT_LEN,
  BITFINEX_SYMBOLS_PER_CONNECTION,
  bitfinexTradingSymbol,
  createBitfinexConnectorSpec,
} from './connector.ts';
import { FLAG_CHECKSUM, FLAG_SEQ_ALL } from './wire.ts';

const LENGTHS: ReadonlySet<number> = new Set([1, 25, 100, 250]);

export function createBitfinexRawConnectorSpec(options: { readonly len?: number } = {}): VenueConnectorSpec {
  const len = options.len ?? BITFINEX_DEFAULT_LEN;
  if (!LENGTHS.has(len))
    throw malformedMessage('bitfinex', `unsupported raw book len ${len} (1, 25, 100 or 250)`, { len });
  const base = createBitfinexConnectorSpec();
  const conf = JSON.stringify({ event: 'conf', flags: FLAG_SEQ_ALL | FLAG_CHECKSUM });
  const subscribe = (symbol: string) =>
    JSON.stringify({ event: 'subscribe', channel: 'book', symbol, prec: 'R0', freq: 'F0', len: String(len) });
  const trades = (symbol: string) => JSON.stringify({ event: 'subscribe', channel: 'trades', symbol });
  return {
    ...base,
    plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
      const uniq = [...new Set(symbols.map(bitfinexTradingSymbol))];
      const plans: ConnectionPlan[] = [];
      for (let i = 0; i < uniq.length; i += BITFINEX_SYMBOLS_PER_CONNECTION) {
        const chunk = uniq.slice(i, i + BITFINEX_SYMBOLS_PER_CONNECTION);
        plans.push({
          id: `bitfinex.raw.${plans.length}`,
          url: `${endpoints.wsBase}/ws/2`,
          symbols: chunk,
          onOpen: [conf, ...chunk.map(subscribe), ...chunk.map(trades)],
        });
      }
      return plans;
    },
  };
}

export const bitfinexRawConnector: VenueConnectorSpec = createBitfinexRawConnectorSpec();
