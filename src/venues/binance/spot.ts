/**
 * Binance spot diff depth (`<symbol>@depth@100ms` + REST `GET /api/v3/depth`).
 * Rules (../shared/design/venue-sync-rules.md): drop events with `u <= L`; the first kept event must have
 * `U <= L + 1 <= u` (in the captures `U == L + 1`); then every event needs `U == previous u + 1`.
 */
import type { FeedHandlerOptions } from '../feed-handler.ts';
import { BinanceDepthHandler, type DepthHandlerLimits, type DepthRules } from './depth-handler.ts';

export const SPOT_RULES: DepthRules = {
  futures: false,
  isBeforeSnapshot: (ev, L) => ev.lastId <= L,
  bridges: (ev, L) => ev.firstId <= L + 1 && L + 1 <= ev.lastId,
  follows: (ev, prev) => ev.firstId === prev + 1,
};

export function createBinanceSpotFeedHandler(
  options: FeedHandlerOptions = {},
  limits: DepthHandlerLimits = {},
): BinanceDepthHandler {
  return new BinanceDepthHandler('binance', SPOT_RULES, options, limits);
}
