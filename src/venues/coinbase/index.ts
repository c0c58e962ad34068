import type { VenueRegistration } from '../index.ts';
import { coinbaseConnector } from './connector.ts';
import { createCoinbaseFeedHandler } from './handler.ts';
import { sniffCoinbase } from './wire.ts';

export const coinbase: VenueRegistration = {
  id: 'coinbase',
  name: 'Coinbase',
  captureNames: ['COINBASE'],
  createFeedHandler: (options) => createCoinbaseFeedHandler(options),
  connector: coinbaseConnector,
  sniff: sniffCoinbase,
};

export { CoinbaseFeedHandler, createCoinbaseFeedHandler } from './handler.ts';
export { sniffCoinbase } from './wire.ts';
