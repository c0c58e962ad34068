import type { VenueRegistration } from '../index.ts';
import { bitfinexConnector } from './connector.ts';
import { BITFINEX_VENUE, createBitfinexFeedHandler } from './feed-handler.ts';
import { bitfinexRawConnector } from './l3-connector.ts';
import { createBitfinexRawBookHandler } from './l3-handler.ts';

export { L3TrackedBook } from '../l3-tracked-book.ts';
export { BitfinexFeedHandler } from './feed-handler.ts';
export { bitfinexRawConnector, createBitfinexRawConnectorSpec } from './l3-connector.ts';
export { BitfinexRawBookHandler, createBitfinexRawBookHandler } from './l3-handler.ts';

/** Bitfinex v2 public WebSocket (`book`, price-level precisions P0..P4). */
export const bitfinex: VenueRegistration = {
  id: BITFINEX_VENUE,
  name: 'Bitfinex',
  captureNames: ['BITFINEX'],
  createFeedHandler: createBitfinexFeedHandler,
  connector: bitfinexConnector,
  sniff: (frame) => frame.startsWith('{"event":"info","version":2') || /^\[\d+,"hb"/.test(frame),
};

/**
 * Bitfinex raw books (`book` with `prec: "R0"`, order by order) and `trades`: an exact L3 book per symbol
 * whose derived L2 view is the served book. Selected with `book: "l3"` on the `bitfinex` venue entry.
 */
export const bitfinexL3: VenueRegistration = {
  id: `${BITFINEX_VENUE}-l3`,
  name: 'Bitfinex (raw books, L3)',
  captureNames: [],
  createFeedHandler: createBitfinexRawBookHandler,
  connector: bitfinexRawConnector,
};
