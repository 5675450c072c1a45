/**
 * The options of `npm run devnet`, parsed without side effects: argv in, the
 * plan of the network out (one command line per node). Options devnet does
 * not know are passed to every node unchanged, so any node option works
 * (`--no-mine`, `--log-level debug`, …); the ones devnet sets per node
 * (`--port`, `--peers`, `--data-dir`, `--public-url`) are refused.
 */
import { join, resolve } from 'node:path';
import { MAX_TIMER_MS, badFlag, integer, on, optionsHelp, parseOptions, seconds, text, type OptionSpec } from '../option-table.js';
import { DEFAULT_PORT, MAX_DIFFICULTY } from '../node/index.js';

export interface DevnetOptions {
  /** How many nodes. Default 4 (ports 5000-5003, the nodes' default peer list). */
  readonly nodes: number;
  /** How many of them mine, the first ones; the rest are followers. Default: all. */
  readonly miners: number;
  /** Mining worker threads per node. Default 1, so several nodes share the cores. */
  readonly workers: number;
  /** Passed to every node (they must agree). Default: the node's own default. */
  readonly difficulty: number | undefined;
  /** The network's target block time, ms, passed to every node; 0 for jbc's fixed difficulty. Default 5 000. */
  readonly targetBlockTimeMs: number;
  /** Port of the first node; the others follow it. Default 5000. */
  readonly basePort: number;
  /** Each node's data dir is `<dataRoot>/<port>`. Default `chaindata/devnet` (relative to the working directory), apart from the dirs of nodes started alone, whose rule may differ. */
  readonly dataRoot: string;
  /** Address the nodes listen on. Default 127.0.0.1. */
  readonly host: string;
  /** Everything else, for every node. */
  readonly passThrough: readonly string[];
}

export const defaultDevnetOptions = {
  nodes: 4,
  workers: 1,
  targetBlockTimeMs: 5_000,
  basePort: DEFAULT_PORT,
  dataRoot: 'chaindata/devnet',
  host: '127.0.0.1',
} as const;

/** devnet's own options, declared once (see option-table.ts). */
export const DEVNET_FLAGS: readonly OptionSpec[] = [
  { flag: 'nodes', key: 'nodes', type: integer(1, 100), placeholder: 'N', default: defaultDevnetOptions.nodes, help: 'how many nodes (1-100)' },
  { flag: 'miners', key: 'miners', type: integer(0, 100), placeholder: 'K', defaultText: 'all', help: 'only the first K nodes mine; the rest run `--no-mine`' },
  {
    flag: 'workers',
    key: 'workers',
    type: integer(1, 1024),
    placeholder: 'N',
    default: defaultDevnetOptions.workers,
    help: 'mining worker threads per node, so the nodes share the cores',
  },
  {
    flag: 'difficulty',
    key: 'difficulty',
    type: integer(0, MAX_DIFFICULTY),
    placeholder: 'D',
    defaultText: "the node's (`5`)",
    help: 'passed to every node: a network needs one difficulty',
  },
  {
    flag: 'target-block-time',
    key: 'targetBlockTimeMs',
    type: seconds(true, MAX_TIMER_MS),
    placeholder: 'S',
    default: defaultDevnetOptions.targetBlockTimeMs,
    help: "passed to every node: the network's target block time, so blocks come every few seconds whatever the machine; `0` for jbc's fixed difficulty",
  },
  {
    flag: 'base-port',
    key: 'basePort',
    type: integer(1, 65535),
    placeholder: 'P',
    default: defaultDevnetOptions.basePort,
    help: 'port of the first node; the others follow it',
  },
  {
    flag: 'data-root',
    key: 'dataRoot',
    type: text(true),
    placeholder: 'DIR',
    default: defaultDevnetOptions.dataRoot,
    help: "each node's data dir is `DIR/<port>`",
  },
  { flag: 'host', key: 'host', type: text(true), placeholder: 'H', default: defaultDevnetOptions.host, help: 'address the nodes listen on' },
  { flag: 'help', key: 'help', short: 'h', type: on(), help: 'print the usage and exit 0' },
];

export const DEVNET_USAGE = `Usage: npm run devnet -- [options] [node options]

Starts a local network: N nodes as child processes on consecutive ports, each
with its own data dir and the others as peers, one after another (each once
the previous one answers). Their logs are merged, each line prefixed with the
node's port. Ctrl-C (or SIGTERM) stops them all.

Options:
${optionsHelp(DEVNET_FLAGS)}

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

const SET_PER_NODE = new Set(['--port', '--peers', '--data-dir', '--public-url']);

export function parseDevnetArgs(argv: readonly string[]): DevnetCommand {
  for (const arg of argv) {
    const flag = arg.split('=')[0]!;
    if (SET_PER_NODE.has(flag)) throw badFlag(flag, 'is set by devnet for each node; use --base-port, --data-root');
  }
  const { values, rest } = parseOptions(DEVNET_FLAGS, argv, { passThrough: true, first: ['help'] });
  if (values.help === true) return { kind: 'help' };
  const nodes = (values.nodes as number | undefined) ?? defaultDevnetOptions.nodes;
  const miners = (values.miners as number | undefined) ?? nodes;
  if (miners > nodes) throw badFlag('--miners', `must be an integer from 0 to ${nodes} (the nodes)`, String(miners));
  const basePort = (values.basePort as number | undefined) ?? defaultDevnetOptions.basePort;
  if (basePort + nodes - 1 > 65535) throw badFlag('--base-port', `leaves no room for ${nodes} ports`);
  return {
    kind: 'run',
    options: {
      nodes,
      miners,
      workers: (values.workers as number | undefined) ?? defaultDevnetOptions.workers,
      difficulty: values.difficulty as number | undefined,
      targetBlockTimeMs: (values.targetBlockTimeMs as number | undefined) ?? defaultDevnetOptions.targetBlockTimeMs,
      basePort,
      dataRoot: (values.dataRoot as string | undefined) ?? defaultDevnetOptions.dataRoot,
      host: (values.host as string | undefined) ?? defaultDevnetOptions.host,
      passThrough: rest,
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
      '--port',
      String(port),
      '--host',
      options.host,
      '--peers',
      ports
        .filter((p) => p !== port)
        .map(urlOf)
        .join(','),
      '--data-dir',
      dataDir,
      '--workers',
      String(options.workers),
      ...(options.difficulty !== undefined ? ['--difficulty', String(options.difficulty)] : []),
      '--target-block-time',
      String(options.targetBlockTimeMs / 1000),
      ...(i >= options.miners ? ['--no-mine'] : []),
      ...(explicitFormat ? [] : ['--log-format', 'pretty']),
      ...options.passThrough,
    ];
    return { port, url: urlOf(port), dataDir, args };
  });
}
