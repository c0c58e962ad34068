/** `qob help [COMMAND]`: the overview, or one command's help. */
import { qobError } from '../../core/errors.ts';
import { type Command, EXIT_OK, parseCommandArgs } from '../command.ts';

/** The overview printed by `qob`, `qob --help` and `qob help`. */
export function overview(commands: readonly Command[]): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return `qob: Quantum Order Book, exact and fast crypto order books.

Usage: qob COMMAND [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Run "qob COMMAND --help" (or "qob help COMMAND") for a command's options.`;
}

export function makeHelpCommand(commands: () => readonly Command[]): Command {
  return {
    name: 'help',
    summary: 'show this overview, or a command help (qob help COMMAND)',
    help: `Usage: qob help [COMMAND]

Without COMMAND prints the list of commands; with it, that command's help (same as qob COMMAND --help).`,
    async run(args, io) {
      const { values, positionals } = parseCommandArgs('help', args, {});
      if (values.help === true) {
        io.stdout.write(`${this.help}\n`);
        return EXIT_OK;
      }
      const name = positionals[0];
      if (name === undefined) {
        io.stdout.write(`${overview(commands())}\n`);
        return EXIT_OK;
      }
      const c = commands().find((x) => x.name === name);
      if (c === undefined) throw unknownCommand(name, commands());
      io.stdout.write(`${c.help}\n`);
      return EXIT_OK;
    },
  };
}

export function unknownCommand(name: string, commands: readonly Command[]): Error {
  return qobError(
    'QOB_ERR_INVALID_ARGUMENT',
    `unknown command ${JSON.stringify(name)} (commands: ${commands.map((c) => c.name).join(', ')}; see qob --help)`,
    { command: name },
  );
}
