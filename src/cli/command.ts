/** What every `qob` subcommand shares: its shape, output streams, argument parsing and error reporting. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import type { QobConfig } from '../config/types.ts';
import { isQobError, qobError } from '../core/errors.ts';

export interface CliIO {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for `qob --help`. */
  readonly summary: string;
  /** The whole `qob NAME --help` text. */
  readonly help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: readonly string[], io: CliIO): Promise<number>;
}

/** Exit codes: 0 ok, 1 a check failed (`--verify`), 2 bad usage, bad input or any error. */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_ERROR = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict argument parsing; mistakes become QOB_ERR_INVALID_ARGUMENT naming the command's --help. */
export function parseCommandArgs<O extends Options>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${(e as Error).message} (see qob ${command} --help)`, {
      command,
    });
  }
}

/** Options of every command that reads the configuration. */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  set: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
} as const satisfies Options;

export const CONFIG_OPTIONS_HELP = `Configuration (defaults < qob.config.json or --config < QOB_* environment < flags):
  --config FILE        read this config file instead of ./qob.config.json
  --set KEY=VALUE      override one key, e.g. --set api.port=9090 (repeatable)
  --log-level LEVEL    same as --set log.level=LEVEL`;

export function loadCliConfig(
  values: { config?: string | undefined; set?: string[] | undefined; 'log-level'?: string | undefined },
  io: CliIO,
): QobConfig {
  const flags: Record<string, string> = {};
  for (const s of values.set ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `--set expects KEY=VALUE, got ${JSON.stringify(s)}`, { set: s });
    }
    flags[s.slice(0, eq)] = s.slice(eq + 1);
  }
  if (values['log-level'] !== undefined) flags['log.level'] = values['log-level'];
  return loadConfig({ file: values.config, cwd: io.cwd, env: io.env, flags });
}

/** Parses a positive number option (`--duration 2.5`). */
export function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `--${name} expects a positive number, got ${JSON.stringify(text)}`, {
      option: name,
    });
  }
  return n;
}

/** One line on stderr, `qob: CODE: message` (a non-QobError also gets its stack); returns exit code 2. */
export function reportError(e: unknown, io: CliIO): number {
  if (isQobError(e)) {
    io.stderr.write(`qob: ${e.code}: ${e.message}\n`);
  } else {
    const err = e as Error;
    io.stderr.write(`qob: QOB_ERR_INTERNAL: ${err?.message ?? String(e)}\n`);
    if (err?.stack !== undefined) io.stderr.write(`${err.stack}\n`);
  }
  return EXIT_ERROR;
}
