/**
 * The command line (its options are in flags.ts), parsed without side
 * effects so it is unit tested: argv in, a `NodeOptions` (or "print the usage") out. Every bad
 * value throws BAD_OPTION with a one-line message that starts with the
 * option's flag, which the CLI prints as is.
 */
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { optionsHelp, parseOptions } from '../option-table.js';
import { NODE_FLAGS, flagFor } from './flags.js';
import { resolveNodeConfig, type NodeOptions } from './options.js';

export interface CommandLineEnv {
  /** What `--workers` defaults to (the number of CPU cores). */
  readonly cpus: number;
  /** What a relative `--data-dir` and the default data dir resolve against. */
  readonly cwd: string;
}

export interface LogSettings {
  readonly level: LogLevel;
  readonly pretty: boolean;
}

export type CommandLine =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly options: NodeOptions; readonly log: LogSettings };

export const USAGE = `Usage: npm start -- [options]    (or: npx jbc-ts [options], node dist/src/cli.js [options])

Runs a jbc-ts node: loads its data dir, syncs from peers, serves the HTTP API
and mines.

Options:
${optionsHelp(NODE_FLAGS)}
`;

export function parseCommandLine(argv: readonly string[], env: CommandLineEnv): CommandLine {
  const { values } = parseOptions(NODE_FLAGS, argv, { first: ['help', 'version'] });
  if (values.help === true) return { kind: 'help', text: USAGE };
  if (values.version === true) return { kind: 'version' };
  const { logLevel = 'info', logFormat = 'json', help: _help, version: _version, ...given } = values;
  const options: NodeOptions = { cwd: env.cwd, workers: env.cpus, mine: true, ...given };

  // Everything else (host form, peer URLs, the root as data dir) is checked where the config is built.
  try {
    resolveNodeConfig(options);
  } catch (err) {
    if (isJbcError(err, ErrorCode.BAD_OPTION)) {
      const option = String(err.data.option ?? '');
      const spec = flagFor(option);
      const flag = spec === undefined ? option : `--${spec.flag}`;
      throw new JbcError(ErrorCode.BAD_OPTION, err.message.replace(option, flag), { option: flag });
    }
    throw err;
  }
  return { kind: 'run', options, log: { level: logLevel as LogLevel, pretty: logFormat === 'pretty' } };
}
