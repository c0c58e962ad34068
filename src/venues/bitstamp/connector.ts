/**
 * Live connector spec for Bitstamp order books (pure data: src/ingest/ does the I/O).
 *
 * Docs: www.bitstamp.net/websocket/v2/ and www.bitstamp.net/api/ (order book, trading pairs info, rate
 * limits); ../shared/fixtures/bitstamp (real capture).
 * - One public socket `wss://ws.bitstamp.net`; one `bts:subscribe` per channel
 *   `diff_order_book_<pair>` (full depth, absolute amounts). No snapshot on the socket, no sequence, no
 *   checksum: every book starts (and restarts) from the REST snapshot `GET /api/v2/order_book/<pair>/`,
 *   fetched right after each connect while the diffs buffer; the handler drops diffs at or before its
 *   `microtimestamp`.
 * - Trades: `live_trades_<pair>` per pair, subscribed after the books (`*_str` fields are the exact text).
 * - `{"event":"bts:request_reconnect"}`: the server is going away (maintenance); we open a replacement
 *   socket at once (a rotation) instead of waiting for the close.
 * - Liveness: the server sends nothing on a quiet channel; we send `{"event":"bts:heartbeat"}` after 20 s
 *   without sending (answer: `bts:heartbeat` with `"status":"success"`). A quiet pair is normal, so the
 *   stale timeout is long (2 min).
 * - We put at most 100 pairs on one socket. REST: 400 requests per second and 10,000 per 10 minutes per
 *   client; one window of 160 per 10 s respects both.
 */
import { qobError } from '../../core/errors.ts';
import { createInstrument, type Instrument, parseNormalizedSymbol } from '../../domain/instrument.ts';
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { isRecord, malformedMessage, parseJson } from '../wire-common.ts';

export const BITSTAMP_PAIRS_PER_CONNECTION = 100;

const heartbeatRe = /"event"\s*:\s*"bts:heartbeat"/;
const reconnectRe = /"event"\s*:\s*"bts:request_reconnect"/;

/** Our spot symbol as a Bitstamp pair: `BTC-USD` -> `btcusd`. */
export function bitstampPair(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind !== 'spot') notSpot(symbol);
  return `${p.base}${p.quote}`.toLowerCase();
}

function notSpot(symbol: string): never {
  throw qobError('QOB_ERR_INVALID_SYMBOL', `bitstamp has no ${symbol} here: the connector takes spot pairs`, {
    venue: 'bitstamp',
    symbol,
  });
}

/**
 * Connections of at most BITSTAMP_PAIRS_PER_CONNECTION pairs, each subscribing `<bookChannel>_<pair>`
 * (`diff_order_book`, or `live_orders` for L3: l3-connector.ts) and `live_trades_<pair>`.
 */
export function bitstampPlan(
  idPrefix: string,
  bookChannel: string,
): (symbols: readonly string[], endpoints: VenueEndpoints) => ConnectionPlan[] {
  const subscribe = (channel: string) => JSON.stringify({ event: 'bts:subscribe', data: { channel } });
  return (symbols, endpoints) => {
    const uniq = [...new Set(symbols.map((s) => s.toLowerCase()))];
    const plans: ConnectionPlan[] = [];
    for (let i = 0; i < uniq.length; i += BITSTAMP_PAIRS_PER_CONNECTION) {
      const chunk = uniq.slice(i, i + BITSTAMP_PAIRS_PER_CONNECTION);
      plans.push({
        id: `${idPrefix}.${plans.length}`,
        url: endpoints.wsBase,
        symbols: chunk,
        onOpen: [
          ...chunk.map((p) => subscribe(`${bookChannel}_${p}`)),
          ...chunk.map((p) => subscribe(`live_trades_${p}`)),
        ],
      });
    }
    return plans;
  };
}

export const bitstampConnector: VenueConnectorSpec = {
  venue: 'bitstamp',
  defaultEndpoints: { wsBase: 'wss://ws.bitstamp.net', restBase: 'https://www.bitstamp.net' },
  toVenueSymbol: bitstampPair,
  plan: bitstampPlan('bitstamp.ws', 'diff_order_book'),
  appPing: {
    intervalMs: 20_000,
    frame: '{"event":"bts:heartbeat"}',
    isPong: (f) => f.length < 512 && heartbeatRe.test(f),
  },
  isReconnectRequest: (f) => f.length < 512 && reconnectRe.test(f),
  staleAfterMs: 120_000,
  snapshotOnConnect: true,
  recovery: (symbol, _plan, endpoints) => ({
    kind: 'rest-snapshot',
    request: { url: `${endpoints.restBase}/api/v2/order_book/${symbol.toLowerCase()}/`, weight: 1 },
  }),
  restLimit: { weight: 160, windowMs: 10_000 },
  instruments: {
    request: (endpoints) => ({ url: `${endpoints.restBase}/api/v2/trading-pairs-info/`, weight: 1 }),
    parse: parseBitstampTradingPairs,
  },
};

/**
 * Parses `GET /api/v2/trading-pairs-info/` into enabled spot instruments (`venueSymbol` is `url_symbol`,
 * e.g. `btcusd`). Tick from `counter_decimals`, lot from `base_decimals`; base and quote from `name`
 * (`BTC/USD`). Entries that do not validate are left out; a body that is not an array throws
 * QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseBitstampTradingPairs(body: string): Instrument[] {
  const v = parseJson('bitstamp', body);
  if (!Array.isArray(v)) throw malformedMessage('bitstamp', 'trading-pairs-info must be an array');
  const out: Instrument[] = [];
  for (const r of v as unknown[]) {
    if (!isRecord(r) || typeof r.url_symbol !== 'string' || typeof r.name !== 'string') continue;
    if (r.trading !== undefined && r.trading !== 'Enabled') continue;
    const [base = '', quote = ''] = r.name.split('/');
    const pd = Number(r.counter_decimals);
    const bd = Number(r.base_decimals);
    if (!Number.isSafeInteger(pd) || !Number.isSafeInteger(bd) || pd < 0 || bd < 0 || pd > 18 || bd > 18) continue;
    try {
      out.push(
        createInstrument({
          venue: 'bitstamp',
          venueSymbol: r.url_symbol,
          base,
          quote,
          kind: 'spot',
          tickSize: stepOf(pd),
          lotSize: stepOf(bd),
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}

/** 10^-digits as decimal text: 2 -> `0.01`, 0 -> `1`. */
function stepOf(digits: number): string {
  return digits === 0 ? '1' : `0.${'0'.repeat(digits - 1)}1`;
}
