/**
 * The node's configuration: every option with its default in one place, and
 * `resolveNodeConfig`, which fills defaults in and throws BAD_OPTION naming
 * the option for a value that cannot work. The CLI and `startNode` both go
 * through it, so a config object from a test is checked like a command line.
 */
import { availableParallelism } from 'node:os';
import { join, parse, resolve } from 'node:path';
import { ErrorCode, JbcError } from '../errors.js';
import { MAX_TIMER_MS, valueProblem } from '../option-table.js';
import { flagFor } from './flags.js';
import { MAX_BLOCKS_PER_PAGE } from '../pages.js';
import { defaultNodeOptions } from './defaults.js';
import { PeerAddressPolicy, parseCidr, type Cidr } from '../peer/index.js';
import { normalizePeerUrl } from '../peer/index.js';

export interface NodeOptions {
  /** TCP port to listen on; 0 picks a free one (tests). Default 1000. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Mining worker threads. Default: the number of CPU cores. */
  workers?: number;
  /** Mine blocks. Default true; `--no-mine` makes a follower that only syncs and relays. */
  mine?: boolean;
  /** Leading '0' hex characters a block hash needs. Default 5. */
  difficulty?: number;
  /**
   * Peer base URLs. Default http://localhost:5000/ .. 5003/, minus this node.
   * An explicit empty list means "no peers".
   */
  peers?: readonly string[];
  /**
   * The data directory. Default `chaindata/<port>` under the working
   * directory; with port 0, the port the node actually got.
   */
  dataDir?: string;
  /** Also keep the article's one-file-per-block layout (`000042.json`) beside the database. Default false. */
  jbcFiles?: boolean;
  /**
   * The URL other nodes reach this node at, sent as `X-Jbc-Peer` with every
   * block this node posts and announced to peers. Default
   * `http://<host>:<port>/` (`localhost` when listening on every interface).
   */
  publicUrl?: string;
  /** How often a mining node logs its hash rate. Default 10 000 ms; 0 turns it off. */
  hashrateLogIntervalMs?: number;
  /**
   * Time limit for one request to a peer, whole answer included. A whole
   * chain (`/blockchain.json`) is the exception: see `chainTimeoutMs`.
   * Default 5000 ms.
   */
  peerTimeoutMs?: number;
  /**
   * How long a peer's whole chain (`/blockchain.json`) may take to start
   * arriving: a jbc node reads every block file before it sends a byte
   * (some 6 s at 300 000 blocks). Once it flows it may pause at most
   * `peerTimeoutMs` at a time; the whole sync stays bounded by
   * `peerSyncTimeoutMs`. Default 60 000 ms (`--chain-timeout 60`).
   */
  chainTimeoutMs?: number;
  /**
   * Address ranges (CIDR, e.g. `10.0.0.0/8`, `fd00::/8`, or single addresses)
   * peers must be in. Default empty: any address but link-local, unspecified
   * and multicast ones, which are refused always (loopback and private
   * networks included). Host names are checked as they resolve.
   */
  peerAllow?: readonly string[];
  /**
   * After a failed post of a block to a peer, no block is posted to it for
   * this long; each further failure in a row doubles it, up to 60 s. Default 1000 ms.
   */
  peerBackoffMs?: number;
  /**
   * A block whose parent is unknown has its ancestors fetched from its
   * sender at once; a sender whose such blocks led to a fetch that gained
   * nothing is not fetched from again for this long, and a sync such
   * blocks start (a plain jbc sender, or one too far ahead for one fetch)
   * runs at most once per this long per sender. Default 5000 ms.
   */
  aheadSyncIntervalMs?: number;
  /**
   * Longest POST /mined waits for its block's turn in the chain's queue (a
   * reorg being written holds it); then it answers `accepted: false` with
   * reason `queued: …` and the block is processed when its turn comes.
   * Default 1000 ms.
   */
  minedAnswerMs?: number;
  /** Most peers kept (configured ones always are). Default 32. */
  maxPeers?: number;
  /** Largest request body accepted (POST /mined, POST /peers). Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Time a client has to send a whole request body once its headers are in
   * (and, from the start, its headers); a slower one gets 408 and the
   * connection is closed. A connection that sends no request for twice as
   * long is closed too. Default 10 000 ms.
   */
  bodyTimeoutMs?: number;
  /** Most client connections open at once; more are closed as they arrive. Default 256. */
  maxConnections?: number;
  /**
   * Bytes of request bodies held at once, all connections together; a body
   * that finds no room gets 503 BUSY. Default 32 MiB.
   */
  maxBodyBytesInFlight?: number;
  /** Largest peer answer read (a whole chain excepted, see `maxPeerChainBytes`); a bigger one is a bad response. Default 64 MiB. */
  maxPeerResponseBytes?: number;
  /**
   * Largest whole chain (`/blockchain.json`) read from a plain jbc peer: it
   * goes to a temporary file in the data dir as it arrives, not into memory,
   * so this bounds disk, not memory (a 1 000 000-block jbc chain is some
   * 330 MB). Default 1 GiB (`--max-chain-mib 1024`).
   */
  maxPeerChainBytes?: number;
  /** Blocks asked for per `/blocks` request while syncing (a peer may send fewer). Default 1000. */
  syncPageSize?: number;
  /** Blocks written per store commit while a sync downloads. Default 1000. */
  syncBatchSize?: number;
  /**
   * How long startup waits for its sync before the node is ready anyway (the
   * download goes on in the background). Default 30 000 ms (`--sync-timeout 30`).
   */
  syncTimeoutMs?: number;
  /** Period of the background sync from every peer; 0 turns it off. Default 30 000 ms (`--sync-interval 30`). */
  syncIntervalMs?: number;
  /**
   * Longest one sync from one peer may run. What it committed stays; a sync
   * still gaining blocks is continued at once. Default 120 000 ms.
   */
  peerSyncTimeoutMs?: number;
  /** How often a running download logs its progress. Default 5000 ms. */
  syncProgressLogIntervalMs?: number;
  /** Most Server-Sent Event streams (`GET /events`) open at once; one more gets 503. Default 32. */
  maxEventClients?: number;
  /** An event stream with more than this many bytes written and not yet taken by its socket is closed. Default 1 MiB. */
  maxEventBufferedBytes?: number;
  /**
   * An event stream whose socket stays backed up this long is closed (the
   * client stopped reading; the kernel's buffers hide that until they are
   * full). Default 10 000 ms.
   */
  eventDrainTimeoutMs?: number;
  /**
   * At most one block of this node's own per this many ms: after a block it
   * mined, the miner waits out the rest of the interval. Blocks stay valid
   * by jbc's rules and peers' blocks are taken as they come. Default 0 (no
   * limit; `--block-time S`).
   */
  blockTimeMs?: number;
  /**
   * The chain rule's target block time, ms: each block's target follows
   * from the blocks before it so that blocks come this often whatever the
   * network's hash rate, never easier than `difficulty` zeros. Recorded in
   * the data dir. Default 0: jbc's fixed difficulty (`--target-block-time S`).
   */
  targetBlockTimeMs?: number;
  /**
   * Most pending data entries (POST /data); past it new ones are refused with
   * 503, none dropped (entries back from abandoned blocks past it are).
   * Default 10 000.
   */
  maxPoolEntries?: number;
  /** Most bytes of pending entry data. Default 32 MiB. */
  maxPoolBytes?: number;
  /** Largest data entry, in UTF-8 bytes. Default 16 KiB. */
  maxEntryBytes?: number;
  /** Largest `data` of a block this node mines (entries are packed up to it). Default 64 KiB. */
  maxBlockDataBytes?: number;
  /** Working directory the default data dir is resolved against. Default process.cwd(). */
  cwd?: string;
  /**
   * The bearer token the control routes (POST /mine, POST /mining) take,
   * from any address. Default none: they answer loopback clients only.
   */
  adminToken?: string;
}

export type NodeConfig = Readonly<Required<Omit<NodeOptions, 'publicUrl' | 'cwd' | 'dataDir' | 'adminToken'>>> & {
  /** Undefined: the control routes answer loopback clients only. */
  readonly adminToken: string | undefined;
  /** Undefined until the port is known; see `selfUrl` in the node. */
  readonly publicUrl: string | undefined;
  /** Absolute; undefined with port 0 and no data dir given (see `dataDirFor`). */
  readonly dataDir: string | undefined;
  readonly cwd: string;
  /** True when `peers` came from the defaults (so this node's own port is dropped from them). */
  readonly defaultPeers: boolean;
};

export { DEFAULT_PORT, MAX_DIFFICULTY, defaultNodeOptions } from './defaults.js';
// The defaults are options a node could be given (checked here: defaults.ts cannot import this file back).
void (defaultNodeOptions satisfies NodeOptions);

/** The article's four local nodes. */
export function defaultPeerList(): string[] {
  return [5000, 5001, 5002, 5003].map((port) => `http://localhost:${port}/`);
}

/** The data directory of a node listening on `port`: the one given, else `chaindata/<port>` under `cwd`. */
export function dataDirFor(config: { readonly cwd: string; readonly dataDir: string | undefined }, port: number): string {
  return resolve(config.cwd, config.dataDir ?? join('chaindata', String(port)));
}

export function defaultWorkers(): number {
  return availableParallelism();
}

export function resolveNodeConfig(options: NodeOptions = {}): NodeConfig {
  const port = checkFlagged('port', options.port ?? defaultNodeOptions.port);
  const host = options.host ?? defaultNodeOptions.host;
  if (typeof host !== 'string' || host.trim() === '' || /[\s/]/.test(host)) {
    throw badOption('host', 'must be a host name or IP address', host);
  }
  const workers = checkFlagged('workers', options.workers ?? defaultWorkers());
  const difficulty = checkFlagged('difficulty', options.difficulty ?? defaultNodeOptions.difficulty);
  const defaultPeers = options.peers === undefined;
  const peerAllow = (options.peerAllow ?? defaultNodeOptions.peerAllow).map((text) => {
    if (typeof text !== 'string' || parseCidr(text) === undefined) throw badOption('peerAllow', 'must be CIDR ranges such as 10.0.0.0/8 or fd00::/8', text);
    return text.trim();
  });
  const policy = addressPolicy(peerAllow);
  const peers = (options.peers ?? defaultPeerList()).flatMap((url) => {
    let normal: string;
    try {
      normal = normalizePeerUrl(url);
    } catch (err) {
      throw badOption('peers', `has a bad URL (${err instanceof JbcError ? err.message : String(err)})`, url);
    }
    const refusal = policy.urlRefusal(normal);
    if (refusal === undefined) return [normal];
    // The default list is a convenience; only peers the user named are worth an error.
    if (defaultPeers) return [];
    throw badOption('peers', `has a URL this node will not contact (${refusal})`, url);
  });
  const cwd = options.cwd ?? process.cwd();
  const dataDir = options.dataDir !== undefined || port !== 0 ? dataDirFor({ cwd, dataDir: options.dataDir }, port) : undefined;
  // The node writes its files, and moves bad block files aside, in its data dir: a whole filesystem is no place for that.
  if (dataDir !== undefined && dataDir === parse(dataDir).root) throw badOption('dataDir', 'must not be the root of a filesystem', dataDir);
  let publicUrl: string | undefined;
  if (options.publicUrl !== undefined) {
    try {
      publicUrl = normalizePeerUrl(options.publicUrl);
    } catch (err) {
      throw badOption('publicUrl', `is not a usable URL (${err instanceof JbcError ? err.message : String(err)})`, options.publicUrl);
    }
    // Peers refuse blocks whose X-Jbc-Peer names such an address, whatever their own allow list.
    const refusal = new PeerAddressPolicy().urlRefusal(publicUrl);
    if (refusal !== undefined) throw badOption('publicUrl', `names an address peers will not contact (${refusal})`, options.publicUrl);
  }
  const adminToken = options.adminToken;
  // Sent in a header: only visible ASCII, so a token cannot be one a client has no way to send.
  if (adminToken !== undefined && (typeof adminToken !== 'string' || !/^[\x21-\x7e]+$/.test(adminToken))) {
    throw badOption('adminToken', 'must be printable ASCII without spaces');
  }
  return Object.freeze({
    port,
    adminToken,
    host,
    workers,
    mine: options.mine ?? defaultNodeOptions.mine,
    difficulty,
    peers: Object.freeze([...new Set(peers)]),
    peerAllow: Object.freeze(peerAllow),
    defaultPeers,
    dataDir,
    jbcFiles: options.jbcFiles ?? defaultNodeOptions.jbcFiles,
    blockTimeMs: checkFlagged('blockTimeMs', options.blockTimeMs ?? defaultNodeOptions.blockTimeMs),
    targetBlockTimeMs: checkFlagged('targetBlockTimeMs', options.targetBlockTimeMs ?? defaultNodeOptions.targetBlockTimeMs),
    maxPoolEntries: checkInt('maxPoolEntries', options.maxPoolEntries ?? defaultNodeOptions.maxPoolEntries, 0, 10_000_000),
    maxPoolBytes: checkInt('maxPoolBytes', options.maxPoolBytes ?? defaultNodeOptions.maxPoolBytes, 0, 2 ** 40),
    maxEntryBytes: checkInt('maxEntryBytes', options.maxEntryBytes ?? defaultNodeOptions.maxEntryBytes, 1, 512 * 1024),
    maxBlockDataBytes: checkInt('maxBlockDataBytes', options.maxBlockDataBytes ?? defaultNodeOptions.maxBlockDataBytes, 256, 512 * 1024),
    cwd,
    publicUrl,
    hashrateLogIntervalMs: checkInt('hashrateLogIntervalMs', options.hashrateLogIntervalMs ?? defaultNodeOptions.hashrateLogIntervalMs, 0, MAX_TIMER_MS),
    peerTimeoutMs: checkInt('peerTimeoutMs', options.peerTimeoutMs ?? defaultNodeOptions.peerTimeoutMs, 1, MAX_TIMER_MS),
    chainTimeoutMs: checkFlagged('chainTimeoutMs', options.chainTimeoutMs ?? defaultNodeOptions.chainTimeoutMs),
    peerBackoffMs: checkFlagged('peerBackoffMs', options.peerBackoffMs ?? defaultNodeOptions.peerBackoffMs),
    aheadSyncIntervalMs: checkFlagged('aheadSyncIntervalMs', options.aheadSyncIntervalMs ?? defaultNodeOptions.aheadSyncIntervalMs),
    minedAnswerMs: checkFlagged('minedAnswerMs', options.minedAnswerMs ?? defaultNodeOptions.minedAnswerMs),
    maxPeers: checkInt('maxPeers', options.maxPeers ?? defaultNodeOptions.maxPeers, 1, 10_000),
    maxBodyBytes: checkInt('maxBodyBytes', options.maxBodyBytes ?? defaultNodeOptions.maxBodyBytes, 1, MAX_TIMER_MS),
    bodyTimeoutMs: checkFlagged('bodyTimeoutMs', options.bodyTimeoutMs ?? defaultNodeOptions.bodyTimeoutMs),
    maxBodyBytesInFlight: checkInt('maxBodyBytesInFlight', options.maxBodyBytesInFlight ?? defaultNodeOptions.maxBodyBytesInFlight, 1, 2 ** 40),
    maxConnections: checkFlagged('maxConnections', options.maxConnections ?? defaultNodeOptions.maxConnections),
    maxPeerResponseBytes: checkInt('maxPeerResponseBytes', options.maxPeerResponseBytes ?? defaultNodeOptions.maxPeerResponseBytes, 1, MAX_TIMER_MS),
    maxPeerChainBytes: checkFlagged('maxPeerChainBytes', options.maxPeerChainBytes ?? defaultNodeOptions.maxPeerChainBytes),
    syncPageSize: checkInt('syncPageSize', options.syncPageSize ?? defaultNodeOptions.syncPageSize, 1, MAX_BLOCKS_PER_PAGE),
    syncBatchSize: checkInt('syncBatchSize', options.syncBatchSize ?? defaultNodeOptions.syncBatchSize, 1, 1_000_000),
    syncTimeoutMs: checkFlagged('syncTimeoutMs', options.syncTimeoutMs ?? defaultNodeOptions.syncTimeoutMs),
    syncIntervalMs: checkFlagged('syncIntervalMs', options.syncIntervalMs ?? defaultNodeOptions.syncIntervalMs),
    peerSyncTimeoutMs: checkFlagged('peerSyncTimeoutMs', options.peerSyncTimeoutMs ?? defaultNodeOptions.peerSyncTimeoutMs),
    syncProgressLogIntervalMs: checkInt(
      'syncProgressLogIntervalMs',
      options.syncProgressLogIntervalMs ?? defaultNodeOptions.syncProgressLogIntervalMs,
      1,
      MAX_TIMER_MS,
    ),
    maxEventClients: checkFlagged('maxEventClients', options.maxEventClients ?? defaultNodeOptions.maxEventClients),
    maxEventBufferedBytes: checkInt('maxEventBufferedBytes', options.maxEventBufferedBytes ?? defaultNodeOptions.maxEventBufferedBytes, 1, 2 ** 40),
    eventDrainTimeoutMs: checkFlagged('eventDrainTimeoutMs', options.eventDrainTimeoutMs ?? defaultNodeOptions.eventDrainTimeoutMs),
  });
}

/** The address rules for peers, from `peerAllow` as the config holds it (already checked). */
export function addressPolicy(peerAllow: readonly string[]): PeerAddressPolicy {
  return new PeerAddressPolicy(peerAllow.map((text) => parseCidr(text) as Cidr));
}

/** The value of a field that a command-line option sets, checked by that option's rules (flags.ts). */
function checkFlagged<T>(key: string, value: T): T {
  const problem = valueProblem(flagFor(key)!, value);
  if (problem !== undefined) throw badOption(key, problem, value);
  return value;
}

function checkInt(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badOption(option, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function badOption(option: string, reason: string, value?: unknown): JbcError {
  const shown = value === undefined ? '' : `, got ${JSON.stringify(String(value)).slice(0, 80)}`;
  return new JbcError(ErrorCode.BAD_OPTION, `${option} ${reason}${shown}`, { option });
}
