/**
 * Live connector spec for Bybit v5 public order books, spot and linear (pure data: src/ingest/ does I/O).
 *
 * Docs: bybit-exchange.github.io/docs/v5/ws/connect and .../v5/websocket/public/orderbook.
 * - Sockets per category: `/v5/public/spot` and `/v5/public/linear`. Books are keyed by category, so
 *   symbols are written `spot:BTCUSDT` / `linear:BTCUSDT` (the handler's `TrackedBook.symbol`); a bare
 *   symbol means linear.
 * - Depth: 1, 50, 200 and 1000 exist for spot and linear (1000 pushes every 200 ms); we take the deepest.
 *   Every subscription starts with a snapshot on the socket, so a book recovers by resubscribing.
 * - Spot accepts at most 10 args per subscribe request; we batch 10 for both categories, and put at most
 *   100 topics on one socket.
 * - Heartbeat: send `{"op":"ping"}` every 20 s; the answer carries `"op":"pong"` (linear) or
 *   `"ret_msg":"pong"` (spot).
 * - REST budget: 600 requests per 5 s per IP.
 */
import { qobError } from '../../core/errors.ts';
import {
  createInstrument,
  type Instrument,
  type InstrumentKind,
  parseNormalizedSymbol,
} from '../../domain/instrument.ts';
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { isRecord, malformedMessage, parseJsonObject } from '../wire-common.ts';

export type BybitCategory = 'spot' | 'linear';

export const BYBIT_ARGS_PER_SUBSCRIBE = 10;
export const BYBIT_TOPICS_PER_CONNECTION = 100;
export const BYBIT_DEFAULT_DEPTH = 1000;

/** `spot:BTCUSDT` -> ['spot', 'BTCUSDT']; a bare symbol is linear. */
export function splitBybitSymbol(s: string): [BybitCategory, string] {
  const i = s.indexOf(':');
  if (i < 0) return ['linear', s.toUpperCase()];
  const cat = s.slice(0, i).toLowerCase();
  if (cat !== 'spot' && cat !== 'linear') {
    throw malformedMessage('bybit', `unsupported category "${cat}" (spot or linear)`, { symbol: s });
  }
  return [cat, s.slice(i + 1).toUpperCase()];
}

/**
 * Our symbol as the connector's book symbol: `BTC-USDT` -> `spot:BTCUSDT`, `BTC-USDT-PERP` ->
 * `linear:BTCUSDT` (USDT-margined perpetuals). Inverse contracts, USDC perpetuals (named `BTCPERP` on
 * Bybit), dated futures and options are not subscribed by this connector.
 */
export function bybitSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind === 'spot') return `spot:${p.base}${p.quote}`;
  if (p.kind === 'perp' && p.quote === 'USDT') return `linear:${p.base}${p.quote}`;
  throw qobError(
    'QOB_ERR_INVALID_SYMBOL',
    `bybit has no ${symbol} here: the connector takes spot pairs and USDT perpetuals (spot or linear)`,
    { venue: 'bybit', symbol },
  );
}

const pongRe = /"(op|ret_msg)"\s*:\s*"pong"/;

export interface BybitConnectorOptions {
  /** Book depth to subscribe (1, 50, 200 or 1000; default 1000). */
  readonly depth?: number;
}

export function createBybitConnectorSpec(options: BybitConnectorOptions = {}): VenueConnectorSpec {
  const depth = options.depth ?? BYBIT_DEFAULT_DEPTH;
  const topic = (sym: string) => `orderbook.${depth}.${sym}`;
  const tradeTopic = (sym: string) => `publicTrade.${sym}`;
  const frame = (op: 'subscribe' | 'unsubscribe', topics: readonly string[]) => JSON.stringify({ op, args: topics });
  return {
    venue: 'bybit',
    defaultEndpoints: { wsBase: 'wss://stream.bybit.com', restBase: 'https://api.bybit.com' },
    toVenueSymbol: bybitSymbol,
    plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
      const byCat = new Map<BybitCategory, string[]>();
      for (const s of symbols) {
        const [cat, sym] = splitBybitSymbol(s);
        const list = byCat.get(cat) ?? [];
        if (!list.includes(sym)) list.push(sym);
        byCat.set(cat, list);
      }
      const plans: ConnectionPlan[] = [];
      for (const [cat, list] of byCat) {
        for (let i = 0; i < list.length; i += BYBIT_TOPICS_PER_CONNECTION) {
          const chunk = list.slice(i, i + BYBIT_TOPICS_PER_CONNECTION);
          const onOpen: string[] = [];
          for (let j = 0; j < chunk.length; j += BYBIT_ARGS_PER_SUBSCRIBE) {
            onOpen.push(frame('subscribe', chunk.slice(j, j + BYBIT_ARGS_PER_SUBSCRIBE).map(topic)));
          }
          // Public trades (`publicTrade.{symbol}`), after the books so the books' subscriptions go first.
          for (let j = 0; j < chunk.length; j += BYBIT_ARGS_PER_SUBSCRIBE) {
            onOpen.push(frame('subscribe', chunk.slice(j, j + BYBIT_ARGS_PER_SUBSCRIBE).map(tradeTopic)));
          }
          plans.push({
            id: `bybit.${cat}.${i / BYBIT_TOPICS_PER_CONNECTION}`,
            url: `${endpoints.wsBase}/v5/public/${cat}`,
            symbols: chunk.map((s) => `${cat}:${s}`),
            onOpen,
          });
        }
      }
      return plans;
    },
    appPing: { intervalMs: 20_000, frame: '{"op":"ping"}', isPong: (f) => f.length < 512 && pongRe.test(f) },
    staleAfterMs: 60_000,
    snapshotOnConnect: false,
    recovery(symbol) {
      const [, sym] = splitBybitSymbol(symbol);
      return { kind: 'resubscribe', frames: [frame('unsubscribe', [topic(sym)]), frame('subscribe', [topic(sym)])] };
    },
    restLimit: { weight: 600, windowMs: 5_000 },
    instruments: {
      request: (endpoints) => ({
        url: `${endpoints.restBase}/v5/market/instruments-info?category=linear&limit=1000`,
        weight: 1,
      }),
      parse: parseBybitInstruments,
    },
  };
}

export const bybitConnector: VenueConnectorSpec = createBybitConnectorSpec();

/** The instruments-info request of one category (the spec's default asks for linear). */
export function bybitInstrumentsUrl(endpoints: VenueEndpoints, category: BybitCategory): string {
  return `${endpoints.restBase}/v5/market/instruments-info?category=${category}&limit=1000`;
}

/**
 * Parses `GET /v5/market/instruments-info` (spot or linear) into instruments with status `Trading`.
 * Entries that do not validate are left out; a body without `result.list` throws QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseBybitInstruments(body: string): Instrument[] {
  const o = parseJsonObject('bybit', body);
  const result = o.result;
  if (o.retCode !== 0 || !isRecord(result) || !Array.isArray(result.list)) {
    throw malformedMessage('bybit', 'instruments-info without result.list', { retCode: String(o.retCode) });
  }
  const category = result.category;
  const out: Instrument[] = [];
  for (const r of result.list as unknown[]) {
    if (!isRecord(r) || r.status !== 'Trading' || typeof r.symbol !== 'string') continue;
    const price = isRecord(r.priceFilter) ? r.priceFilter : {};
    const lot = isRecord(r.lotSizeFilter) ? r.lotSizeFilter : {};
    let kind: InstrumentKind = 'spot';
    let expiryMs: number | undefined;
    if (category !== 'spot') {
      if (r.contractType === 'LinearPerpetual') kind = 'perp';
      else if (r.contractType === 'LinearFutures') {
        kind = 'future';
        expiryMs = Number(r.deliveryTime);
      } else continue;
    }
    const lotSize = category === 'spot' ? lot.basePrecision : lot.qtyStep;
    try {
      out.push(
        createInstrument({
          venue: 'bybit',
          venueSymbol: r.symbol,
          base: String(r.baseCoin),
          quote: String(r.quoteCoin),
          kind,
          tickSize: String(price.tickSize),
          lotSize: String(lotSize),
          ...(expiryMs === undefined ? {} : { expiryMs }),
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}
