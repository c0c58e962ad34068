/**
 * Backup and restore of a store, whole and offline-safe:
 * - embedded (PGlite): the data directory as PGlite's own gzipped tarball (`dumpDataDir('gzip')`), restored
 *   into an empty directory (or, with `force`, into a fresh sibling that then replaces the old one, so a
 *   failed restore leaves the old data in place);
 * - PostgreSQL server: the store's schema through the server's own tools, `pg_dump -Fc -n SCHEMA`, restored
 *   with `pg_restore --clean --if-exists --single-transaction` (all or nothing). The password never appears
 *   on a command line: it goes to the tools in `PGPASSWORD`.
 * Every failure is typed: a missing file or data directory is QOB_ERR_NOT_FOUND, a file of the wrong kind
 * QOB_ERR_CAPTURE_FORMAT, an unreachable server or a missing tool QOB_ERR_IO.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { qobError } from '../core/errors.ts';
import type { SqlEngine } from './engine.ts';
import { redact } from './pg-engine.ts';
import { openPgliteEngine } from './pglite-engine.ts';

export type BackupTarget =
  | {
      readonly engine: 'embedded';
      /** The embedded store's data directory (e.g. `.data/pglite`). */
      readonly dataDir: string;
    }
  | {
      readonly engine: 'postgres';
      readonly url: string;
      /** The store's schema (default `public`). */
      readonly schema?: string;
      /** Directory of `pg_dump`/`pg_restore` (default: PATH, then the newest /usr/lib/postgresql/N/bin). */
      readonly pgBin?: string;
    };

export interface BackupReport {
  readonly engine: 'embedded' | 'postgres';
  readonly file: string;
  readonly bytes: number;
  /** The data directory, or the server URL without its password. */
  readonly where: string;
  readonly schema?: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const PGDMP_MAGIC = 'PGDMP';
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Writes a backup of `target` to `file` (replaced atomically: written beside it, then renamed). */
export async function backupStore(target: BackupTarget, file: string): Promise<BackupReport> {
  const out = resolve(file);
  if (!existsSync(dirname(out))) {
    throw qobError('QOB_ERR_NOT_FOUND', `the directory of ${out} does not exist`, { file: out });
  }
  const tmp = `${out}.partial-${process.pid}`;
  try {
    if (target.engine === 'embedded') {
      const dataDir = resolve(target.dataDir);
      assertEmbeddedDir(dataDir);
      const engine = (await openPgliteEngine(dataDir)) as SqlEngine & { dump(): Promise<Blob> };
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await (await engine.dump()).arrayBuffer());
      } finally {
        await engine.close();
      }
      writeFileSync(tmp, bytes);
      renameSync(tmp, out);
      return { engine: 'embedded', file: out, bytes: bytes.length, where: dataDir };
    }
    const schema = checkSchema(target.schema ?? 'public');
    const { url, env } = splitPassword(target.url);
    await runPgTool(
      'pg_dump',
      target.pgBin,
      ['-Fc', '--no-owner', '--no-privileges', '-n', schema, '-f', tmp, '-d', url],
      env,
      target.url,
    );
    renameSync(tmp, out);
    return { engine: 'postgres', file: out, bytes: statSync(out).size, where: redact(target.url), schema };
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface RestoreOptions {
  /** Embedded: replace a data directory that already holds data (default false: refuse). */
  readonly force?: boolean;
}

/**
 * Restores `file` into `target`. Embedded: the data directory must be absent or empty unless `force`.
 * PostgreSQL: the dumped schema's objects are dropped and recreated in one transaction.
 */
export async function restoreStore(
  target: BackupTarget,
  file: string,
  options: RestoreOptions = {},
): Promise<BackupReport> {
  const src = resolve(file);
  const head = readHead(src);
  if (target.engine === 'embedded') {
    const bytes = readFileSync(src);
    checkEmbeddedBackup(src, head, bytes);
    const dataDir = resolve(target.dataDir);
    const occupied = existsSync(dataDir) && readdirSync(dataDir).length > 0;
    if (occupied && options.force !== true) {
      throw qobError(
        'QOB_ERR_INVALID_ARGUMENT',
        `the data directory ${dataDir} already holds data: stop what uses it and pass --force to replace it`,
        { field: 'dataDir', dataDir },
      );
    }
    const fresh = occupied ? `${dataDir}.restoring-${process.pid}` : dataDir;
    rmSync(fresh, { recursive: true, force: true });
    try {
      const engine = await openPgliteEngine(fresh, new Blob([bytes]));
      try {
        await engine.query('select 1');
      } finally {
        await engine.close();
      }
    } catch (e) {
      rmSync(fresh, { recursive: true, force: true });
      throw qobError('QOB_ERR_CAPTURE_FORMAT', `${src} does not load as an embedded store`, { file: src }, e);
    }
    if (occupied) {
      const old = `${dataDir}.replaced-${process.pid}`;
      renameSync(dataDir, old);
      renameSync(fresh, dataDir);
      rmSync(old, { recursive: true, force: true });
    }
    return { engine: 'embedded', file: src, bytes: bytes.length, where: dataDir };
  }
  if (head.subarray(0, 5).toString('latin1') !== PGDMP_MAGIC) {
    throw qobError(
      'QOB_ERR_CAPTURE_FORMAT',
      isGzip(head)
        ? `${src} is an embedded-store backup, not a PostgreSQL dump (restore it with --store embedded)`
        : `${src} is not a PostgreSQL custom-format dump (pg_dump -Fc)`,
      { file: src, expected: 'pg_dump -Fc' },
    );
  }
  const { url, env } = splitPassword(target.url);
  await runPgTool(
    'pg_restore',
    target.pgBin,
    [
      '--clean',
      '--if-exists',
      '--no-owner',
      '--no-privileges',
      '--single-transaction',
      '--exit-on-error',
      '-d',
      url,
      src,
    ],
    env,
    target.url,
  );
  return {
    engine: 'postgres',
    file: src,
    bytes: statSync(src).size,
    where: redact(target.url),
    ...(target.schema === undefined ? {} : { schema: target.schema }),
  };
}

function assertEmbeddedDir(dataDir: string): void {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    throw qobError('QOB_ERR_NOT_FOUND', `no embedded store in ${dataDir} (no PG_VERSION file)`, { dataDir });
  }
}

function readHead(file: string): Buffer {
  const bytes = Buffer.alloc(512);
  let n: number;
  try {
    const fd = openSync(file, 'r');
    try {
      n = readSync(fd, bytes, 0, 512, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') throw qobError('QOB_ERR_NOT_FOUND', `no backup file ${file}`, { file }, e);
    throw qobError('QOB_ERR_IO', `cannot read ${file} (${code})`, { file, code }, e);
  }
  if (n === 0) throw qobError('QOB_ERR_CAPTURE_FORMAT', `${file} is empty`, { file });
  return bytes.subarray(0, n);
}

function isGzip(head: Buffer): boolean {
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** A PGlite dump is a gzipped tar archive of a PostgreSQL data directory. */
function checkEmbeddedBackup(file: string, head: Buffer, bytes: Buffer): void {
  const wrong = (why: string) =>
    qobError('QOB_ERR_CAPTURE_FORMAT', `${file} is not an embedded-store backup: ${why}`, {
      file,
      expected: 'gzipped tar of a PGlite data directory',
    });
  if (head.subarray(0, 5).toString('latin1') === PGDMP_MAGIC) {
    throw wrong('it is a PostgreSQL dump (restore it with --store postgres)');
  }
  if (!isGzip(head)) throw wrong('not gzip');
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes);
  } catch {
    throw wrong('corrupt gzip');
  }
  if (tar.subarray(257, 262).toString('latin1') !== 'ustar') throw wrong('not a tar archive');
  if (!tar.includes('PG_VERSION')) throw wrong('no PostgreSQL data directory inside');
}

function checkSchema(schema: string): string {
  if (!SCHEMA_RE.test(schema)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `schema must match ${SCHEMA_RE}`, { field: 'schema', value: schema });
  }
  return schema;
}

function splitPassword(url: string): { url: string; env: Record<string, string> } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the PostgreSQL URL cannot be parsed', { field: 'url' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the PostgreSQL URL must start with postgres://', {
      field: 'url',
      url: redact(url),
    });
  }
  if (u.password === '') return { url, env: {} };
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), env: { PGPASSWORD: password } };
}

/** The path of a PostgreSQL client tool: `pgBin`, else PATH, else the newest /usr/lib/postgresql/N/bin. */
export function findPgTool(name: 'pg_dump' | 'pg_restore', pgBin?: string): string {
  const dirs = pgBin !== undefined ? [pgBin] : (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  if (pgBin === undefined) {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root)
      ? readdirSync(root)
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    dirs.push(...versions.map((v) => join(root, v, 'bin')));
  }
  for (const d of dirs) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  throw qobError(
    'QOB_ERR_IO',
    `${name} not found (looked in ${pgBin ?? 'PATH and /usr/lib/postgresql/*/bin'}): install the PostgreSQL client`,
    { tool: name },
  );
}

const UNREACHABLE_RE =
  /could not connect|connection to server .* failed|Connection refused|could not translate host name|timeout expired|No such file or directory\s+Is the server running/i;

function runPgTool(
  name: 'pg_dump' | 'pg_restore',
  pgBin: string | undefined,
  args: string[],
  env: Record<string, string>,
  url: string,
): Promise<void> {
  const tool = findPgTool(name, pgBin);
  return new Promise((done, fail) => {
    const child = spawn(tool, args, {
      env: { ...process.env, ...env, PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 16_384) stderr += d;
    });
    child.on('error', (e) => fail(qobError('QOB_ERR_IO', `cannot run ${tool}`, { tool }, e)));
    child.on('close', (code) => {
      if (code === 0) return done();
      const where = redact(url);
      const first = stderr.trim().split('\n')[0] ?? '';
      if (UNREACHABLE_RE.test(stderr)) {
        fail(
          qobError('QOB_ERR_IO', `cannot reach the PostgreSQL server at ${where}: ${first}`, {
            tool: name,
            url: where,
          }),
        );
      } else if (/no matching schemas were found/i.test(stderr)) {
        fail(qobError('QOB_ERR_NOT_FOUND', `no such schema on ${where}`, { tool: name, url: where }));
      } else {
        fail(
          qobError('QOB_ERR_IO', `${name} failed (exit ${code}): ${first}`, { tool: name, url: where, exitCode: code }),
        );
      }
    });
  });
}
