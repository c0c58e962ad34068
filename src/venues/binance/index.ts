import type { VenueRegistration } from '../index.ts';
import { binanceSpotConnector, binanceUsdmConnector } from './connector.ts';
import { createBinanceSpotFeedHandler } from './spot.ts';
import { createBinanceUsdmFeedHandler } from './usdm.ts';

export const binanceSpot: VenueRegistration = {
  id: 'binance',
  name: 'Binance',
  captureNames: ['BINANCE'],
  createFeedHandler: (options) => createBinanceSpotFeedHandler(options),
  connector: binanceSpotConnector,
};

export const binanceUsdm: VenueRegistration = {
  id: 'binance-usdm',
  name: 'Binance USD-M Futures',
  captureNames: ['BINANCE_FUTURES'],
  createFeedHandler: (options) => createBinanceUsdmFeedHandler(options),
  connector: binanceUsdmConnector,
};

export { BinanceDepthHandler } from './depth-handler.ts';
export { createBinanceSpotFeedHandler } from './spot.ts';
export { createBinanceUsdmFeedHandler } from './usdm.ts';
