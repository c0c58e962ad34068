import type { VenueRegistration } from '../index.ts';
import { krakenConnector } from './connector.ts';
import { createKrakenFeedHandler, KRAKEN_VENUE } from './feed-handler.ts';

export { KrakenFeedHandler } from './feed-handler.ts';

/** Kraken spot (WS v1 `book-N` and WS v2 `book`). */
export const kraken: VenueRegistration = {
  id: KRAKEN_VENUE,
  name: 'Kraken',
  captureNames: ['KRAKEN'],
  createFeedHandler: createKrakenFeedHandler,
  connector: krakenConnector,
  // v1 channel frames end with `"book-N","PAIR"]`; v1 events name Kraken's own event types.
  sniff: (frame) =>
    /,"book-\d+","[A-Z0-9]+\/[A-Z0-9]+"\]$/.test(frame) ||
    frame.startsWith('{"connectionID"') ||
    /^\{"channelID":\d+,"channelName":"book-/.test(frame),
};
