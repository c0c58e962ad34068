import type { VenueRegistration } from '../index.ts';
import { bybitConnector } from './connector.ts';
import { createBybitFeedHandler } from './handler.ts';

export const bybit: VenueRegistration = {
  id: 'bybit',
  name: 'Bybit',
  captureNames: ['BYBIT'],
  createFeedHandler: (options) => createBybitFeedHandler(options),
  connector: bybitConnector,
};

export { BybitFeedHandler, createBybitFeedHandler } from './handler.ts';
