/**
 * Live connector spec for OKX v5 public order books (pure data: src/ingest/ does the I/O).
 *
 * Docs: www.okx.com/docs-v5/en/#overview-websocket and #order-book-trading-market-data-ws-order-book-channel.
 * - One public socket URL (`wss://ws.okx.com:8443/ws/v5/public`); channel `books` (400 levels, snapshot
 *   then incremental updates every 100 ms), one arg per instrument: `{"channel":"books","instId":"BTC-USDT"}`.
 * - The server drops a connection without traffic for 30 s: send the text `ping` when idle (we do after
 *   20 s without sending), the answer is the text `pong`.
 * - A subscribe request's args may total 64 KB; we batch 20 instruments per request and put at most 100 on
 *   one socket. A book recovers by unsubscribing and subscribing again (a fresh snapshot follows).
 * - REST `GET /api/v5/public/instruments`: 20 requests per 2 s.
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

export const OKX_ARGS_PER_SUBSCRIBE = 20;
export const OKX_INSTRUMENTS_PER_CONNECTION = 100;

export type OkxInstType = 'SPOT' | 'SWAP' | 'FUTURES';

/**
 * Our symbol as an OKX `instId`: `BTC-USDT` -> `BTC-USDT`, `BTC-USDT-PERP` -> `BTC-USDT-SWAP`,
 * `BTC-USD-20250328` -> `BTC-USD-250328`. Options are not subscribed by this connector.
 */
export function okxInstId(symbol: string): string {
  const p = parseNormalizedSymbol(symbol);
  switch (p.kind) {
    case 'spot':
      return `${p.base}-${p.quote}`;
    case 'perp':
      return `${p.base}-${p.quote}-SWAP`;
    case 'future':
      return `${p.base}-${p.quote}-${(p.expiryDate ?? '').slice(2)}`;
    case 'option':
      throw qobError('QOB_ERR_INVALID_SYMBOL', `okx: options are not subscribed by this connector (${symbol})`, {
        venue: 'okx',
        symbol,
      });
  }
}

export function createOkxConnectorSpec(channel = 'books'): VenueConnectorSpec {
  const arg = (instId: string) => ({ channel, instId });
  const frame = (op: 'subscribe' | 'unsubscribe', ids: readonly string[]) => JSON.stringify({ op, args: ids.map(arg) });
  return {
    venue: 'okx',
    defaultEndpoints: { wsBase: 'wss://ws.okx.com:8443/ws/v5/public', restBase: 'https://www.okx.com' },
    toVenueSymbol: okxInstId,
    plan(symbols: readonly string[], endpoints: VenueEndpoints): ConnectionPlan[] {
      const ids = [...new Set(symbols.map((s) => s.toUpperCase()))];
      const plans: ConnectionPlan[] = [];
      for (let i = 0; i < ids.length; i += OKX_INSTRUMENTS_PER_CONNECTION) {
        const chunk = ids.slice(i, i + OKX_INSTRUMENTS_PER_CONNECTION);
        const onOpen: string[] = [];
        for (let j = 0; j < chunk.length; j += OKX_ARGS_PER_SUBSCRIBE) {
          onOpen.push(frame('subscribe', chunk.slice(j, j + OKX_ARGS_PER_SUBSCRIBE)));
        }
        // Public trades (`trades` channel) after the books, in the same batch sizes.
        for (let j = 0; j < chunk.length; j += OKX_ARGS_PER_SUBSCRIBE) {
          const args = chunk.slice(j, j + OKX_ARGS_PER_SUBSCRIBE).map((instId) => ({ channel: 'trades', instId }));
          onOpen.push(JSON.stringify({ op: 'subscribe', args }));
        }
        plans.push({ id: `okx.ws.${plans.length}`, url: endpoints.wsBase, symbols: chunk, onOpen });
      }
      return plans;
    },
    appPing: { intervalMs: 20_000, frame: 'ping', isPong: (f) => f === 'pong' },
    staleAfterMs: 60_000,
    snapshotOnConnect: false,
    recovery: (symbol) => ({
      kind: 'resubscribe',
      frames: [frame('unsubscribe', [symbol.toUpperCase()]), frame('subscribe', [symbol.toUpperCase()])],
    }),
    restLimit: { weight: 20, windowMs: 2_000 },
    instruments: {
      request: (endpoints) => okxInstrumentsRequest(endpoints, 'SPOT'),
      parse: parseOkxInstruments,
    },
  };
}

export const okxConnector: VenueConnectorSpec = createOkxConnectorSpec();

export function okxInstrumentsRequest(endpoints: VenueEndpoints, instType: OkxInstType) {
  return { url: `${endpoints.restBase}/api/v5/public/instruments?instType=${instType}`, weight: 1 };
}

/**
 * Parses `GET /api/v5/public/instruments` (SPOT, SWAP or FUTURES) into live instruments. Linear and
 * inverse contracts take base/quote from `uly` (`BTC-USD`) and keep `ctVal` as the contract size.
 * Entries that do not validate are left out; a body without `data` throws QOB_ERR_MALFORMED_MESSAGE.
 */
export function parseOkxInstruments(body: string): Instrument[] {
  const o = parseJsonObject('okx', body);
  if (o.code !== '0' || !Array.isArray(o.data)) {
    throw malformedMessage('okx', 'instruments response without data', { code: String(o.code) });
  }
  const out: Instrument[] = [];
  for (const r of o.data as unknown[]) {
    if (!isRecord(r) || r.state !== 'live' || typeof r.instId !== 'string') continue;
    let kind: InstrumentKind;
    let base: string;
    let quote: string;
    let expiryMs: number | undefined;
    let contractSize: string | undefined;
    if (r.instType === 'SPOT') {
      kind = 'spot';
      base = String(r.baseCcy);
      quote = String(r.quoteCcy);
    } else if (r.instType === 'SWAP' || r.instType === 'FUTURES') {
      const [b = '', q = ''] = String(r.uly ?? '').split('-');
      base = b;
      quote = q;
      kind = r.instType === 'SWAP' ? 'perp' : 'future';
      if (kind === 'future') expiryMs = Number(r.expTime);
      contractSize = typeof r.ctVal === 'string' && r.ctVal !== '' ? r.ctVal : undefined;
    } else continue;
    try {
      out.push(
        createInstrument({
          venue: 'okx',
          venueSymbol: r.instId,
          base,
          quote,
          kind,
          tickSize: String(r.tickSz),
          lotSize: String(r.lotSz),
          ...(expiryMs === undefined ? {} : { expiryMs }),
          ...(contractSize === undefined ? {} : { contractSize }),
        }),
      );
    } catch {
      // Not representable in our scheme: left out of discovery.
    }
  }
  return out;
}
