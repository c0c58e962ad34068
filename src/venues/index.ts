/**
 * The venue registry: registering a venue here is the only shared edit when adding one (ADD_A_VENUE.md).
 * Keys are our venue ids; `captureNames` maps the exchange names that capture files use. A venue with an
 * order-by-order feed also registers it as `<venue>-l3` (Bitfinex raw books, Bitstamp live orders): the
 * configuration selects it with `book: "l3"` on the venue's entry (`feedRegistration`), and `qob record` /
 * `qob replay` take the `-l3` id directly.
 */
import { binanceSpot, binanceUsdm } from './binance/index.ts';
import { bitfinex, bitfinexL3 } from './bitfinex/index.ts';
import { bitstamp, bitstampL3 } from './bitstamp/index.ts';
import { bybit } from './bybit/index.ts';
import { coinbase } from './coinbase/index.ts';
import type { VenueConnectorSpec } from './connector-spec.ts';
import type { FeedHandlerFactory } from './feed-handler.ts';
import { kraken } from './kraken/index.ts';
import { okx } from './okx/index.ts';
import { sim } from './sim/index.ts';

export interface VenueRegistration {
  readonly id: string;
  readonly name: string;
  /** Names this venue has in cryptofeed captures (`"exchange"` in the header line). */
  readonly captureNames: readonly string[];
  readonly createFeedHandler: FeedHandlerFactory;
  /** For captures without a header: whether a received frame looks like this venue's. */
  readonly sniff?: (frame: string) => boolean;
  /** How the live connector (src/ingest/) reaches this venue; absent for replay-only venues. */
  readonly connector?: VenueConnectorSpec;
}

export const VENUES: readonly VenueRegistration[] = [
  kraken,
  okx,
  bitfinex,
  binanceSpot,
  binanceUsdm,
  bybit,
  coinbase,
  bitstamp,
  sim,
  bitfinexL3,
  bitstampL3,
];

/** Which feed of a venue to run: price levels (the default) or order by order, with L2 derived from L3. */
export type BookFeed = 'l2' | 'l3';

/** The registry id of `venue`'s `book` feed: the venue id itself for L2, `<venue>-l3` for L3. */
export function feedRegistrationId(venue: string, book: BookFeed = 'l2'): string {
  return book === 'l3' ? `${venue}-l3` : venue;
}

/** The registration running `venue`'s `book` feed, if the registry has one. */
export function feedRegistration(
  registry: readonly VenueRegistration[],
  venue: string,
  book: BookFeed = 'l2',
): VenueRegistration | undefined {
  const id = feedRegistrationId(venue, book);
  return registry.find((r) => r.id === id);
}

export function venueById(id: string): VenueRegistration | undefined {
  return VENUES.find((v) => v.id === id);
}

export function venueByCaptureName(name: string): VenueRegistration | undefined {
  const n = name.toUpperCase();
  return VENUES.find((v) => v.captureNames.includes(n));
}
