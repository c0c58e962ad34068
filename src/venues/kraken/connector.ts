/**
 * Live connector spec for Kraken spot WebSocket v2 order books (pure data: src/ingest/ does the I/O).
 *
 * Docs: docs.kraken.com/exchange/api-reference/spot-websocket-v2/{book,instrument,ping,heartbeat}.
 * - One public socket `wss://ws.kraken.com/v2`; channel `book` with depth 10, 25, 100, 500 or 1000: we take
 *   1000, the deepest public book. Every message (the snapshot too) carries a CRC32 of the top 10 levels,
 *   the only gap detector (no sequence numbers), so the handler truncates to the depth and verifies.
 * - Channel `trade` (after the books, same batches, `snapshot: false`): taker side, `trade_id`, RFC 3339 time.
 * - The `instrument` channel is subscribed first on every socket: its `price_precision`/`qty_precision`
 *   format v2's JSON-number levels for the checksum (../shared/design/venue-sync-rules.md).
 * - v2 symbols are `BTC/USD` (v1 and REST `wsname` say `XBT/USD`): plan symbols are v2 symbols, spelled as
 *   the handler's `TrackedBook.symbol`.
 * - Liveness: the server sends `{"channel":"heartbeat"}` about once a second without other updates; we
 *   ping `{"method":"ping"}` after 20 s without sending (answer `{"method":"pong",...}`).
 * - A book recovers by unsubscribing and subscribing again: the venue then sends a fresh snapshot.
 * - No per-connection subscription limit is documented; we put at most 50 books on one socket, 10 symbols
 *   per subscribe request, to keep depth-1000 snapshots of a socket bounded.
 * - REST `GET /0/public/AssetPairs` for discovery; public REST is limited to about 1 request per second.
 */
import { qobError } from '../../core/errors.ts';
import { createInstrument, type Instrument, parseNormalizedSymbol } from '../../domain/instrument.ts';
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { isRecord, malformedMessage, parseJsonObject } from '../wire-common.ts';

export const KRAKEN_SYMBOLS_PER_CONNECTION = 50;
export const KRAKEN_SYMBOLS_PER_SUBSCRIBE = 10;
export const KRAKEN_DEFAULT_DEPTH = 1000;
const DEPTHS: ReadonlySet<number> = new Set([10, 25, 100, 500, 1000]);

const pongRe = /"method"\s*:\s*"pong"/;

export interface KrakenConnectorOptions {
  /** Book depth to subscribe (10, 25, 100, 500 or 1000; default 1000). */
  readonly depth?: number;
}

export function createKrakenConnectorSpec(options: KrakenConnectorOptions = {}): VenueConnectorSpec {
  const depth = options.depth ?? KRAKEN_DEFAULT_DEPTH;
  if (!DEPTHS.has(depth)) {
    throw malformedMessage('kraken', `unsupported book depth ${depth} (10, 25, 100, 500 or 1000)`, { depth });
  }
  const book = (method: 'subscribe' | 'unsubscribe', symbols: readonly string[]) =>
    JSON.stringify({ method, params: { channel: 'book', symbol: symbols, depth } });
  // Trades: live ones only (`snapshot: false`), so a reconnect does not re-send the last 50 trades.
  const trades = (symbols: readonly string[]) =>
    JSON.stringify({ method: 'subscribe', params: { channel: 'trade', symbol: symbols, snapshot: false } });
  const instrument = JSON.stringify({ method: 'subscribe', params: { channel: 'instrument', snapshot: true } });
  return {
    venue: 'kraken',
    defaultEndpoints: { wsBase: 'wss://ws.kraken.com', restBase: 'https://api.kraken.com' },
    toVenueSymbol: krakenSymbol,
    plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
      const uniq = [...new Set(symbols.map((s) => s.toUpperCase()))];
      const plans: ConnectionPlan[] = [];
      for (let i = 0; i < uniq.length; i += KRAKEN_SYMBOLS_PER_CONNECTION) {
        const chunk = uniq.slice(i, i + KRAKEN_SYMBOLS_PER_CONNECTION);
        const onOpen: string[] = [instrument];
        for (let j = 0; j < chunk.length; j += KRAKEN_SYMBOLS_PER_SUBSCRIBE) {
          onOpen.push(book('subscribe', chunk.slice(j, j + KRAKEN_SYMBOLS_PER_SUBSCRIBE)));
        }
        for (let j = 0; j < chunk.length; j += KRAKEN_SYMBOLS_PER_SUBSCRIBE) {
          onOpen.push(trades(chunk.slice(j, j + KRAKEN_SYMBOLS_PER_SUBSCRIBE)));
        }
        plans.push({ id: `kraken.ws.${plans.length}`, url: `${endpoints.wsBase}/v2`, symbols: chunk, onOpen });
      }
      return plans;
    },
    appPing: {
      intervalMs: 20_000,
      frame: '{"method":"ping"}',
      isPong: (f) => f.length < 512 && pongRe.test(f),
    },
    staleAfterMs: 30_000,
    snapshotOnConnect: false,
    recovery: (symbol) => ({
      kind: 'resubscribe',
      frames: [book('unsubscribe', [symbol.toUpperCase()]), book('subscribe', [symbol.toUpperCase()])],
    }),
    restLimit: { weight: 1, windowMs: 1_000 },
    instruments: {
      request: (endpoints) => ({ url: `${endpoints.restBase}/0/public/AssetPairs`, weight: 1 }),
      parse: parseKrakenAssetPairs,
    },
  };
}

export const krakenConnector: VenueConnectorSpec = createKrakenConnectorSpec();

/** Our spot symbol as the v2 symbol: `BTC-USD` -> `BTC/USD` (v2 writes BTC and DOGE, not XBT and XDG). */
export function krakenSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  if (p.kind !== 'spot') notSpot(symbol);
  return `${p.base}/${p.quote}`;
}

function notSpot(symbol: string): never {
  throw qobError('QOB_ERR_INVALID_SYMBOL', `kraken has no ${symbol} here: the connector takes spot pairs`, {
    venue: 'kraken',
    symbol,
  });
}

/** v1/REST asset codes that WebSocket v2 spells differently (`XBT/USD` -> `BTC/USD`). */
const V2_ASSET: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };

/** `XBT/USD` (REST `wsname`) -> `BTC/USD` (the v2 `symbol`). */
export function krakenV2Symbol(wsname: string): string {
  return wsname
    .split('/')
    .map((a) => V2_ASSET[a] ?? a)
    .join('/');
}

/**
 * Parses `GET /0/public/AssetPairs` into online spot instruments whose `venueSymbol` is the v2 WebSocket
 * symbol (`BTC/USD`). Tick from `tick_size` (else `pair_decimals`), lot from `lot_decimals`. Entries that
 * do not validate are left out; a body with errors or without `result` throws QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseKrakenAssetPairs(body: string): Instrument[] {
  const o = parseJsonObject('kraken', body);
  if ((Array.isArray(o.error) && o.error.length > 0) || !isRecord(o.result)) {
    throw malformedMessage('kraken', 'AssetPairs response without result', {
      error: Array.isArray(o.error) ? o.error.join('; ').slice(0, 120) : undefined,
    });
  }
  const out: Instrument[] = [];
  for (const r of Object.values(o.result)) {
    if (!isRecord(r) || typeof r.wsname !== 'string' || (r.status !== undefined && r.status !== 'online')) continue;
    const symbol = krakenV2Symbol(r.wsname);
    const [base = '', quote = ''] = symbol.split('/');
    const pd = Number(r.pair_decimals);
    const ld = Number(r.lot_decimals);
    if (!Number.isSafeInteger(pd) || !Number.isSafeInteger(ld) || pd < 0 || ld < 0 || pd > 18 || ld > 18) continue;
    const tickSize = typeof r.tick_size === 'string' && r.tick_size !== '' ? r.tick_size : stepOf(pd);
    try {
      out.push(
        createInstrument({
          venue: 'kraken',
          venueSymbol: symbol,
          base,
          quote,
          kind: 'spot',
          tickSize,
          lotSize: stepOf(ld),
          pricePrecision: pd,
          quantityPrecision: ld,
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
