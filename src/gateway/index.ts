/** The HTTP API: build (`buildGateway`) and listen (`listenGateway`) apart; the platform passes a `MarketDataSource`. */
export { buildGateway, DOCS_PREFIX, type GatewayDeps, type GatewayOptions } from './app.ts';
export { type ErrorBody, errorBody } from './errors.ts';
export {
  HISTORY_INTERVALS,
  type HistoryBookAt,
  type HistoryBookAtQuery,
  type HistoryCandle,
  type HistoryCandleQuery,
  type HistoryInterval,
  type HistorySource,
  type HistoryTradePage,
  type HistoryTradeQuery,
} from './history.ts';
export { PERMISSIONS, type Permission } from './permissions.ts';
export { DEFAULT_DEPTH, MAX_DEPTH } from './schemas.ts';
export { type ListenOptions, listenGateway, type RunningGateway } from './server.ts';
export type {
  BookRef,
  BookStatusView,
  MarketDataSource,
  MarketStatus,
  MetricsRegistry,
  Readiness,
  VenueStatusView,
  VenueView,
} from './source.ts';
