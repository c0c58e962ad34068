/**
 * Live connector spec for Bitstamp order-by-order (L3) books: the same socket, ping, reconnect request,
 * limits and instruments as the L2 connector (connector.ts), subscribing `live_orders_<pair>` and
 * `live_trades_<pair>`; every book starts from (and recovers with) the REST snapshot
 * `/api/v2/order_book/<pair>/?group=2`, which lists every order as `[price, amount, order_id]`
 * (bitstamp.net/api). Pair it with `createBitstampL3FeedHandler`.
 */
import type { VenueConnectorSpec } from '../connector-spec.ts';
import { bitstampConnector, bitstampPlan } from './connector.ts';

export const bitstampL3Connector: VenueConnectorSpec = {
  ...bitstampConnector,
  plan: bitstampPlan('bitstamp.l3', 'live_orders'),
  recovery: (symbol, _plan, endpoints) => ({
    kind: 'rest-snapshot',
    request: { url: `${endpoints.restBase}/api/v2/order_book/${symbol.toLowerCase()}/?group=2`, weight: 1 },
  }),
};
