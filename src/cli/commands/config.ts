/** `qob config`: print the effective configuration (secrets redacted), or every validation error. */
import { redactedConfig } from '../../config/config.ts';
import { isQobError } from '../../core/errors.ts';
import {
  CONFIG_OPTIONS,
  CONFIG_OPTIONS_HELP,
  type Command,
  EXIT_ERROR,
  EXIT_OK,
  loadCliConfig,
  parseCommandArgs,
} from '../command.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'print the effective configuration (secrets redacted) or its validation errors',
  help: `Usage: qob config [config options]

Prints the effective configuration as JSON: defaults, then the config file, then QOB_* environment
variables (QOB_LOG_LEVEL, QOB_API_PORT, nested keys also with __ as in QOB_LOG__LEVEL; lists as JSON, e.g.
QOB_VENUES='[...]'), then flags. Secrets (keys ending in Secret, Password, Token or ApiKey; given as
"env:NAME" or "file:PATH") are shown as [redacted]. If the configuration is invalid, every problem is
listed with its key and what was expected, and the exit code is 2.

Options:
  -h, --help           this help

${CONFIG_OPTIONS_HELP}`,

  async run(args, io) {
    const { values, positionals } = parseCommandArgs('config', args, CONFIG_OPTIONS);
    if (values.help === true) {
      io.stdout.write(`${this.help}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) {
      io.stderr.write(`qob: QOB_ERR_INVALID_ARGUMENT: qob config takes no arguments (see qob config --help)\n`);
      return EXIT_ERROR;
    }
    try {
      const config = loadCliConfig(values, io);
      io.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
      return EXIT_OK;
    } catch (e) {
      if (!isQobError(e, 'QOB_ERR_CONFIG_INVALID')) throw e;
      const errors = (e.context.errors ?? []) as { key: string; message: string }[];
      io.stderr.write(`qob: ${e.code}: the configuration has ${errors.length} problem(s):\n`);
      for (const { key, message } of errors) io.stderr.write(`  ${key}: ${message}\n`);
      return EXIT_ERROR;
    }
  },
};
