/**
 * The command line, parsed without side effects so it is unit
 * tested: argv in, a `NodeOptions` (or "print the usage") out. Every bad
 * value throws BAD_OPTION with a one-line message that starts with the
 * option's flag, which the CLI prints as is.
 */
import { readCommandLine } from '../command-line.js';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { MAX_DIFFICULTY, defaultNodeOptions, resolveNodeConfig, type NodeOptions } from './options.js';

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
  --port N            TCP port to listen on (default ${defaultNodeOptions.port}; 0 picks a free port)
  --host H            address to listen on (default ${defaultNodeOptions.host})
  --workers N         mining worker threads (default: number of CPU cores)
  --no-mine           do not mine; only sync, serve and relay blocks
  --difficulty D      leading zero hex digits a block hash needs (default ${defaultNodeOptions.difficulty})
  --peers URL,URL     peer base URLs, comma-separated; "" for none
                      (default http://localhost:5000/ .. 5003/ minus this node)
  --data-dir DIR      the node's data directory: its chain database, and a
                      jbc block-file directory imported on first start
                      (default chaindata/<port>, relative to cwd)
  --block-time S      mine at most one block per S seconds (decimals allowed);
                      peers' blocks are still taken as they come (default: no limit)
  --jbc-files         also keep one JSON file per block (000042.json) in the data
                      dir beside the database, as the Python jbc node does
  --public-url URL    URL other nodes reach this node at (default http://<host>:<port>/)
  --max-connections N most client connections open at once (default ${defaultNodeOptions.maxConnections})
  --peer-allow CIDR,CIDR
                      address ranges peers must be in (default: any but link-local,
                      unspecified and multicast addresses, which are always refused)
  --sync-interval S   seconds between background syncs from every peer (default ${defaultNodeOptions.syncIntervalMs / 1000}; 0 disables)
  --sync-timeout S    seconds startup waits for its sync before the node is ready;
                      a longer download goes on in the background (default ${defaultNodeOptions.syncTimeoutMs / 1000})
  --peer-sync-timeout S  longest one sync from one peer runs; one still gaining blocks
                      goes on at once (default ${defaultNodeOptions.peerSyncTimeoutMs / 1000})
  --chain-timeout S   seconds a plain jbc peer's /blockchain.json may take to start
                      arriving; once it flows it may pause 5 s at most (default ${defaultNodeOptions.chainTimeoutMs / 1000})
  --max-chain-mib N   largest /blockchain.json read from a plain jbc peer, in MiB; it is
                      spooled to the data dir, not held in memory (default ${defaultNodeOptions.maxPeerChainBytes / 1024 / 1024})
  --peer-backoff S    after a failed post to a peer, seconds before the next, doubling
                      with each failure in a row up to 60 (default ${defaultNodeOptions.peerBackoffMs / 1000}; 0 for none)
  --ahead-sync-interval S  seconds a sender whose block ahead of the tip led to nothing is
                      not fetched or synced from for its blocks again (default ${defaultNodeOptions.aheadSyncIntervalMs / 1000}; 0 for no limit)
  --mined-answer S    longest POST /mined waits for its block's turn before answering
                      "queued" (default ${defaultNodeOptions.minedAnswerMs / 1000}; 0 answers at once)
  --body-timeout S    seconds a client has to send a request's headers and body
                      (default ${defaultNodeOptions.bodyTimeoutMs / 1000})
  --max-event-clients N  most GET /events streams open at once (default ${defaultNodeOptions.maxEventClients})
  --event-drain-timeout S  a GET /events stream whose socket stays backed up this many
                      seconds (the client stopped reading) is closed (default ${defaultNodeOptions.eventDrainTimeoutMs / 1000})
  --log-level L       error | warn | info | debug | silent (default info)
  --log-format F      json (one JSON object per line) | pretty (default json)
  --version           print the version and exit
  -h, --help          print this help and exit
`;

/** Longest --sync-interval / --sync-timeout: what a timer can hold. */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'silent'];

/** Flag names as the user types them, keyed by the options-object field they set. */
const FLAG: Readonly<Record<string, string>> = {
  port: '--port',
  host: '--host',
  workers: '--workers',
  difficulty: '--difficulty',
  peers: '--peers',
  dataDir: '--data-dir',
  publicUrl: '--public-url',
  peerAllow: '--peer-allow',
  maxConnections: '--max-connections',
  syncIntervalMs: '--sync-interval',
  syncTimeoutMs: '--sync-timeout',
  peerSyncTimeoutMs: '--peer-sync-timeout',
  chainTimeoutMs: '--chain-timeout',
  maxPeerChainBytes: '--max-chain-mib',
  peerBackoffMs: '--peer-backoff',
  aheadSyncIntervalMs: '--ahead-sync-interval',
  minedAnswerMs: '--mined-answer',
  bodyTimeoutMs: '--body-timeout',
  maxEventClients: '--max-event-clients',
  eventDrainTimeoutMs: '--event-drain-timeout',
};

export function parseCommandLine(argv: readonly string[], env: CommandLineEnv): CommandLine {
  const v = parseRaw(argv).values;
  if (v.help === true) return { kind: 'help', text: USAGE };
  if (v.version === true) return { kind: 'version' };
  if (v.mine === true && v['no-mine'] === true) throw bad('--no-mine', 'cannot be combined with --mine');

  const options: NodeOptions = {
    cwd: env.cwd,
    workers: env.cpus,
    mine: v['no-mine'] !== true,
  };
  if (v.port !== undefined) options.port = integer('--port', v.port, 0, 65535);
  if (v.host !== undefined) options.host = v.host;
  if (v.workers !== undefined) options.workers = integer('--workers', v.workers, 1, 1024);
  if (v.difficulty !== undefined) options.difficulty = integer('--difficulty', v.difficulty, 0, MAX_DIFFICULTY);
  if (v.peers !== undefined) {
    options.peers = commaList(v.peers);
  }
  if (v['data-dir'] !== undefined) {
    if (v['data-dir'] === '') throw bad('--data-dir', 'must not be empty');
    options.dataDir = v['data-dir'];
  }
  if (v['public-url'] !== undefined) options.publicUrl = v['public-url'];
  if (v['jbc-files'] === true) options.jbcFiles = true;
  if (v['block-time'] !== undefined) options.blockTimeMs = seconds('--block-time', v['block-time']);
  if (v['max-connections'] !== undefined) options.maxConnections = integer('--max-connections', v['max-connections'], 1, 1_000_000);
  if (v['peer-allow'] !== undefined) options.peerAllow = commaList(v['peer-allow']);
  if (v['sync-interval'] !== undefined) options.syncIntervalMs = integer('--sync-interval', v['sync-interval'], 0, MAX_SECONDS) * 1000;
  if (v['sync-timeout'] !== undefined) options.syncTimeoutMs = integer('--sync-timeout', v['sync-timeout'], 0, MAX_SECONDS) * 1000;
  if (v['peer-sync-timeout'] !== undefined) options.peerSyncTimeoutMs = seconds('--peer-sync-timeout', v['peer-sync-timeout']);
  if (v['chain-timeout'] !== undefined) options.chainTimeoutMs = seconds('--chain-timeout', v['chain-timeout']);
  if (v['max-chain-mib'] !== undefined) options.maxPeerChainBytes = integer('--max-chain-mib', v['max-chain-mib'], 1, 1024 * 1024) * 1024 * 1024;
  if (v['peer-backoff'] !== undefined) options.peerBackoffMs = seconds('--peer-backoff', v['peer-backoff'], { zero: true });
  if (v['ahead-sync-interval'] !== undefined) options.aheadSyncIntervalMs = seconds('--ahead-sync-interval', v['ahead-sync-interval'], { zero: true });
  if (v['mined-answer'] !== undefined) options.minedAnswerMs = seconds('--mined-answer', v['mined-answer'], { zero: true });
  if (v['body-timeout'] !== undefined) options.bodyTimeoutMs = seconds('--body-timeout', v['body-timeout']);
  if (v['max-event-clients'] !== undefined) options.maxEventClients = integer('--max-event-clients', v['max-event-clients'], 1, 10_000);
  if (v['event-drain-timeout'] !== undefined) options.eventDrainTimeoutMs = seconds('--event-drain-timeout', v['event-drain-timeout']);

  const level = (v['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw bad('--log-level', `must be one of ${LOG_LEVELS.join(', ')}`, level);
  const format = v['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'pretty') throw bad('--log-format', 'must be json or pretty', format);

  // Everything else (host form, peer URLs) is checked where the config is built.
  try {
    resolveNodeConfig(options);
  } catch (err) {
    if (isJbcError(err, ErrorCode.BAD_OPTION)) {
      const option = String(err.data.option ?? '');
      const flag = FLAG[option] ?? option;
      throw new JbcError(ErrorCode.BAD_OPTION, err.message.replace(option, flag), { option: flag });
    }
    throw err;
  }
  return { kind: 'run', options, log: { level, pretty: format === 'pretty' } };
}

function parseRaw(argv: readonly string[]) {
  return readCommandLine({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      workers: { type: 'string' },
      mine: { type: 'boolean' },
      'no-mine': { type: 'boolean' },
      difficulty: { type: 'string' },
      peers: { type: 'string' },
      'data-dir': { type: 'string' },
      'public-url': { type: 'string' },
      'jbc-files': { type: 'boolean' },
      'block-time': { type: 'string' },
      'peer-allow': { type: 'string' },
      'max-connections': { type: 'string' },
      'sync-interval': { type: 'string' },
      'sync-timeout': { type: 'string' },
      'peer-sync-timeout': { type: 'string' },
      'chain-timeout': { type: 'string' },
      'max-chain-mib': { type: 'string' },
      'peer-backoff': { type: 'string' },
      'ahead-sync-interval': { type: 'string' },
      'mined-answer': { type: 'string' },
      'body-timeout': { type: 'string' },
      'max-event-clients': { type: 'string' },
      'event-drain-timeout': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A duration in seconds, decimals allowed, as milliseconds. */
/** Seconds (up to 3 decimals) as milliseconds; above 0 unless `zero` allows it. */
function seconds(flag: string, text: string, { zero = false } = {}): number {
  const least = zero ? 'from 0' : 'above 0';
  if (!/^[0-9]+(\.[0-9]{1,3})?$/.test(text) || (zero ? Number(text) < 0 : Number(text) <= 0) || Number(text) > MAX_SECONDS) {
    throw bad(flag, `must be a number of seconds ${least} (up to 3 decimals), at most ${MAX_SECONDS}`, text);
  }
  return Math.round(Number(text) * 1000);
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text)) throw bad(flag, `must be an integer from ${min} to ${max}`, text);
  const value = Number(text);
  if (value < min || value > max) throw bad(flag, `must be an integer from ${min} to ${max}`, text);
  return value;
}

function bad(flag: string, reason: string, value?: string): JbcError {
  const shown = value === undefined ? '' : `, got ${JSON.stringify(value.slice(0, 80))}`;
  return new JbcError(ErrorCode.BAD_OPTION, `${flag} ${reason}${shown}`, { option: flag });
}
