/**
 * The command line (its options are in flags.ts), parsed without side
 * effects so it is unit tested: argv in, a `NodeOptions` (or "print the usage") out. Every bad
 * value throws BAD_OPTION with a one-line message that starts with the
 * option's flag, which the CLI prints as is.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { mergeOptions, optionsFromEnv, optionsFromFile, optionsHelp, parseOptions } from '../option-table.js';
import { NODE_FLAGS, flagFor } from './flags.js';
import { resolveNodeConfig, type NodeOptions } from './options.js';

export interface CommandLineEnv {
  /** What `--workers` defaults to (the number of CPU cores). */
  readonly cpus: number;
  /** What a relative `--data-dir`, `--config` and the default data dir resolve against. */
  readonly cwd: string;
  /** Where `JBC_<NAME>` variables are read. Default: none (the CLI passes process.env). */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Reads the config file. Default: from disk, at most MAX_CONFIG_BYTES. */
  readonly readFile?: (path: string) => string;
}

/** A config file holds a few dozen options; anything this big is the wrong file. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LogSettings {
  readonly level: LogLevel;
  readonly pretty: boolean;
}

export type CommandLine =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly options: NodeOptions; readonly log: LogSettings };

export const USAGE = `Usage: npm start -s -- [options]    (or: npx jbc-ts [options], node dist/src/cli.js [options])

Runs a jbc-ts node: loads its data dir, syncs from peers, serves the HTTP API
and mines. With a command first (jbc-ts status, jbc-ts block 7, …) it is the
client of a running node instead: jbc-ts help lists the commands.

Options:
${optionsHelp(NODE_FLAGS)}

Every option but --help and --version can also be set as a variable named
JBC_ and the flag in capitals (--data-dir: JBC_DATA_DIR=DIR; a switch takes
true or false: JBC_NO_MINE=true), or in the --config file. Precedence: a
flag, then a variable, then the config file, then the default.
`;

export function parseCommandLine(argv: readonly string[], env: CommandLineEnv): CommandLine {
  const flags = parseOptions(NODE_FLAGS, argv, { first: ['help', 'version'] });
  if (flags.values.help === true) return { kind: 'help', text: USAGE };
  if (flags.values.version === true) return { kind: 'version' };
  const variables = optionsFromEnv(NODE_FLAGS, env.environment ?? {});
  const configFile = (flags.values.config ?? variables.values.config) as string | undefined;
  const file = configFile === undefined ? { values: {}, sources: {} } : readConfig(resolve(env.cwd, configFile), env.readFile ?? readConfigFile);
  const merged = mergeOptions(file, variables, flags);
  const { logLevel = 'info', logFormat = 'json', config: _config, ...given } = merged.values;
  const options: NodeOptions = { cwd: env.cwd, workers: env.cpus, mine: true, ...given };

  // Everything else (host form, peer URLs, the root as data dir) is checked where the config is built.
  try {
    resolveNodeConfig(options);
  } catch (err) {
    if (isJbcError(err, ErrorCode.BAD_OPTION)) {
      const option = String(err.data.option ?? '');
      const spec = flagFor(option);
      const name = merged.sources[option]?.name ?? (spec === undefined ? option : `--${spec.flag}`);
      throw new JbcError(ErrorCode.BAD_OPTION, err.message.replace(option, name), { option: name });
    }
    throw err;
  }
  return { kind: 'run', options, log: { level: logLevel as LogLevel, pretty: logFormat === 'pretty' } };
}

function readConfig(path: string, read: (path: string) => string): ReturnType<typeof optionsFromFile> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    if (isJbcError(err)) throw err;
    const code = (err as { code?: unknown }).code;
    throw new JbcError(ErrorCode.BAD_OPTION, `--config ${path}: cannot read it (${typeof code === 'string' ? code : String(err)})`, { option: '--config' });
  }
  return optionsFromFile(NODE_FLAGS, text, path);
}

function readConfigFile(path: string): string {
  const size = statSync(path).size;
  if (size > MAX_CONFIG_BYTES) {
    throw new JbcError(ErrorCode.BAD_OPTION, `--config ${path}: ${size} bytes is more than a config file takes (${MAX_CONFIG_BYTES})`, { option: '--config' });
  }
  return readFileSync(path, 'utf8');
}
