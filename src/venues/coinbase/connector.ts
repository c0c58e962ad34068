/**
 * Live connector spec for Coinbase Advanced Trade public order books (pure data: src/ingest/ does the I/O).
 *
 * Docs: docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/{websocket-channels,
 * websocket-rate-limits} and ../shared/fixtures/coinbase (real capture).
 * - One public socket `wss://advanced-trade-ws.coinbase.com`; one channel per subscribe message:
 *   `{"type":"subscribe","product_ids":[..],"channel":"level2"}` (full depth; arrives as `l2_data`, a
 *   snapshot then updates) and `{"type":"subscribe","channel":"heartbeats"}`: without it a channel with no
 *   updates is closed after about a minute; with it a frame arrives every second.
 * - `sequence_num` is ONE counter per connection across every channel, so a gap says some frame of the
 *   connection was lost, not which book: a book recovers with a new connection (fresh snapshots for all).
 * - Limits: 8 connections and 8 unauthenticated messages per second per IP. We put at most 50 products on
 *   one socket (two subscribe messages per socket). No application ping: WebSocket protocol pings.
 * - REST `GET /api/v3/brokerage/market/products` (public): 10 requests per second per IP.
 */
import { qobError } from '../../core/errors.ts';
import { createInstrument, type Instrument, parseNormalizedSymbol } from '../../domain/instrument.ts';
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { isRecord, malformedMessage, parseJsonObject } from '../wire-common.ts';

export const COINBASE_PRODUCTS_PER_CONNECTION = 50;

/** Our spot symbol as a product id: `BTC-USD` -> `BTC-USD`. */
export function coinbaseProductId(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind !== 'spot') notSpot(symbol);
  return `${p.base}-${p.quote}`;
}

function notSpot(symbol: string): never {
  throw qobError('QOB_ERR_INVALID_SYMBOL', `coinbase has no ${symbol} here: the connector takes spot pairs`, {
    venue: 'coinbase',
    symbol,
  });
}

export const coinbaseConnector: VenueConnectorSpec = {
  venue: 'coinbase',
  defaultEndpoints: {
    wsBase: 'wss://advanced-trade-ws.coinbase.com',
    restBase: 'https://api.coinbase.com',
  },
  toVenueSymbol: coinbaseProductId,
  plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
    const uniq = [...new Set(symbols.map((s) => s.toUpperCase()))];
    const plans: ConnectionPlan[] = [];
    for (let i = 0; i < uniq.length; i += COINBASE_PRODUCTS_PER_CONNECTION) {
      const chunk = uniq.slice(i, i + COINBASE_PRODUCTS_PER_CONNECTION);
      plans.push({
        id: `coinbase.ws.${plans.length}`,
        url: endpoints.wsBase,
        symbols: chunk,
        onOpen: [
          JSON.stringify({ type: 'subscribe', channel: 'heartbeats' }),
          JSON.stringify({ type: 'subscribe', product_ids: chunk, channel: 'level2' }),
          JSON.stringify({ type: 'subscribe', product_ids: chunk, channel: 'market_trades' }),
        ],
      });
    }
    return plans;
  },
  staleAfterMs: 30_000,
  snapshotOnConnect: false,
  recovery: () => ({ kind: 'reconnect' }),
  restLimit: { weight: 10, windowMs: 1_000 },
  instruments: {
    request: (endpoints) => ({ url: `${endpoints.restBase}/api/v3/brokerage/market/products`, weight: 1 }),
    parse: parseCoinbaseProducts,
  },
};

/**
 * Parses `GET /api/v3/brokerage/market/products` into tradable spot instruments (`status` online, not
 * disabled). Tick from `price_increment` (else `quote_increment`), lot from `base_increment`. Entries that
 * do not validate are left out; a body without `products` throws QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseCoinbaseProducts(body: string): Instrument[] {
  const o = parseJsonObject('coinbase', body);
  if (!Array.isArray(o.products)) throw malformedMessage('coinbase', 'products response without "products"');
  const out: Instrument[] = [];
  for (const p of o.products as unknown[]) {
    if (!isRecord(p) || typeof p.product_id !== 'string') continue;
    if (p.product_type !== undefined && p.product_type !== 'SPOT') continue;
    if (p.status !== 'online' || p.is_disabled === true || p.trading_disabled === true) continue;
    const tick =
      typeof p.price_increment === 'string' && p.price_increment !== '' ? p.price_increment : p.quote_increment;
    try {
      out.push(
        createInstrument({
          venue: 'coinbase',
          venueSymbol: p.product_id,
          base: String(p.base_currency_id ?? p.base_display_symbol),
          quote: String(p.quote_currency_id ?? p.quote_display_symbol),
          kind: 'spot',
          tickSize: String(tick),
          lotSize: String(p.base_increment),
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}
