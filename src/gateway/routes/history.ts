/**
 * History routes under /api/v1, over storage (`HistorySource`): stored trades by page, candles, and one
 * venue's book at a past instant rebuilt from the nearest snapshot and the deltas after it. Without a
 * store they answer 503 QOB_ERR_STORE_DISABLED; a bad range or time is 400 QOB_ERR_INVALID_ARGUMENT.
 */
import type { FastifyInstance } from 'fastify';
import { qobError } from '../../core/errors.ts';
import type { Level } from '../../domain/index.ts';
import { parseNormalizedSymbol } from '../../domain/instrument.ts';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_INTERVALS,
  type HistoryInterval,
  type HistorySource,
  parseTimeParam,
  parseTimeRange,
} from '../history.ts';
import {
  BOOK_AT_QUERY,
  BOOK_AT_RESPONSE,
  CANDLES_QUERY,
  CANDLES_RESPONSE,
  DEFAULT_DEPTH,
  ERRORS,
  SYMBOL_PARAM,
  TRADES_QUERY,
  TRADES_RESPONSE,
  VENUE_PARAM,
} from '../schemas.ts';

const TAG = ['history'];
const PARAMS = {
  type: 'object',
  required: ['venue', 'symbol'],
  properties: { venue: VENUE_PARAM, symbol: SYMBOL_PARAM },
} as const;

interface Params {
  venue: string;
  symbol: string;
}

function normalizedSymbol(text: string): string {
  const symbol = text.toUpperCase();
  parseNormalizedSymbol(symbol);
  return symbol;
}

function levels(side: readonly Level[]): { price: string; size: string }[] {
  return side.map(([price, size]) => ({ price, size }));
}

export function historyRoutes(app: FastifyInstance, history: HistorySource | undefined): void {
  function store(what: string): HistorySource {
    if (history === undefined) {
      throw qobError('QOB_ERR_STORE_DISABLED', `no store is configured: ${what} are not kept`, {
        what,
        hint: 'set store.engine to embedded or postgres',
      });
    }
    return history;
  }

  app.get<{ Params: Params; Querystring: { from?: string; to?: string; limit?: number; cursor?: string } }>(
    '/api/v1/trades/:venue/:symbol',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'Stored trades of one venue book, oldest first, by page',
        description:
          'Trades with `from <= time < to` (venue time, else receive time). When `nextCursor` is not null, ask ' +
          'again with the same `from` and `to` and `cursor=nextCursor` for the next page. ' +
          '503 QOB_ERR_STORE_DISABLED without a store.',
        tags: TAG,
        operationId: 'getTrades',
        params: PARAMS,
        querystring: TRADES_QUERY,
        response: { 200: TRADES_RESPONSE, ...ERRORS },
      },
    },
    async (req) => {
      const { venue } = req.params;
      const symbol = normalizedSymbol(req.params.symbol);
      const { fromMs, toMs } = parseTimeRange(req.query.from, req.query.to);
      const limit = req.query.limit ?? HISTORY_DEFAULT_LIMIT;
      const cursor = req.query.cursor;
      const page = await store('trades').trades({
        venue,
        symbol,
        fromMs,
        toMs,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return {
        venue,
        symbol,
        fromMs,
        toMs,
        count: page.trades.length,
        nextCursor: page.nextCursor,
        trades: page.trades.map((t) => ({
          tsMs: t.tsEventMs ?? t.tsRecvMs,
          tsEventMs: t.tsEventMs,
          tsRecvMs: t.tsRecvMs,
          price: t.price,
          size: t.size,
          aggressor: t.aggressor,
          tradeId: t.tradeId,
        })),
      };
    },
  );

  app.get<{ Params: Params; Querystring: { interval: HistoryInterval; from?: string; to?: string; limit?: number } }>(
    '/api/v1/candles/:venue/:symbol',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'Candles of one venue book from stored trades: OHLC, volume, VWAP and trade count',
        description:
          `Buckets of \`interval\` (${HISTORY_INTERVALS.join(', ')}) starting in \`[from, to)\`, oldest first; ` +
          'a bucket without trades is absent. Decimals are exact text. 503 QOB_ERR_STORE_DISABLED without a store.',
        tags: TAG,
        operationId: 'getCandles',
        params: PARAMS,
        querystring: CANDLES_QUERY,
        response: { 200: CANDLES_RESPONSE, ...ERRORS },
      },
    },
    async (req) => {
      const { venue } = req.params;
      const symbol = normalizedSymbol(req.params.symbol);
      const { interval } = req.query;
      const { fromMs, toMs } = parseTimeRange(req.query.from, req.query.to);
      const limit = req.query.limit ?? HISTORY_DEFAULT_LIMIT;
      const candles = await store('candles').candles({ venue, symbol, interval, fromMs, toMs, limit });
      return { venue, symbol, interval, fromMs, toMs, candles };
    },
  );

  app.get<{ Params: Params; Querystring: { time: string; depth?: number } }>(
    '/api/v1/books/:venue/:symbol/at',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: "One venue's L2 book at a past instant, rebuilt from storage",
        description:
          'The nearest stored snapshot at or before `time` plus every stored delta received up to `time`. ' +
          '`exact` is true when that snapshot held the whole book (then the levels are exact at every depth). 404 QOB_ERR_NOT_FOUND when no ' +
          'snapshot was stored before `time`; 503 QOB_ERR_STORE_DISABLED without a store.',
        tags: TAG,
        operationId: 'getBookAt',
        params: PARAMS,
        querystring: BOOK_AT_QUERY,
        response: { 200: BOOK_AT_RESPONSE, ...ERRORS },
      },
    },
    async (req) => {
      const { venue } = req.params;
      const symbol = normalizedSymbol(req.params.symbol);
      const atMs = parseTimeParam(req.query.time, 'time');
      const depth = req.query.depth ?? DEFAULT_DEPTH;
      const b = await store('books').bookAt({ venue, symbol, atMs, depth });
      return {
        venue,
        symbol,
        atMs: b.atMs,
        depth,
        snapshotAtMs: b.snapshotAtMs,
        snapshotSource: b.snapshotSource,
        snapshotDepth: b.snapshotDepth,
        deltasApplied: b.deltasApplied,
        exact: b.snapshotDepth === null,
        bids: levels(b.bids),
        asks: levels(b.asks),
      };
    },
  );
}
