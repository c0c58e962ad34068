/**
 * Migration 004 (src/store/migrations/004_delta_levels.sql) turns a book delta's `sides` text plus
 * `prices`/`sizes` text[] into one text value per side. A data directory or schema written by the earlier
 * layout must upgrade in place: its rows convert, the old columns go, and the history it holds reads back
 * the same (the book at an instant from snapshot + deltas, trades), also next to rows written after the
 * upgrade. Runs on the embedded engine (plain and TimescaleDB with a compressed chunk) and, when
 * QOB_TEST_PG_URL is set, on a PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { bookDelta } from '../../src/domain/index.ts';
import type { SqlEngine } from '../../src/store/engine.ts';
import { openStore, SqlStore } from '../../src/store/index.ts';
import { detectTimescale, loadMigrations, migrate } from '../../src/store/migrate.ts';
import { openPgEngine } from '../../src/store/pg-engine.ts';
import { openPgliteEngine } from '../../src/store/pglite-engine.ts';

const PG_URL = process.env.QOB_TEST_PG_URL;
const T0 = 1_700_000_000_000;

/** Migrates to the layout before 004 and writes rows the way that layout held them. */
async function writeOldLayout(engine: SqlEngine, timescale: boolean): Promise<void> {
  const ts = timescale && (await detectTimescale(engine));
  assert.equal(ts, timescale, 'TimescaleDB is available in this build');
  const report = await migrate(engine, ts ? 'timescale' : 'plain', loadMigrations().slice(0, 3));
  assert.equal(report.current, 3);
  if (!ts) {
    for (const t of ['book_deltas', 'book_snapshots', 'trades']) {
      await engine.exec(
        `create table ${t}_p20231114 partition of ${t} for values from ('2023-11-14') to ('2023-11-15')`,
      );
    }
  }
  await engine.exec(`insert into venues (id) values ('binance');
    select setval('event_seq', 10);
    insert into book_snapshots (seq, ts, venue, symbol, ts_event_ms, ts_recv_ms, recv_seq, venue_seq, source, depth,
      bid_prices, bid_sizes, ask_prices, ask_sizes)
    values (1, to_timestamp(${T0} / 1000.0), 'binance', 'BTC-USDT', null, ${T0}, 1, 100, 'venue', null,
      '{100,99}', '{1,2}', '{101,102}', '{1,3}');
    insert into book_deltas (seq, ts, venue, symbol, ts_event_ms, ts_recv_ms, recv_seq, first_seq, last_seq,
      prev_seq, sides, prices, sizes)
    values
      (2, to_timestamp(${T0 + 1} / 1000.0), 'binance', 'BTC-USDT', ${T0 - 2}, ${T0 + 1}, 2, 101, 103, null,
        'bab', '{99.5,101,100}', '{4,0,0}'),
      (3, to_timestamp(${T0 + 2} / 1000.0), 'binance', 'BTC-USDT', null, ${T0 + 2}, 3, null, null, null,
        '', '{}', '{}'),
      (4, to_timestamp(${T0 + 3} / 1000.0), 'binance', 'BTC-USDT', null, ${T0 + 3}, 4, 104, 105, 103,
        'aa', '{102,103.25}', '{0.5,7}');
    insert into trades (seq, ts, ts_ms, venue, symbol, ts_event_ms, ts_recv_ms, recv_seq, price, size, aggressor,
      trade_id)
    values (5, to_timestamp(${T0 + 4} / 1000.0), ${T0 + 4}, 'binance', 'BTC-USDT', ${T0 + 4}, ${T0 + 5}, 5,
      100.5, 0.25, 'buy', '77');`);
  if (ts) await engine.query("select compress_chunk(c) from show_chunks('book_deltas') c");
}

const STORE_OPTIONS = { writer: { flushIntervalMs: 0 }, snapshots: { intervalMs: 0 } } as const;

async function checkUpgraded(store: SqlStore): Promise<void> {
  try {
    assert.equal((await store.health()).schemaVersion, loadMigrations().length);
    const cols = await store.sqlEngine.query(
      `select column_name from information_schema.columns
       where table_name = 'book_deltas' and table_schema = current_schema() order by column_name`,
    );
    const names = cols.map((c) => c.column_name);
    assert.ok(names.includes('bids') && names.includes('asks'), `new columns in ${names.join(',')}`);
    assert.ok(!names.includes('sides') && !names.includes('prices') && !names.includes('sizes'));
    const rows = await store.sqlEngine.query('select seq, bids, asks from book_deltas order by seq');
    assert.deepEqual(
      rows.map((r) => ({ seq: Number(r.seq), bids: r.bids, asks: r.asks })),
      [
        { seq: 2, bids: '99.5:4,100:0', asks: '101:0' },
        { seq: 3, bids: '', asks: '' },
        { seq: 4, bids: '', asks: '102:0.5,103.25:7' },
      ],
    );
    const old = await store.bookAt({ venue: 'binance', symbol: 'BTC-USDT', atMs: T0 + 3 });
    assert.equal(old.deltasApplied, 3);
    assert.deepEqual(
      old.bids.map((l) => [...l]),
      [
        ['99.5', '4'],
        ['99', '2'],
      ],
    );
    assert.deepEqual(
      old.asks.map((l) => [...l]),
      [
        ['102', '0.5'],
        ['103.25', '7'],
      ],
    );
    const page = await store.trades({ venue: 'binance', symbol: 'BTC-USDT', fromMs: T0, toMs: T0 + 10 });
    assert.deepEqual(
      page.trades.map((t) => [t.price, t.size, t.aggressor, t.tradeId]),
      [['100.5', '0.25', 'buy', '77']],
    );
    // A delta written after the upgrade lands on top of the converted ones.
    store.append(
      bookDelta({
        venue: 'binance',
        symbol: 'BTC-USDT',
        tsEventMs: null,
        tsRecvMs: T0 + 6,
        recvSeq: 6,
        firstSeq: 106,
        lastSeq: 107,
        prevSeq: 105,
        changes: [
          { side: 'ask', price: '103.25', size: '0' },
          { side: 'bid', price: '99', size: '2.5' },
        ],
      }),
    );
    await store.flush();
    const now = await store.bookAt({ venue: 'binance', symbol: 'BTC-USDT', atMs: T0 + 6 });
    assert.equal(now.deltasApplied, 4);
    assert.deepEqual(
      now.bids.map((l) => [...l]),
      [
        ['99.5', '4'],
        ['99', '2.5'],
      ],
    );
    assert.deepEqual(
      now.asks.map((l) => [...l]),
      [['102', '0.5']],
    );
  } finally {
    await store.close();
  }
}

test('an embedded data directory of the earlier delta layout upgrades when reopened and its history reads back the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qob-migrate-004-'));
  try {
    const dataDir = join(dir, 'pglite');
    const engine = await openPgliteEngine(dataDir);
    try {
      await writeOldLayout(engine, false);
    } finally {
      await engine.close();
    }
    await checkUpgraded(await openStore({ engine: 'embedded', dataDir, timescale: 'off', ...STORE_OPTIONS }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// In memory: the TimescaleDB build of PGlite loses compressed chunks of an on-disk data directory when it is
// closed and reopened (with or without this migration), so the upgrade runs on the open database.
test('a TimescaleDB database of the earlier delta layout, with a compressed chunk, upgrades and its history reads back the same', async () => {
  const engine = await openPgliteEngine(undefined, { timescale: true });
  await writeOldLayout(engine, true);
  await checkUpgraded(new SqlStore(engine, await migrate(engine, 'timescale'), STORE_OPTIONS));
});

test('a PostgreSQL schema of the earlier delta layout upgrades and its history reads back the same', async (t) => {
  if (PG_URL === undefined) {
    t.skip('QOB_TEST_PG_URL not set');
    return;
  }
  const schema = `qob_migrate004_${process.pid}`;
  try {
    const engine = await openPgEngine({ url: PG_URL, schema });
    try {
      await writeOldLayout(engine, false);
    } finally {
      await engine.close();
    }
    await checkUpgraded(
      await openStore({ engine: 'postgres', url: PG_URL, schema, timescale: 'off', ...STORE_OPTIONS }),
    );
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  }
});
