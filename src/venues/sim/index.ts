import type { VenueRegistration } from '../index.ts';
import { createSimFeedHandler } from './feed-handler.ts';

export const sim: VenueRegistration = {
  id: 'sim',
  name: 'Simulated exchange (built in)',
  captureNames: ['SIM'],
  createFeedHandler: (options) => createSimFeedHandler(options),
};

export { createSimFeedHandler, SimFeedHandler, type SimTradeStats } from './feed-handler.ts';
