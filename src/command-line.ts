/** What every command of this project shares in reading its command line. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCode, JbcError } from './errors.js';

/**
 * node:util's parseArgs, whose errors become BAD_OPTION with one line that
 * names the option (pointing to --help when the command has one).
 */
export function readCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new JbcError(ErrorCode.BAD_OPTION, describeParseError(err, config.options?.help !== undefined), {}, { cause: err });
  }
}

/**
 * node:util's messages, cut to one line that names the option first; they
 * point to --help when the command has one.
 */
function describeParseError(err: unknown, help: boolean): string {
  const seeHelp = help ? ' (see --help)' : '';
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `${option} is not an option${seeHelp}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (message.includes('ambiguous')) return `${option} needs a value; write one that starts with "-" as ${option}=VALUE`;
    return message.includes('argument missing') ? `${option} needs a value` : `${option} does not take a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument ${JSON.stringify(arg)}: options start with --${seeHelp}`;
  }
  return message.split('\n')[0] ?? message;
}
