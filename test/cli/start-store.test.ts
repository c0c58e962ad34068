/**
 * `qob start` stores what it ingests: after an offline run the embedded store under data.dir (a temp dir
 * per test), reopened, holds the sim books' trades and snapshots; with --no-store nothing is written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import type { StartStatusLine } from '../../src/cli/commands/start.ts';
import { openStore } from '../../src/store/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');
const root = mkdtempSync(join(tmpdir(), 'qob-start-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

function start(dataDir: string, extra: string[] = []) {
  const env: Record<string, string> = { QOB_API_PORT: '0', QOB_DASHBOARD_PORT: '0', QOB_DATA__DIR: dataDir };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  const r = spawnSync(node24, [bin, 'start', '--offline', '--duration', '3', '--json', '--no-api', ...extra], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const ticks = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StartStatusLine);
  return { code: r.status, stderr: r.stderr, ticks };
}

describe('qob start and the store', () => {
  test('an offline run stores the sim books trades and snapshots in the embedded store under data.dir', async () => {
    const dataDir = join(root, 'stored');
    const r = start(dataDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /storing trades and books of sim and live venues in the embedded store/);
    assert.ok(r.ticks.length > 0);
    for (const t of r.ticks) assert.equal(t.storeOverflow, 0, 'nothing was refused');
    const symbols = r.ticks.at(-1)?.books.map((b) => b.symbol) ?? [];
    assert.ok(symbols.length > 0);

    const store = await openStore({ engine: 'embedded', dataDir: join(dataDir, 'pglite') });
    try {
      for (const symbol of symbols) {
        const trades = await store.trades({ venue: 'sim', symbol, fromMs: 0, toMs: 253_402_300_799_999 });
        assert.ok(trades.trades.length > 0, `trades of sim ${symbol} were stored`);
        const snaps = await store.sqlEngine.query(
          "select count(*)::int as n from book_snapshots where venue = 'sim' and symbol = $1",
          [symbol],
        );
        assert.ok(Number(snaps[0]?.n) > 0, `snapshots of sim ${symbol} were stored`);
        const deltas = await store.sqlEngine.query(
          "select count(*)::int as n from book_deltas where venue = 'sim' and symbol = $1",
          [symbol],
        );
        assert.ok(Number(deltas[0]?.n) > 0, `deltas of sim ${symbol} were stored`);
        const lastTrade = trades.trades.at(-1);
        assert.ok(lastTrade !== undefined);
        const book = await store.bookAt({ venue: 'sim', symbol, atMs: lastTrade.tsRecvMs });
        assert.ok(book.bids.length > 0 && book.asks.length > 0, 'the stored book can be rebuilt');
      }
    } finally {
      await store.close();
    }
  });

  test('with --no-store nothing is written', () => {
    const dataDir = join(root, 'not-stored');
    const r = start(dataDir, ['--no-store']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /storing nothing/);
    for (const t of r.ticks) assert.equal(t.storeOverflow, null);
    assert.equal(existsSync(join(dataDir, 'pglite')), false);
  });
});
