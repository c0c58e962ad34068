-- Ingest speed, part 2 (docs/STORAGE.md "The write path"). A book delta's changes are kept as one TEXT value
-- per side instead of three columns (`sides` text plus `prices`/`sizes` text[]): receiving an array costs
-- the server a function call per element, which made the level arrays most of a delta row's cost.
-- `bids` and `asks` hold the side's changes in the venue's order as `price:size` pairs joined by `,`
-- (canonical decimal text, as validated upstream; '' when the side did not change), e.g.
-- `65000.1:0.5,64999.9:0`. Existing rows are converted in place, then the old columns are dropped.
alter table book_deltas add column bids text, add column asks text;

update book_deltas d set
  bids = coalesce((
    select string_agg(u.p || ':' || u.s, ',' order by u.i)
    from unnest(d.prices, d.sizes, string_to_array(d.sides, null)) with ordinality as u(p, s, side, i)
    where u.side = 'b'), ''),
  asks = coalesce((
    select string_agg(u.p || ':' || u.s, ',' order by u.i)
    from unnest(d.prices, d.sizes, string_to_array(d.sides, null)) with ordinality as u(p, s, side, i)
    where u.side = 'a'), '');

alter table book_deltas drop column sides, drop column prices, drop column sizes;
-- TimescaleDB cannot check NOT NULL against a compressed chunk that predates the columns: there they stay
-- nullable (the writer never writes null; a reader takes null as '').
-- qob:if plain
alter table book_deltas alter column bids set not null, alter column asks set not null;
-- qob:end
