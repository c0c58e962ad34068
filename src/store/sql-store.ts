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
import { copyField, numericArray, type SqlEngine, type SqlSession } from './engine.ts';
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
  type StoreHealth,
  type TradePage,
  type TradeQuery,
} from './types.ts';
import { BatchWriter, type BatchWriterOptions } from './writer.ts';

type Item = MarketEvent | PeriodicSnapshot;

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
  'sides',
  'prices',
  'sizes',
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
    this.writer = new BatchWriter<Item>((b) => this.write(b), options.writer);
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

  private async write(batch: readonly Item[]): Promise<void> {
    const n = batch.length;
    if (n === 0) return;
    const partitions = new Set<string>();
    const venues = new Set<string>();
    await this.engine.transaction(async (tx) => {
      // One writer at a time reserves a block of `seq` values, so ingest order is one total order.
      await tx.query("select pg_advisory_xact_lock(hashtext('qob.event_seq'))");
      const first = num((await tx.query("select nextval('event_seq') as v"))[0]?.v);
      if (n > 1) await tx.query("select setval('event_seq', $1)", [first + n - 1]);
      const out = { trades: '', book_deltas: '', book_snapshots: '', venue_status: '' };
      const days: [PartitionedTable, number][] = [];
      const tradesForCandles: TradeEvent[] = [];
      const needPartition = (t: PartitionedTable, ms: number) => {
        if (this.capabilities.partitioning !== 'declarative') return;
        const d = dayOf(ms);
        const name = partitionName(t, d);
        if (this.knownPartitions.has(name) || partitions.has(name)) return;
        partitions.add(name);
        days.push([t, d]);
      };
      for (let i = 0; i < n; i++) {
        const item = batch[i] as Item;
        const seq = first + i;
        const e = item.type === 'periodic' ? item.snapshot : item;
        if (!this.knownVenues.has(e.venue)) venues.add(e.venue);
        const recvTs = iso(e.tsRecvMs);
        const common = `${copyField(e.venue)}\t${copyField(e.symbol)}\t${copyField(e.tsEventMs)}\t${e.tsRecvMs}`;
        switch (item.type) {
          case 'trade': {
            const tsMs = item.tsEventMs ?? item.tsRecvMs;
            needPartition('trades', tsMs);
            out.trades += `${seq}\t${iso(tsMs)}\t${tsMs}\t${common}\t${item.recvSeq}\t${item.price}\t${item.size}\t${item.aggressor}\t${copyField(item.tradeId)}\n`;
            if (this.capabilities.candles === 'writer-rollup') tradesForCandles.push(item);
            break;
          }
          case 'book.delta': {
            needPartition('book_deltas', item.tsRecvMs);
            let sides = '';
            const prices: string[] = [];
            const sizes: string[] = [];
            for (const c of item.changes) {
              sides += c.side === 'bid' ? 'b' : 'a';
              prices.push(c.price);
              sizes.push(c.size);
            }
            out.book_deltas += `${seq}\t${recvTs}\t${common}\t${item.recvSeq}\t${copyField(item.firstSeq)}\t${copyField(item.lastSeq)}\t${copyField(item.prevSeq)}\t${sides}\t${numericArray(prices)}\t${numericArray(sizes)}\n`;
            break;
          }
          case 'book.snapshot':
          case 'periodic': {
            const s = item.type === 'periodic' ? item.snapshot : item;
            needPartition('book_snapshots', s.tsRecvMs);
            const source = item.type === 'periodic' ? 'periodic' : 'venue';
            const depth = item.type === 'periodic' ? item.depth : null;
            out.book_snapshots += `${seq}\t${recvTs}\t${common}\t${s.recvSeq}\t${copyField(s.seq)}\t${source}\t${copyField(depth)}\t${levelsArrays(s.bids)}\t${levelsArrays(s.asks)}\n`;
            break;
          }
          case 'status':
            needPartition('venue_status', item.tsRecvMs);
            out.venue_status += `${seq}\t${recvTs}\t${copyField(item.venue)}\t${copyField(item.symbol)}\t${copyField(item.tsEventMs)}\t${item.tsRecvMs}\t${item.status}\t${copyField(item.reason)}\n`;
            break;
        }
      }
      if (venues.size > 0) {
        await tx.query('insert into venues (id) select unnest($1::text[]) on conflict do nothing', [[...venues]]);
      }
      for (const [t, d] of days) {
        await tx.exec(
          `create table if not exists ${partitionName(t, d)} partition of ${t} for values from ('${iso(d)}') to ('${iso(d + DAY_MS)}')`,
        );
      }
      await tx.copyIn('trades', TRADE_COLS, out.trades);
      await tx.copyIn('book_deltas', DELTA_COLS, out.book_deltas);
      await tx.copyIn('book_snapshots', SNAPSHOT_COLS, out.book_snapshots);
      await tx.copyIn('venue_status', STATUS_COLS, out.venue_status);
      if (tradesForCandles.length > 0) {
        await upsertCandles(tx, 'candles_1s', 1000, tradesForCandles);
        await upsertCandles(tx, 'candles_1m', 60_000, tradesForCandles);
      }
    });
    for (const p of partitions) this.knownPartitions.add(p);
    for (const v of venues) this.knownVenues.add(v);
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
      `select sides, prices::text[] as prices, sizes::text[] as sizes from book_deltas
       where venue = $1 and symbol = $2 and seq > $3 and ts >= $4 and ts <= $5 and ts_recv_ms <= $6
       order by seq`,
      [venue, symbol, num(s.seq), iso(snapMs - 60_000), iso(at), at],
    );
    for (const d of deltas) {
      const sides = text(d.sides);
      const prices = d.prices as string[];
      const sizes = d.sizes as string[];
      const bids: [string, string][] = [];
      const asks: [string, string][] = [];
      for (let i = 0; i < sides.length; i++) {
        (sides[i] === 'b' ? bids : asks).push([prices[i] as string, sizes[i] as string]);
      }
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
    for (const [t, days] of Object.entries(policy)) {
      if (!(RETENTION_TABLES as readonly string[]).includes(t)) throw arg('retention', `has an unknown table`, t);
      if (typeof days !== 'number' || !(days > 0) || !Number.isFinite(days)) {
        throw arg(`retention.${t}`, 'must be a positive number of days', days);
      }
    }
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

function zip(prices: unknown, sizes: unknown): [string, string][] {
  const p = prices as string[];
  const s = sizes as string[];
  return p.map((x, i) => [x, s[i] as string]);
}

/** Upserts this batch's partial candles into a rollup table (plain PostgreSQL). */
async function upsertCandles(tx: SqlSession, table: string, widthMs: number, trades: readonly TradeEvent[]) {
  const parts = new Map<string, CandlePart & { venue: string; symbol: string; bucket: number }>();
  for (const t of trades) {
    const ts = t.tsEventMs ?? t.tsRecvMs;
    const bucket = Math.floor(ts / widthMs) * widthMs;
    const key = `${t.venue}|${t.symbol}|${bucket}`;
    const price = Decimal.parse(t.price);
    const size = Decimal.parse(t.size);
    const c = parts.get(key);
    if (c === undefined) {
      parts.set(key, {
        venue: t.venue,
        symbol: t.symbol,
        bucket,
        open: t.price,
        openTs: ts,
        high: price,
        low: price,
        close: t.price,
        closeTs: ts,
        volume: size,
        notional: price.mul(size),
        count: 1,
      });
      continue;
    }
    if (ts < c.openTs) {
      c.open = t.price;
      c.openTs = ts;
    }
    if (ts >= c.closeTs) {
      c.close = t.price;
      c.closeTs = ts;
    }
    if (price.cmp(c.high) > 0) c.high = price;
    if (price.cmp(c.low) < 0) c.low = price;
    c.volume = c.volume.add(size);
    c.notional = c.notional.add(price.mul(size));
    c.count++;
  }
  const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], [], []];
  for (const c of parts.values()) {
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
