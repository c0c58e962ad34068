/**
 * The platform's structured logger: pino writing one JSON object per line (to stderr by default, so that
 * stdout stays free for command output), with secrets redacted by path, and one child logger per module.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { REDACTED } from '../config/secret.ts';
import type { LogLevel } from '../config/types.ts';

export type { Logger } from 'pino';

/** Field names whose values are never logged, at any depth up to four levels. */
export const SECRET_FIELDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'apiSecret',
  'secretKey',
  'privateKey',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'api_key',
  'totpSeed',
  'authorization',
  'cookie',
] as const;

/** HTTP headers carrying credentials (ours and the venues' signed-request headers), lower-case. */
export const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-mbx-apikey',
  'ok-access-key',
  'ok-access-sign',
  'ok-access-passphrase',
  'x-bapi-api-key',
  'x-bapi-sign',
  'cb-access-key',
  'cb-access-sign',
  'cb-access-passphrase',
  'api-key',
  'api-sign',
] as const;

const DEPTHS = ['', '*.', '*.*.', '*.*.*.'];

/** Every redaction path given to pino (`*` matches one level; pino has no "any depth" wildcard). */
export const REDACT_PATHS: readonly string[] = [
  ...DEPTHS.flatMap((d) => SECRET_FIELDS.map((f) => `${d}${f}`)),
  ...DEPTHS.flatMap((d) => SECRET_HEADERS.map((h) => `${d}headers[${JSON.stringify(h)}]`)),
];

export interface LoggerConfig {
  readonly level: LogLevel;
  /** Human-readable lines instead of JSON (for a terminal). */
  readonly pretty: boolean;
}

export interface CreateLoggerOptions {
  /** Where lines go; defaults to stderr. */
  readonly destination?: DestinationStream;
  /** Fields on every line (for example the service name). */
  readonly base?: Record<string, unknown>;
}

export function createLogger(config: LoggerConfig, options: CreateLoggerOptions = {}): Logger {
  const raw = options.destination ?? pino.destination({ dest: 2, sync: true });
  const destination = config.pretty ? prettyDestination(raw) : raw;
  const opts: LoggerOptions = {
    level: config.level,
    base: options.base ?? { pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(opts, destination);
}

/** The logger of one module: every line carries `module`. */
export function moduleLogger(root: Logger, module: string): Logger {
  return root.child({ module });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Reformats pino's JSON lines as `time LEVEL [module] msg {rest}` (already redacted by then). */
function prettyDestination(out: DestinationStream): DestinationStream {
  return {
    write(line: string): void {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, module, msg, pid: _pid, ...rest } = o;
      const head = [
        String(time ?? ''),
        String(level ?? '')
          .toUpperCase()
          .padEnd(5),
      ];
      if (module !== undefined) head.push(`[${String(module)}]`);
      head.push(String(msg ?? ''));
      const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
      out.write(`${head.join(' ')}${extra}\n`);
    },
  };
}
