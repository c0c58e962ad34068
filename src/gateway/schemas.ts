/**
 * JSON schemas of every route's input and output. Fastify validates inputs against them and serializes
 * responses through them (only the declared properties are written, so nothing internal leaks), and
 * @fastify/swagger turns them into the OpenAPI document. Prices and sizes are exact decimal text.
 */
import { ERROR_SCHEMA } from './errors.ts';
import { HISTORY_DEFAULT_LIMIT, HISTORY_INTERVALS, HISTORY_MAX_LIMIT } from './history.ts';

export const DEFAULT_DEPTH = 20;
export const MAX_DEPTH = 1000;

const decimal = { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$', description: 'exact decimal text' } as const;
const nullableDecimal = { type: ['string', 'null'], description: 'exact decimal text, or null' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;

/** Every error status a route can answer with, in the one error format. */
export const ERRORS = {
  '4xx': ERROR_SCHEMA,
  '5xx': ERROR_SCHEMA,
} as const;

export const VENUE_PARAM = {
  type: 'string',
  minLength: 1,
  maxLength: 40,
  pattern: '^[a-z0-9][a-z0-9:_-]*$',
  description: 'Venue id (`binance`, `sim`, `ccxt:<id>`)',
} as const;

export const SYMBOL_PARAM = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9.-]+$',
  description: 'Normalized symbol (`BTC-USDT`, `BTC-USDT-PERP`); case-insensitive',
} as const;

export const DEPTH_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    depth: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_DEPTH,
      default: DEFAULT_DEPTH,
      description: `Levels per side (1 to ${MAX_DEPTH}, default ${DEFAULT_DEPTH})`,
    },
  },
} as const;

export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

const level = {
  type: 'object',
  required: ['price', 'size'],
  properties: { price: decimal, size: decimal },
} as const;

export const VENUE_SCHEMA = {
  type: 'object',
  required: ['id', 'name', 'kind', 'state', 'reason', 'bookIntegrity', 'symbols'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string', enum: ['sim', 'live', 'unavailable'] },
    state: { type: 'string' },
    reason: { type: 'string' },
    bookIntegrity: {
      type: ['string', 'null'],
      description: 'How the venue lets a book detect lost updates: sequence, checksum, both, none',
    },
    symbols: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const VENUES_RESPONSE = {
  type: 'object',
  required: ['venues'],
  properties: { venues: { type: 'array', items: VENUE_SCHEMA } },
} as const;

export const INSTRUMENTS_RESPONSE = {
  type: 'object',
  required: ['instruments'],
  properties: {
    instruments: {
      type: 'array',
      items: {
        type: 'object',
        required: ['symbol', 'base', 'quote', 'kind', 'venues'],
        properties: {
          symbol: { type: 'string' },
          base: { type: 'string' },
          quote: { type: 'string' },
          kind: { type: 'string', enum: ['spot', 'perp', 'future', 'option'] },
          venues: {
            type: 'array',
            items: {
              type: 'object',
              required: ['venue', 'venueSymbol', 'status'],
              properties: { venue: { type: 'string' }, venueSymbol: { type: 'string' }, status: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;

export const BOOK_RESPONSE = {
  type: 'object',
  required: ['venue', 'symbol', 'venueSymbol', 'status', 'depth', 'updates', 'bids', 'asks'],
  properties: {
    venue: { type: 'string' },
    symbol: { type: 'string' },
    venueSymbol: { type: 'string' },
    status: { type: 'string', enum: ['in_sync'], description: 'Only books in sync are served' },
    depth: { type: 'integer' },
    updates: { type: 'integer', description: 'Book messages applied so far' },
    bids: { type: 'array', items: level, description: 'Best first' },
    asks: { type: 'array', items: level, description: 'Best first' },
  },
} as const;

const consolidatedLevel = {
  type: 'object',
  required: ['price', 'size', 'venues'],
  properties: {
    price: decimal,
    size: decimal,
    venues: {
      type: 'array',
      description: 'Per-venue breakdown of the level',
      items: {
        type: 'object',
        required: ['venue', 'price', 'size'],
        properties: { venue: { type: 'string' }, price: decimal, size: decimal },
      },
    },
  },
} as const;

const excluded = {
  type: 'array',
  description: 'Venues left out because their book is not in sync, and their status',
  items: {
    type: 'object',
    required: ['venue', 'status'],
    properties: { venue: { type: 'string' }, status: { type: 'string' } },
  },
} as const;

export const CONSOLIDATED_RESPONSE = {
  type: 'object',
  required: ['symbol', 'depth', 'venues', 'excluded', 'bids', 'asks', 'opportunity'],
  properties: {
    symbol: { type: 'string' },
    depth: { type: 'integer' },
    venues: { type: 'array', items: { type: 'string' }, description: 'Venues merged into the levels' },
    excluded,
    bids: { type: 'array', items: consolidatedLevel },
    asks: { type: 'array', items: consolidatedLevel },
    opportunity: {
      description: 'A cross-venue opportunity (one venue bids above another one asks), or null',
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['buyVenue', 'sellVenue', 'buyPrice', 'sellPrice', 'edge', 'edgeBps', 'size'],
          properties: {
            buyVenue: { type: 'string' },
            sellVenue: { type: 'string' },
            buyPrice: decimal,
            sellPrice: decimal,
            edge: decimal,
            edgeBps: { type: 'number', description: 'A statistic (float)' },
            size: decimal,
          },
        },
      ],
    },
  },
} as const;

export const STATUS_RESPONSE = {
  type: 'object',
  required: ['tsMs', 'venues', 'books'],
  properties: {
    tsMs: { type: 'number', description: 'When the status was taken (epoch ms)' },
    venues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['venue', 'kind', 'state', 'reason'],
        properties: {
          venue: { type: 'string' },
          kind: { type: 'string' },
          state: { type: 'string' },
          reason: { type: 'string' },
          unreachable: { type: 'boolean' },
          retryInMs: nullableInteger,
          epoch: nullableInteger,
          tries: { type: 'integer' },
          frames: { type: 'integer' },
          framesPerSec: { type: 'number' },
          books: { type: 'integer' },
          booksInSync: { type: 'integer' },
        },
      },
    },
    books: {
      type: 'array',
      items: {
        type: 'object',
        required: ['venue', 'symbol', 'status', 'ageMs'],
        properties: {
          venue: { type: 'string' },
          symbol: { type: 'string' },
          venueSymbol: { type: 'string' },
          status: { type: 'string' },
          reason: nullableString,
          bestBid: nullableDecimal,
          bestAsk: nullableDecimal,
          spread: nullableDecimal,
          mid: nullableDecimal,
          bidLevels: { type: 'integer' },
          askLevels: { type: 'integer' },
          updates: { type: 'integer' },
          updatesPerSec: { type: 'number' },
          crossed: { type: 'integer' },
          gaps: { type: 'integer' },
          ageMs: {
            ...nullableInteger,
            description: 'Staleness: milliseconds since the book last applied an update, as of tsMs (null: never)',
          },
        },
      },
    },
  },
} as const;

export const HEALTH_RESPONSE = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

export const READY_RESPONSE = {
  type: 'object',
  required: ['status', 'reason'],
  properties: { status: { type: 'string', enum: ['ready'] }, reason: { type: 'string' } },
} as const;

// History (src/gateway/routes/history.ts)

const timeParam = (what: string) =>
  ({
    type: 'string',
    minLength: 1,
    maxLength: 40,
    description: `${what}: epoch milliseconds (\`1764043200000\`) or an ISO 8601 instant with its zone (\`2026-11-25T04:00:00Z\`)`,
  }) as const;

const historyLimit = {
  type: 'integer',
  minimum: 1,
  maximum: HISTORY_MAX_LIMIT,
  default: HISTORY_DEFAULT_LIMIT,
  description: `Rows per answer (1 to ${HISTORY_MAX_LIMIT}, default ${HISTORY_DEFAULT_LIMIT})`,
} as const;

export const TRADES_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: timeParam('Inclusive start (default: the oldest trade)'),
    to: timeParam('Exclusive end (default: no end)'),
    limit: historyLimit,
    cursor: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: '`nextCursor` of the previous page (with the same from and to)',
    },
  },
} as const;

export const CANDLES_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['interval'],
  properties: {
    interval: { type: 'string', enum: HISTORY_INTERVALS, description: 'Bucket length' },
    from: timeParam('Inclusive bucket start (default: the oldest)'),
    to: timeParam('Exclusive end (default: no end)'),
    limit: historyLimit,
  },
} as const;

export const BOOK_AT_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['time'],
  properties: {
    time: timeParam('The instant: every event received at or before it is applied'),
    depth: DEPTH_QUERY.properties.depth,
  },
} as const;

export const TRADES_RESPONSE = {
  type: 'object',
  required: ['venue', 'symbol', 'fromMs', 'toMs', 'count', 'nextCursor', 'trades'],
  properties: {
    venue: { type: 'string' },
    symbol: { type: 'string' },
    fromMs: { type: 'number', description: 'The range asked, epoch ms (inclusive)' },
    toMs: { type: 'number', description: 'Exclusive' },
    count: { type: 'integer' },
    nextCursor: { ...nullableString, description: 'Pass as `cursor` for the next page; null on the last page' },
    trades: {
      type: 'array',
      description: 'Oldest first',
      items: {
        type: 'object',
        required: ['tsMs', 'tsEventMs', 'tsRecvMs', 'price', 'size', 'aggressor', 'tradeId'],
        properties: {
          tsMs: { type: 'number', description: 'The trade time the range applies to: venue time, else receive time' },
          tsEventMs: { type: ['number', 'null'], description: 'Venue event time, epoch ms (null: not sent)' },
          tsRecvMs: { type: 'number', description: 'Our receive time, epoch ms' },
          price: decimal,
          size: decimal,
          aggressor: { type: 'string', enum: ['buy', 'sell', 'unknown'], description: 'Side of the taker' },
          tradeId: nullableString,
        },
      },
    },
  },
} as const;

export const CANDLES_RESPONSE = {
  type: 'object',
  required: ['venue', 'symbol', 'interval', 'fromMs', 'toMs', 'candles'],
  properties: {
    venue: { type: 'string' },
    symbol: { type: 'string' },
    interval: { type: 'string', enum: HISTORY_INTERVALS },
    fromMs: { type: 'number' },
    toMs: { type: 'number' },
    candles: {
      type: 'array',
      description: 'Oldest first; buckets without trades are absent',
      items: {
        type: 'object',
        required: ['openTimeMs', 'open', 'high', 'low', 'close', 'volume', 'notional', 'vwap', 'tradeCount'],
        properties: {
          openTimeMs: { type: 'number', description: 'Bucket start, epoch ms' },
          open: decimal,
          high: decimal,
          low: decimal,
          close: decimal,
          volume: decimal,
          notional: { ...decimal, description: 'Sum of price x size, exact' },
          vwap: { ...decimal, description: 'notional / volume, rounded half-up to 18 fraction digits' },
          tradeCount: { type: 'integer' },
        },
      },
    },
  },
} as const;

export const BOOK_AT_RESPONSE = {
  type: 'object',
  required: [
    'venue',
    'symbol',
    'atMs',
    'depth',
    'snapshotAtMs',
    'snapshotSource',
    'snapshotDepth',
    'deltasApplied',
    'exact',
    'bids',
    'asks',
  ],
  properties: {
    venue: { type: 'string' },
    symbol: { type: 'string' },
    atMs: { type: 'number', description: 'The instant, epoch ms' },
    depth: { type: 'integer' },
    snapshotAtMs: { type: 'number', description: 'Receive time of the snapshot the book was rebuilt from' },
    snapshotSource: { type: 'string', enum: ['venue', 'periodic'] },
    snapshotDepth: { ...nullableInteger, description: 'Levels per side the snapshot kept (null: the whole book)' },
    deltasApplied: { type: 'integer' },
    exact: { type: 'boolean', description: 'The snapshot held the whole book: the levels are exact at every depth' },
    bids: { type: 'array', items: level, description: 'Best first' },
    asks: { type: 'array', items: level, description: 'Best first' },
  },
} as const;
