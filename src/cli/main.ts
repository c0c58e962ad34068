/**
 * The `qob` command line: picks the subcommand and runs it. Commands only wire: the logic they use lives
 * in src/ modules (config, platform, replay).
 */
import { type CliIO, type Command, EXIT_OK, reportError } from './command.ts';
import { backupCommand, restoreCommand } from './commands/backup.ts';
import { configCommand } from './commands/config.ts';
import { makeHelpCommand, overview, unknownCommand } from './commands/help.ts';
import { recordCommand } from './commands/record.ts';
import { replayCommand } from './commands/replay.ts';
import { serviceCommand } from './commands/service.ts';
import { startCommand } from './commands/start.ts';
import { versionCommand } from './commands/version.ts';

const helpCommand = makeHelpCommand(() => COMMANDS);

export const COMMANDS: readonly Command[] = [
  startCommand,
  replayCommand,
  recordCommand,
  serviceCommand,
  backupCommand,
  restoreCommand,
  configCommand,
  versionCommand,
  helpCommand,
];

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Runs `qob ARGS...`; resolves to the exit code. Errors are reported on stderr, never thrown. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '-h' || first === '--help') {
      io.stdout.write(`${overview(COMMANDS)}\n`);
      return EXIT_OK;
    }
    if (first === '-v' || first === '--version') return await versionCommand.run(rest, io);
    const command = COMMANDS.find((c) => c.name === first);
    if (command === undefined) throw unknownCommand(first, COMMANDS);
    return await command.run(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}
