/**
 * Storage survives a PostgreSQL restart. The test runs its OWN PostgreSQL 15 (initdb + pg_ctl in a temp
 * directory, port 26432; as root the server runs as user `postgres`), never the shared stack's server.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type TradeEvent, trade } from '../../src/domain/index.ts';
import { openStore, type SqlStore } from '../../src/store/index.ts';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PORT = 26432;
const URL = `postgres://postgres@127.0.0.1:${PORT}/postgres`;
const root = process.getuid?.() === 0;
const missing = !existsSync(join(PG_BIN, 'pg_ctl'))
  ? `${PG_BIN}/pg_ctl is absent (Debian package postgresql-15)`
  : root && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')
    ? 'runuser is absent: PostgreSQL cannot run as root'
    : false;

function asPostgres(bin: string, args: readonly string[]): void {
  const cmd = join(PG_BIN, bin);
  if (root) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  else execFileSync(cmd, [...args], { stdio: 'pipe' });
}

function asPostgresAsync(bin: string, args: readonly string[]): Promise<void> {
  const cmd = join(PG_BIN, bin);
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    execFile(file, argv, (e) => (e === null ? resolve() : reject(e)));
  });
}

function uid(name: string): number {
  return Number(execFileSync('id', ['-u', name]).toString().trim());
}

describe('the store over a PostgreSQL server that restarts', () => {
  let dir: string;
  let data: string;
  const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, ...args]);
  const start = () =>
    pgCtl(
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      `-p ${PORT} -k ${dir} -c listen_addresses=127.0.0.1`,
      'start',
    );

  before(() => {
    if (missing) return;
    dir = mkdtempSync(join(tmpdir(), 'qob-pg-restart-'));
    data = join(dir, 'data');
    if (root) chownSync(dir, uid('postgres'), uid('postgres'));
    asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
    start();
  });
  after(() => {
    if (missing) return;
    try {
      pgCtl('-m', 'immediate', '-w', 'stop');
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('every acknowledged trade is stored exactly once after the server dies mid-stream and comes back; the queue stays bounded and counts what it refused', {
    skip: missing,
  }, async () => {
    const errors: unknown[] = [];
    const store: SqlStore = await openStore({
      engine: 'postgres',
      url: URL,
      writer: { batchSize: 400, maxQueued: 3000, flushIntervalMs: 0, onError: (e) => errors.push(e) },
    });
    const accepted: TradeEvent[] = [];
    let refused = 0;
    let n = 0;
    const append = (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const e = trade({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsEventMs: 1_700_000_000_000 + n,
          tsRecvMs: 1_700_000_000_005 + n,
          recvSeq: n,
          price: `65000.${String(n % 100).padStart(2, '0')}`,
          size: '0.5',
          aggressor: n % 2 === 0 ? 'buy' : 'sell',
          tradeId: n,
        });
        if (store.append(e)) accepted.push(e);
        else refused++;
      }
    };
    try {
      append(2500);
      await store.flush();
      assert.equal((await store.health()).acked, 2500);

      // Mid-stream: the server is killed while trades keep arriving and batches are being written (every
      // 400 queued items start one).
      let stopped = false;
      const stopping = asPostgresAsync('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).then(() => {
        stopped = true;
      });
      while (!stopped) {
        append(50);
        await new Promise((r) => setImmediate(r));
      }
      await stopping;
      append(4000);
      await assert.rejects(store.flush(), 'a flush fails while the server is down');
      const down = await store.health();
      assert.equal(down.ok, false);
      assert.ok(down.queued + down.inFlight <= 3000, 'the queue stays within maxQueued');
      assert.ok(down.overflow > 0, 'what did not fit was refused and counted');
      assert.equal(down.overflow, refused);
      assert.ok(errors.length > 0, 'failed writes were reported to onError');

      start();
      for (let attempt = 0; ; attempt++) {
        try {
          await store.flush();
          break;
        } catch (e) {
          if (attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const h = await store.health();
      assert.equal(h.ok, true);
      assert.equal(h.queued, 0);
      assert.equal(h.acked, accepted.length, 'everything accepted is acknowledged after the restart');

      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        const rows = (await c.query('select trade_id from trades order by ts_ms')).rows as { trade_id: string }[];
        const ids = rows.map((r) => r.trade_id);
        assert.equal(new Set(ids).size, ids.length, 'no trade is stored twice');
        assert.deepEqual(
          ids,
          accepted.map((t) => t.tradeId),
          'exactly the accepted trades, none refused',
        );
        const candles = (await c.query('select sum(trade_count)::int as n from candles_1s')).rows[0] as { n: number };
        assert.equal(candles.n, accepted.length, 'the candle rollups counted each trade once');
      } finally {
        await c.end();
      }
    } finally {
      await store.close().catch(() => {});
    }
  });
});
