/**
 * The layering of docs/ARCHITECTURE.md, checked on every import in src/: a folder imports only from the
 * folders below it. A new top-level folder must be added to the table here and in ARCHITECTURE.md.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const src = resolve(import.meta.dirname, '../../src');

/** What each top-level module (folder, or file without `.ts`) may import, besides itself. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  domain: ['core'],
  client: ['core'],
  book: ['core', 'domain'],
  venues: ['core', 'domain', 'book'],
  ingest: ['core', 'domain', 'book', 'venues'],
  replay: ['core', 'domain', 'book', 'venues', 'ingest'],
  sim: ['core', 'domain', 'book'],
  emulator: ['core', 'domain', 'book', 'venues', 'sim'],
  config: ['core', 'domain'],
  observability: ['core', 'config'],
  store: ['core', 'domain', 'book'],
  bus: ['core', 'domain'],
  gateway: ['core', 'domain', 'book', 'venues', 'ingest', 'sim', 'config', 'observability'],
  platform: [
    'core',
    'domain',
    'book',
    'venues',
    'ingest',
    'replay',
    'sim',
    'emulator',
    'config',
    'observability',
    'gateway',
    'bus',
    'store',
  ],
  services: [
    'core',
    'domain',
    'book',
    'venues',
    'ingest',
    'replay',
    'sim',
    'emulator',
    'config',
    'observability',
    'gateway',
    'bus',
    'store',
    'platform',
  ],
  cli: [
    'core',
    'domain',
    'book',
    'venues',
    'ingest',
    'replay',
    'sim',
    'emulator',
    'config',
    'observability',
    'gateway',
    'bus',
    'store',
    'platform',
    'services',
  ],
};

function moduleOf(file: string): string {
  return (relative(src, file).split('/')[0] ?? '').replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

describe('layering', () => {
  const files = sourceFiles(src);

  it('every top-level module of src/ has a place in the layer table', () => {
    const unknown = [...new Set(files.map(moduleOf))].filter((m) => !Object.hasOwn(MAY_IMPORT, m));
    assert.deepEqual(unknown, [], 'add new modules to MAY_IMPORT and docs/ARCHITECTURE.md');
  });

  it('no module imports from a module above it', () => {
    const violations: string[] = [];
    let seen = 0;
    for (const file of files) {
      const from = moduleOf(file);
      const allowed = MAY_IMPORT[from] ?? [];
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
        const spec = m[1] ?? '';
        seen++;
        const to = moduleOf(resolve(dirname(file), spec));
        if (to !== from && !allowed.includes(to))
          violations.push(`${relative(src, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    assert.ok(seen > 50, `only ${seen} relative imports found: the import pattern is broken`);
    assert.deepEqual(violations, []);
  });
});
