/**
 * The store over any `SqlEngine`: the batched writer (one transaction per batch: COPY into each table,
 * candle rollups on plain PostgreSQL), the periodic snapshotter and the history queries.
 */
import { L2Book } from '../book/l2-book.ts';
import { isQobError, qobError } from '../core/errors.ts';
import { Decimal } from '../core/fixed.ts';
import {
  createInstrument,
  type Instrument,
  type InstrumentKind,
  type Level,
  type MarketEvent,
  type OptionType,
  type StatusEvent,
  status as statusEvent,
  type TradeEvent,
  trade as tradeEvent,
} from '../domain/index.ts';
import { BinaryCopyBuffer, CopyBuffer } from './copy-buffer.ts';
import { numericArray, type SqlEngine, type SqlSession } from './engine.ts';
import type { MigrationReport } from './migrate.ts';
import { type SnapshotOptions, Snapshotter } from './snapshotter.ts';
import {
  type BookAt,
  type BookAtQuery,
  CANDLE_INTERVALS,
  type Candle,
  type CandleInterval,
  type CandleQuery,
  type PeriodicSnapshot,
  RETENTION_TABLES,
  type RetentionPolicy,
  type RetentionReport,
  type RetentionTable,
  type StatusQuery,
  type Store,
  type StoreCapabilities,
  type StoreFeatures,
  type StoreHealth,
  type TradePage,
  type TradeQuery,
} from './types.ts';
import { BatchWriter, type BatchWriterOptions } from './writer.ts';

type Item = MarketEvent | PeriodicSnapshot;

/** One part of a batch, encoded. */
interface EncodedPart {
  /** Trades and book deltas (the bulk of the rows) go in binary COPY format: the server parses no text. */
  readonly tradeRows: BinaryCopyBuffer;
  readonly deltaRows: BinaryCopyBuffer;
  readonly snapshotRows: CopyBuffer;
  readonly statusRows: CopyBuffer;
  /** Venues not seen before. */
  readonly venues: Set<string>;
  /** Daily partitions not known to exist (plain PostgreSQL). */
  readonly days: [PartitionedTable, number][];
}

/** A batch is split into parts (transactions on their own connections) only when each gets this many rows. */
const MIN_PART_ROWS = 4000;

const DAY_MS = 86_400_000;
/** 9999-12-31T23:59:59.999Z: the last instant PostgreSQL and ISO text agree on. */
const MAX_STORE_MS = 253_402_300_799_999;
const MAX_LIMIT = 10_000;
/** Adding it widens a numeric's scale, so PostgreSQL divides to more than 18 fraction digits before rounding. */
const WIDE_ZERO = `0.${'0'.repeat(40)}`;
const PARTITIONED = ['trades', 'book_deltas', 'book_snapshots', 'venue_status'] as const;
type PartitionedTable = (typeof PARTITIONED)[number];

const INTERVAL_SECONDS: Readonly<Record<CandleInterval, number>> = {
  '1s': 1,
  '5s': 5,
  '15s': 15,
  '30s': 30,
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '4h': 14_400,
  '1d': 86_400,
};

const TRADE_COLS = [
  'seq',
  'ts',
  'ts_ms',
  'venue',
  'symbol',
  'ts_event_ms',
  'ts_recv_ms',
  'recv_seq',
  'price',
  'size',
  'aggressor',
  'trade_id',
];
const DELTA_COLS = [
  'seq',
  'ts',
  'venue',
  'symbol',
  'ts_event_ms',
  'ts_recv_ms',
  'recv_seq',
  'first_seq',
  'last_seq',
  'prev_seq',
  'bids',
  'asks',
];
const SNAPSHOT_COLS = [
  'seq',
  'ts',
  'venue',
  'symbol',
  'ts_event_ms',
  'ts_recv_ms',
  'recv_seq',
  'venue_seq',
  'source',
  'depth',
  'bid_prices',
  'bid_sizes',
  'ask_prices',
  'ask_sizes',
];
const STATUS_COLS = ['seq', 'ts', 'venue', 'symbol', 'ts_event_ms', 'ts_recv_ms', 'status', 'reason'];

export interface SqlStoreOptions {
  readonly writer?: BatchWriterOptions;
  readonly snapshots?: SnapshotOptions;
  /** Default policy of `applyRetention`. */
  readonly retention?: RetentionPolicy;
}

function arg(field: string, problem: string, value: unknown) {
  return qobError('QOB_ERR_INVALID_ARGUMENT', `${field} ${problem}`, { field, problem, value: String(value) });
}

function iso(ms: number): string {
  return new Date(Math.floor(Math.min(Math.max(ms, 0), MAX_STORE_MS))).toISOString();
}

function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function partitionName(table: string, dayMs: number): string {
  return `${table}_p${iso(dayMs).slice(0, 10).replaceAll('-', '')}`;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function optNum(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

function checkName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw arg(field, 'must be 1 to 128 characters', v);
  return v;
}

function checkRange(fromMs: unknown, toMs: unknown): void {
  if (typeof fromMs !== 'number' || !Number.isFinite(fromMs)) throw arg('fromMs', 'must be a finite epoch ms', fromMs);
  if (typeof toMs !== 'number' || !Number.isFinite(toMs)) throw arg('toMs', 'must be a finite epoch ms', toMs);
  if (fromMs > toMs) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `fromMs ${fromMs} is after toMs ${toMs}`, {
      field: 'fromMs',
      problem: 'must not be after toMs',
      fromMs,
      toMs,
    });
  }
}

function checkPolicy(policy: RetentionPolicy): void {
  if (typeof policy !== 'object' || policy === null) throw arg('retention', 'must be an object', policy);
  for (const [t, days] of Object.entries(policy)) {
    if (!(RETENTION_TABLES as readonly string[]).includes(t)) throw arg('retention', 'has an unknown table', t);
    if (typeof days !== 'number' || !(days > 0) || !Number.isFinite(days)) {
      throw arg(`retention.${t}`, 'must be a positive number of days', days);
    }
  }
}

function checkLimit(v: unknown): number {
  if (v === undefined) return 1000;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIMIT) {
    throw arg('limit', `must be an integer from 1 to ${MAX_LIMIT}`, v);
  }
  return v;
}

function encodeCursor(tsMs: number, seq: number): string {
  return Buffer.from(JSON.stringify([tsMs, seq])).toString('base64url');
}

function decodeCursor(c: unknown): [number, number] {
  if (typeof c !== 'string' || c.length > 200) throw arg('cursor', 'is not a cursor this store returned', c);
  try {
    const v: unknown = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && Number.isSafeInteger(v[1])) {
      return [v[0] as number, v[1] as number];
    }
  } catch {
    // fall through
  }
  throw arg('cursor', 'is not a cursor this store returned', c);
}

interface CandlePart {
  open: string;
  openTs: number;
  high: Decimal;
  low: Decimal;
  close: string;
  closeTs: number;
  volume: Decimal;
  notional: Decimal;
  count: number;
}

export class SqlStore implements Store {
  readonly capabilities: StoreCapabilities;
  private readonly engine: SqlEngine;
  private readonly migration: MigrationReport;
  private readonly writer: BatchWriter<Item>;
  private readonly snapshotter: Snapshotter;
  private readonly retention: RetentionPolicy;
  private readonly knownPartitions = new Set<string>();
  private readonly knownVenues = new Set<string>();
  private invalid = 0;
  /** Batches being written, by first item: one that fails is handed back by the writer and keeps its `seq` block. */
  private readonly pending = new Map<Item, { readonly head: Item; readonly first: number; readonly n: number }>();
  /**
   * The latest batch's write while it runs (rejects when it fails): the next batch's candle rollups wait for
   * it, so rollups are applied in ingest order (ties in time keep the first trade as open).
   */
  private writing: Promise<void> | undefined;
  /** The last venue and partition creation (never rejects): the next one waits for it. */
  private preparing: Promise<void> = Promise.resolve();
  /** The last `seq` reservation (never rejects): the next one waits for it. */
  private reserving: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(engine: SqlEngine, migration: MigrationReport, options: SqlStoreOptions = {}) {
    this.engine = engine;
    this.migration = migration;
    const ts = migration.variant === 'timescale';
    this.capabilities = Object.freeze({
      engine: engine.kind,
      timescale: ts,
      partitioning: ts ? 'hypertable' : 'declarative',
      candles: ts ? 'continuous-aggregate' : 'writer-rollup',
    });
    // On a server the next batch is encoded and sent while the previous one commits (its candle rollups
    // still wait for it); PGlite runs in this thread, so there is nothing to overlap.
    this.writer = new BatchWriter<Item>((b) => this.write(b), {
      pipeline: engine.parallelism > 1 ? 2 : 1,
      ...options.writer,
    });
    this.snapshotter = new Snapshotter(options.snapshots);
    this.retention = options.retention ?? {};
  }

  // ---- writes --------------------------------------------------------------------------------------

  append(event: MarketEvent): boolean {
    if (this.closing !== undefined) return this.writer.append(event);
    // Beyond year 9999 PostgreSQL and ISO text disagree: such an event would fail its whole batch forever.
    if (!(event.tsRecvMs <= MAX_STORE_MS) || (event.tsEventMs !== null && !(event.tsEventMs <= MAX_STORE_MS))) {
      this.invalid++;
      return false;
    }
    const ok = this.writer.append(event);
    if (this.snapshotter.enabled) {
      if (event.type === 'book.snapshot') this.snapshotter.onSnapshot(event);
      else if (event.type === 'book.delta') {
        const p = this.snapshotter.onDelta(event);
        if (p !== undefined) this.writer.append(p);
      }
    }
    return ok;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Writes a batch the writer handed over. Each batch gets a block of `seq` values once; its rows go out in
   * one or more transactions ("parts", on their own connections at once when the engine has several), and
   * each part records `(first seq, part)` in `store_batches` in its own transaction. A batch that failed is
   * handed back first by the writer: it keeps its `seq` block, and the parts already recorded are skipped,
   * so a part that committed although its acknowledgement was lost (the server died in between) is not
   * written twice. With the writer pipelining, this is called for the next batch while the previous one
   * is still being written: `seq` blocks are still reserved in hand-over order, and the candle upsert
   * waits for the previous batch (and fails if it failed).
   */
  private write(batch: readonly Item[]): Promise<void> {
    // The batch before this one, if it is still being written (the writer pipelines on a server engine).
    const before = this.writing ?? Promise.resolve();
    const done = this.writeAfter(batch, before);
    const tracked = done.then(
      () => {},
      (e: unknown) => {
        throw qobError('QOB_ERR_IO', 'an earlier batch failed: this one is retried after it', {}, e);
      },
    );
    tracked.catch(() => {});
    this.writing = tracked;
    const settle = () => {
      if (this.writing === tracked) this.writing = undefined;
    };
    tracked.then(settle, settle);
    return done;
  }

  private async writeAfter(batch: readonly Item[], before: Promise<void>): Promise<void> {
    // Batches handed back after a failure (several when the writer pipelines) keep their `seq` blocks.
    const retries: [readonly Item[], { readonly head: Item; readonly first: number; readonly n: number }][] = [];
    let rest = batch;
    for (let p = this.pending.get(rest[0] as Item); p !== undefined && rest.length >= p.n; ) {
      retries.push([rest.length === p.n ? rest : rest.slice(0, p.n), p]);
      rest = rest.length === p.n ? [] : rest.slice(p.n);
      p = rest.length === 0 ? undefined : this.pending.get(rest[0] as Item);
    }
    // Blocks are reserved in the order the writer hands batches over (chained before any await), so `seq`
    // follows ingest order.
    let reserved: Promise<number> | undefined;
    if (rest.length > 0) {
      const n = rest.length;
      reserved = this.reserving.then(() => this.reserveSeq(n));
      this.reserving = reserved.then(
        () => {},
        () => {},
      );
    }
    try {
      for (const [range, p] of retries) {
        await this.writeRange(range, p.first, true, before);
        this.pending.delete(p.head);
      }
    } catch (e) {
      reserved?.catch(() => {});
      throw e;
    }
    if (reserved === undefined) return;
    const first = await reserved;
    const head = rest[0] as Item;
    this.pending.set(head, { head, first, n: rest.length });
    await this.writeRange(rest, first, false, before);
    this.pending.delete(head);
  }

  /** Reserves `n` consecutive `seq` values (one statement; the lock keeps concurrent stores' blocks apart). */
  private async reserveSeq(n: number): Promise<number> {
    const r = await this.engine.query(
      `with l as (select pg_advisory_xact_lock(hashtext('qob.event_seq')) as locked)
       select setval('event_seq', nextval('event_seq') + $1::bigint - 1) - $1::bigint + 1 as first from l`,
      [n],
    );
    return num(r[0]?.first);
  }

  /**
   * Part k of a batch is items [k * per, (k + 1) * per): its rows of every table, in one transaction. Parts
   * are encoded one after the other and each is sent as soon as it is encoded, so the server parses part k
   * while part k + 1 is encoded; the last part also upserts the whole batch's candle rollups.
   */
  private async writeRange(
    batch: readonly Item[],
    first: number,
    retry: boolean,
    before: Promise<void>,
  ): Promise<void> {
    const n = batch.length;
    const ways = n >= MIN_PART_ROWS * 2 ? Math.min(this.engine.parallelism, Math.floor(n / MIN_PART_ROWS)) : 1;
    const per = Math.ceil(n / ways);
    const trades: TradeEvent[] = [];
    const running: Promise<void>[] = [];
    for (let k = 0; k < ways; k++) {
      const from = k * per;
      const to = Math.min(n, from + per);
      let enc: EncodedPart;
      try {
        enc = this.encode(batch, from, to, first, trades);
        await this.prepare(enc);
      } catch (e) {
        await Promise.allSettled(running);
        throw e;
      }
      const last = k === ways - 1;
      if (last && trades.length > 0) {
        try {
          await before;
        } catch (e) {
          await Promise.allSettled(running);
          throw e;
        }
      }
      const sent = this.engine.transaction(async (tx) => {
        if (retry) {
          const done = await tx.query('select 1 from store_batches where first_seq = $1 and part = $2', [first, k]);
          if (done.length > 0) return;
        }
        for (const [table, cols, rows] of [
          ['trades', TRADE_COLS, enc.tradeRows],
          ['book_deltas', DELTA_COLS, enc.deltaRows],
        ] as const) {
          if (rows.empty) continue;
          rows.trailer();
          await tx.copyIn(table, cols, rows.bytes(), 'binary');
        }
        await tx.copyIn('book_snapshots', SNAPSHOT_COLS, enc.snapshotRows.bytes());
        await tx.copyIn('venue_status', STATUS_COLS, enc.statusRows.bytes());
        if (last && trades.length > 0) await upsertCandles(tx, trades);
        await tx.query('insert into store_batches (first_seq, part, rows) values ($1, $2, $3)', [first, k, to - from]);
      });
      // Handled below by allSettled; until then a failure must not count as an unhandled rejection.
      sent.catch(() => {});
      running.push(sent);
    }
    const settled = await Promise.allSettled(running);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * Creates the venues and daily partitions a part needs (autocommit, before its rows are sent). One at a
   * time: pipelined batches could otherwise race to create the same partition.
   */
  private prepare(enc: EncodedPart): Promise<void> {
    if (enc.venues.size === 0 && enc.days.length === 0) return Promise.resolve();
    const done = this.preparing.then(async () => {
      if (enc.venues.size > 0) {
        await this.engine.query('insert into venues (id) select unnest($1::text[]) on conflict do nothing', [
          [...enc.venues],
        ]);
        for (const v of enc.venues) this.knownVenues.add(v);
      }
      for (const [t, d] of enc.days) {
        const name = partitionName(t, d);
        if (this.knownPartitions.has(name)) continue;
        await this.engine.exec(
          `create table if not exists ${name} partition of ${t} for values from ('${iso(d)}') to ('${iso(d + DAY_MS)}')`,
        );
        this.knownPartitions.add(name);
      }
    });
    this.preparing = done.catch(() => {});
    return done;
  }

  /** COPY rows of items [from, to); trades for the writer rollups are added to `trades`. */
  private encode(batch: readonly Item[], from: number, to: number, first: number, trades: TradeEvent[]): EncodedPart {
    const size = Math.max(1 << 12, (to - from) * 256);
    const out: EncodedPart & { trades: TradeEvent[] } = {
      tradeRows: new BinaryCopyBuffer(size >> 2),
      deltaRows: new BinaryCopyBuffer(size),
      snapshotRows: new CopyBuffer(),
      statusRows: new CopyBuffer(),
      venues: new Set(),
      days: [],
      trades,
    };
    const declarative = this.capabilities.partitioning === 'declarative';
    const rollup = this.capabilities.candles === 'writer-rollup';
    const seen = new Set<string>();
    // The last day seen per table: a batch rarely spans two days, so the Sets are seldom consulted.
    const lastDay: Record<PartitionedTable, number> = {
      trades: -1,
      book_deltas: -1,
      book_snapshots: -1,
      venue_status: -1,
    };
    const needPartition = (t: PartitionedTable, ms: number) => {
      const d = dayOf(ms);
      if (lastDay[t] === d) return;
      lastDay[t] = d;
      const name = partitionName(t, d);
      if (this.knownPartitions.has(name) || seen.has(name)) return;
      seen.add(name);
      out.days.push([t, d]);
    };
    out.deltaRows.header();
    out.tradeRows.header();
    let lastVenue = '';
    for (let i = from; i < to; i++) {
      const item = batch[i] as Item;
      const seq = first + i;
      const e = item.type === 'periodic' ? item.snapshot : item;
      if (e.venue !== lastVenue) {
        lastVenue = e.venue;
        if (!this.knownVenues.has(e.venue)) out.venues.add(e.venue);
      }
      switch (item.type) {
        case 'trade': {
          const tsMs = item.tsEventMs ?? item.tsRecvMs;
          if (declarative) needPartition('trades', tsMs);
          if (rollup) out.trades.push(item);
          const b = out.tradeRows;
          b.row(TRADE_COLS.length);
          b.int8(seq);
          b.timestampMs(tsMs);
          b.float8(tsMs);
          b.text(item.venue);
          b.text(item.symbol);
          b.float8OrNull(item.tsEventMs);
          b.float8(item.tsRecvMs);
          b.int8(item.recvSeq);
          b.numeric(item.price);
          b.numeric(item.size);
          b.text(item.aggressor);
          b.textOrNull(item.tradeId);
          break;
        }
        case 'book.delta': {
          if (declarative) needPartition('book_deltas', item.tsRecvMs);
          const b = out.deltaRows;
          b.row(DELTA_COLS.length);
          b.int8(seq);
          b.timestampMs(item.tsRecvMs);
          b.text(item.venue);
          b.text(item.symbol);
          b.float8OrNull(item.tsEventMs);
          b.float8(item.tsRecvMs);
          b.int8(item.recvSeq);
          b.int8OrNull(item.firstSeq);
          b.int8OrNull(item.lastSeq);
          b.int8OrNull(item.prevSeq);
          const changes = item.changes;
          const m = changes.length;
          for (let side = 0; side < 2; side++) {
            const want = side === 0 ? 'bid' : 'ask';
            const at = b.beginText();
            let any = false;
            for (let j = 0; j < m; j++) {
              const c = changes[j] as (typeof changes)[number];
              if (c.side !== want) continue;
              if (any) b.byte(44);
              any = true;
              b.ascii(c.price);
              b.byte(58);
              b.ascii(c.size);
            }
            b.endText(at);
          }
          break;
        }
        case 'book.snapshot':
        case 'periodic': {
          const s = item.type === 'periodic' ? item.snapshot : item;
          if (declarative) needPartition('book_snapshots', s.tsRecvMs);
          const b = out.snapshotRows;
          b.number(seq);
          b.tab();
          b.isoMs(s.tsRecvMs);
          b.tab();
          b.text(s.venue);
          b.tab();
          b.text(s.symbol);
          b.tab();
          b.numberOrNull(s.tsEventMs);
          b.tab();
          b.number(s.tsRecvMs);
          b.tab();
          b.number(s.recvSeq);
          b.tab();
          b.numberOrNull(s.seq);
          b.tab();
          b.ascii(item.type === 'periodic' ? 'periodic' : 'venue');
          b.tab();
          b.numberOrNull(item.type === 'periodic' ? item.depth : null);
          b.tab();
          b.ascii(levelsArrays(s.bids));
          b.tab();
          b.ascii(levelsArrays(s.asks));
          b.newline();
          break;
        }
        case 'status': {
          if (declarative) needPartition('venue_status', item.tsRecvMs);
          const b = out.statusRows;
          b.number(seq);
          b.tab();
          b.isoMs(item.tsRecvMs);
          b.tab();
          b.text(item.venue);
          b.tab();
          b.text(item.symbol);
          b.tab();
          b.numberOrNull(item.tsEventMs);
          b.tab();
          b.number(item.tsRecvMs);
          b.tab();
          b.ascii(item.status);
          b.tab();
          b.text(item.reason);
          b.newline();
          break;
        }
      }
    }
    return out;
  }

  async upsertInstruments(instruments: readonly Instrument[]): Promise<void> {
    if (!Array.isArray(instruments)) throw arg('instruments', 'must be an array', instruments);
    await this.engine.transaction(async (tx) => {
      for (const i of instruments) {
        await tx.query('insert into venues (id) values ($1) on conflict do nothing', [i.venue]);
        await tx.query(
          `insert into instruments (venue, symbol, venue_symbol, base, quote, kind, tick_size, lot_size,
             price_precision, quantity_precision, contract_size, expiry_ms, strike, option_type)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           on conflict (venue, symbol) do update set venue_symbol = excluded.venue_symbol, base = excluded.base,
             quote = excluded.quote, kind = excluded.kind, tick_size = excluded.tick_size,
             lot_size = excluded.lot_size, price_precision = excluded.price_precision,
             quantity_precision = excluded.quantity_precision, contract_size = excluded.contract_size,
             expiry_ms = excluded.expiry_ms, strike = excluded.strike, option_type = excluded.option_type,
             updated_at = now()`,
          [
            i.venue,
            i.symbol,
            i.venueSymbol,
            i.base,
            i.quote,
            i.kind,
            i.tickSize,
            i.lotSize,
            i.pricePrecision,
            i.quantityPrecision,
            i.contractSize ?? null,
            i.expiryMs ?? null,
            i.strike ?? null,
            i.optionType ?? null,
          ],
        );
      }
    });
  }

  // ---- queries -------------------------------------------------------------------------------------

  async instruments(venue?: string): Promise<Instrument[]> {
    const rows = await this.engine.query(
      `select venue, symbol, venue_symbol, base, quote, kind, tick_size::text as tick_size, lot_size::text as lot_size,
         price_precision, quantity_precision, contract_size::text as contract_size, expiry_ms, strike::text as strike,
         option_type from instruments where ($1::text is null or venue = $1) order by venue, symbol`,
      [venue === undefined ? null : checkName(venue, 'venue')],
    );
    return rows.map((r) =>
      createInstrument({
        venue: text(r.venue),
        venueSymbol: text(r.venue_symbol),
        base: text(r.base),
        quote: text(r.quote),
        kind: r.kind as InstrumentKind,
        tickSize: text(r.tick_size),
        lotSize: text(r.lot_size),
        pricePrecision: num(r.price_precision),
        quantityPrecision: num(r.quantity_precision),
        ...(r.contract_size === null ? {} : { contractSize: text(r.contract_size) }),
        ...(r.expiry_ms === null ? {} : { expiryMs: num(r.expiry_ms) }),
        ...(r.strike === null ? {} : { strike: text(r.strike) }),
        ...(r.option_type === null ? {} : { optionType: r.option_type as OptionType }),
      }),
    );
  }

  async trades(q: TradeQuery): Promise<TradePage> {
    const venue = checkName(q?.venue, 'venue');
    const symbol = checkName(q.symbol, 'symbol');
    checkRange(q.fromMs, q.toMs);
    const limit = checkLimit(q.limit);
    const [afterMs, afterSeq] = q.cursor === undefined ? [-1, -1] : decodeCursor(q.cursor);
    const rows = await this.engine.query(
      `select seq, ts_ms, ts_event_ms, ts_recv_ms, recv_seq, price::text as price, size::text as size, aggressor, trade_id
       from trades where venue = $1 and symbol = $2 and ts >= $3 and ts <= $4 and ts_ms >= $5 and ts_ms < $6
         and (ts_ms, seq) > ($7::float8, $8::bigint)
       order by ts_ms, seq limit $9`,
      [venue, symbol, iso(q.fromMs), iso(q.toMs), q.fromMs, q.toMs, afterMs, afterSeq, limit + 1],
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const trades = page.map((r) =>
      tradeEvent({
        venue,
        symbol,
        tsEventMs: optNum(r.ts_event_ms),
        tsRecvMs: num(r.ts_recv_ms),
        recvSeq: num(r.recv_seq),
        price: text(r.price),
        size: text(r.size),
        aggressor: r.aggressor as TradeEvent['aggressor'],
        tradeId: r.trade_id === null ? null : text(r.trade_id),
      }),
    );
    const last = page[page.length - 1];
    return {
      trades,
      nextCursor: more && last !== undefined ? encodeCursor(num(last.ts_ms), num(last.seq)) : null,
    };
  }

  async candles(q: CandleQuery): Promise<Candle[]> {
    const venue = checkName(q?.venue, 'venue');
    const symbol = checkName(q.symbol, 'symbol');
    const interval = q.interval;
    if (!(CANDLE_INTERVALS as readonly unknown[]).includes(interval)) {
      throw arg('interval', `must be one of ${CANDLE_INTERVALS.join(', ')}`, interval);
    }
    checkRange(q.fromMs, q.toMs);
    const limit = checkLimit(q.limit);
    const seconds = INTERVAL_SECONDS[interval];
    const base = seconds < 60 ? 'candles_1s' : 'candles_1m';
    const from = Math.floor(q.fromMs / (seconds * 1000)) * seconds * 1000;
    const direct = seconds === 1 || seconds === 60;
    const sql = direct
      ? `select (extract(epoch from bucket) * 1000)::float8 as t, trim_scale(open)::text as open,
           trim_scale(high)::text as high, trim_scale(low)::text as low, trim_scale(close)::text as close,
           trim_scale(volume)::text as volume, trim_scale(notional)::text as notional,
           trim_scale(round((notional + ${WIDE_ZERO}) / volume, 18))::text as vwap, trade_count
         from ${base} where venue = $1 and symbol = $2 and bucket >= $3 and bucket < $4 and $6::int > 0
         order by bucket limit $5`
      : `select (floor(extract(epoch from bucket) / $6::int) * $6::int * 1000)::float8 as t,
           trim_scale((array_agg(open order by open_ts_ms, bucket))[1])::text as open,
           trim_scale(max(high))::text as high, trim_scale(min(low))::text as low,
           trim_scale((array_agg(close order by close_ts_ms desc, bucket desc))[1])::text as close,
           trim_scale(sum(volume))::text as volume, trim_scale(sum(notional))::text as notional,
           trim_scale(round((sum(notional) + ${WIDE_ZERO}) / sum(volume), 18))::text as vwap, sum(trade_count) as trade_count
         from ${base} where venue = $1 and symbol = $2 and bucket >= $3 and bucket < $4
         group by 1 order by 1 limit $5`;
    const rows = await this.engine.query(sql, [venue, symbol, iso(from), iso(q.toMs), limit, seconds]);
    return rows.map((r) => ({
      venue,
      symbol,
      interval,
      openTimeMs: num(r.t),
      open: text(r.open),
      high: text(r.high),
      low: text(r.low),
      close: text(r.close),
      volume: text(r.volume),
      notional: text(r.notional),
      vwap: text(r.vwap),
      tradeCount: num(r.trade_count),
    }));
  }

  async bookAt(q: BookAtQuery): Promise<BookAt> {
    const venue = checkName(q?.venue, 'venue');
    const symbol = checkName(q.symbol, 'symbol');
    const at = q.atMs;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw arg('atMs', 'must be a finite epoch ms', at);
    const depth = q.depth ?? Number.POSITIVE_INFINITY;
    if (!(depth === Number.POSITIVE_INFINITY || (Number.isInteger(depth) && depth > 0))) {
      throw arg('depth', 'must be a positive integer', depth);
    }
    const snaps = await this.engine.query(
      `select seq, ts_recv_ms, source, depth, bid_prices::text[] as bp, bid_sizes::text[] as bs,
         ask_prices::text[] as ap, ask_sizes::text[] as asz
       from book_snapshots where venue = $1 and symbol = $2 and ts <= $3 and ts_recv_ms <= $4
       order by ts desc, ts_recv_ms desc, seq desc limit 1`,
      [venue, symbol, iso(at), at],
    );
    const s = snaps[0];
    if (s === undefined) {
      throw qobError('QOB_ERR_NOT_FOUND', `no book snapshot of ${venue} ${symbol} at or before ${at}`, {
        venue,
        symbol,
        atMs: at,
      });
    }
    const book = new L2Book();
    book.applySnapshot(zip(s.bp, s.bs), zip(s.ap, s.asz));
    const snapMs = num(s.ts_recv_ms);
    // Deltas are applied in ingest order (`seq`); receive times may step back a little between sources.
    const deltas = await this.engine.query(
      `select bids, asks from book_deltas
       where venue = $1 and symbol = $2 and seq > $3 and ts >= $4 and ts <= $5 and ts_recv_ms <= $6
       order by seq`,
      [venue, symbol, num(s.seq), iso(snapMs - 60_000), iso(at), at],
    );
    for (const d of deltas) {
      const bids = levelPairs(d.bids === null ? '' : text(d.bids));
      const asks = levelPairs(d.asks === null ? '' : text(d.asks));
      book.applyDelta(bids, asks);
    }
    const side = (n: 'bid' | 'ask'): Level[] =>
      book.levels(n, depth).map((l) => Object.freeze([l.price, l.size] as const));
    return {
      venue,
      symbol,
      atMs: at,
      snapshotAtMs: snapMs,
      snapshotSource: s.source === 'periodic' ? 'periodic' : 'venue',
      snapshotDepth: optNum(s.depth),
      deltasApplied: deltas.length,
      bids: side('bid'),
      asks: side('ask'),
    };
  }

  async venueStatus(q: StatusQuery): Promise<StatusEvent[]> {
    const venue = checkName(q?.venue, 'venue');
    checkRange(q.fromMs, q.toMs);
    const limit = checkLimit(q.limit);
    const rows = await this.engine.query(
      `select symbol, ts_event_ms, ts_recv_ms, status, reason from venue_status
       where venue = $1 and ts >= $2 and ts <= $3 and ts_recv_ms >= $4 and ts_recv_ms < $5
       order by ts_recv_ms, seq limit $6`,
      [venue, iso(q.fromMs), iso(q.toMs), q.fromMs, q.toMs, limit],
    );
    return rows.map((r) =>
      statusEvent({
        venue,
        symbol: r.symbol === null ? null : text(r.symbol),
        tsEventMs: optNum(r.ts_event_ms),
        tsRecvMs: num(r.ts_recv_ms),
        status: r.status as StatusEvent['status'],
        reason: text(r.reason),
      }),
    );
  }

  // ---- maintenance ---------------------------------------------------------------------------------

  async applyRetention(nowMs: number, policy: RetentionPolicy = this.retention): Promise<RetentionReport> {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) throw arg('nowMs', 'must be a finite epoch ms', nowMs);
    checkPolicy(policy);
    const dropped: Partial<Record<RetentionTable, number>> = {};
    for (const t of RETENTION_TABLES) {
      const days = policy[t];
      if (days === undefined) continue;
      const cutoff = nowMs - days * DAY_MS;
      if (this.capabilities.timescale) {
        const r = await this.engine.query(
          'select count(*) as n from drop_chunks($1::regclass, older_than => $2::timestamptz)',
          [t, iso(cutoff)],
        );
        dropped[t] = num(r[0]?.n ?? 0);
      } else if (t === 'candles_1s' || t === 'candles_1m') {
        const r = await this.engine.query(
          `with d as (delete from ${t} where bucket < $1 returning 1) select count(*) as n from d`,
          [iso(cutoff)],
        );
        dropped[t] = num(r[0]?.n ?? 0);
      } else {
        const parts = await this.engine.query(
          `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
           join pg_class p on p.oid = i.inhparent
           where p.relname = $1 and p.relnamespace = current_schema()::regnamespace`,
          [t],
        );
        let n = 0;
        for (const p of parts) {
          const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(text(p.name));
          if (m === null) continue;
          const dayEnd = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY_MS;
          if (dayEnd > cutoff) continue;
          await this.engine.exec(`drop table if exists ${text(p.name)}`);
          this.knownPartitions.delete(text(p.name));
          n++;
        }
        dropped[t] = n;
      }
    }
    return { dropped };
  }

  /**
   * Installs the retention policy as TimescaleDB background jobs (`add_retention_policy`, replacing earlier
   * ones of the listed tables). Plain PostgreSQL has no scheduler: there `applyRetention` is called on a
   * timer (src/platform.ts). A no-op without TimescaleDB.
   */
  async installRetentionPolicies(policy: RetentionPolicy = this.retention): Promise<void> {
    checkPolicy(policy);
    if (!this.capabilities.timescale) return;
    for (const t of RETENTION_TABLES) {
      const days = policy[t];
      if (days === undefined) continue;
      await this.engine.query('select remove_retention_policy($1::regclass, if_exists => true)', [t]);
      await this.engine.query(
        'select add_retention_policy($1::regclass, drop_after => make_interval(secs => $2::float8))',
        [t, days * 86_400],
      );
    }
  }

  /** What the database itself has: TimescaleDB or not, hypertables or partitions, aggregates, retention. */
  async features(): Promise<StoreFeatures> {
    const ts = this.capabilities.timescale;
    const ext = await this.engine.query("select extversion from pg_extension where extname = 'timescaledb'");
    const names = async (sql: string) => (await this.engine.query(sql)).map((r) => text(r.name)).sort();
    const here = 'current_schema()';
    const retentionDays: Partial<Record<RetentionTable, number>> = {};
    if (ts) {
      const jobs = await this.engine.query(
        `select hypertable_name as name, extract(epoch from (config ->> 'drop_after')::interval)::float8 as secs
         from timescaledb_information.jobs where proc_name = 'policy_retention' and hypertable_schema = ${here}`,
      );
      const caggs = await this.engine.query(
        `select view_name as name, materialization_hypertable_name as mat
         from timescaledb_information.continuous_aggregates where view_schema = ${here}`,
      );
      const byMat = new Map(caggs.map((c) => [text(c.mat), text(c.name)]));
      for (const j of jobs) {
        const name = byMat.get(text(j.name)) ?? text(j.name);
        if ((RETENTION_TABLES as readonly string[]).includes(name)) {
          retentionDays[name as RetentionTable] = num(j.secs) / 86_400;
        }
      }
    } else Object.assign(retentionDays, this.retention);
    return {
      ...this.capabilities,
      timescaleVersion: ext[0] === undefined ? null : text(ext[0].extversion),
      hypertables: ts
        ? await names(
            `select hypertable_name as name from timescaledb_information.hypertables where hypertable_schema = ${here}`,
          )
        : [],
      partitionedTables: ts
        ? []
        : await names(
            `select c.relname as name from pg_partitioned_table p join pg_class c on c.oid = p.partrelid
             where c.relnamespace = ${here}::regnamespace`,
          ),
      continuousAggregates: ts
        ? await names(
            `select view_name as name from timescaledb_information.continuous_aggregates where view_schema = ${here}`,
          )
        : [],
      rollupTables: ts
        ? []
        : await names(
            `select relname as name from pg_class where relkind = 'r' and relname like 'candles\\_%'
             and relnamespace = ${here}::regnamespace`,
          ),
      compressed: ts
        ? await names(
            `select hypertable_name as name from timescaledb_information.hypertables
             where hypertable_schema = ${here} and compression_enabled`,
          )
        : [],
      retentionDays,
    };
  }

  async health(): Promise<StoreHealth> {
    const stats = this.writer.stats();
    const base = {
      ...stats,
      overflow: stats.overflow + this.invalid,
      engine: this.capabilities.engine,
      timescale: this.capabilities.timescale,
      schemaVersion: this.migration.current,
    };
    if (this.closing !== undefined) return { ...base, ok: false, error: 'closed' };
    try {
      await this.engine.query('select 1');
      return { ...base, ok: true };
    } catch (e) {
      return { ...base, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      let err: unknown;
      try {
        await this.writer.close();
      } catch (e) {
        err = e;
      }
      await this.engine.close();
      if (err !== undefined) {
        throw isQobError(err)
          ? err
          : qobError(
              'QOB_ERR_IO',
              'the store closed with events it could not write',
              this.writer.stats() as never,
              err,
            );
      }
    })();
    return this.closing;
  }

  /** The engine, for backup and tests. */
  get sqlEngine(): SqlEngine {
    return this.engine;
  }
}

function levelsArrays(levels: readonly Level[]): string {
  const p: string[] = [];
  const s: string[] = [];
  for (const [price, size] of levels) {
    p.push(price);
    s.push(size);
  }
  return `${numericArray(p)}\t${numericArray(s)}`;
}

/** A delta side as stored (`price:size` pairs joined by `,`; '' for none), back to `[price, size]` pairs. */
function levelPairs(side: string): [string, string][] {
  const out: [string, string][] = [];
  if (side === '') return out;
  let start = 0;
  for (;;) {
    const colon = side.indexOf(':', start);
    const comma = side.indexOf(',', colon);
    const end = comma < 0 ? side.length : comma;
    if (colon < 0 || colon >= end) {
      throw qobError('QOB_ERR_INTERNAL', 'a stored book delta side is malformed', { side: side.slice(0, 200) });
    }
    out.push([side.slice(start, colon), side.slice(colon + 1, end)]);
    if (comma < 0) return out;
    start = comma + 1;
  }
}

function zip(prices: unknown, sizes: unknown): [string, string][] {
  const p = prices as string[];
  const s = sizes as string[];
  return p.map((x, i) => [x, s[i] as string]);
}

/** A canonical decimal (`-?digits(.digits)?`, as the domain types hold prices and sizes) as a Decimal. */
function canonical(text: string): Decimal {
  const dot = text.indexOf('.');
  if (dot < 0) return Decimal.of(BigInt(text), 0);
  return Decimal.of(BigInt(text.slice(0, dot) + text.slice(dot + 1)), text.length - dot - 1);
}

type Part = CandlePart & { venue: string; symbol: string; bucket: number };

/** Folds `add` (a later-or-earlier partial of the same bucket) into `c`. */
function mergePart(c: Part, add: CandlePart): void {
  if (add.openTs < c.openTs) {
    c.open = add.open;
    c.openTs = add.openTs;
  }
  if (add.closeTs >= c.closeTs) {
    c.close = add.close;
    c.closeTs = add.closeTs;
  }
  if (add.high.cmp(c.high) > 0) c.high = add.high;
  if (add.low.cmp(c.low) < 0) c.low = add.low;
  c.volume = c.volume.add(add.volume);
  c.notional = c.notional.add(add.notional);
  c.count += add.count;
}

/**
 * Upserts this batch's partial candles into the rollup tables (plain PostgreSQL): 1 second parts from the
 * trades, 1 minute parts from those (each price and size is parsed once).
 */
async function upsertCandles(tx: SqlSession, trades: readonly TradeEvent[]): Promise<void> {
  const seconds = new Map<string, Part>();
  // Trades of a batch repeat a few prices: each is parsed once.
  const prices = new Map<string, Decimal>();
  for (const t of trades) {
    const ts = t.tsEventMs ?? t.tsRecvMs;
    const bucket = Math.floor(ts / 1000) * 1000;
    const key = `${t.venue}|${t.symbol}|${bucket}`;
    let price = prices.get(t.price);
    if (price === undefined) {
      price = canonical(t.price);
      prices.set(t.price, price);
    }
    const size = canonical(t.size);
    const one: CandlePart = {
      open: t.price,
      openTs: ts,
      high: price,
      low: price,
      close: t.price,
      closeTs: ts,
      volume: size,
      notional: price.mul(size),
      count: 1,
    };
    const c = seconds.get(key);
    if (c === undefined) seconds.set(key, { ...one, venue: t.venue, symbol: t.symbol, bucket });
    else mergePart(c, one);
  }
  const minutes = new Map<string, Part>();
  for (const p of seconds.values()) {
    const bucket = Math.floor(p.bucket / 60_000) * 60_000;
    const key = `${p.venue}|${p.symbol}|${bucket}`;
    const c = minutes.get(key);
    if (c === undefined) minutes.set(key, { ...p, bucket });
    else mergePart(c, p);
  }
  await upsertParts(tx, 'candles_1s', seconds);
  await upsertParts(tx, 'candles_1m', minutes);
}

async function upsertParts(tx: SqlSession, table: string, parts: ReadonlyMap<string, Part>): Promise<void> {
  // Sorted, so two writers upserting the same buckets lock them in the same order (no deadlock).
  const sorted = [...parts.values()].sort(
    (a, b) =>
      a.bucket - b.bucket ||
      (a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : 0) ||
      (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0),
  );
  const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], [], []];
  for (const c of sorted) {
    const row = [
      c.venue,
      c.symbol,
      iso(c.bucket),
      c.open,
      c.high.toString(),
      c.low.toString(),
      c.close,
      c.volume.toString(),
      c.notional.toString(),
      c.count,
      c.openTs,
      c.closeTs,
    ];
    row.forEach((v, i) => {
      (cols[i] as unknown[]).push(v);
    });
  }
  await tx.query(
    `insert into ${table} as c (venue, symbol, bucket, open, high, low, close, volume, notional, trade_count,
       open_ts_ms, close_ts_ms)
     select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::numeric[], $6::numeric[],
       $7::numeric[], $8::numeric[], $9::numeric[], $10::bigint[], $11::float8[], $12::float8[])
     on conflict (venue, symbol, bucket) do update set
       open = case when excluded.open_ts_ms < c.open_ts_ms then excluded.open else c.open end,
       open_ts_ms = least(c.open_ts_ms, excluded.open_ts_ms),
       high = greatest(c.high, excluded.high),
       low = least(c.low, excluded.low),
       close = case when excluded.close_ts_ms >= c.close_ts_ms then excluded.close else c.close end,
       close_ts_ms = greatest(c.close_ts_ms, excluded.close_ts_ms),
       volume = c.volume + excluded.volume,
       notional = c.notional + excluded.notional,
       trade_count = c.trade_count + excluded.trade_count`,
    cols,
  );
}
