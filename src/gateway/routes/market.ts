/**
 * Market data routes under /api/v1: venues, instruments, one venue's book, the consolidated book and the
 * status of venues and books. A book that is not in sync is never served (503 QOB_ERR_BOOK_NOT_SYNCED
 * with its status): a client gets exact current levels or an error, never stale ones. Trades, candles
 * and the book at a past instant come with storage.
 */
import type { FastifyInstance } from 'fastify';
import { ConsolidatedBook } from '../../book/consolidated-book.ts';
import { qobError } from '../../core/errors.ts';
import { parseNormalizedSymbol } from '../../domain/instrument.ts';
import { isKnownVenueId, VENUE_INFO } from '../../domain/venue.ts';
import { BookBodyCache } from '../book-body.ts';
import {
  BOOK_RESPONSE,
  CONSOLIDATED_RESPONSE,
  DEFAULT_DEPTH,
  DEPTH_QUERY,
  ERRORS,
  INSTRUMENTS_RESPONSE,
  NO_QUERY,
  STATUS_RESPONSE,
  SYMBOL_PARAM,
  VENUE_PARAM,
  VENUES_RESPONSE,
} from '../schemas.ts';
import type { BookRef, MarketDataSource } from '../source.ts';

const TAG = ['market data'];
const JSON_TYPE = 'application/json; charset=utf-8';

/** Path symbols already validated (hot book routes parse the same few symbols); bounded, cleared when full. */
const validSymbols = new Set<string>();
const MAX_VALID_SYMBOLS = 1024;

/** A path symbol in our normalized form (case-insensitive); QOB_ERR_INVALID_SYMBOL when it is not one. */
function normalizedSymbol(text: string): string {
  const symbol = text.toUpperCase();
  if (validSymbols.has(symbol)) return symbol;
  parseNormalizedSymbol(symbol);
  if (validSymbols.size >= MAX_VALID_SYMBOLS) validSymbols.clear();
  validSymbols.add(symbol);
  return symbol;
}

function notSynced(ref: BookRef): never {
  throw qobError('QOB_ERR_BOOK_NOT_SYNCED', `${ref.venue} ${ref.symbol} is ${ref.status}: no levels are served`, {
    venue: ref.venue,
    symbol: ref.symbol,
    status: ref.status,
    ...(ref.reason === null ? {} : { reason: ref.reason }),
  });
}

export function marketRoutes(app: FastifyInstance, source: MarketDataSource): void {
  const bodies = new BookBodyCache();
  app.get(
    '/api/v1/venues',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'Venues the platform runs or lists, with their connection state',
        tags: TAG,
        operationId: 'listVenues',
        querystring: NO_QUERY,
        response: { 200: VENUES_RESPONSE, ...ERRORS },
      },
    },
    async () => ({
      venues: source.venues().map((v) => ({
        ...v,
        name: isKnownVenueId(v.id) ? VENUE_INFO[v.id].name : v.id,
        bookIntegrity: isKnownVenueId(v.id) ? VENUE_INFO[v.id].bookIntegrity : null,
      })),
    }),
  );

  app.get(
    '/api/v1/instruments',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'Instruments (normalized symbols) and the venues that carry them',
        tags: TAG,
        operationId: 'listInstruments',
        querystring: NO_QUERY,
        response: { 200: INSTRUMENTS_RESPONSE, ...ERRORS },
      },
    },
    async () => {
      const bySymbol = new Map<string, BookRef[]>();
      for (const b of source.books()) {
        const list = bySymbol.get(b.symbol) ?? [];
        list.push(b);
        bySymbol.set(b.symbol, list);
      }
      const instruments = [...bySymbol.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .flatMap(([symbol, refs]) => {
          let parts: ReturnType<typeof parseNormalizedSymbol>;
          try {
            parts = parseNormalizedSymbol(symbol);
          } catch {
            return [];
          }
          return [
            {
              symbol,
              base: parts.base,
              quote: parts.quote,
              kind: parts.kind,
              venues: refs.map((r) => ({ venue: r.venue, venueSymbol: r.venueSymbol, status: r.status })),
            },
          ];
        });
      return { instruments };
    },
  );

  app.get<{ Params: { venue: string; symbol: string }; Querystring: { depth?: number } }>(
    '/api/v1/books/:venue/:symbol',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: "One venue's current L2 book, best levels first",
        description: 'Served only while the book is in sync; otherwise 503 QOB_ERR_BOOK_NOT_SYNCED with its status.',
        tags: TAG,
        operationId: 'getBook',
        params: {
          type: 'object',
          required: ['venue', 'symbol'],
          properties: { venue: VENUE_PARAM, symbol: SYMBOL_PARAM },
        },
        querystring: DEPTH_QUERY,
        response: { 200: BOOK_RESPONSE, ...ERRORS },
      },
    },
    // Synchronous (no promise per request): Fastify turns a throw into the error response as it does a rejection.
    (req, reply) => {
      const { venue } = req.params;
      const symbol = normalizedSymbol(req.params.symbol);
      const depth = req.query.depth ?? DEFAULT_DEPTH;
      const ref = source.book(venue, symbol);
      if (ref === undefined) {
        if (!source.venues().some((v) => v.id === venue)) {
          throw qobError('QOB_ERR_UNKNOWN_VENUE', `no venue ${venue}`, { venue });
        }
        throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `${venue} has no book for ${symbol}`, { venue, symbol });
      }
      if (!ref.inSync || ref.book === undefined) notSynced(ref);
      // BOOK_RESPONSE, encoded once per book version and depth (src/gateway/book-body.ts).
      reply.type(JSON_TYPE).send(bodies.body(ref, ref.book, depth));
    },
  );

  app.get<{ Params: { symbol: string }; Querystring: { depth?: number } }>(
    '/api/v1/books/consolidated/:symbol',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'The consolidated book of one instrument across venues, with the per-venue breakdown',
        description:
          'Merges the venue books that are in sync; the others are listed in `excluded`. `opportunity` is set ' +
          'when one venue bids above another one asks. 503 QOB_ERR_BOOK_NOT_SYNCED when no venue book is in sync.',
        tags: TAG,
        operationId: 'getConsolidatedBook',
        params: { type: 'object', required: ['symbol'], properties: { symbol: SYMBOL_PARAM } },
        querystring: DEPTH_QUERY,
        response: { 200: CONSOLIDATED_RESPONSE, ...ERRORS },
      },
    },
    async (req) => {
      const symbol = normalizedSymbol(req.params.symbol);
      const depth = req.query.depth ?? DEFAULT_DEPTH;
      const refs = source.books().filter((b) => b.symbol === symbol);
      if (refs.length === 0) {
        throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `no venue carries ${symbol}`, { symbol });
      }
      const cb = new ConsolidatedBook(symbol);
      const missing: { venue: string; status: string }[] = [];
      for (const r of refs) {
        if (r.book === undefined) missing.push({ venue: r.venue, status: r.status });
        else cb.addVenue({ venue: r.venue, book: r.book, inSync: r.inSync, status: r.status });
      }
      const d = cb.depth(depth);
      const excluded = [...d.excluded, ...missing];
      const venues = cb.venues().filter((v) => !excluded.some((e) => e.venue === v));
      if (venues.length === 0) {
        throw qobError('QOB_ERR_BOOK_NOT_SYNCED', `no venue book of ${symbol} is in sync`, { symbol, excluded });
      }
      const opportunity = cb.bbo().opportunity;
      return { symbol, depth, venues, excluded, bids: d.bids, asks: d.asks, opportunity: opportunity ?? null };
    },
  );

  app.get(
    '/api/v1/status',
    {
      config: { permission: 'market:read' },
      schema: {
        summary: 'Status of every venue and book, with staleness',
        description:
          'The latest status the platform took (`tsMs`); `ageMs` of a book is the time since it last applied ' +
          'an update, as of `tsMs`.',
        tags: ['status'],
        operationId: 'getStatus',
        querystring: NO_QUERY,
        response: { 200: STATUS_RESPONSE, ...ERRORS },
      },
    },
    async () => source.status(),
  );
}
