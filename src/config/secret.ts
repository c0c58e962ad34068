/**
 * A resolved secret. The value is only reachable through `reveal()`: printing, logging, JSON-serialising
 * or inspecting a Secret shows `[redacted]`, so a config object can be logged whole.
 */
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/** Keys whose values are secrets: names ending in Secret, Password, Token or ApiKey (any case). */
export function isSecretKey(key: string): boolean {
  return /(?:secret|password|token|api_?key)$/i.test(key);
}

export class Secret {
  readonly #value: string;
  /** Where the value came from (`env:NAME`, `file:PATH` or `inline`), never the value itself. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
    Object.freeze(this);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
