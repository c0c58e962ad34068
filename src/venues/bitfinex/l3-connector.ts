/**
 * Live connector spec for Bitfinex raw (order-by-order, L3) books: the same socket, flags, symbols,
 * pings, limits and recovery as the price-level connector (connector.ts), subscribing `book` with
 * `prec: "R0"` (docs.bitfinex.com/reference/ws-public-raw-books) and `trades` per symbol. `len` bounds
 * the orders per side (1, 25, 100 or 250; default 250). Pair it with `createBitfinexRawBookHandler`.
 */
import type { VenueConnectorSpec } from '../connector-spec.ts';
import { BITFINEX_DEFAULT_LEN, bitfinexBookSpec } from './connector.ts';

export function createBitfinexRawConnectorSpec(options: { readonly len?: number } = {}): VenueConnectorSpec {
  return bitfinexBookSpec('R0', options.len ?? BITFINEX_DEFAULT_LEN);
}

export const bitfinexRawConnector: VenueConnectorSpec = createBitfinexRawConnectorSpec();
