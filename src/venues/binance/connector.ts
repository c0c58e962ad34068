/**
 * Live connector specs for Binance spot and USD-M futures (pure data: src/ingest/ does the I/O).
 *
 * Spot (developers.binance.com/docs/binance-spot-api-docs/web-socket-streams): combined streams at
 * `/stream?streams=a/b/...`, at most 1024 streams per connection, connections live 24 h, the server pings
 * every 20 s (ws answers automatically). REST `GET /api/v3/depth?limit=5000` weighs 250 of the 6000 per
 * minute request-weight budget (limit 1-100: 5, 101-500: 25, 501-1000: 50, 1001-5000: 250), so a cold
 * start of many symbols is paced by the connector's limiter: about 24 deep snapshots per minute.
 *
 * USD-M (developers.binance.com/docs/derivatives/usds-margined-futures): same stream layout on
 * `wss://fstream.binance.com`, 1024 streams per connection; REST `GET /fapi/v1/depth` goes to limit 1000
 * (weight 20 of 2400 per minute).
 *
 * We put at most 200 symbols on one connection: that keeps the URL short and spreads the load.
 */
import { qobError } from '../../core/errors.ts';
import {
  createInstrument,
  type Instrument,
  type InstrumentKind,
  parseNormalizedSymbol,
} from '../../domain/instrument.ts';
import type { ConnectionPlan, RestRequest, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { malformedMessage, parseJsonObject } from '../wire-common.ts';

export const BINANCE_SYMBOLS_PER_CONNECTION = 200;

/**
 * Each symbol gets its diff depth stream and its public trade stream: spot `<sym>@trade` (every trade, with
 * its own id), USD-M `<sym>@aggTrade` (USD-M has no public per-trade stream). Two streams per symbol keep a
 * connection at 400 of its 1024 streams.
 */
function planDepthStreams(venue: string, symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
  const tradeStream = venue === 'binance-usdm' ? 'aggTrade' : 'trade';
  const uniq = [...new Set(symbols.map((s) => s.toUpperCase()))];
  const plans: ConnectionPlan[] = [];
  for (let i = 0; i < uniq.length; i += BINANCE_SYMBOLS_PER_CONNECTION) {
    const chunk = uniq.slice(i, i + BINANCE_SYMBOLS_PER_CONNECTION);
    const streams = chunk.map((s) => `${s.toLowerCase()}@depth@100ms/${s.toLowerCase()}@${tradeStream}`).join('/');
    plans.push({
      id: `${venue}.ws.${plans.length}`,
      url: `${endpoints.wsBase}/stream?streams=${streams}`,
      symbols: chunk,
      onOpen: [], // the streams are in the URL
    });
  }
  return plans;
}

/** Spot `GET /api/v3/depth` weight by limit (Binance spot REST docs, "Order book"). */
export function spotDepthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

/** USD-M `GET /fapi/v1/depth` weight by limit. */
export function usdmDepthWeight(limit: number): number {
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

function unsupported(venue: string, symbol: string, why: string): Error {
  return qobError('QOB_ERR_INVALID_SYMBOL', `${venue} has no ${symbol}: ${why}`, { venue, symbol });
}

/** `BTC-USDT` -> `BTCUSDT` (Binance spot lists spot pairs only). */
export function binanceSpotSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind !== 'spot')
    throw unsupported('binance', symbol, 'Binance spot lists spot pairs only (perpetuals: binance-usdm)');
  return `${p.base}${p.quote}`;
}

/**
 * `BTC-USDT-PERP` -> `BTCUSDT`; `BTC-USDT-20250328` -> `BTCUSDT_250328` (USD-M quarterly contracts). Spot
 * pairs and options are not on USD-M.
 */
export function binanceUsdmSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind === 'perp') return `${p.base}${p.quote}`;
  if (p.kind === 'future' && p.expiryDate !== undefined) return `${p.base}${p.quote}_${p.expiryDate.slice(2)}`;
  throw unsupported('binance-usdm', symbol, 'USD-M lists perpetuals and quarterly futures only (spot: binance)');
}

const SPOT_DEPTH_LIMIT = 5000;
const USDM_DEPTH_LIMIT = 1000;

function filterValue(filters: unknown, type: string, field: string): string | undefined {
  if (!Array.isArray(filters)) return undefined;
  for (const f of filters as unknown[]) {
    if (typeof f === 'object' && f !== null && (f as Record<string, unknown>).filterType === type) {
      const v = (f as Record<string, unknown>)[field];
      return typeof v === 'string' ? v : undefined;
    }
  }
  return undefined;
}

/**
 * Parses `exchangeInfo` (spot or USD-M) into instruments that are trading now. Symbols whose metadata
 * does not validate (missing filters, odd asset codes) are left out; a body without a `symbols` array
 * throws QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseBinanceExchangeInfo(venue: 'binance' | 'binance-usdm', body: string): Instrument[] {
  const o = parseJsonObject(venue, body);
  if (!Array.isArray(o.symbols)) throw malformedMessage(venue, 'exchangeInfo without "symbols"');
  const out: Instrument[] = [];
  for (const s of o.symbols as unknown[]) {
    if (typeof s !== 'object' || s === null) continue;
    const r = s as Record<string, unknown>;
    if (r.status !== 'TRADING' || typeof r.symbol !== 'string') continue;
    let kind: InstrumentKind = 'spot';
    let expiryMs: number | undefined;
    if (venue === 'binance-usdm') {
      if (r.contractType === 'PERPETUAL') kind = 'perp';
      else if (r.contractType === 'CURRENT_QUARTER' || r.contractType === 'NEXT_QUARTER') {
        kind = 'future';
        expiryMs = typeof r.deliveryDate === 'number' ? r.deliveryDate : undefined;
      } else continue; // other contract types are not modelled
    }
    const tickSize = filterValue(r.filters, 'PRICE_FILTER', 'tickSize');
    const lotSize = filterValue(r.filters, 'LOT_SIZE', 'stepSize');
    if (tickSize === undefined || lotSize === undefined) continue;
    try {
      out.push(
        createInstrument({
          venue,
          venueSymbol: r.symbol,
          base: String(r.baseAsset),
          quote: String(r.quoteAsset),
          kind,
          tickSize,
          lotSize,
          ...(expiryMs === undefined ? {} : { expiryMs }),
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}

/** What differs between the Binance spot and USD-M connectors (the rest of their specs is the same). */
interface BinanceMarket {
  readonly venue: 'binance' | 'binance-usdm';
  readonly defaultEndpoints: VenueEndpoints;
  readonly toVenueSymbol: (symbol: string) => string;
  /** REST path prefix: `/api/v3` (spot) or `/fapi/v1` (USD-M). */
  readonly restPath: string;
  readonly depthLimit: number;
  readonly depthWeight: (limit: number) => number;
  /** Request weight per minute. */
  readonly restWeight: number;
  readonly exchangeInfoWeight: number;
}

function binanceConnector(m: BinanceMarket): VenueConnectorSpec {
  return {
    venue: m.venue,
    defaultEndpoints: m.defaultEndpoints,
    toVenueSymbol: m.toVenueSymbol,
    plan: (symbols, endpoints) => planDepthStreams(m.venue, symbols, endpoints),
    staleAfterMs: 60_000,
    maxConnectionMs: 24 * 60 * 60_000,
    snapshotOnConnect: true,
    recovery: (symbol, _plan, endpoints) => ({
      kind: 'rest-snapshot',
      request: {
        url: `${endpoints.restBase}${m.restPath}/depth?symbol=${symbol.toUpperCase()}&limit=${m.depthLimit}`,
        weight: m.depthWeight(m.depthLimit),
      },
    }),
    restLimit: { weight: m.restWeight, windowMs: 60_000 },
    instruments: {
      request: (endpoints): RestRequest => ({
        url: `${endpoints.restBase}${m.restPath}/exchangeInfo`,
        weight: m.exchangeInfoWeight,
      }),
      parse: (body) => parseBinanceExchangeInfo(m.venue, body),
    },
  };
}

export const binanceSpotConnector: VenueConnectorSpec = binanceConnector({
  venue: 'binance',
  defaultEndpoints: { wsBase: 'wss://stream.binance.com:9443', restBase: 'https://api.binance.com' },
  toVenueSymbol: binanceSpotSymbol,
  restPath: '/api/v3',
  depthLimit: SPOT_DEPTH_LIMIT,
  depthWeight: spotDepthWeight,
  restWeight: 6000,
  exchangeInfoWeight: 20,
});

export const binanceUsdmConnector: VenueConnectorSpec = binanceConnector({
  venue: 'binance-usdm',
  defaultEndpoints: { wsBase: 'wss://fstream.binance.com', restBase: 'https://fapi.binance.com' },
  toVenueSymbol: binanceUsdmSymbol,
  restPath: '/fapi/v1',
  depthLimit: USDM_DEPTH_LIMIT,
  depthWeight: usdmDepthWeight,
  restWeight: 2400,
  exchangeInfoWeight: 1,
});
