-- Market data: venues, instruments, trades, book deltas, book snapshots, venue status.
-- The same file runs on every engine. Lines between `-- qob:if timescale` / `-- qob:if plain` and
-- `-- qob:end` are kept only when TimescaleDB is (or is not) in use (src/store/migrate.ts).
-- Prices and sizes are NUMERIC (exact). `ts` is the partitioning time (timestamptz, whole ms); the exact
-- venue and receive times stay in `*_ms` columns (epoch ms; a fraction is allowed: Bitstamp sends µs).
-- `seq` is the store's ingest order, shared by every table (reserved per flush from `event_seq`).

create sequence event_seq;

create table venues (
  id text primary key,
  first_seen timestamptz not null default now()
);

create table instruments (
  venue text not null references venues (id),
  symbol text not null,
  venue_symbol text not null,
  base text not null,
  quote text not null,
  kind text not null,
  tick_size numeric not null,
  lot_size numeric not null,
  price_precision integer not null,
  quantity_precision integer not null,
  contract_size numeric,
  expiry_ms bigint,
  strike numeric,
  option_type text,
  updated_at timestamptz not null default now(),
  primary key (venue, symbol)
);

create table trades (
  seq bigint not null,
  ts timestamptz not null,
  ts_ms double precision not null,
  venue text not null,
  symbol text not null,
  ts_event_ms double precision,
  ts_recv_ms double precision not null,
  recv_seq bigint not null,
  price numeric not null,
  size numeric not null,
  aggressor text not null,
  trade_id text
)
-- qob:if plain
partition by range (ts)
-- qob:end
;
create index trades_book_time on trades (venue, symbol, ts_ms, seq);

create table book_deltas (
  seq bigint not null,
  ts timestamptz not null,
  venue text not null,
  symbol text not null,
  ts_event_ms double precision,
  ts_recv_ms double precision not null,
  recv_seq bigint not null,
  first_seq bigint,
  last_seq bigint,
  prev_seq bigint,
  -- one character per change, `b` bid or `a` ask, in the order of `prices` and `sizes`
  sides text not null,
  prices numeric[] not null,
  sizes numeric[] not null
)
-- qob:if plain
partition by range (ts)
-- qob:end
;
create index book_deltas_book_time on book_deltas (venue, symbol, ts_recv_ms, seq);

create table book_snapshots (
  seq bigint not null,
  ts timestamptz not null,
  venue text not null,
  symbol text not null,
  ts_event_ms double precision,
  ts_recv_ms double precision not null,
  recv_seq bigint not null,
  venue_seq bigint,
  -- 'venue': the venue's own snapshot; 'periodic': taken by the store from the live book
  source text not null,
  -- levels kept per side, null when the whole book was kept
  depth integer,
  bid_prices numeric[] not null,
  bid_sizes numeric[] not null,
  ask_prices numeric[] not null,
  ask_sizes numeric[] not null
)
-- qob:if plain
partition by range (ts)
-- qob:end
;
create index book_snapshots_book_time on book_snapshots (venue, symbol, ts_recv_ms, seq);

create table venue_status (
  seq bigint not null,
  ts timestamptz not null,
  venue text not null,
  symbol text,
  ts_event_ms double precision,
  ts_recv_ms double precision not null,
  status text not null,
  reason text not null
)
-- qob:if plain
partition by range (ts)
-- qob:end
;
create index venue_status_venue_time on venue_status (venue, ts_recv_ms, seq);

-- qob:if timescale
select create_hypertable('trades', 'ts', chunk_time_interval => interval '1 day');
select create_hypertable('book_deltas', 'ts', chunk_time_interval => interval '1 hour',
  create_default_indexes => false);
select create_hypertable('book_snapshots', 'ts', chunk_time_interval => interval '1 day');
select create_hypertable('venue_status', 'ts', chunk_time_interval => interval '7 days');
-- compression settings and policies: 003_ingest.sql (after the column changes compression would forbid)
-- qob:end
