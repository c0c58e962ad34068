/**
 * Venues that spell pairs without a separator (Binance `NKNUSDT`, Bybit `BTCUSDT`) need the quote asset
 * split off to name the pair in our scheme (`NKN-USDT`). The split goes by the longest known quote-asset
 * suffix: the venues' quote assets are a short, stable list (their exchangeInfo / instruments-info
 * `quoteAsset` / `quoteCoin` values). A symbol with no known quote suffix is refused with
 * QOB_ERR_INVALID_SYMBOL rather than guessed.
 */
import { qobError } from '../core/errors.ts';
import { normalizeAsset } from '../domain/instrument.ts';

/** Longest first, so `FDUSD` and `TUSD` win over `USD`. */
const QUOTES = [
  'FDUSD',
  'USDT',
  'USDC',
  'BUSD',
  'TUSD',
  'USDP',
  'BIDR',
  'IDRT',
  'BVND',
  'USDE',
  'DOGE',
  'EURI',
  'BTC',
  'ETH',
  'BNB',
  'EUR',
  'TRY',
  'GBP',
  'BRL',
  'AUD',
  'RUB',
  'UAH',
  'NGN',
  'ZAR',
  'PLN',
  'RON',
  'ARS',
  'JPY',
  'MXN',
  'COP',
  'CZK',
  'DAI',
  'XRP',
  'TRX',
  'USD',
] as const;

/** `NKNUSDT` -> `NKN-USDT`, assets normalized; throws QOB_ERR_INVALID_SYMBOL when no quote suffix is known. */
export function splitConcatenatedPair(venue: string, venueSymbol: string): string {
  const s = venueSymbol.toUpperCase();
  for (const q of QUOTES) {
    if (s.length > q.length && s.endsWith(q)) {
      return `${normalizeAsset(s.slice(0, -q.length), 'base')}-${normalizeAsset(q, 'quote')}`;
    }
  }
  throw qobError('QOB_ERR_INVALID_SYMBOL', `${venue}: no known quote asset at the end of ${venueSymbol.slice(0, 40)}`, {
    venue,
    symbol: venueSymbol.slice(0, 40),
  });
}
