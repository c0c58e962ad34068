/** `qob version`: the package version and the Node.js running it. */
import { readFileSync } from 'node:fs';
import { type Command, EXIT_OK, parseCommandArgs } from '../command.ts';

/** The version in package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version',
  help: `Usage: qob version [--json]

Prints the qob version and the Node.js version running it.

Options:
  --json       {"version": "...", "node": "..."}
  -h, --help   this help`,

  async run(args, io) {
    const { values } = parseCommandArgs('version', args, { json: { type: 'boolean', default: false } });
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    const version = packageVersion();
    io.stdout.write(
      values.json
        ? `${JSON.stringify({ version, node: process.version })}\n`
        : `qob ${version} (node ${process.version})\n`,
    );
    return EXIT_OK;
  },
};
