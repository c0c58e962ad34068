/** The server engine: a PostgreSQL server through a `pg` Pool; bulk rows go through COPY FROM STDIN. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { qobError } from '../core/errors.ts';
import type { Row, SqlEngine, SqlSession } from './engine.ts';

export interface PgEngineOptions {
  readonly url: string;
  /** Schema for every table (created if missing); default `public`. */
  readonly schema?: string;
  readonly maxConnections?: number;
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
    async copyIn(table, columns, text) {
      if (text.length === 0) return;
      const conn = await client();
      try {
        const sink = conn.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
        await pipeline(Readable.from([text]), sink);
      } finally {
        if (conn !== c) conn.release();
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
    max: options.maxConnections ?? 4,
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
  return {
    kind: 'postgres',
    ...session(pool, () => pool.connect()),
    async transaction(fn) {
      const c = await pool.connect();
      try {
        await c.query('begin');
        const out = await fn(session(c, async () => c));
        await c.query('commit');
        return out;
      } catch (e) {
        await c.query('rollback').catch(() => {});
        throw e;
      } finally {
        c.release();
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
