/**
 * `qob backup` and `qob restore`: the whole store to one file and back (src/store/backup.ts). The entry
 * point only resolves which store (flags over config "store") and reports.
 */
import { resolve } from 'node:path';
import type { QobConfig } from '../../config/types.ts';
import { qobError } from '../../core/errors.ts';
import { type BackupReport, type BackupTarget, backupStore, restoreStore } from '../../store/index.ts';
import {
  type CliIO,
  CONFIG_OPTIONS,
  CONFIG_OPTIONS_HELP,
  type Command,
  EXIT_OK,
  loadCliConfig,
  parseCommandArgs,
} from '../command.ts';

const TARGET_OPTIONS = {
  ...CONFIG_OPTIONS,
  store: { type: 'string' },
  url: { type: 'string' },
  schema: { type: 'string' },
  'pg-bin': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

const TARGET_HELP = `Which store (default: config "store"):
  --store ENGINE       embedded or postgres (default store.engine)
  --url URL            the PostgreSQL server (default store.urlSecret; prefer store.urlSecret = "env:NAME" so the
                       password stays off the command line)
  --schema NAME        the store's schema on the server (default store.schema, "public")
  --pg-bin DIR         where pg_dump/pg_restore are (default PATH, then /usr/lib/postgresql/N/bin)
  --json               print the report as one JSON object
  -h, --help           this help
The embedded store is the directory <data.dir>/pglite (set data.dir with --set data.dir=DIR or
QOB_DATA__DIR). Stop qob start before backing up or restoring the embedded store: PGlite is one process's.

${CONFIG_OPTIONS_HELP}`;

interface TargetValues {
  readonly store?: string | undefined;
  readonly url?: string | undefined;
  readonly schema?: string | undefined;
  readonly 'pg-bin'?: string | undefined;
}

function target(values: TargetValues, config: QobConfig, io: CliIO): BackupTarget {
  const engine = values.store ?? config.store.engine;
  if (engine === 'embedded') return { engine, dataDir: resolve(io.cwd, config.data.dir, 'pglite') };
  if (engine === 'postgres') {
    const url = values.url ?? config.store.urlSecret?.reveal();
    if (url === undefined) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a PostgreSQL store needs --url or config store.urlSecret', {
        field: 'url',
      });
    }
    return {
      engine,
      url,
      schema: values.schema ?? config.store.schema,
      ...(values['pg-bin'] === undefined ? {} : { pgBin: values['pg-bin'] }),
    };
  }
  throw qobError('QOB_ERR_INVALID_ARGUMENT', `--store expects embedded or postgres, got ${JSON.stringify(engine)}`, {
    field: 'store',
    value: engine,
  });
}

function report(verb: string, r: BackupReport, json: boolean, io: CliIO): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ action: verb, ...r })}\n`);
    return;
  }
  const where = r.schema === undefined ? r.where : `${r.where} schema ${r.schema}`;
  const arrow =
    verb === 'backup' ? `${r.engine} store ${where} -> ${r.file}` : `${r.file} -> ${r.engine} store ${where}`;
  io.stdout.write(`qob ${verb}: ${arrow} (${r.bytes} bytes)\n`);
}

function requiredFile(v: string | undefined, option: string, command: string, io: CliIO): string {
  if (v === undefined || v === '') {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `qob ${command} needs --${option} FILE (see qob ${command} --help)`, {
      option,
    });
  }
  return resolve(io.cwd, v);
}

function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `qob ${command} takes no positional arguments`, {
      positionals: positionals.length,
    });
  }
}

export const backupCommand: Command = {
  name: 'backup',
  summary: 'write the whole store (embedded or PostgreSQL) to one file',
  help: `Usage: qob backup --out FILE [--store embedded|postgres] [--url URL] [--schema NAME] [--json]

Embedded store: a gzipped tarball of its data directory (PGlite's own dump). PostgreSQL: pg_dump -Fc of
the store's schema. Restore with qob restore.

Options:
  --out FILE           the backup file (replaced atomically)
${TARGET_HELP}`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('backup', args, { ...TARGET_OPTIONS, out: { type: 'string' } });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    noPositionals('backup', positionals);
    const out = requiredFile(values.out, 'out', 'backup', io);
    const config = loadCliConfig(values, io);
    report('backup', await backupStore(target(values, config, io), out), values.json === true, io);
    return EXIT_OK;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore the store from a qob backup file',
  help: `Usage: qob restore --in FILE [--force] [--store embedded|postgres] [--url URL] [--schema NAME] [--json]

Embedded store: recreates the data directory from the backup; it must be absent or empty unless --force,
which restores beside it and then replaces it (a failed restore leaves it as it was). PostgreSQL:
pg_restore --clean --if-exists in one transaction: the dumped schema's tables are dropped and recreated.

Options:
  --in FILE            a file written by qob backup (an embedded backup or a pg_dump -Fc file)
  --force              embedded: replace a data directory that holds data
${TARGET_HELP}`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('restore', args, {
      ...TARGET_OPTIONS,
      in: { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    noPositionals('restore', positionals);
    const file = requiredFile(values.in, 'in', 'restore', io);
    const config = loadCliConfig(values, io);
    const r = await restoreStore(target(values, config, io), file, { force: values.force === true });
    report('restore', r, values.json === true, io);
    return EXIT_OK;
  },
};
