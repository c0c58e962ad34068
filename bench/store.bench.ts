/**
 * Storage ingest: rows per second through the store's batched writer into a PostgreSQL server (when
 * QOB_TEST_PG_URL is set; a throwaway schema) and the embedded engine (PGlite on disk). The clock stops when
 * `flush()` resolves, i.e. when every row is committed (acknowledged), not when it is queued. The rows are a
 * seeded L2 stream's deltas (two symbols) with a trade after every fourth delta, so the candle rollups run too.
 * `--json` prints {"results":[{"name","rowsPerSec",...}]}; `--rows N` (default 100,000); `--batch N`
 * (writer batch size, default 20,000); `--only postgres|embedded`; `--profile DIR` writes a V8 CPU profile of
 * the timed window (append + flush) of each engine into DIR.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Decimal } from '../src/core/fixed.ts';
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
const onlyArg = args.indexOf('--only');
const ONLY = onlyArg >= 0 ? args[onlyArg + 1] : undefined;
const profileArg = args.indexOf('--profile');
const PROFILE_DIR = profileArg >= 0 ? args[profileArg + 1] : undefined;

/**
 * Rows as the Binance handler emits them: deltas carry the venue's event time (a few ms before receipt)
 * and update ids (`U`/`u`, spot: no `pu`); trades carry the trade time, a 10-digit trade id, a varied size
 * in the lot's digits and either aggressor. Two symbols interleave, so rollups and rows span both.
 */
function events(n: number): MarketEvent[] {
  const deltas = Math.ceil((n * 4) / 5);
  const t0 = 1_700_000_000_000;
  const books = [
    { symbol: 'BTC-USDT', mid: '65000.00', lot: '0.00001', seed: 3 },
    { symbol: 'ETH-USDT', mid: '3400.00', lot: '0.0001', seed: 4 },
  ].map((b) => ({
    ...b,
    stream: generateL2Stream({
      seed: b.seed,
      levels: 500,
      deltas: Math.ceil(deltas / 2),
      levelsPerDelta: 8,
      mid: b.mid,
      lot: b.lot,
    }),
  }));
  const out: MarketEvent[] = books.map((b) =>
    bookSnapshot({ venue: 'binance', symbol: b.symbol, tsRecvMs: t0, ...b.stream.snapshot }),
  );
  let updateId = 71_234_567_890;
  let tradeId = 5_123_456_789;
  for (let i = 0; out.length < n; i++) {
    const b = books[i % 2] as (typeof books)[number];
    const d = b.stream.deltas[i >> 1];
    if (d === undefined) break;
    const t = t0 + i;
    const changes = [
      ...d.bids.map(([price, size]) => ({ side: 'bid' as const, price, size })),
      ...d.asks.map(([price, size]) => ({ side: 'ask' as const, price, size })),
    ];
    const firstSeq = updateId + 1;
    updateId += changes.length + (i % 3);
    out.push(
      bookDelta({
        venue: 'binance',
        symbol: b.symbol,
        tsEventMs: t - 3 - (i % 5),
        tsRecvMs: t,
        recvSeq: i,
        firstSeq,
        lastSeq: updateId,
        changes,
      }),
    );
    const top = d.bids[0] ?? d.asks[0];
    if (i % 4 === 3 && top !== undefined) {
      const lots = 1 + ((i * 7919) % 25_000);
      out.push(
        trade({
          venue: 'binance',
          symbol: b.symbol,
          tsEventMs: t - 2,
          tsRecvMs: t,
          recvSeq: i,
          price: top[0],
          size: Decimal.of(BigInt(lots), b.lot.length - 2).toString(),
          aggressor: i % 8 === 3 ? 'sell' : 'buy',
          tradeId: tradeId++,
        }),
      );
    }
  }
  return out.slice(0, n);
}

/**
 * CPU time (ms) the server's backends of this bench (`application_name`) have used so far, per backend pid,
 * read from /proc: only when the server runs on this machine (else undefined).
 */
async function backendCpu(url: string, app: string): Promise<Map<number, number> | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('select pid from pg_stat_activity where application_name = $1', [app]);
    const out = new Map<number, number>();
    for (const { pid } of r.rows as { pid: number }[]) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15) in clock ticks of 10 ms
      out.set(pid, (Number(f[11]) + Number(f[12])) * 10);
    }
    return out;
  } catch {
    return undefined;
  } finally {
    await c.end();
  }
}

async function run(name: string, options: StoreOptions, input: readonly MarketEvent[]) {
  const app = options.engine === 'postgres' ? `qob_bench_${process.pid}` : undefined;
  if (options.engine === 'postgres' && app !== undefined) {
    options = { ...options, url: `${options.url}${options.url.includes('?') ? '&' : '?'}application_name=${app}` };
  }
  const store = await openStore({
    ...options,
    writer: { batchSize: BATCH, maxQueued: input.length + 1, flushIntervalMs: 0 },
    snapshots: { intervalMs: 0 },
  });
  const session = PROFILE_DIR === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const server0 = app !== undefined && PG_URL !== undefined ? await backendCpu(PG_URL, app) : undefined;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (const e of input) store.append(e);
  await store.flush();
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  if (session !== undefined && PROFILE_DIR !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `store-${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  const server1 = app !== undefined && PG_URL !== undefined ? await backendCpu(PG_URL, app) : undefined;
  let serverCpuMs: number | undefined;
  if (server0 !== undefined && server1 !== undefined) {
    serverCpuMs = 0;
    for (const [pid, ms] of server1) serverCpuMs += ms - (server0.get(pid) ?? 0);
  }
  const h = await store.health();
  await store.close();
  // Process CPU time is less sensitive to a busy machine than wall time (embedded: the whole write runs in
  // this process; postgres: the server's share is not counted).
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    name,
    rows: h.acked,
    ms: Math.round(ms),
    rowsPerSec: Math.round((h.acked / ms) * 1000),
    processCpuMs: Math.round(cpuMs),
    // postgres on this machine: CPU time of the store's server backends during the write
    ...(serverCpuMs === undefined ? {} : { serverCpuMs }),
    engine: h.engine,
  };
}

const input = events(ROWS);
const results = [];
if (ONLY === 'embedded') {
  // PostgreSQL not asked for
} else if (PG_URL !== undefined) {
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
if (ONLY !== 'postgres') {
  const dir = mkdtempSync(join(tmpdir(), 'qob-store-bench-'));
  try {
    results.push(await run('embedded', { engine: 'embedded', dataDir: join(dir, 'pglite') }, input));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (json) console.log(JSON.stringify({ results }));
else for (const r of results) console.log(`${r.name.padEnd(9)} ${r.rows} rows in ${r.ms} ms: ${r.rowsPerSec} rows/s`);
