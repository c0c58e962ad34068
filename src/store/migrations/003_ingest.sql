-- Ingest speed (docs/STORAGE.md). Book delta levels are kept as canonical decimal TEXT arrays (the venue's
-- validated text, exactly as the L2 book holds sizes): parsing NUMERIC[] was the server's largest cost per
-- row. The btree on book_deltas is replaced by a BRIN on `ts` (rows arrive in time order; `bookAt` reads a
-- time window after a snapshot), which costs almost nothing per row.
alter table book_deltas
  alter column prices type text[] using prices::text[],
  alter column sizes type text[] using sizes::text[];
drop index if exists book_deltas_book_time;
create index book_deltas_ts_brin on book_deltas using brin (ts);

-- One row per committed part of a writer batch: a batch retried after an unknown outcome (the connection
-- died around COMMIT) skips the parts recorded here, so no row is stored twice.
create table store_batches (
  first_seq bigint not null,
  part integer not null,
  rows integer not null,
  written_at timestamptz not null default now(),
  primary key (first_seq, part)
);

-- qob:if timescale
alter table trades set (timescaledb.compress, timescaledb.compress_segmentby = 'venue, symbol',
  timescaledb.compress_orderby = 'ts_ms, seq');
alter table book_deltas set (timescaledb.compress, timescaledb.compress_segmentby = 'venue, symbol',
  timescaledb.compress_orderby = 'ts_recv_ms, seq');
alter table book_snapshots set (timescaledb.compress, timescaledb.compress_segmentby = 'venue, symbol',
  timescaledb.compress_orderby = 'ts_recv_ms, seq');
select add_compression_policy('trades', interval '2 days');
select add_compression_policy('book_deltas', interval '1 day');
select add_compression_policy('book_snapshots', interval '2 days');
-- qob:end
