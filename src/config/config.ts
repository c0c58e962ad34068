/**
 * Loads the effective configuration: defaults (defaults.ts), then the config file (`qob.config.json` in
 * the working directory, or `--config FILE`), then `QOB_*` environment variables, then flags, merged in
 * that order and validated once. Every problem is reported together in one QOB_ERR_CONFIG_INVALID whose
 * `context.errors` lists `{ key, message }`. Secrets are resolved apart into `Secret` values that print as
 * `[redacted]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { qobError } from '../core/errors.ts';
import { parseNormalizedSymbol } from '../domain/instrument.ts';
import { isVenueId, KNOWN_VENUE_IDS } from '../domain/venue.ts';
import { DEFAULT_CONFIG_FILE, DEFAULTS, VENUE_DEFAULTS } from './defaults.ts';
import {
  type ConfigIssue,
  coerceText,
  deepMerge,
  isPlainObject,
  type ObjectSchema,
  type Schema,
  schemaAt,
  setPath,
  validate,
} from './schema.ts';
import { Secret } from './secret.ts';
import type { QobConfig } from './types.ts';

const port = (): Schema => ({ kind: 'integer', min: 0, max: 65535 });

/** The schema of the whole configuration. Keys ending in Secret/Password/Token/ApiKey are `secret`. */
export const CONFIG_SCHEMA: ObjectSchema = {
  kind: 'object',
  fields: {
    log: {
      kind: 'object',
      fields: {
        level: { kind: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        pretty: { kind: 'boolean' },
      },
    },
    metrics: { kind: 'object', fields: { enabled: { kind: 'boolean' } } },
    api: { kind: 'object', fields: { host: { kind: 'string' }, port: port() } },
    dashboard: { kind: 'object', fields: { port: port() } },
    data: { kind: 'object', fields: { dir: { kind: 'string' } } },
    venues: {
      kind: 'array',
      uniqueBy: 'id',
      items: {
        kind: 'object',
        fields: {
          id: {
            kind: 'string',
            check: (v) =>
              isVenueId(v)
                ? undefined
                : `expected one of ${KNOWN_VENUE_IDS.join(', ')} or ccxt:<id>, got ${JSON.stringify(v)}`,
          },
          symbols: { kind: 'array', items: { kind: 'string', check: symbolProblem } },
          enabled: { kind: 'boolean' },
          book: { kind: 'string', optional: true, enum: ['l2', 'l3'] },
          wsBase: { kind: 'string', optional: true, check: (v) => urlProblem(v, ['ws:', 'wss:']) },
          restBase: { kind: 'string', optional: true, check: (v) => urlProblem(v, ['http:', 'https:']) },
          apiKey: { kind: 'secret', optional: true },
          apiSecret: { kind: 'secret', optional: true },
        },
      },
    },
    replay: { kind: 'object', fields: { speed: { kind: 'number', min: 0 } } },
    store: {
      kind: 'object',
      fields: {
        engine: { kind: 'string', enum: ['embedded', 'postgres', 'none'] },
        urlSecret: { kind: 'secret', optional: true },
        schema: { kind: 'string', pattern: /^[a-z_][a-z0-9_]{0,62}$/, patternText: 'a lower-case SQL identifier' },
        snapshotIntervalMs: { kind: 'integer', min: 0 },
        snapshotDepth: { kind: 'integer', min: 0 },
        writerQueueSize: { kind: 'integer', min: 1 },
        retentionDays: {
          kind: 'object',
          fields: Object.fromEntries(
            ['trades', 'bookDeltas', 'bookSnapshots', 'venueStatus', 'candles1s', 'candles1m'].map((k) => [
              k,
              { kind: 'number', min: 0 } satisfies Schema,
            ]),
          ),
        },
        retentionIntervalMs: { kind: 'integer', min: 0 },
      },
    },
  },
};

/** What is wrong with a base URL (absolute, one of `protocols`, no query or fragment), or undefined. */
function urlProblem(text: string, protocols: readonly string[]): string | undefined {
  const expected = `expected a ${protocols.map((p) => `${p}//`).join(' or ')} base URL without query or fragment`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `${expected}, got ${JSON.stringify(text)}`;
  }
  if (!protocols.includes(u.protocol) || u.search !== '' || u.hash !== '') {
    return `${expected}, got ${JSON.stringify(text)}`;
  }
  return undefined;
}

/** What is wrong with a normalized symbol (src/domain/instrument.ts), or undefined. */
function symbolProblem(symbol: string): string | undefined {
  try {
    parseNormalizedSymbol(symbol);
    return undefined;
  } catch (e) {
    return `expected a normalized symbol such as BTC-USDT or BTC-USDT-PERP: ${(e as Error).message}`;
  }
}

export interface LoadConfigOptions {
  /** Explicit config file (`--config FILE`): must exist. Without it `qob.config.json` is read if present. */
  readonly file?: string;
  /** Directory for the default config file and relative paths; defaults to process.cwd(). */
  readonly cwd?: string;
  /** Environment to read `QOB_*` variables and `env:` secret references from; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag overrides by dotted key path (`{ 'log.level': 'debug' }`), as text. */
  readonly flags?: Readonly<Record<string, string>>;
}

/** Loads, merges and validates the configuration. Throws QOB_ERR_CONFIG_FILE or QOB_ERR_CONFIG_INVALID. */
export function loadConfig(options: LoadConfigOptions = {}): QobConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];

  const fileLayer = withVenueDefaults(readConfigFile(options.file, cwd));
  const envLayer = withVenueDefaults(environmentLayer(env, issues));
  const flagLayer = withVenueDefaults(flagsLayer(options.flags ?? {}, issues));
  const merged = deepMerge(deepMerge(deepMerge(DEFAULTS, fileLayer), envLayer), flagLayer);

  const result = validate(CONFIG_SCHEMA, merged, '', {
    issues,
    resolveSecret: (ref, key) => resolveSecret(ref, key, env, cwd, issues),
  });
  const store = (result as Partial<QobConfig> | undefined)?.store;
  if (
    store?.engine === 'postgres' &&
    store.urlSecret === undefined &&
    !issues.some((i) => i.key === 'store.urlSecret')
  ) {
    issues.push({ key: 'store.urlSecret', message: 'missing: store.engine "postgres" needs a PostgreSQL URL' });
  }
  if (issues.length > 0 || result === undefined) throw configInvalid(issues);
  return result as QobConfig;
}

function configInvalid(issues: readonly ConfigIssue[]): Error {
  const list = issues.map((i) => `${i.key}: ${i.message}`);
  const n = issues.length;
  return qobError(
    'QOB_ERR_CONFIG_INVALID',
    `invalid configuration (${n} problem${n === 1 ? '' : 's'}): ${list.join('; ')}`,
    {
      errors: issues.map((i) => ({ key: i.key, message: i.message })),
    },
  );
}

function readConfigFile(explicit: string | undefined, cwd: string): unknown {
  const path = resolve(cwd, explicit ?? DEFAULT_CONFIG_FILE);
  if (explicit === undefined && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw qobError('QOB_ERR_CONFIG_FILE', `cannot read config file ${path} (${code})`, { path, code }, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw qobError(
      'QOB_ERR_CONFIG_FILE',
      `config file ${path} is not valid JSON: ${(e as Error).message}`,
      { path },
      e,
    );
  }
  if (!isPlainObject(parsed)) {
    throw qobError('QOB_ERR_CONFIG_FILE', `config file ${path} must hold a JSON object`, { path });
  }
  return parsed;
}

/** `apiKey` -> `api_key`. */
function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Finds the config key path named by an environment variable (without `QOB_`, lower-cased). Levels are
 * separated by `__` or `_` (`QOB_LOG_LEVEL` and `QOB_LOG__LEVEL` both name `log.level`); camelCase keys
 * are written in snake case (`QOB_..._API_KEY`).
 */
function matchEnvName(schema: ObjectSchema, name: string): string[] | undefined {
  for (const [k, fs] of Object.entries(schema.fields)) {
    for (const form of new Set([snake(k), k.toLowerCase()])) {
      if (name === form) return [k];
      if (fs.kind !== 'object') continue;
      for (const sep of ['__', '_']) {
        if (!name.startsWith(form + sep)) continue;
        const rest = matchEnvName(fs, name.slice(form.length + sep.length));
        if (rest !== undefined) return [k, ...rest];
      }
    }
  }
  return undefined;
}

function environmentLayer(env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): unknown {
  const layer: Record<string, unknown> = {};
  let any = false;
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('QOB_') || text === undefined) continue;
    // The local stack's own variables (scripts/stack.sh: QOB_TEST_*, QOB_STACK_*) are not configuration.
    if (name.startsWith('QOB_TEST_') || name.startsWith('QOB_STACK_')) continue;
    const path = matchEnvName(CONFIG_SCHEMA, name.slice(4).toLowerCase());
    if (path === undefined) {
      issues.push({ key: name, message: 'environment variable names no config key' });
      continue;
    }
    const s = schemaAt(CONFIG_SCHEMA, path);
    if (s === undefined) continue;
    setPath(layer, path, coerceText(s, text));
    any = true;
  }
  return any ? layer : undefined;
}

function flagsLayer(flags: Readonly<Record<string, string>>, issues: ConfigIssue[]): unknown {
  const layer: Record<string, unknown> = {};
  let any = false;
  for (const [key, text] of Object.entries(flags)) {
    const path = key.split('.');
    const s = schemaAt(CONFIG_SCHEMA, path);
    if (s === undefined) {
      issues.push({ key, message: 'unknown key' });
      continue;
    }
    setPath(layer, path, coerceText(s, text));
    any = true;
  }
  return any ? layer : undefined;
}

/** Fills keys left out of venue entries from VENUE_DEFAULTS (only in layers that set `venues`). */
function withVenueDefaults(layer: unknown): unknown {
  if (!isPlainObject(layer) || !Array.isArray(layer.venues)) return layer;
  const venues = layer.venues.map((v: unknown) => (isPlainObject(v) ? deepMerge(VENUE_DEFAULTS, v) : v));
  return deepMerge(layer, { venues });
}

function resolveSecret(
  ref: string,
  key: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  issues: ConfigIssue[],
): Secret | undefined {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = env[name];
    if (v === undefined || v === '') {
      issues.push({ key, message: `secret reference env:${name}: environment variable ${name} is not set` });
      return undefined;
    }
    return new Secret(v, `env:${name}`);
  }
  if (ref.startsWith('file:')) {
    const path = resolve(cwd, ref.slice(5));
    try {
      const v = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      if (v === '') {
        issues.push({ key, message: `secret reference file:${path}: the file is empty` });
        return undefined;
      }
      return new Secret(v, `file:${path}`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      issues.push({ key, message: `secret reference file:${path}: cannot read it (${code})` });
      return undefined;
    }
  }
  return new Secret(ref, 'inline');
}

/** The configuration as plain JSON with every secret shown as `[redacted]` (for `qob config` and logs). */
export function redactedConfig(config: QobConfig): unknown {
  return JSON.parse(JSON.stringify(config)) as unknown;
}
