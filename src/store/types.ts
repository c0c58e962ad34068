/** The storage contract: one interface, implemented over the embedded engine and a PostgreSQL server. */
import type { BookSnapshotEvent, Instrument, Level, MarketEvent, StatusEvent, TradeEvent } from '../domain/index.ts';
import type { EngineKind } from './engine.ts';
import type { WriterStats } from './writer.ts';

export interface StoreCapabilities {
  readonly engine: EngineKind;
  /** TimescaleDB in use: hypertables, compression, continuous aggregates for candles. */
  readonly timescale: boolean;
  /** How time-series tables are split: TimescaleDB chunks, or plain PostgreSQL daily range partitions. */
  readonly partitioning: 'hypertable' | 'declarative';
  /** How candles are kept: continuous aggregates, or rollup tables upserted by the writer. */
  readonly candles: 'continuous-aggregate' | 'writer-rollup';
}

/** What `SqlStore.features()` detected in the database itself. */
export interface StoreFeatures extends StoreCapabilities {
  /** The TimescaleDB extension's version when it is installed, else null. */
  readonly timescaleVersion: string | null;
  /** TimescaleDB hypertables, or plain tables split into daily partitions (`partition by range (ts)`). */
  readonly hypertables: readonly string[];
  readonly partitionedTables: readonly string[];
  /** Continuous aggregates (TimescaleDB) or rollup tables upserted by the writer (plain). */
  readonly continuousAggregates: readonly string[];
  readonly rollupTables: readonly string[];
  /** Tables with TimescaleDB compression enabled. */
  readonly compressed: readonly string[];
  /** Days kept per table by TimescaleDB retention jobs (plain: the policy `applyRetention` uses). */
  readonly retentionDays: Readonly<Partial<Record<RetentionTable, number>>>;
}

export interface StoreHealth extends WriterStats {
  /** The engine answered a query just now. */
  readonly ok: boolean;
  readonly engine: EngineKind;
  readonly timescale: boolean;
  readonly schemaVersion: number;
  readonly error?: string;
}

export const CANDLE_INTERVALS = ['1s', '5s', '15s', '30s', '1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const;
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export interface TradeQuery {
  readonly venue: string;
  readonly symbol: string;
  /** Inclusive, epoch ms of the trade (venue time, else receive time). */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  /** Default 1,000, at most 10,000. */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface TradePage {
  readonly trades: readonly TradeEvent[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

export interface CandleQuery {
  readonly venue: string;
  readonly symbol: string;
  readonly interval: CandleInterval;
  /** Inclusive bucket start, epoch ms. */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  /** Default 1,000, at most 10,000. */
  readonly limit?: number;
}

/** One candle; decimals are canonical exact text. */
export interface Candle {
  readonly venue: string;
  readonly symbol: string;
  readonly interval: CandleInterval;
  readonly openTimeMs: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  /** Sum of price x size, exact. */
  readonly notional: string;
  /** notional / volume rounded half-up to 18 fraction digits (PostgreSQL numeric round). */
  readonly vwap: string;
  readonly tradeCount: number;
}

export interface BookAtQuery {
  readonly venue: string;
  readonly symbol: string;
  /** Every event received at or before this epoch ms is applied. */
  readonly atMs: number;
  /** Levels per side in the answer (default all). */
  readonly depth?: number;
}

export interface BookAt {
  readonly venue: string;
  readonly symbol: string;
  readonly atMs: number;
  /** Receive time of the snapshot the book was rebuilt from. */
  readonly snapshotAtMs: number;
  readonly snapshotSource: 'venue' | 'periodic';
  /** Levels per side the snapshot kept, null for the whole book (only then is the rebuild exact at all depths). */
  readonly snapshotDepth: number | null;
  readonly deltasApplied: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

export interface StatusQuery {
  readonly venue: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly limit?: number;
}

export const RETENTION_TABLES = [
  'trades',
  'book_deltas',
  'book_snapshots',
  'venue_status',
  'candles_1s',
  'candles_1m',
] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

/** Days of data kept per table; a table not listed is kept forever. */
export type RetentionPolicy = Partial<Record<RetentionTable, number>>;

export interface RetentionReport {
  /** Per table: partitions or chunks dropped, or rows deleted for the plain candle tables. */
  readonly dropped: Readonly<Partial<Record<RetentionTable, number>>>;
}

export interface Store {
  readonly capabilities: StoreCapabilities;
  /**
   * Queues an event for the batched writer (and, for books, the periodic snapshotter). Never blocks and
   * never throws: false when the queue is full (counted as overflow) or the store is closed.
   */
  append(event: MarketEvent): boolean;
  /** Resolves when every event appended before the call is committed (acknowledged). */
  flush(): Promise<void>;
  upsertInstruments(instruments: readonly Instrument[]): Promise<void>;
  instruments(venue?: string): Promise<Instrument[]>;
  trades(q: TradeQuery): Promise<TradePage>;
  candles(q: CandleQuery): Promise<Candle[]>;
  bookAt(q: BookAtQuery): Promise<BookAt>;
  venueStatus(q: StatusQuery): Promise<StatusEvent[]>;
  /** Drops data older than the policy's days before `nowMs`. */
  applyRetention(nowMs: number, policy?: RetentionPolicy): Promise<RetentionReport>;
  health(): Promise<StoreHealth>;
  /** Flushes and releases the engine. Idempotent. */
  close(): Promise<void>;
}

/** A snapshot taken by the store from its own copy of the live book (see `SnapshotOptions`). */
export interface PeriodicSnapshot {
  readonly type: 'periodic';
  readonly snapshot: Omit<BookSnapshotEvent, 'id' | 'type' | 'schemaVersion'>;
  readonly depth: number | null;
}
