/** Shared helpers for the venue handler tests (not a test file). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { QobError } from '../../src/core/errors.ts';
import type { BookReport } from '../../src/venues/feed-handler.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures');

/** Path of a fixture, or undefined when ../shared/fixtures is absent (the test then skips). */
export function fixture(rel: string): string | undefined {
  const p = path.join(fixturesDir, rel);
  return existsSync(p) ? p : undefined;
}

export function bySymbol(books: readonly BookReport[]): Map<string, BookReport> {
  return new Map(books.map((b) => [b.symbol, b]));
}

/** Collects the typed errors a handler reports. */
export function badFrames(): { errors: QobError[]; onBadFrame: (e: QobError) => void } {
  const errors: QobError[] = [];
  return { errors, onBadFrame: (e) => errors.push(e) };
}
