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
  {
    flag: 'port',
    key: 'port',
    type: integer(0, 65535),
    placeholder: 'N',
    default: d.port,
    help: 'TCP port of the HTTP API; `0` picks a free port (printed in the `node ready` log line)',
  },
  { flag: 'host', key: 'host', type: text(), placeholder: 'H', default: d.host, help: 'address to listen on; `0.0.0.0` for every interface' },
  { flag: 'workers', key: 'workers', type: integer(1, 1024), placeholder: 'N', defaultText: 'number of CPU cores', help: 'mining worker threads' },
  { flag: 'no-mine', key: 'mine', type: on(false), defaultText: 'mining on', help: 'do not mine; only sync, serve and relay' },
  { flag: 'mine', key: 'mine', type: on(true), help: 'mine: what a node does unless `--no-mine` is given' },
  {
    flag: 'difficulty',
    key: 'difficulty',
    type: integer(0, MAX_DIFFICULTY),
    placeholder: 'D',
    default: d.difficulty,
    help: 'leading `0` hex digits a block hash needs (0–64)',
  },
  {
    flag: 'peers',
    key: 'peers',
    type: list(),
    placeholder: 'URL,URL',
    defaultText: '`http://localhost:5000/` … `5003/` minus this node',
    help: 'peer base URLs, comma-separated; `--peers ""` for none',
  },
  {
    flag: 'data-dir',
    key: 'dataDir',
    type: text(true),
    placeholder: 'DIR',
    defaultText: '`chaindata/<port>`',
    help: "the node's data directory (its chain database; a jbc block-file directory is imported on first start), relative to the working directory; one node per directory",
  },
  {
    flag: 'jbc-files',
    key: 'jbcFiles',
    type: on(),
    defaultText: 'off',
    help: 'also keep one JSON file per block (`000042.json`) beside the database, as the Python jbc node does',
  },
  {
    flag: 'sync-interval',
    key: 'syncIntervalMs',
    type: seconds(true, MAX_TIMER_S * 1000, 0),
    placeholder: 'S',
    default: d.syncIntervalMs,
    help: "seconds between background syncs: the node asks every peer's `/status` and catches up from any that is longer; a plain jbc peer (no `/status`) is asked for its whole chain only after it posted a block that did not fit this node's chain, or every 10th interval; `0` turns it off",
  },
  {
    flag: 'target-block-time',
    key: 'targetBlockTimeMs',
    type: seconds(true, MAX_TIMER_S * 1000),
    placeholder: 'S',
    default: d.targetBlockTimeMs,
    help: "aim the network at one block per `S` seconds: each block's target follows from the blocks before it (a network rule every node of the chain must share, recorded in the data dir), never easier than `--difficulty` zeros, so jbc nodes still accept every block; `0` keeps jbc's fixed difficulty",
  },
  {
    flag: 'block-time',
    key: 'blockTimeMs',
    type: seconds(true),
    placeholder: 'S',
    defaultText: 'no limit',
    help: "this node mines at most one block per `S` seconds (decimals allowed): after a block of its own it waits out the rest of the interval. A local policy: blocks stay valid by jbc's rules and peers' blocks are taken as they come",
  },
  {
    flag: 'sync-timeout',
    key: 'syncTimeoutMs',
    type: seconds(true, MAX_TIMER_S * 1000, 0),
    placeholder: 'S',
    default: d.syncTimeoutMs,
    help: 'seconds startup waits for its sync; then the node is ready anyway and a longer download goes on in the background, with its progress logged',
  },
  {
    flag: 'peer-sync-timeout',
    key: 'peerSyncTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.peerSyncTimeoutMs,
    help: 'longest one sync from one peer runs; what it committed stays, and a sync still gaining blocks goes on at once. For a plain jbc peer it bounds the download of its chain; checking and storing it afterwards is not cut off',
  },
  {
    flag: 'chain-timeout',
    key: 'chainTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.chainTimeoutMs,
    help: "seconds a plain jbc peer's `/blockchain.json` may take to start arriving (jbc reads all its block files first: some 6 s at 300,000 blocks); once it flows it may pause at most 5 s at a time, however long it is. Every other peer request has 5 s for the whole answer",
  },
  {
    flag: 'max-chain-mib',
    key: 'maxPeerChainBytes',
    type: mebibytes(1, 1024 * 1024),
    placeholder: 'N',
    default: d.maxPeerChainBytes,
    help: 'largest `/blockchain.json` read from a plain jbc peer, in MiB (a 1,000,000-block jbc chain is some 330 MB). It goes to a temporary file in the data dir as it arrives, not into memory; other peer answers stay capped at 64 MiB',
  },
  {
    flag: 'peer-backoff',
    key: 'peerBackoffMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.peerBackoffMs,
    help: 'after a failed post (block or data entry) to a peer, seconds before the next one to it, doubling with each failure in a row up to 60; `0` for none',
  },
  {
    flag: 'ahead-sync-interval',
    key: 'aheadSyncIntervalMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.aheadSyncIntervalMs,
    help: 'a sender whose block ahead of the tip led to a fetch (or a sync) that gained nothing is not fetched from again, nor synced from for its blocks, for this long; `0` for no limit',
  },
  {
    flag: 'mined-answer',
    key: 'minedAnswerMs',
    type: seconds(true),
    placeholder: 'S',
    default: d.minedAnswerMs,
    help: "longest `POST /mined` waits for its block's turn (a reorg being written holds it) before answering `queued: …`; the block is still processed when its turn comes; `0` answers at once",
  },
  {
    flag: 'body-timeout',
    key: 'bodyTimeoutMs',
    type: seconds(false, Math.floor(MAX_TIMER_MS / 2)),
    placeholder: 'S',
    default: d.bodyTimeoutMs,
    help: "seconds a client has to send a request's headers and then its body (slower: `408`, connection closed); idle connections are closed after twice that",
  },
  {
    flag: 'max-event-clients',
    key: 'maxEventClients',
    type: integer(1, 10_000),
    placeholder: 'N',
    default: d.maxEventClients,
    help: "most `GET /events` streams (the explorer's live view) open at once; one more gets `503`",
  },
  {
    flag: 'event-drain-timeout',
    key: 'eventDrainTimeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: d.eventDrainTimeoutMs,
    help: 'a `GET /events` stream whose socket stays backed up (a write not drained) this many seconds is closed and its slot freed: the client stopped reading',
  },
  {
    flag: 'max-connections',
    key: 'maxConnections',
    type: integer(1, 1_000_000),
    placeholder: 'N',
    default: d.maxConnections,
    help: 'most client connections open at once; a new one past it closes the connection idle the longest (no request in progress: a keep-alive socket between requests, or one that sent nothing yet) to make room, and is itself closed as it arrives only when every connection has a request in progress (event streams included)',
  },
  {
    flag: 'peer-allow',
    key: 'peerAllow',
    type: list(),
    placeholder: 'CIDR,CIDR',
    defaultText: 'any address but the refused ones',
    help: "address ranges peers must be in, e.g. `10.0.0.0/8,fd00::/8,127.0.0.1` (a bare address is a range of one); for a node on an open network. Link-local, unspecified, multicast and broadcast addresses, and the cloud metadata services' addresses, are refused whatever this says; host names are checked as they resolve",
  },
  {
    flag: 'public-url',
    key: 'publicUrl',
    type: text(),
    placeholder: 'URL',
    defaultText: '`http://<host>:<port>/`',
    help: 'the URL other nodes reach this node at (sent with every block it posts); set it when listening on `0.0.0.0` or behind NAT/a proxy',
  },
  { flag: 'log-level', key: 'logLevel', type: choice(...LOG_LEVELS), placeholder: 'L', default: 'info', help: '`error`, `warn`, `info`, `debug` or `silent`' },
  {
    flag: 'log-format',
    key: 'logFormat',
    type: choice('json', 'pretty'),
    placeholder: 'F',
    default: 'json',
    help: '`json` (one JSON object per line) or `pretty` (`HH:MM:SS.mmm LEVEL message key=value`)',
  },
  {
    flag: 'admin-token',
    key: 'adminToken',
    type: text(true),
    placeholder: 'T',
    defaultText: 'none: loopback clients only',
    help: 'the control routes (`POST /mine`, `POST /mining`) answer requests with `Authorization: Bearer T` from anywhere, and no others; without it they answer loopback clients only. Give it as `JBC_ADMIN_TOKEN` or in the config file to keep it out of `ps`',
  },
  {
    flag: 'config',
    key: 'config',
    type: text(true),
    placeholder: 'FILE',
    defaultText: 'none',
    help: 'read options from this JSON file, keys named as the flags: `{"port": 5001, "no-mine": true, "peers": ["http://localhost:5000/"]}`. Flags win over `JBC_<NAME>` variables, which win over the file',
    notInFile: true,
  },
  { flag: 'version', key: 'version', type: on(), help: 'print the version (from `package.json`) and exit 0', commandLineOnly: true },
  { flag: 'help', key: 'help', short: 'h', type: on(), help: 'print the usage and exit 0', commandLineOnly: true },
];

/** The spec of the option that sets config field `key`, if one does. */
export function flagFor(key: string): OptionSpec | undefined {
  return NODE_FLAGS.find((spec) => spec.key === key && spec.type.kind !== 'switch');
}
