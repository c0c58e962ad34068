/**
 * Ordered SQL migrations (`migrations/NNN_name.sql`), the same files for every engine. Each file runs in
 * one transaction and is recorded in `schema_migrations` with the variant it ran as. Blocks between
 * `-- qob:if timescale` (or `-- qob:if plain`) and `-- qob:end` are kept only for that variant.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { qobError } from '../core/errors.ts';
import type { SqlEngine } from './engine.ts';

export type SchemaVariant = 'timescale' | 'plain';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_RE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const f of readdirSync(dir).sort()) {
    const m = FILE_RE.exec(f);
    if (m === null) continue;
    out.push({ version: Number(m[1]), name: m[2] as string, sql: readFileSync(new URL(f, dir), 'utf8') });
  }
  out.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw qobError('QOB_ERR_INTERNAL', `migration ${m.version}_${m.name} is out of order`, { version: m.version });
    }
  });
  return out;
}

/** Keeps the lines of `sql` that belong to `variant`. */
export function selectVariant(sql: string, variant: SchemaVariant): string {
  const out: string[] = [];
  let keep = true;
  let open = false;
  for (const line of sql.split('\n')) {
    const t = line.trim();
    const m = /^-- qob:if (timescale|plain)$/.exec(t);
    if (m !== null) {
      if (open) throw qobError('QOB_ERR_INTERNAL', 'nested qob:if in a migration', { line: t });
      open = true;
      keep = m[1] === variant;
      continue;
    }
    if (t === '-- qob:end') {
      open = false;
      keep = true;
      continue;
    }
    if (keep) out.push(line);
  }
  if (open) throw qobError('QOB_ERR_INTERNAL', 'a qob:if block in a migration is not closed', {});
  return out.join('\n');
}

/**
 * Whether TimescaleDB can be used: already installed in this database, or available and installable
 * (`create extension` fails when the library is not preloaded; then the plain variant is used).
 */
export async function detectTimescale(engine: SqlEngine): Promise<boolean> {
  const installed = await engine.query("select extversion from pg_extension where extname = 'timescaledb'");
  if (installed.length > 0) return true;
  const available = await engine.query("select 1 from pg_available_extensions where name = 'timescaledb'");
  if (available.length === 0) return false;
  try {
    await engine.exec('create extension if not exists timescaledb');
    return true;
  } catch {
    return false;
  }
}

export interface MigrationReport {
  readonly variant: SchemaVariant;
  readonly applied: readonly number[];
  readonly current: number;
}

/** Applies the pending migrations. A database keeps the variant it was first migrated with. */
export async function migrate(
  engine: SqlEngine,
  preferred: SchemaVariant,
  migrations = loadMigrations(),
): Promise<MigrationReport> {
  await engine.exec(
    `create table if not exists schema_migrations (version integer primary key, name text not null,
       variant text not null, applied_at timestamptz not null default now())`,
  );
  const applied: number[] = [];
  let variant = preferred;
  for (const m of migrations) {
    const done = await engine.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext('qob.schema_migrations'))");
      const rows = await tx.query('select version, variant from schema_migrations order by version');
      const first = rows[0];
      if (first !== undefined) variant = first.variant as SchemaVariant;
      if (rows.some((r) => Number(r.version) === m.version)) return false;
      await tx.exec(selectVariant(m.sql, variant));
      await tx.query('insert into schema_migrations (version, name, variant) values ($1, $2, $3)', [
        m.version,
        m.name,
        variant,
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return { variant, applied, current: migrations.length };
}
