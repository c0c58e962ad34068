import type { VenueRegistration } from '../index.ts';
import { createBitstampFeedHandler } from './handler.ts';

export const bitstamp: VenueRegistration = {
  id: 'bitstamp',
  name: 'Bitstamp',
  captureNames: ['BITSTAMP'],
  createFeedHandler: (options) => createBitstampFeedHandler(options),
};

export { BitstampFeedHandler, createBitstampFeedHandler } from './handler.ts';
