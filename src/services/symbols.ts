/**
 * Normalized symbols for the ingestion tap, from the venue's connector spec (`toVenueSymbol`, the same
 * instrument mapping `qob start` uses) rather than from splitting off a quote currency: a venue symbol is
 * the normalized symbol whose venue spelling it is, so a perpetual becomes `BTC-USDT-PERP`, not
 * `BTC-USDT`. With the configured symbols (live ingestion) the map is exact; without them (a replay) each
 * venue symbol is matched against the spot and perpetual candidates of its splits into base and quote.
 */
import { qobError } from '../core/errors.ts';
import { normalizeAsset, parseNormalizedSymbol } from '../domain/instrument.ts';
import { venueById } from '../venues/index.ts';
import { guessSymbol } from './book-events.ts';

/** `venueSymbol -> normalized symbol` for `venue`; throws QOB_ERR_INVALID_SYMBOL for one it cannot map. */
export function venueSymbolMapper(venue: string, symbols?: readonly string[]): (venueSymbol: string) => string {
  const toVenue = venueById(venue)?.connector?.toVenueSymbol;
  const known = new Map<string, string>();
  if (toVenue !== undefined) {
    for (const s of symbols ?? []) {
      known.set(s.toUpperCase(), s); // a handler that already reports normalized symbols
      known.set(toVenue(s).toUpperCase(), s);
    }
  }
  return (venueSymbol) => {
    const key = venueSymbol.toUpperCase();
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    if (symbols !== undefined && symbols.length > 0) {
      throw qobError(
        'QOB_ERR_INVALID_SYMBOL',
        `${venue} book ${JSON.stringify(venueSymbol)} is not a configured symbol`,
        {
          venue,
          symbol: venueSymbol,
        },
      );
    }
    const found = toVenue === undefined ? undefined : match(toVenue, key);
    const s = found ?? guessSymbol(venueSymbol);
    known.set(key, s);
    return s;
  };
}

/** Quote currencies, most likely first: among several splits that match, the one with the likeliest quote wins. */
const QUOTES = ['USDT', 'USDC', 'USD', 'FDUSD', 'BUSD', 'TUSD', 'EUR', 'GBP', 'JPY', 'TRY', 'BTC', 'ETH', 'BNB'];

/** The spot or perpetual symbol whose venue spelling is `key` (upper case), if one is. */
function match(toVenue: (symbol: string) => string, key: string): string | undefined {
  const bare = key.replace(/^[A-Z]+:/, '').replace(/[^A-Z0-9]/g, '');
  // Bitfinex spells pairs `tBTCUSD`: the split is also tried without a leading T.
  const tries = bare.startsWith('T') ? [bare, bare.slice(1)] : [bare];
  let best: { symbol: string; rank: number } | undefined;
  for (const b of tries) {
    for (let i = 2; i < b.length - 1; i++) {
      for (let j = i + 2; j <= b.length; j++) {
        let base: string;
        let quote: string;
        try {
          base = normalizeAsset(b.slice(0, i));
          quote = normalizeAsset(b.slice(i, j));
        } catch {
          continue;
        }
        const q = QUOTES.indexOf(quote);
        const rank = q < 0 ? QUOTES.length : q;
        if (best !== undefined && best.rank <= rank) continue;
        for (const s of [`${base}-${quote}`, `${base}-${quote}-PERP`]) {
          try {
            parseNormalizedSymbol(s);
            if (sameVenueSpelling(toVenue(s).toUpperCase(), key)) {
              best = { symbol: s, rank };
              break;
            }
          } catch {
            // not a symbol this venue spells this way
          }
        }
      }
    }
  }
  return best?.symbol;
}

/** Asset codes a venue spells two ways (Kraken's v1 feed says XBT and XDG where its v2 feed says BTC and DOGE). */
const LEGACY_ASSETS: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };

function legacyToModern(spelling: string): string {
  return spelling.replace(/[A-Z]+/g, (t) => LEGACY_ASSETS[t] ?? t);
}

/** Whether two venue spellings name the same instrument, up to the legacy asset codes above. */
function sameVenueSpelling(a: string, b: string): boolean {
  return a === b || legacyToModern(a) === legacyToModern(b);
}
