import type { VenueRegistration } from '../index.ts';
import { bitfinexConnector } from './connector.ts';
import { BITFINEX_VENUE, createBitfinexFeedHandler } from './feed-handler.ts';

export { BitfinexFeedHandler } from './feed-handler.ts';
export { bitfinexRawConnector, createBitfinexRawConnectorSpec } from './l3-connector.ts';
export { BitfinexRawBookHandler, createBitfinexRawBookHandler, L3TrackedBook } from './l3-handler.ts';

/** Bitfinex v2 public WebSocket (`book`, price-level precisions P0..P4). */
export const bitfinex: VenueRegistration = {
  id: BITFINEX_VENUE,
  name: 'Bitfinex',
  captureNames: ['BITFINEX'],
  createFeedHandler: createBitfinexFeedHandler,
  connector: bitfinexConnector,
  sniff: (frame) => frame.startsWith('{"event":"info","version":2') || /^\[\d+,"hb"/.test(frame),
};
