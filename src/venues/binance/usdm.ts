/**
 * Binance USD-M futures diff depth (`<symbol>@depth@100ms` + REST `GET /fapi/v1/depth`).
 * Rules (../shared/design/venue-sync-rules.md): drop events with `u < L`; the first applied event has
 * `U <= L <= u` (or `pu == L`); after that chain with `pu == previous u`. `U == previous u + 1` held in
 * 0 of 760 consecutive pairs of the real capture, the `pu` chain in 760 of 760.
 */
import type { FeedHandlerOptions } from '../feed-handler.ts';
import { BinanceDepthHandler, type DepthHandlerLimits, type DepthRules } from './depth-handler.ts';

export const USDM_RULES: DepthRules = {
  futures: true,
  isBeforeSnapshot: (ev, L) => ev.lastId < L,
  bridges: (ev, L) => (ev.firstId <= L && L <= ev.lastId) || ev.prevLastId === L,
  follows: (ev, prev) => ev.prevLastId === prev,
};

export function createBinanceUsdmFeedHandler(
  options: FeedHandlerOptions = {},
  limits: DepthHandlerLimits = {},
): BinanceDepthHandler {
  return new BinanceDepthHandler('binance-usdm', USDM_RULES, options, limits);
}
