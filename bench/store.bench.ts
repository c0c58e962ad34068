/**
 * Storage ingest: rows per second through the store's batched writer into a PostgreSQL server (when
 * QOB_TEST_PG_URL is set; a throwaway schema) and the embedded engine (PGlite on disk). The clock stops when
 * `flush()` resolves, i.e. when every row is committed (acknowledged), not when it is queued. The rows are a
 * seeded L2 stream's deltas with a trade after every fourth delta, so the candle rollups run too.
 * `--json` prints {"results":[{"name","rowsPerSec",...}]}; `--rows N` (default 100,000); `--batch N`
 * (writer batch size, default 20,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { bookDelta, bookSnapshot, type MarketEvent, trade } from '../src/domain/index.ts';
import { generateL2Stream } from '../src/sim/l2-stream.ts';
import { openStore, type StoreOptions } from '../src/store/index.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rowsArg = args.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(args[rowsArg + 1]) : 100_000;
const PG_URL = process.env.QOB_TEST_PG_URL;
const batchArg = args.indexOf('--batch');
const BATCH = batchArg >= 0 ? Number(args[batchArg + 1]) : 20_000;

function events(n: number): MarketEvent[] {
  const deltas = Math.ceil((n * 4) / 5);
  const stream = generateL2Stream({ seed: 3, levels: 500, deltas, levelsPerDelta: 8 });
  const t0 = 1_700_000_000_000;
  const out: MarketEvent[] = [bookSnapshot({ venue: 'binance', symbol: 'BTC-USDT', tsRecvMs: t0, ...stream.snapshot })];
  stream.deltas.forEach((d, i) => {
    const t = t0 + i;
    const changes = [
      ...d.bids.map(([price, size]) => ({ side: 'bid' as const, price, size })),
      ...d.asks.map(([price, size]) => ({ side: 'ask' as const, price, size })),
    ];
    out.push(bookDelta({ venue: 'binance', symbol: 'BTC-USDT', tsRecvMs: t, recvSeq: i, changes }));
    const top = d.bids[0] ?? d.asks[0];
    if (i % 4 === 3 && top !== undefined) {
      out.push(
        trade({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsRecvMs: t,
          price: top[0],
          size: '0.01',
          aggressor: 'buy',
          tradeId: i,
        }),
      );
    }
  });
  return out.slice(0, n);
}

async function run(name: string, options: StoreOptions, input: readonly MarketEvent[]) {
  const store = await openStore({
    ...options,
    writer: { batchSize: BATCH, maxQueued: input.length + 1, flushIntervalMs: 0 },
    snapshots: { intervalMs: 0 },
  });
  const start = performance.now();
  for (const e of input) store.append(e);
  await store.flush();
  const ms = performance.now() - start;
  const h = await store.health();
  await store.close();
  return { name, rows: h.acked, ms: Math.round(ms), rowsPerSec: Math.round((h.acked / ms) * 1000), engine: h.engine };
}

const input = events(ROWS);
const results = [];
if (PG_URL !== undefined) {
  const schema = `qob_bench_${process.pid}`;
  try {
    results.push(await run('postgres', { engine: 'postgres', url: PG_URL, schema }, input));
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  }
} else if (!json) {
  console.log('QOB_TEST_PG_URL is not set: PostgreSQL skipped');
}
const dir = mkdtempSync(join(tmpdir(), 'qob-store-bench-'));
try {
  results.push(await run('embedded', { engine: 'embedded', dataDir: join(dir, 'pglite') }, input));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (json) console.log(JSON.stringify({ results }));
else for (const r of results) console.log(`${r.name.padEnd(9)} ${r.rows} rows in ${r.ms} ms: ${r.rowsPerSec} rows/s`);
