/**
 * `jbc-ts COMMAND …`: the client's command line. It parses the options
 * (flags, then JBC_NODE / JBC_ADMIN_TOKEN), runs one command against the
 * node, prints its answer (text, or JSON with --json) and returns the exit
 * status; a failure is one line on stderr.
 */
import { stringify } from 'lossless-json';
import { JsonNumber } from '../codec.js';
import { ErrorCode, JbcError, describeError } from '../errors.js';
import { initHashing } from '../hash.js';
import { mergeOptions, optionsFromEnv, parseOptions } from '../option-table.js';
import { RUN, type CommandInput } from './commands.js';
import { ExitCode, NodeConnection, NodeRefusedError, exitCodeOf } from './connection.js';
import { CLIENT_FLAGS, CLIENT_USAGE, COMMANDS, COMMON_OPTIONS, DEFAULT_NODE, isCommand } from './options.js';

/** Largest answer the client reads: a page of blocks is at most 8 MiB, a page of entries 16 MiB. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface ClientIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Where JBC_NODE and JBC_ADMIN_TOKEN are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * True when `argv` is for the client: its first argument after any of the
 * client's own options (--node URL, --json, …) is a word, not an option.
 * The node's command line takes no words, so nothing it accepts is taken
 * for the client; a word that is no command gets the client's "not a
 * command" rather than the node's complaint about --node.
 */
export function isClientInvocation(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    const spec = CLIENT_FLAGS.find((s) => s.flag === flag && s.flag !== 'help');
    if (spec === undefined) return !arg.startsWith('-');
    if (spec.type.kind !== 'switch' && !arg.includes('=')) i++;
  }
  return false;
}

/** Runs one client command; resolves with the exit status. */
export async function runClient(argv: readonly string[], io: ClientIo): Promise<number> {
  try {
    const output = await run(argv, io.env);
    if (output !== undefined) io.stdout.write(`${output}\n`);
    return ExitCode.OK;
  } catch (err) {
    io.stderr.write(`jbc-ts: ${describe(err)}\n`);
    return exitCodeOf(err);
  }
}

async function run(argv: readonly string[], env: ClientIo['env']): Promise<string | undefined> {
  // After `--` every argument is a word (a TEXT may start with a dash).
  const end = argv.indexOf('--');
  const flags = parseOptions(CLIENT_FLAGS, end === -1 ? argv : argv.slice(0, end), { passThrough: true, first: ['help'] });
  if (flags.values.help === true) return CLIENT_USAGE.trimEnd();
  const unknown = flags.rest.find((arg) => arg.startsWith('-') && arg !== '-');
  if (unknown !== undefined) throw usage(`${unknown.split('=')[0]} is not an option of the client (see jbc-ts help)`);
  const [command, ...args] = [...flags.rest, ...(end === -1 ? [] : argv.slice(end + 1))];
  if (!isCommand(command)) throw usage(`${JSON.stringify(command ?? '')} is not a command (see jbc-ts help)`);
  if (command === 'help') return CLIENT_USAGE.trimEnd();
  const takes: readonly string[] = [...COMMON_OPTIONS, ...COMMANDS[command].options];
  for (const key of Object.keys(flags.values)) {
    if (!takes.includes(key)) throw usage(`${flags.sources[key]?.name ?? key} is not an option of ${command} (see jbc-ts help)`);
  }
  const { values } = mergeOptions(optionsFromEnv(CLIENT_FLAGS, env), flags);
  const node = new NodeConnection({
    node: (values.node as string | undefined) ?? DEFAULT_NODE,
    timeoutMs: (values.timeoutMs as number | undefined) ?? 30_000,
    maxBytes: MAX_ANSWER_BYTES,
    adminToken: values.adminToken as string | undefined,
  });
  const input: CommandInput = {
    args,
    options: { from: values.from as number | undefined, limit: (values.limit as number | undefined) ?? 10, file: values.file as string | undefined },
  };
  await initHashing();
  const output = await RUN[command]!(node, input);
  return values.json === true ? toJson(output.json) : output.text;
}

/** JSON with every number as the node wrote it (block integers past 2^53 stay exact). */
function toJson(value: unknown): string {
  return stringify(value, null, 2, [{ test: (v) => v instanceof JsonNumber, stringify: (v) => (v as JsonNumber).text }]) ?? 'null';
}

function describe(err: unknown): string {
  if (err instanceof NodeRefusedError) return `${err.message} (${err.nodeCode}, ${err.status})`;
  if (err instanceof JbcError) return err.message;
  return describeError(err);
}

function usage(message: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, message);
}
