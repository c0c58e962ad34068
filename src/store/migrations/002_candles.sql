-- Candles. Two base rollups, 1 second and 1 minute, with the same columns on every engine; longer
-- intervals are aggregated from them at query time (src/store/sql-store.ts).
-- TimescaleDB: continuous aggregates over `trades` (1 minute built on 1 second), real-time.
-- Plain PostgreSQL: tables upserted by the writer in the same transaction as the trades.
-- vwap = notional / volume; open and close are the first and last trade by (ts_ms, arrival).

-- qob:if plain
create table candles_1s (
  venue text not null,
  symbol text not null,
  bucket timestamptz not null,
  open numeric not null,
  high numeric not null,
  low numeric not null,
  close numeric not null,
  volume numeric not null,
  notional numeric not null,
  trade_count bigint not null,
  open_ts_ms double precision not null,
  close_ts_ms double precision not null,
  primary key (venue, symbol, bucket)
);
create table candles_1m (like candles_1s including all);
-- qob:end

-- qob:if timescale
create materialized view candles_1s with (timescaledb.continuous, timescaledb.materialized_only = false) as
select venue, symbol, time_bucket(interval '1 second', ts) as bucket,
  first(price, ts_ms) as open, max(price) as high, min(price) as low, last(price, ts_ms) as close,
  sum(size) as volume, sum(price * size) as notional, count(*) as trade_count,
  min(ts_ms) as open_ts_ms, max(ts_ms) as close_ts_ms
from trades group by venue, symbol, time_bucket(interval '1 second', ts) with no data;
create materialized view candles_1m with (timescaledb.continuous, timescaledb.materialized_only = false) as
select venue, symbol, time_bucket(interval '1 minute', bucket) as bucket,
  first(open, open_ts_ms) as open, max(high) as high, min(low) as low, last(close, close_ts_ms) as close,
  sum(volume) as volume, sum(notional) as notional, sum(trade_count) as trade_count,
  min(open_ts_ms) as open_ts_ms, max(close_ts_ms) as close_ts_ms
from candles_1s group by venue, symbol, time_bucket(interval '1 minute', bucket) with no data;
select add_continuous_aggregate_policy('candles_1s', start_offset => interval '1 hour',
  end_offset => interval '1 second', schedule_interval => interval '10 seconds');
select add_continuous_aggregate_policy('candles_1m', start_offset => interval '1 day',
  end_offset => interval '1 minute', schedule_interval => interval '1 minute');
-- qob:end
