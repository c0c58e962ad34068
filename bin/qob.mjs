#!/usr/bin/env node
// The `qob` launcher. Plain JavaScript that runs on Node >= 18: the platform itself is TypeScript run
// directly by Node's type stripping, so on an older Node this re-executes itself with the Node 24 binary
// installed by the `node` npm package (a dependency), forwarding arguments, stdio, signals and exit code.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
// Guards against re-executing forever if the resolved binary is itself too old.
const GUARD = '_QOB_LAUNCHER_REEXEC';

/** Whether this Node strips TypeScript types by default (22.18+, 23.6+, 24+). */
function canRunTypeScript(version) {
  const [major, minor] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

function findNode24() {
  const candidates = [
    resolve(root, 'node_modules/node/bin/node'),
    resolve(root, 'node_modules/.bin/node'),
    // Installed as a dependency of another project: the `node` package is our sibling.
    resolve(root, '../node/bin/node'),
    resolve(root, '../.bin/node'),
  ];
  return candidates.find((p) => existsSync(p));
}

function reexec() {
  const node = findNode24();
  if (node === undefined || process.env[GUARD] === '1') {
    process.stderr.write(
      `qob: Node ${process.versions.node} cannot run qob (it needs Node >= 22.18) and the Node 24 binary from ` +
        `the "node" npm package was not found under ${resolve(root, 'node_modules')}: run npm install\n`,
    );
    process.exit(2);
  }
  const child = spawn(node, [self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [GUARD]: '1' },
  });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  child.on('error', (e) => {
    process.stderr.write(`qob: cannot start ${node}: ${e.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal !== null) {
      // Die of the same signal, so the caller sees what the child saw.
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

if (!canRunTypeScript(process.versions.node)) {
  reexec();
} else {
  delete process.env[GUARD];
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
