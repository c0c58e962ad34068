/**
 * Live connector spec for Bitstamp order-by-order (L3) books: the same socket, ping, reconnect request,
 * limits and instruments as the L2 connector (connector.ts), subscribing `live_orders_<pair>` and
 * `live_trades_<pair>`; every book starts from (and recovers with) the REST snapshot
 * `/api/v2/order_book/<pair>/?group=2`, which lists every order as `[price, amount, order_id]`
 * (bitstamp.net/api). Pair it with `createBitstampL3FeedHandler`.
 */
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { BITSTAMP_PAIRS_PER_CONNECTION, bitstampConnector } from './connector.ts';

const subscribe = (channel: string) => JSON.stringify({ event: 'bts:subscribe', data: { channel } });

export const bitstampL3Connector: VenueConnectorSpec = {
  ...bitstampConnector,
  plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
    const uniq = [...new Set(symbols.map((s) => s.toLowerCase()))];
    const plans: ConnectionPlan[] = [];
    for (let i = 0; i < uniq.length; i += BITSTAMP_PAIRS_PER_CONNECTION) {
      const chunk = uniq.slice(i, i + BITSTAMP_PAIRS_PER_CONNECTION);
      plans.push({
        id: `bitstamp.l3.${plans.length}`,
        url: endpoints.wsBase,
        symbols: chunk,
        onOpen: [
          ...chunk.map((p) => subscribe(`live_orders_${p}`)),
          ...chunk.map((p) => subscribe(`live_trades_${p}`)),
        ],
      });
    }
    return plans;
  },
  recovery: (symbol, _plan, endpoints) => ({
    kind: 'rest-snapshot',
    request: { url: `${endpoints.restBase}/api/v2/order_book/${symbol.toLowerCase()}/?group=2`, weight: 1 },
  }),
};
