/** The embedded engine: PostgreSQL compiled to WebAssembly (PGlite), persisted under a data directory. */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { qobError } from '../core/errors.ts';
import type { Row, SqlEngine, SqlSession } from './engine.ts';

interface Queryable {
  query<T>(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

function session(db: Queryable): SqlSession {
  return {
    async query(sql, params = []) {
      return (await db.query<Row>(sql, [...params])).rows;
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async copyIn(table, columns, text) {
      if (text.length === 0) return;
      await db.query(`copy ${table} (${columns.join(', ')}) from '/dev/blob'`, [], { blob: new Blob([text]) });
    },
  };
}

/** Opens (creating if needed) the embedded database in `dataDir`; `undefined` keeps it in memory. */
export async function openPgliteEngine(dataDir: string | undefined, loadDataDir?: Blob): Promise<SqlEngine> {
  let db: PGlite;
  try {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
    db = await PGlite.create(dataDir, loadDataDir === undefined ? {} : { loadDataDir });
  } catch (e) {
    throw qobError('QOB_ERR_IO', `cannot open the embedded database in ${dataDir ?? 'memory'}`, { dataDir }, e);
  }
  const base = session(db as unknown as Queryable);
  let closed: Promise<void> | undefined;
  return {
    kind: 'pglite',
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
