/**
 * Live connector spec for Bitfinex v2 public order books (pure data: src/ingest/ does the I/O).
 *
 * Docs: docs.bitfinex.com/docs/ws-general, /docs/ws-public, /reference/ws-public-books,
 * /docs/ws-websocket-checksum; ../shared/fixtures/bitfinex (real capture).
 * - Public socket `wss://api-pub.bitfinex.com/ws/2`. The first frame we send is
 *   `{"event":"conf","flags":196608}`: 65536 (SEQ_ALL, one sequence number per connection on every
 *   channel frame) | 131072 (OB_CHECKSUM, `[chanId,"cs",crc]` of the top 25 levels after updates). The
 *   flags apply to the frames that follow, so they precede the subscriptions.
 * - `book` with `prec` P0 and `len` "250": lengths 1, 25, 100 and 250 exist for price-aggregated books, 250
 *   is the deepest. Each subscription gets a `chanId` from the server (the handler maps it).
 * - Recovery is a new connection: the sequence is per connection (a gap says a frame of the connection was
 *   lost, not which book), and an unsubscribe needs the server's `chanId`, which a pure spec cannot know
 *   (subscribing again without it is refused as a duplicate, code 10301).
 * - Info code 20051 ("stop/restart websocket server, please reconnect"): we open a replacement socket.
 * - `trades` per symbol too: a snapshot of recent trades, then `te` (and a repeated `tu`) frames.
 * - Limits: 25 channels per connection (we put 12 symbols, so 24 channels, on one) and 20 connections per
 *   minute on api-pub.
 *   Ping `{"event":"ping","cid":1}` after 20 s without sending (answer `{"event":"pong",..}`); the server
 *   sends `[chanId,"hb"]` on a quiet channel every 15 s.
 * - REST `GET /v2/conf/pub:list:pair:exchange` for the pairs; public REST allows 10 to 90 requests per
 *   minute depending on the endpoint (we take 10).
 */
import { qobError } from '../../core/errors.ts';
import { createInstrument, type Instrument, normalizeSymbol, parseNormalizedSymbol } from '../../domain/instrument.ts';
import type { ConnectionPlan, VenueConnectorSpec, VenueEndpoints } from '../connector-spec.ts';
import { malformedMessage, parseJson } from '../wire-common.ts';
import { FLAG_CHECKSUM, FLAG_SEQ_ALL } from './wire.ts';

export const BITFINEX_CHANNELS_PER_CONNECTION = 25;
/** Each symbol takes two channels (`book` and `trades`). */
export const BITFINEX_SYMBOLS_PER_CONNECTION = Math.floor(BITFINEX_CHANNELS_PER_CONNECTION / 2);
export const BITFINEX_DEFAULT_LEN = 250;
const LENGTHS: ReadonlySet<number> = new Set([1, 25, 100, 250]);

const pongRe = /"event"\s*:\s*"pong"/;
const restartRe = /"event"\s*:\s*"info"[^}]*"code"\s*:\s*20051\b/;

/** `BTCUSD` -> `tBTCUSD`; a symbol that already has its `t` prefix is kept. */
export function bitfinexTradingSymbol(s: string): string {
  return s.startsWith('t') ? `t${s.slice(1).toUpperCase()}` : `t${s.toUpperCase()}`;
}

/** Bitfinex's own asset codes: Tether USDt is `UST`. */
const TO_BFX: Readonly<Record<string, string>> = { USDT: 'UST' };
const FROM_BFX: Readonly<Record<string, string>> = { UST: 'USDT' };

/**
 * A Bitfinex trading symbol as ours: `tBTCUSD` -> `BTC-USD`, `tBTCUST` -> `BTC-USDT`, `tDOGE:USD` ->
 * `DOGE-USD`, `tBTCF0:USTF0` -> `BTC-USDT-PERP`. Throws QOB_ERR_INVALID_SYMBOL when the pair cannot be split.
 */
export function normalizedBitfinexSymbol(symbol: string): string {
  const bq = symbol.startsWith('t') ? splitBitfinexPair(symbol.slice(1)) : undefined;
  if (bq === undefined) {
    throw qobError('QOB_ERR_INVALID_SYMBOL', `bitfinex: cannot split ${symbol.slice(0, 40)} into base and quote`, {
      venue: 'bitfinex',
      symbol: symbol.slice(0, 40),
    });
  }
  const [b, q] = bq;
  if (b.endsWith('F0') && q.endsWith('F0')) {
    const base = b.slice(0, -2);
    const quote = q.slice(0, -2);
    return normalizeSymbol(FROM_BFX[base] ?? base, FROM_BFX[quote] ?? quote, 'perp');
  }
  return normalizeSymbol(FROM_BFX[b] ?? b, FROM_BFX[q] ?? q, 'spot');
}

/**
 * Our symbol as a Bitfinex trading symbol: `BTC-USD` -> `tBTCUSD`, `BTC-USDT` -> `tBTCUST`, codes longer
 * than three letters with a colon (`tDOGE:USD`); `BTC-USDT-PERP` -> `tBTCF0:USTF0` (USDt-margined
 * perpetual). Other derivatives are not subscribed by this connector.
 */
export function bitfinexSymbol(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  const base = TO_BFX[p.base] ?? p.base;
  const quote = TO_BFX[p.quote] ?? p.quote;
  if (p.kind === 'spot') return base.length === 3 && quote.length === 3 ? `t${base}${quote}` : `t${base}:${quote}`;
  if (p.kind === 'perp' && p.quote === 'USDT') return `t${base}F0:USTF0`;
  throw qobError('QOB_ERR_INVALID_SYMBOL', `bitfinex has no ${symbol} here: spot pairs and USDt perpetuals only`, {
    venue: 'bitfinex',
    symbol,
  });
}

export interface BitfinexConnectorOptions {
  /** Book length (1, 25, 100 or 250; default 250). */
  readonly len?: number;
}

export function createBitfinexConnectorSpec(options: BitfinexConnectorOptions = {}): VenueConnectorSpec {
  return bitfinexBookSpec('P0', options.len ?? BITFINEX_DEFAULT_LEN);
}

/**
 * The spec of `book` channels of precision `prec` (P0 price levels, R0 raw orders: l3-connector.ts) and
 * `trades`, per symbol, on connections of at most BITFINEX_SYMBOLS_PER_CONNECTION symbols.
 */
export function bitfinexBookSpec(prec: 'P0' | 'R0', len: number): VenueConnectorSpec {
  const what = prec === 'R0' ? 'raw book' : 'book';
  if (!LENGTHS.has(len))
    throw malformedMessage('bitfinex', `unsupported ${what} len ${len} (1, 25, 100 or 250)`, { len });
  const conf = JSON.stringify({ event: 'conf', flags: FLAG_SEQ_ALL | FLAG_CHECKSUM });
  const subscribe = (symbol: string) =>
    JSON.stringify({ event: 'subscribe', channel: 'book', symbol, prec, freq: 'F0', len: String(len) });
  const trades = (symbol: string) => JSON.stringify({ event: 'subscribe', channel: 'trades', symbol });
  const idPrefix = prec === 'R0' ? 'bitfinex.raw' : 'bitfinex.ws';
  return {
    venue: 'bitfinex',
    defaultEndpoints: { wsBase: 'wss://api-pub.bitfinex.com', restBase: 'https://api-pub.bitfinex.com' },
    toVenueSymbol: bitfinexSymbol,
    plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
      const uniq = [...new Set(symbols.map(bitfinexTradingSymbol))];
      const plans: ConnectionPlan[] = [];
      for (let i = 0; i < uniq.length; i += BITFINEX_SYMBOLS_PER_CONNECTION) {
        const chunk = uniq.slice(i, i + BITFINEX_SYMBOLS_PER_CONNECTION);
        plans.push({
          id: `${idPrefix}.${plans.length}`,
          url: `${endpoints.wsBase}/ws/2`,
          symbols: chunk,
          onOpen: [conf, ...chunk.map(subscribe), ...chunk.map(trades)],
        });
      }
      return plans;
    },
    appPing: {
      intervalMs: 20_000,
      frame: '{"event":"ping","cid":1}',
      isPong: (f) => f.length < 512 && pongRe.test(f),
    },
    isReconnectRequest: (f) => f.length < 512 && restartRe.test(f),
    staleAfterMs: 60_000,
    snapshotOnConnect: false,
    recovery: () => ({ kind: 'reconnect' }),
    restLimit: { weight: 10, windowMs: 60_000 },
    instruments: {
      request: (endpoints) => ({ url: `${endpoints.restBase}/v2/conf/pub:list:pair:exchange`, weight: 1 }),
      parse: parseBitfinexPairList,
    },
  };
}

export const bitfinexConnector: VenueConnectorSpec = createBitfinexConnectorSpec();

/** Quote currencies tried, longest first, to split a pair written without a separator (`BTCUSD`). */
const QUOTES = ['USDT', 'UST', 'USD', 'EUR', 'GBP', 'JPY', 'CNHT', 'EUT', 'XAUT', 'BTC', 'ETH', 'MIM', 'TRY'];

/** `BTCUSD` -> ['BTC', 'USD'], `TESTBTC:TESTUSD` -> ['TESTBTC', 'TESTUSD']; undefined when unknown. */
export function splitBitfinexPair(pair: string): [string, string] | undefined {
  const colon = pair.indexOf(':');
  if (colon > 0) return [pair.slice(0, colon), pair.slice(colon + 1)];
  if (pair.length === 6) return [pair.slice(0, 3), pair.slice(3)];
  for (const q of QUOTES) if (pair.length > q.length && pair.endsWith(q)) return [pair.slice(0, -q.length), q];
  return undefined;
}

/**
 * Parses `GET /v2/conf/pub:list:pair:exchange` (`[["BTCUSD","ETHUSD",..]]`) into spot instruments with
 * `venueSymbol` `tBTCUSD`. The list carries no increments (Bitfinex prices have 5 significant digits,
 * amounts 8 decimals), so tick and lot are given as 1e-8. Pairs whose base and quote cannot be told
 * apart are left out.
 */
export function parseBitfinexPairList(body: string): Instrument[] {
  const v = parseJson('bitfinex', body);
  if (!Array.isArray(v) || !Array.isArray(v[0])) {
    throw malformedMessage('bitfinex', 'pair list must be [[pair, ...]]');
  }
  const out: Instrument[] = [];
  for (const p of v[0] as unknown[]) {
    if (typeof p !== 'string') continue;
    const bq = splitBitfinexPair(p);
    if (bq === undefined) continue;
    try {
      out.push(
        createInstrument({
          venue: 'bitfinex',
          venueSymbol: `t${p}`,
          base: FROM_BFX[bq[0]] ?? bq[0],
          quote: FROM_BFX[bq[1]] ?? bq[1],
          kind: 'spot',
          tickSize: '0.00000001',
          lotSize: '0.00000001',
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}
