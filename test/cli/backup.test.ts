/**
 * `qob backup` / `qob restore` as users run them (`node bin/qob.mjs` in a child process, a temp data dir
 * each): dump, wipe, restore, compare row for row, on the embedded store always and on a PostgreSQL
 * server when QOB_TEST_PG_URL is set; and the typed errors for a missing file, a wrong file and an
 * unreachable server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { bookDelta, bookSnapshot, type MarketEvent, trade } from '../../src/domain/index.ts';
import { openStore, type SqlStore, type StoreOptions } from '../../src/store/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');
const PG_URL = process.env.QOB_TEST_PG_URL;
const T0 = 1_700_000_000_000;
const TABLES = ['trades', 'book_deltas', 'book_snapshots', 'candles_1s', 'candles_1m'];

const root = mkdtempSync(join(tmpdir(), 'qob-cli-backup-'));
after(() => rmSync(root, { recursive: true, force: true }));

function qob(args: string[], env: Record<string, string> = {}) {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) clean[k] = v;
  const r = spawnSync(node24, [bin, ...args], {
    cwd: root,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function events(): MarketEvent[] {
  const out: MarketEvent[] = [
    bookSnapshot({ venue: 'okx', symbol: 'BTC-USDT', tsRecvMs: T0, seq: 1, bids: [['99', '1']], asks: [['101', '2']] }),
  ];
  for (let i = 0; i < 40; i++) {
    out.push(
      bookDelta({
        venue: 'okx',
        symbol: 'BTC-USDT',
        tsRecvMs: T0 + i * 3000 + 1,
        firstSeq: i + 2,
        lastSeq: i + 2,
        changes: [{ side: 'bid', price: `99.${i + 1}`, size: `${i}.5` }],
      }),
      trade({
        venue: 'okx',
        symbol: 'BTC-USDT',
        tsEventMs: T0 + i * 3000,
        tsRecvMs: T0 + i * 3000 + 2,
        price: `100.0${i}`,
        size: '0.1',
        aggressor: i % 2 === 0 ? 'buy' : 'sell',
        tradeId: i,
      }),
    );
  }
  return out;
}

async function rows(store: SqlStore): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) {
    out[t] = (await store.sqlEngine.query(`select x::text as r from ${t} x order by 1`)).map((r) => String(r.r));
  }
  return out;
}

async function populate(options: StoreOptions): Promise<Record<string, string[]>> {
  const store = await openStore({ ...options, snapshots: { intervalMs: 20_000 } });
  try {
    for (const e of events()) store.append(e);
    await store.flush();
    return await rows(store);
  } finally {
    await store.close();
  }
}

async function read(options: StoreOptions): Promise<Record<string, string[]>> {
  const store = await openStore(options);
  try {
    return await rows(store);
  } finally {
    await store.close();
  }
}

describe('qob backup and qob restore on the embedded store', () => {
  const dataRoot = join(root, 'data');
  const env = { QOB_DATA__DIR: dataRoot };
  const options: StoreOptions = { engine: 'embedded', dataDir: join(dataRoot, 'pglite') };
  const file = join(root, 'embedded.tgz');

  test('backup, wipe, restore gives back every row; restoring over data needs --force', async () => {
    const before = await populate(options);
    assert.equal(before.trades?.length, 40);
    assert.ok((before.book_snapshots?.length ?? 0) > 1 && (before.candles_1m?.length ?? 0) > 0);

    const b = qob(['backup', '--out', file, '--json'], env);
    assert.equal(b.code, 0, b.stderr);
    const report = JSON.parse(b.stdout) as { engine: string; bytes: number; where: string };
    assert.equal(report.engine, 'embedded');
    assert.equal(report.where, join(dataRoot, 'pglite'));
    assert.ok(report.bytes > 0);

    rmSync(dataRoot, { recursive: true, force: true });
    const r = qob(['restore', '--in', file], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /qob restore: .* -> embedded store/);
    assert.deepEqual(await read(options), before);

    const refused = qob(['restore', '--in', file], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /QOB_ERR_INVALID_ARGUMENT: .*--force/);
    const forced = qob(['restore', '--in', file, '--force'], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await read(options), before);
  });

  test('a missing backup file, a file of the wrong kind and a missing store fail with typed errors', () => {
    const missing = qob(['restore', '--in', join(root, 'nope.tgz')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^qob: QOB_ERR_NOT_FOUND: /);
    const junk = join(root, 'junk.tgz');
    writeFileSync(junk, 'not a backup at all');
    const wrong = qob(['restore', '--in', junk, '--force'], env);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^qob: QOB_ERR_CAPTURE_FORMAT: /);
    const nothing = qob(['backup', '--out', join(root, 'x.tgz')], { QOB_DATA__DIR: join(root, 'empty') });
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /^qob: QOB_ERR_NOT_FOUND: no embedded store/);
    const noOut = qob(['backup'], env);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /QOB_ERR_INVALID_ARGUMENT: .*--out/);
  });

  test('an unreachable PostgreSQL server is QOB_ERR_IO', () => {
    const r = qob([
      'backup',
      '--out',
      join(root, 'y.dump'),
      '--store',
      'postgres',
      '--url',
      'postgres://u@127.0.0.1:1/db',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qob: QOB_ERR_IO: cannot reach the PostgreSQL server/);
  });
});

const schema = `qob_cli_backup_${process.pid}_${Date.now()}`;
const PG_SKIP =
  PG_URL === undefined
    ? 'QOB_TEST_PG_URL is not set (bash scripts/stack.sh up; eval "$(bash scripts/stack.sh env)")'
    : false;
describe('qob backup and qob restore on a PostgreSQL server', () => {
  const options: StoreOptions = { engine: 'postgres', url: PG_URL as string, schema };
  const drop = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  };
  after(async () => {
    if (!PG_SKIP) await drop();
  });

  test('backup (pg_dump), drop the schema, restore (pg_restore) gives back every row', { skip: PG_SKIP }, async () => {
    const before = await populate(options);
    assert.equal(before.trades?.length, 40);
    const file = join(root, 'pg.dump');
    // The URL comes from config (store.urlSecret through an env: reference), the engine and schema from config too.
    const env = {
      QOB_STORE__ENGINE: 'postgres',
      QOB_STORE__URL_SECRET: 'env:QOB_TEST_URL_REF',
      QOB_TEST_URL_REF: PG_URL as string,
    };
    const b = qob(['backup', '--out', file, '--set', `store.schema=${schema}`], env);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /qob backup: postgres store .* schema qob_cli_backup_/);
    await drop();
    const r = qob(['restore', '--in', file, '--set', `store.schema=${schema}`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await read(options), before);
  });
});
