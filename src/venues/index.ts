/**
 * The venue registry: registering a venue here is the only shared edit when adding one (ADD_A_VENUE.md).
 * Keys are our venue ids; `captureNames` maps the exchange names that capture files use.
 */
import { binanceSpot, binanceUsdm } from './binance/index.ts';
import { bitfinex } from './bitfinex/index.ts';
import { bitstamp } from './bitstamp/index.ts';
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
];

export function venueById(id: string): VenueRegistration | undefined {
  return VENUES.find((v) => v.id === id);
}

export function venueByCaptureName(name: string): VenueRegistration | undefined {
  const n = name.toUpperCase();
  return VENUES.find((v) => v.captureNames.includes(n));
}
