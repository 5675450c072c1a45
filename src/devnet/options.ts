/**
 * The options of `npm run devnet`, parsed without side effects: argv in, the
 * plan of the network out (one command line per node). Options devnet does
 * not know are passed to every node unchanged, so any node option works
 * (`--no-mine`, `--log-level debug`, …); the ones devnet sets per node
 * (`--port`, `--peers`, `--data-dir`, `--public-url`) are refused.
 */
import { join, resolve } from 'node:path';
import { ErrorCode, JbcError } from '../errors.js';
import { DEFAULT_PORT, MAX_DIFFICULTY } from '../node/options.js';

export interface DevnetOptions {
  /** How many nodes. Default 4 (ports 5000-5003, the nodes' default peer list). */
  readonly nodes: number;
  /** How many of them mine, the first ones; the rest are followers. Default: all. */
  readonly miners: number;
  /** Mining worker threads per node. Default 1, so several nodes share the cores. */
  readonly workers: number;
  /** Passed to every node (they must agree). Default: the node's own default. */
  readonly difficulty: number | undefined;
  /** Port of the first node; the others follow it. Default 5000. */
  readonly basePort: number;
  /** Each node's data dir is `<dataRoot>/<port>`. Default `chaindata` (relative to the working directory). */
  readonly dataRoot: string;
  /** Address the nodes listen on. Default 127.0.0.1. */
  readonly host: string;
  /** Everything else, for every node. */
  readonly passThrough: readonly string[];
}

export const defaultDevnetOptions = {
  nodes: 4,
  workers: 1,
  basePort: DEFAULT_PORT,
  dataRoot: 'chaindata',
  host: '127.0.0.1',
} as const;

export const DEVNET_USAGE = `Usage: npm run devnet -- [options] [node options]

Starts a local network: N nodes as child processes on consecutive ports, each
with its own data dir and the others as peers, one after another (each once
the previous one answers). Their logs are merged, each line prefixed with the
node's port. Ctrl-C (or SIGTERM) stops them all.

Options:
  --nodes N          how many nodes (default ${defaultDevnetOptions.nodes})
  --miners K         only the first K nodes mine, the others follow (default: all)
  --workers N        mining worker threads per node (default ${defaultDevnetOptions.workers})
  --difficulty D     difficulty of every node (default: the node's, 5)
  --base-port P      port of the first node; the others follow (default ${defaultDevnetOptions.basePort})
  --data-root DIR    data dirs are DIR/<port> (default ${defaultDevnetOptions.dataRoot})
  --host H           address the nodes listen on (default ${defaultDevnetOptions.host})
  -h, --help         print this help and exit

Any other option goes to every node as it is, e.g. --no-mine, --log-level debug,
--log-format json (devnet's default is pretty). Not allowed, since devnet sets
them per node: --port, --peers, --data-dir, --public-url.
`;

export type DevnetCommand = { readonly kind: 'help' } | { readonly kind: 'run'; readonly options: DevnetOptions };

/** One node of the plan: its port, URL and the command-line arguments of `jbc-ts`. */
export interface DevnetNode {
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly args: readonly string[];
}

const VALUED = new Set(['--nodes', '--miners', '--workers', '--difficulty', '--base-port', '--data-root', '--host']);
const SET_PER_NODE = new Set(['--port', '--peers', '--data-dir', '--public-url']);

export function parseDevnetArgs(argv: readonly string[]): DevnetCommand {
  const values = new Map<string, string>();
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--help' || flag === '-h') return { kind: 'help' };
    if (SET_PER_NODE.has(flag)) throw bad(flag, 'is set by devnet for each node; use --base-port, --data-root');
    if (!VALUED.has(flag)) {
      passThrough.push(arg);
      continue;
    }
    let value: string | undefined;
    if (flag !== arg) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined) throw bad(flag, 'needs a value');
      i++;
    }
    values.set(flag, value);
  }

  const nodes = integer(values, '--nodes', 1, 100) ?? defaultDevnetOptions.nodes;
  const miners = integer(values, '--miners', 0, nodes) ?? nodes;
  const basePort = integer(values, '--base-port', 1, 65536 - nodes) ?? defaultDevnetOptions.basePort;
  if (basePort + nodes - 1 > 65535) throw bad('--base-port', `leaves no room for ${nodes} ports`);
  const dataRoot = values.get('--data-root') ?? defaultDevnetOptions.dataRoot;
  if (dataRoot === '') throw bad('--data-root', 'must not be empty');
  const host = values.get('--host') ?? defaultDevnetOptions.host;
  if (host === '') throw bad('--host', 'must not be empty');
  return {
    kind: 'run',
    options: {
      nodes,
      miners,
      workers: integer(values, '--workers', 1, 1024) ?? defaultDevnetOptions.workers,
      difficulty: integer(values, '--difficulty', 0, MAX_DIFFICULTY),
      basePort,
      dataRoot,
      host,
      passThrough,
    },
  };
}

/** The nodes' command lines; data dirs resolve against `cwd`. */
export function planDevnet(options: DevnetOptions, cwd: string): DevnetNode[] {
  // A node listening on every interface is still reached over loopback here.
  const reach = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const urlOf = (port: number): string => `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}/`;
  const ports = Array.from({ length: options.nodes }, (_, i) => options.basePort + i);
  const explicitFormat = options.passThrough.some((arg) => arg === '--log-format' || arg.startsWith('--log-format='));
  return ports.map((port, i) => {
    const dataDir = resolve(cwd, join(options.dataRoot, String(port)));
    const args = [
      '--port', String(port),
      '--host', options.host,
      '--peers', ports.filter((p) => p !== port).map(urlOf).join(','),
      '--data-dir', dataDir,
      '--workers', String(options.workers),
      ...(options.difficulty !== undefined ? ['--difficulty', String(options.difficulty)] : []),
      ...(i >= options.miners ? ['--no-mine'] : []),
      ...(explicitFormat ? [] : ['--log-format', 'pretty']),
      ...options.passThrough,
    ];
    return { port, url: urlOf(port), dataDir, args };
  });
}

function integer(values: ReadonlyMap<string, string>, flag: string, min: number, max: number): number | undefined {
  const text = values.get(flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw bad(flag, `must be an integer from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return value;
}

function bad(flag: string, reason: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, `${flag} ${reason}`, { option: flag });
}
