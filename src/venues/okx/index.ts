import type { VenueRegistration } from '../index.ts';
import { okxConnector } from './connector.ts';
import { createOkxFeedHandler, OKX_VENUE } from './feed-handler.ts';

export { OkxFeedHandler } from './feed-handler.ts';

/** OKX v5 public WebSocket (`books`, `books-l2-tbt`, `books50-l2-tbt`). */
export const okx: VenueRegistration = {
  id: OKX_VENUE,
  name: 'OKX',
  captureNames: ['OKX', 'OKEX'],
  createFeedHandler: createOkxFeedHandler,
  connector: okxConnector,
  sniff: (frame) => frame.startsWith('{"arg":{"channel":') || frame.startsWith('{"event":"subscribe","arg":{'),
};
