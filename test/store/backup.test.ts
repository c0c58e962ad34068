/**
 * Backup and restore, proven by dump, wipe, restore, compare: every table of a populated store is read row
 * for row before the backup and after the restore into a wiped store. Embedded always; a PostgreSQL server
 * when QOB_TEST_PG_URL is set (a fresh schema per run, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { isQobError } from '../../src/core/errors.ts';
import { bookDelta, bookSnapshot, type MarketEvent, status, trade } from '../../src/domain/index.ts';
import { type BackupTarget, backupStore, openStore, restoreStore, type StoreOptions } from '../../src/store/index.ts';

const PG_URL = process.env.QOB_TEST_PG_URL;
const T0 = 1_700_000_000_000;
const TABLES = [
  'venues',
  'instruments',
  'trades',
  'book_deltas',
  'book_snapshots',
  'venue_status',
  'candles_1s',
  'candles_1m',
];

/** Trades over two minutes (candles of both widths), a book with deltas and periodic snapshots, a status. */
function events(): MarketEvent[] {
  const out: MarketEvent[] = [];
  for (const [venue, symbol] of [
    ['binance', 'BTC-USDT'],
    ['sim', 'ETH-USDT'],
  ] as const) {
    out.push(
      bookSnapshot({
        venue,
        symbol,
        tsRecvMs: T0,
        seq: 1,
        bids: [
          ['100.5', '1'],
          ['100', '2.000000001'],
        ],
        asks: [['101', '3']],
      }),
    );
    for (let i = 0; i < 60; i++) {
      out.push(
        bookDelta({
          venue,
          symbol,
          tsEventMs: T0 + i * 2000,
          tsRecvMs: T0 + i * 2000 + 1,
          firstSeq: i + 2,
          lastSeq: i + 2,
          changes: [
            { side: 'bid', price: `100.${(i % 9) + 1}`, size: i % 3 === 0 ? '0' : `0.${i + 1}` },
            { side: 'ask', price: `101.${i % 7}`, size: '1.25' },
          ],
        }),
        trade({
          venue,
          symbol,
          tsEventMs: T0 + i * 2000,
          tsRecvMs: T0 + i * 2000 + 2,
          recvSeq: i,
          price: `100.${String(i).padStart(3, '0')}`,
          size: '0.00000001',
          aggressor: i % 2 === 0 ? 'buy' : 'sell',
          tradeId: `t${i}`,
        }),
      );
    }
  }
  out.push(status({ venue: 'binance', tsRecvMs: T0 + 5, status: 'connected', reason: 'test' }));
  return out;
}

async function tableRows(store: Awaited<ReturnType<typeof openStore>>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) {
    const rows = await store.sqlEngine.query(`select x::text as r from ${t} x order by 1`);
    out[t] = rows.map((r) => String(r.r));
  }
  return out;
}

interface Engine {
  readonly name: string;
  readonly skip: string | false;
  options(): StoreOptions;
  target(): BackupTarget;
  wipe(): Promise<void>;
  cleanup(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'qob-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'pglite');
const schema = `qob_backup_${process.pid}_${Date.now()}`;

async function pgQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const engines: Engine[] = [
  {
    name: 'embedded (PGlite)',
    skip: false,
    options: () => ({ engine: 'embedded', dataDir, snapshots: { intervalMs: 10_000 } }),
    target: () => ({ engine: 'embedded', dataDir }),
    wipe: async () => rmSync(dataDir, { recursive: true, force: true }),
    cleanup: async () => {},
  },
  {
    name: 'PostgreSQL server',
    skip:
      PG_URL === undefined
        ? 'QOB_TEST_PG_URL is not set (bash scripts/stack.sh up; eval "$(bash scripts/stack.sh env)")'
        : false,
    options: () => ({ engine: 'postgres', url: PG_URL as string, schema, snapshots: { intervalMs: 10_000 } }),
    target: () => ({ engine: 'postgres', url: PG_URL as string, schema }),
    wipe: () => pgQuery(`drop schema if exists ${schema} cascade`),
    cleanup: () => pgQuery(`drop schema if exists ${schema} cascade`),
  },
];

for (const engine of engines) {
  describe(`backup and restore on ${engine.name}`, () => {
    after(async () => {
      if (!engine.skip) await engine.cleanup();
    });

    test('a restore into a wiped store gives back every row of every table', { skip: engine.skip }, async () => {
      const store = await openStore(engine.options());
      for (const e of events()) assert.equal(store.append(e), true);
      await store.flush();
      const before = await tableRows(store);
      await store.close();
      assert.equal(before.trades?.length, 120);
      assert.equal(before.book_deltas?.length, 120);
      assert.ok((before.book_snapshots?.length ?? 0) > 2, 'venue and periodic snapshots were stored');
      if (store.capabilities.candles === 'writer-rollup') {
        assert.ok((before.candles_1s?.length ?? 0) > 0 && (before.candles_1m?.length ?? 0) > 0);
      }

      const file = join(dir, `${engine.target().engine}.backup`);
      const made = await backupStore(engine.target(), file);
      assert.ok(made.bytes > 0);

      await engine.wipe();
      const empty = await openStore(engine.options());
      assert.equal((await tableRows(empty)).trades?.length, 0, 'the wipe removed the data');
      await empty.close();
      await engine.wipe();

      const restored = await restoreStore(engine.target(), file);
      assert.equal(restored.engine, engine.target().engine);
      const again = await openStore(engine.options());
      try {
        assert.deepEqual(await tableRows(again), before);
        const page = await again.trades({ venue: 'sim', symbol: 'ETH-USDT', fromMs: T0, toMs: T0 + 200_000 });
        assert.equal(page.trades.length, 60);
      } finally {
        await again.close();
      }
    });

    test('a restore over a store that holds data replaces it with the backup', { skip: engine.skip }, async () => {
      const file = join(dir, `${engine.target().engine}.backup`);
      const store = await openStore(engine.options());
      let before: Record<string, string[]>;
      try {
        before = await tableRows(store);
        store.append(trade({ venue: 'okx', symbol: 'A-B', tsRecvMs: T0, price: '1', size: '1', aggressor: 'buy' }));
        await store.flush();
        assert.notDeepEqual(await tableRows(store), before);
      } finally {
        await store.close();
      }
      await restoreStore(engine.target(), file, { force: true });
      const again = await openStore(engine.options());
      try {
        assert.deepEqual(await tableRows(again), before);
      } finally {
        await again.close();
      }
    });

    test('restoring a missing file or a file of the wrong kind fails with a typed error', {
      skip: engine.skip,
    }, async () => {
      await assert.rejects(restoreStore(engine.target(), join(dir, 'absent.backup')), (e) =>
        isQobError(e, 'QOB_ERR_NOT_FOUND'),
      );
      const junk = join(dir, 'junk.backup');
      writeFileSync(junk, 'hello, not a backup');
      await assert.rejects(restoreStore(engine.target(), junk, { force: true }), (e) =>
        isQobError(e, 'QOB_ERR_CAPTURE_FORMAT'),
      );
      const gz = join(dir, 'junk.gz');
      writeFileSync(gz, gzipSync(Buffer.from('not a tar archive')));
      await assert.rejects(restoreStore(engine.target(), gz, { force: true }), (e) =>
        isQobError(e, 'QOB_ERR_CAPTURE_FORMAT'),
      );
    });
  });
}

describe('backup errors', () => {
  test('backing up a directory that holds no embedded store is QOB_ERR_NOT_FOUND', async () => {
    await assert.rejects(
      backupStore({ engine: 'embedded', dataDir: join(dir, 'nothing-here') }, join(dir, 'x.tgz')),
      (e) => isQobError(e, 'QOB_ERR_NOT_FOUND'),
    );
  });

  test('an embedded restore refuses a data directory that holds data unless forced', async () => {
    const d = join(dir, 'occupied');
    const s = await openStore({ engine: 'embedded', dataDir: d });
    await s.close();
    const file = join(dir, 'occupied.tgz');
    await backupStore({ engine: 'embedded', dataDir: d }, file);
    await assert.rejects(restoreStore({ engine: 'embedded', dataDir: d }, file), (e) =>
      isQobError(e, 'QOB_ERR_INVALID_ARGUMENT'),
    );
  });

  test('a PostgreSQL dump is refused by an embedded restore, and the other way round', async () => {
    const dump = join(dir, 'fake.dump');
    writeFileSync(dump, 'PGDMP\u0001\u000e\u0000 rest of a custom-format dump');
    await assert.rejects(
      restoreStore({ engine: 'embedded', dataDir: join(dir, 'fresh') }, dump),
      (e) => isQobError(e, 'QOB_ERR_CAPTURE_FORMAT') && /--store postgres/.test(e.message),
    );
    const tgz = join(dir, 'fake.tgz');
    writeFileSync(tgz, gzipSync(Buffer.from('x')));
    await assert.rejects(
      restoreStore({ engine: 'postgres', url: 'postgres://u@127.0.0.1:1/db' }, tgz),
      (e) => isQobError(e, 'QOB_ERR_CAPTURE_FORMAT') && /--store embedded/.test(e.message),
    );
  });

  test('an unreachable server is QOB_ERR_IO naming the server without its password', async () => {
    await assert.rejects(
      backupStore({ engine: 'postgres', url: 'postgres://u:hunter2@127.0.0.1:1/db' }, join(dir, 'y.dump')),
      (e) => isQobError(e, 'QOB_ERR_IO') && /cannot reach/.test(e.message) && !e.message.includes('hunter2'),
    );
  });
});
