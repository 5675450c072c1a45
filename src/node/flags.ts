/**
 * The node's command-line options, each declared once (see
 * option-table.ts): the parser (args.ts), `--help`, the config check
 * (options.ts) and the README's options table all come from this list.
 */
import { MAX_TIMER_MS, choice, integer, list, mebibytes, on, seconds, text, type OptionSpec } from '../option-table.js';
import { MAX_DIFFICULTY, defaultNodeOptions as d } from './defaults.js';

/** Longest --sync-interval / --sync-timeout, in whole seconds: what a timer can hold. */
const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'silent'] as const;

export const NODE_FLAGS: readonly OptionSpec[] = [
  { flag: 'port', key: 'port', type: integer(0, 65535), placeholder: 'N', default: d.port, help: 'TCP port to listen on; 0 picks a free port.' },
  { flag: 'host', key: 'host', type: text(), placeholder: 'H', default: d.host, help: 'Address to listen on; 0.0.0.0 for every interface.' },
  { flag: 'workers', key: 'workers', type: integer(1, 1024), placeholder: 'N', defaultText: 'number of CPU cores', help: 'Mining worker threads.' },
  { flag: 'no-mine', key: 'mine', type: on(false), help: 'Do not mine; only sync, serve and relay blocks.' },
  { flag: 'mine', key: 'mine', type: on(true), help: 'Mine (what a node does unless --no-mine is given).' },
  { flag: 'difficulty', key: 'difficulty', type: integer(0, MAX_DIFFICULTY), placeholder: 'D', default: d.difficulty, help: 'Leading zero hex digits a block hash needs.' },
  {
    flag: 'peers',
    key: 'peers',
    type: list(),
    placeholder: 'URL,URL',
    defaultText: 'http://localhost:5000/ .. 5003/ minus this node',
    help: 'Peer base URLs, comma-separated; "" for none.',
  },
  {
    flag: 'data-dir',
    key: 'dataDir',
    type: text(true),
    placeholder: 'DIR',
    defaultText: 'chaindata/<port>, relative to the working directory',
    help: "The node's data directory: its chain database, and a jbc block-file directory imported on first start.",
  },
  {
    flag: 'block-time',
    key: 'blockTimeMs',
    type: seconds(true),
    placeholder: 'S',
    defaultText: 'no limit',
    help: "Mine at most one block per S seconds (decimals allowed); peers' blocks are still taken as they come.",
  },
  {
    flag: 'jbc-files',
    key: 'jbcFiles',
    type: on(),
    help: 'Also keep one JSON file per block (000042.json) in the data dir beside the database, as the Python jbc node does.',
  },
  { flag: 'public-url', key: 'publicUrl', type: text(), placeholder: 'URL', defaultText: 'http://<host>:<port>/', help: 'URL other nodes reach this node at.' },
  { flag: 'max-connections', key: 'maxConnections', type: integer(1, 1_000_000), placeholder: 'N', default: d.maxConnections, help: 'Most client connections open at once.' },
  {
    flag: 'peer-allow',
    key: 'peerAllow',
    type: list(),
    placeholder: 'CIDR,CIDR',
    defaultText: 'any but link-local, unspecified, multicast and cloud metadata addresses, which are always refused',
    help: 'Address ranges peers must be in.',
  },
  {
    flag: 'sync-interval',
    key: 'syncIntervalMs',
    type: seconds(true, MAX_TIMER_S * 1000, 0),
    placeholder: 'S',
    default: d.syncIntervalMs,
    help: 'Seconds between background syncs from every peer; 0 disables them.',
  },
  {
    flag: 'sync-timeout',
    key: 'syncTimeoutMs',
    type: seconds(true, MAX_TIMER_S * 1000, 0),
    placeholder: 'S',
    default: d.syncTimeoutMs,
    help: 'Seconds startup waits for its sync before the node is ready; a longer download goes on in the background.',
  },
  {
    flag: 'peer-sync-timeout',
    key: 'peerSyncTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.peerSyncTimeoutMs,
    help: 'Longest one sync from one peer runs; one still gaining blocks goes on at once.',
  },
  {
    flag: 'chain-timeout',
    key: 'chainTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.chainTimeoutMs,
    help: "Seconds a plain jbc peer's /blockchain.json may take to start arriving; once it flows it may pause 5 s at most.",
  },
  {
    flag: 'max-chain-mib',
    key: 'maxPeerChainBytes',
    type: mebibytes(1, 1024 * 1024),
    placeholder: 'N',
    default: d.maxPeerChainBytes,
    help: 'Largest /blockchain.json read from a plain jbc peer, in MiB; it is spooled to the data dir, not held in memory.',
  },
  {
    flag: 'peer-backoff',
    key: 'peerBackoffMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.peerBackoffMs,
    help: 'After a failed post to a peer, seconds before the next, doubling with each failure in a row up to 60; 0 for none.',
  },
  {
    flag: 'ahead-sync-interval',
    key: 'aheadSyncIntervalMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.aheadSyncIntervalMs,
    help: 'Seconds a sender whose block ahead of the tip led to nothing is not fetched or synced from for its blocks again; 0 for no limit.',
  },
  {
    flag: 'mined-answer',
    key: 'minedAnswerMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.minedAnswerMs,
    help: 'Longest POST /mined waits for its block\'s turn before answering "queued"; 0 answers at once.',
  },
  {
    flag: 'body-timeout',
    key: 'bodyTimeoutMs',
    type: seconds(false, Math.floor(MAX_TIMER_MS / 2)),
    placeholder: 'S',
    default: d.bodyTimeoutMs,
    help: "Seconds a client has to send a request's headers and body.",
  },
  { flag: 'max-event-clients', key: 'maxEventClients', type: integer(1, 10_000), placeholder: 'N', default: d.maxEventClients, help: 'Most GET /events streams open at once.' },
  {
    flag: 'event-drain-timeout',
    key: 'eventDrainTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.eventDrainTimeoutMs,
    help: 'A GET /events stream whose socket stays backed up this many seconds (the client stopped reading) is closed.',
  },
  { flag: 'log-level', key: 'logLevel', type: choice(...LOG_LEVELS), placeholder: 'L', default: 'info', help: LOG_LEVELS.join(' | ') + '.' },
  { flag: 'log-format', key: 'logFormat', type: choice('json', 'pretty'), placeholder: 'F', default: 'json', help: 'json (one JSON object per line) | pretty.' },
  { flag: 'version', key: 'version', type: on(), help: 'Print the version and exit.' },
  { flag: 'help', key: 'help', short: 'h', type: on(), help: 'Print this help and exit.' },
];

/** The spec of the option that sets config field `key`, if one does. */
export function flagFor(key: string): OptionSpec | undefined {
  return NODE_FLAGS.find((spec) => spec.key === key && spec.type.kind !== 'switch');
}
