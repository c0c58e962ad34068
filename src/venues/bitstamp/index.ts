import type { VenueRegistration } from '../index.ts';
import { bitstampConnector } from './connector.ts';
import { createBitstampFeedHandler } from './handler.ts';
import { bitstampL3Connector } from './l3-connector.ts';
import { createBitstampL3FeedHandler } from './l3-handler.ts';

export const bitstamp: VenueRegistration = {
  id: 'bitstamp',
  name: 'Bitstamp',
  captureNames: ['BITSTAMP'],
  createFeedHandler: (options) => createBitstampFeedHandler(options),
  connector: bitstampConnector,
};

/**
 * Bitstamp `live_orders` (order by order) and `live_trades`, synced from the `group=2` REST snapshot: an
 * exact L3 book per pair whose derived L2 view is the served book. Selected with `book: "l3"` on the
 * `bitstamp` venue entry.
 */
export const bitstampL3: VenueRegistration = {
  id: 'bitstamp-l3',
  name: 'Bitstamp (live orders, L3)',
  captureNames: [],
  createFeedHandler: (options) => createBitstampL3FeedHandler(options),
  connector: bitstampL3Connector,
};

export { BitstampFeedHandler, createBitstampFeedHandler } from './handler.ts';
export { bitstampL3Connector } from './l3-connector.ts';
export { BitstampL3FeedHandler, createBitstampL3FeedHandler } from './l3-handler.ts';
