/** The server engine: a PostgreSQL server through a `pg` Pool; bulk rows go through COPY FROM STDIN. */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { qobError } from '../core/errors.ts';
import type { Row, SqlEngine, SqlSession } from './engine.ts';

export interface PgEngineOptions {
  readonly url: string;
  /** Schema for every table (created if missing); default `public`. */
  readonly schema?: string;
  /** Pool size (default 6). */
  readonly maxConnections?: number;
  /** COPY transactions a batch is split into, run on their own connections at once (default 3). */
  readonly parallelism?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function session(c: pg.Pool | pg.PoolClient, client: () => Promise<pg.PoolClient>): SqlSession {
  return {
    async query(sql, params = []) {
      return (await c.query(sql, [...params])).rows as Row[];
    },
    async exec(sql) {
      await c.query(sql);
    },
    async copyIn(table, columns, text, format = 'text') {
      if (text.length === 0) return;
      const conn = await client();
      let failed: unknown;
      const onError = (e: Error) => {
        failed ??= e;
      };
      if (conn !== c) conn.on('error', onError);
      try {
        const sink = conn.query(
          copyFrom(
            `copy ${table} (${columns.join(', ')}) from stdin${format === 'binary' ? ' with (format binary)' : ''}`,
          ),
        );
        // One write of the whole batch, then end: the stream's 'finish' comes after the server's CopyComplete.
        await new Promise<void>((resolve, reject) => {
          sink.once('error', reject);
          sink.once('finish', resolve);
          sink.end(typeof text === 'string' ? Buffer.from(text) : text);
        });
      } catch (e) {
        failed = e;
        throw e;
      } finally {
        // A connection that failed mid-COPY is discarded, never handed out again.
        if (conn !== c) {
          conn.off('error', onError);
          conn.release(failed === undefined ? undefined : (failed as Error));
        }
      }
    },
  };
}

export async function openPgEngine(options: PgEngineOptions): Promise<SqlEngine> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_RE.test(schema)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `schema must match ${SCHEMA_RE}`, { field: 'schema', value: schema });
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 6,
    // A server that does not answer fails the write (it is retried) instead of hanging the writer.
    connectionTimeoutMillis: 10_000,
    options: `-c search_path=${schema},public`,
  });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    await pool.query(`create schema if not exists ${schema}`);
  } catch (e) {
    await pool.end().catch(() => {});
    throw qobError('QOB_ERR_IO', 'cannot reach the PostgreSQL server', { url: redact(options.url) }, e);
  }
  let closed: Promise<void> | undefined;
  const parallelism = Math.max(1, Math.min(options.parallelism ?? 3, (options.maxConnections ?? 6) - 1));
  // The connections two batches' parts use at once (the writer pipelines) are opened now, not by the first
  // batches.
  const warmCount = Math.min(options.maxConnections ?? 6, 2 * parallelism);
  const warm = await Promise.allSettled(Array.from({ length: warmCount }, () => pool.connect()));
  for (const w of warm) if (w.status === 'fulfilled') w.value.release();
  return {
    kind: 'postgres',
    parallelism,
    ...session(pool, () => pool.connect()),
    async transaction(fn) {
      const c = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client whose server goes away between statements emits 'error'; unheard, that would
      // crash the process. The statement in progress (or the next one) rejects instead.
      const onError = (e: Error) => {
        broken = e;
      };
      c.on('error', onError);
      try {
        await c.query('begin');
        const out = await fn(session(c, async () => c));
        await c.query('commit');
        return out;
      } catch (e) {
        // A connection that cannot even roll back (the server went away) is discarded, not pooled again.
        await c.query('rollback').catch((r: unknown) => {
          broken = r instanceof Error ? r : new Error(String(r));
        });
        throw e;
      } finally {
        c.off('error', onError);
        c.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}

/** The URL without its password, for error context. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
