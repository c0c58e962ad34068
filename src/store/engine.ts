/**
 * The small SQL surface the store needs from an engine, implemented by the embedded PGlite engine and the
 * PostgreSQL server engine (`pg`). Everything above this file is engine-independent.
 */

export type EngineKind = 'pglite' | 'postgres';

/** A row as the driver returns it: numeric and numeric[] columns are selected as text by our queries. */
export type Row = Record<string, unknown>;

export interface SqlSession {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Several statements, no parameters. */
  exec(sql: string): Promise<void>;
  /**
   * `COPY table (columns) FROM` with rows in PostgreSQL's text format (tab-separated, `\N` for null), given
   * as one string or one UTF-8 buffer for the whole batch; `'binary'`: the bytes are in the binary COPY
   * format (header, rows, trailer).
   */
  copyIn(
    table: string,
    columns: readonly string[],
    text: string | Uint8Array,
    format?: 'text' | 'binary',
  ): Promise<void>;
}

export interface SqlEngine extends SqlSession {
  readonly kind: EngineKind;
  /** Transactions that can run at the same time (connections); the writer splits big batches this many ways. */
  readonly parallelism: number;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One COPY text field: backslash, tab, newline and carriage return escaped; null is `\N`. */
export function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  if (!/[\\\t\n\r]/.test(v)) return v;
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A NUMERIC[] literal of canonical decimal text (no quoting needed: digits, `.` and `-` only). */
export function numericArray(values: readonly string[]): string {
  return `{${values.join(',')}}`;
}
