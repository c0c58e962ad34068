#!/usr/bin/env node
// `npm start` runs this first (the "prestart" script): it builds the dashboard into dist/web only when the
// build is missing or older than one of its sources (web/, src/client/, package-lock.json), so a second
// start costs a few stat calls. Plain JavaScript, so it runs on any Node that npm uses.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist/web/index.html');

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of readdirSync(path)) {
    if (e === 'node_modules' || e === 'ensure-built.mjs') continue;
    m = Math.max(m, newest(join(path, e)));
  }
  return m;
}

const sources = Math.max(
  newest(join(root, 'web')),
  newest(join(root, 'src/client')),
  newest(join(root, 'package-lock.json')),
);
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built >= sources) process.exit(0);

const vite = join(root, 'node_modules/vite/bin/vite.js');
if (!existsSync(vite)) {
  console.error('dashboard: vite is not installed (npm install), the dashboard is not built');
  process.exit(0);
}
console.error(built === 0 ? 'dashboard: building dist/web…' : 'dashboard: sources changed, rebuilding dist/web…');
const r = spawnSync(process.execPath, [vite, 'build', join(root, 'web'), '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
