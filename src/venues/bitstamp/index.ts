import type { VenueRegistration } from '../index.ts';
import { bitstampConnector } from './connector.ts';
import { createBitstampFeedHandler } from './handler.ts';

export const bitstamp: VenueRegistration = {
  id: 'bitstamp',
  name: 'Bitstamp',
  captureNames: ['BITSTAMP'],
  createFeedHandler: (options) => createBitstampFeedHandler(options),
  connector: bitstampConnector,
};

export { BitstampFeedHandler, createBitstampFeedHandler } from './handler.ts';
export { bitstampL3Connector } from './l3-connector.ts';
export { BitstampL3FeedHandler, createBitstampL3FeedHandler } from './l3-handler.ts';
