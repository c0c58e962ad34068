/**
 * A small hand-written schema for configuration: enough to validate the whole merged configuration in one
 * pass, report every problem with its key path and what was expected, reject unknown keys, resolve
 * secrets apart, and return a new deeply frozen value.
 */
import type { Secret } from './secret.ts';

export interface ConfigIssue {
  /** Path of the offending key, for example `api.port` or `venues[2].symbols[0]`. */
  readonly key: string;
  readonly message: string;
}

interface Common {
  /** The key may be absent (it has no default). */
  readonly optional?: boolean;
}

export interface ObjectSchema extends Common {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Schema>>;
}

export interface ArraySchema extends Common {
  readonly kind: 'array';
  readonly items: Schema;
  /** Items are objects whose value under this key must be unique. */
  readonly uniqueBy?: string;
}

export interface StringSchema extends Common {
  readonly kind: 'string';
  readonly enum?: readonly string[];
  readonly pattern?: RegExp;
  /** Human wording of `pattern` for error messages. */
  readonly patternText?: string;
  /** A further rule: returns what is wrong (the whole message), or undefined when the value is fine. */
  readonly check?: (value: string) => string | undefined;
}

export interface NumberSchema extends Common {
  readonly kind: 'integer' | 'number';
  readonly min?: number;
  readonly max?: number;
}

export interface BooleanSchema extends Common {
  readonly kind: 'boolean';
}

/** A secret reference: `env:NAME`, `file:PATH` or the value inline. Never echoed in errors or output. */
export interface SecretSchema extends Common {
  readonly kind: 'secret';
}

export type Schema = ObjectSchema | ArraySchema | StringSchema | NumberSchema | BooleanSchema | SecretSchema;

export interface ValidateContext {
  readonly issues: ConfigIssue[];
  /** Turns a secret reference into a Secret, or records an issue and returns undefined. */
  readonly resolveSecret: (ref: string, key: string) => Secret | undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a value of this schema looks like, in words (used in every error message). */
export function describeSchema(s: Schema): string {
  switch (s.kind) {
    case 'object':
      return `an object with keys ${Object.keys(s.fields).join(', ')}`;
    case 'array':
      return `a list of ${describeSchema(s.items)}`;
    case 'string':
      if (s.enum !== undefined) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
      return s.patternText !== undefined ? `a string (${s.patternText})` : 'a non-empty string';
    case 'integer':
    case 'number': {
      const what = s.kind === 'integer' ? 'an integer' : 'a finite number';
      if (s.min !== undefined && s.max !== undefined) return `${what} from ${s.min} to ${s.max}`;
      if (s.min !== undefined) return `${what} >= ${s.min}`;
      if (s.max !== undefined) return `${what} <= ${s.max}`;
      return what;
    }
    case 'boolean':
      return 'true or false';
    case 'secret':
      return 'a secret reference ("env:NAME", "file:PATH") or the secret text';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const t = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

export function joinKey(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * Validates `value` against `schema`, pushing every problem to `ctx.issues`. Returns the validated value
 * (new, deeply frozen objects and lists, secrets resolved) or undefined where the value was invalid.
 */
export function validate(schema: Schema, value: unknown, key: string, ctx: ValidateContext): unknown {
  const fail = (message: string): undefined => {
    ctx.issues.push({ key, message });
    return undefined;
  };
  const expected = (): undefined =>
    fail(`expected ${describeSchema(schema)}, got ${schema.kind === 'secret' ? 'something else' : show(value)}`);

  switch (schema.kind) {
    case 'object': {
      if (!isPlainObject(value)) return expected();
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(value)) {
        if (!Object.hasOwn(schema.fields, k)) {
          ctx.issues.push({
            key: joinKey(key, k),
            message: `unknown key (known: ${Object.keys(schema.fields).join(', ')})`,
          });
        }
      }
      for (const [k, fs] of Object.entries(schema.fields)) {
        const v = Object.hasOwn(value, k) ? value[k] : undefined;
        if (v === undefined) {
          if (fs.optional !== true)
            ctx.issues.push({ key: joinKey(key, k), message: `missing: expected ${describeSchema(fs)}` });
          continue;
        }
        const r = validate(fs, v, joinKey(key, k), ctx);
        if (r !== undefined) out[k] = r;
      }
      return Object.freeze(out);
    }
    case 'array': {
      if (!Array.isArray(value)) return expected();
      const out: unknown[] = [];
      const seen = new Map<unknown, number>();
      value.forEach((item, i) => {
        const r = validate(schema.items, item, joinKey(key, i), ctx);
        if (r !== undefined) out.push(r);
        if (schema.uniqueBy !== undefined && isPlainObject(item)) {
          const id = item[schema.uniqueBy];
          const first = seen.get(id);
          if (first !== undefined) {
            ctx.issues.push({
              key: joinKey(joinKey(key, i), schema.uniqueBy),
              message: `duplicate ${schema.uniqueBy} ${show(id)} (first at ${joinKey(key, first)})`,
            });
          } else seen.set(id, i);
        }
      });
      return Object.freeze(out);
    }
    case 'string': {
      if (typeof value !== 'string' || value === '') return expected();
      if (schema.enum !== undefined && !schema.enum.includes(value)) return expected();
      if (schema.pattern !== undefined && !schema.pattern.test(value)) return expected();
      if (schema.check !== undefined) {
        const problem = schema.check(value);
        if (problem !== undefined) return fail(problem);
      }
      return value;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return expected();
      if (schema.kind === 'integer' && !Number.isSafeInteger(value)) return expected();
      if (schema.min !== undefined && value < schema.min) return expected();
      if (schema.max !== undefined && value > schema.max) return expected();
      return value;
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : expected();
    case 'secret':
      if (typeof value !== 'string' || value === '') return expected();
      return ctx.resolveSecret(value, key);
  }
}

/**
 * Turns the text of an environment variable or flag into a value of the schema's type where it can
 * (numbers, booleans, JSON for lists and objects). Text that does not convert is returned unchanged so
 * that validation reports it with the expected type.
 */
export function coerceText(schema: Schema, text: string): unknown {
  const t = text.trim();
  switch (schema.kind) {
    case 'integer':
    case 'number':
      return /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(t) ? Number(t) : text;
    case 'boolean':
      if (/^(?:true|1|yes|on)$/i.test(t)) return true;
      if (/^(?:false|0|no|off)$/i.test(t)) return false;
      return text;
    case 'array':
    case 'object':
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

/** Walks the schema along `path` (object keys only). */
export function schemaAt(schema: Schema, path: readonly string[]): Schema | undefined {
  let s: Schema = schema;
  for (const p of path) {
    if (s.kind !== 'object' || !Object.hasOwn(s.fields, p)) return undefined;
    const next = s.fields[p];
    if (next === undefined) return undefined;
    s = next;
  }
  return s;
}

/**
 * Deep-merges `over` onto `base`: objects merge key by key, anything else (lists included) replaces.
 * Keys are copied as own data properties, so a `__proto__` key stays a key (and validation rejects it).
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  for (const k of Object.keys(base)) put(k, base[k]);
  for (const k of Object.keys(over)) put(k, deepMerge(Object.hasOwn(out, k) ? out[k] : undefined, over[k]));
  return out;
}

/** Sets `value` at `path`, creating objects on the way (own data properties only). */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = target;
  path.forEach((p, i) => {
    if (i === path.length - 1) {
      Object.defineProperty(o, p, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    let next = Object.hasOwn(o, p) ? o[p] : undefined;
    if (!isPlainObject(next)) {
      next = {};
      Object.defineProperty(o, p, { value: next, enumerable: true, writable: true, configurable: true });
    }
    o = next as Record<string, unknown>;
  });
}
