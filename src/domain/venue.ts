/**
 * Venue identities. A venue id is one of the venues we implement natively, or `ccxt:<ccxt id>` for the
 * long tail served through ccxt. Ids are lowercase and stable: they appear in event ids and stored data.
 */
import type { InstrumentKind } from './instrument.ts';
import { fieldError } from './internal.ts';

export const KNOWN_VENUE_IDS = [
  'binance',
  'binance-usdm',
  'coinbase',
  'kraken',
  'okx',
  'bybit',
  'bitstamp',
  'bitfinex',
  'sim',
] as const;

export type KnownVenueId = (typeof KNOWN_VENUE_IDS)[number];
export type CcxtVenueId = `ccxt:${string}`;
export type VenueId = KnownVenueId | CcxtVenueId;

/**
 * How a venue lets a book detect lost updates (../shared/design/venue-sync-rules.md):
 * per-book sequence ids, a checksum of the top of the book, both, or neither (resync on reconnect and on
 * a crossed book only).
 */
export type BookIntegrity = 'sequence' | 'checksum' | 'sequence+checksum' | 'none';

export interface VenueInfo {
  readonly id: VenueId;
  readonly name: string;
  /** Instrument kinds we take from this venue. */
  readonly kinds: readonly InstrumentKind[];
  readonly bookIntegrity: BookIntegrity;
}

const CCXT_ID_RE = /^ccxt:[a-z0-9_]{1,32}$/;
const KNOWN: ReadonlySet<string> = new Set(KNOWN_VENUE_IDS);

export function isKnownVenueId(v: unknown): v is KnownVenueId {
  return typeof v === 'string' && KNOWN.has(v);
}

export function isVenueId(v: unknown): v is VenueId {
  return typeof v === 'string' && (KNOWN.has(v) || CCXT_ID_RE.test(v));
}

/** Checks a venue id; throws QOB_ERR_UNKNOWN_VENUE (context: `field`, `value`) when it is not one. */
export function parseVenueId(v: unknown, field = 'venue'): VenueId {
  if (isVenueId(v)) return v;
  throw fieldError('QOB_ERR_UNKNOWN_VENUE', field, "not a known venue id or 'ccxt:<id>'", v);
}

function info(id: KnownVenueId, name: string, kinds: InstrumentKind[], bookIntegrity: BookIntegrity): VenueInfo {
  return Object.freeze({ id, name, kinds: Object.freeze(kinds), bookIntegrity });
}

/** What we know of each native venue. `sim` is the deterministic simulator used in tests and backtests. */
export const VENUE_INFO: Readonly<Record<KnownVenueId, VenueInfo>> = Object.freeze({
  binance: info('binance', 'Binance', ['spot'], 'sequence'),
  'binance-usdm': info('binance-usdm', 'Binance USD-M Futures', ['perp', 'future'], 'sequence'),
  coinbase: info('coinbase', 'Coinbase', ['spot'], 'sequence'),
  kraken: info('kraken', 'Kraken', ['spot'], 'checksum'),
  okx: info('okx', 'OKX', ['spot', 'perp', 'future', 'option'], 'sequence+checksum'),
  bybit: info('bybit', 'Bybit', ['spot', 'perp', 'future', 'option'], 'sequence'),
  bitstamp: info('bitstamp', 'Bitstamp', ['spot'], 'none'),
  bitfinex: info('bitfinex', 'Bitfinex', ['spot', 'perp'], 'sequence+checksum'),
  sim: info('sim', 'Simulator', ['spot', 'perp', 'future', 'option'], 'sequence'),
});

/** The info of a native venue, or undefined for `ccxt:*` ids (their capabilities come from ccxt at runtime). */
export function venueInfo(id: VenueId): VenueInfo | undefined {
  return isKnownVenueId(id) ? VENUE_INFO[id] : undefined;
}
