/**
 * The types the node's parts depend on: what the HTTP layer asks of the node,
 * what the node asks of a miner, and the handle `startNode` returns.
 */
import type { Block, BlockTemplate } from '../block.js';
import type { Chain } from '../chain.js';
import type { Logger } from '../log.js';
import type { MiningStats } from '../mining/index.js';
import type { NodeConfig } from './options.js';
import type { AddPeerResult } from './peers.js';

/** Who sent a block: the X-Jbc-Peer URL when the sender named itself, and the socket's address. */
export interface Sender {
  readonly url: string | undefined;
  readonly remoteAddress: string | undefined;
}

export type ReceiveResult =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: string };

export interface MiningStatus {
  readonly enabled: boolean;
  readonly workers: number;
  /** Hashes per second, all workers. */
  readonly hashrate: number;
  readonly perWorker: readonly number[];
  readonly engine: string | null;
  /** True when the engine hashes with WASM SIMD, false for a scalar fallback, null when not mining. */
  readonly simd: boolean | null;
  /** Whether this runtime has WASM SIMD at all; null when not mining. */
  readonly simdSupported: boolean | null;
  readonly hashes: number;
}

export interface NodeStatus {
  /** Index of the tip; -1 for the empty chain. */
  readonly height: number;
  /** Number of blocks. */
  readonly length: number;
  readonly tip: { readonly index: string; readonly hash: string } | null;
  readonly difficulty: number;
  readonly peers: readonly string[];
  readonly mining: MiningStatus;
  readonly version: string;
  /** Random per process; lets a node notice that a "peer" is itself. */
  readonly nodeId: string;
  /** The URL this node announces (X-Jbc-Peer). */
  readonly url: string;
}

/** What the routes call. Routes parse, call one of these, serialise. */
export interface NodeApi {
  /** The current chain (a new object after every adoption; do not keep it across awaits). */
  chain(): Chain;
  status(): NodeStatus;
  peers(): readonly string[];
  /** Throws BAD_REQUEST for a bad URL or this node's own. */
  addPeer(url: string): AddPeerResult;
  /** Throws INVALID_BLOCK for a block without its proof of work. */
  receiveBlock(block: Block, sender: Sender): Promise<ReceiveResult>;
}

/** The part of the mining coordinator (src/mining) the node uses; tests may pass a fake. */
export interface NodeMiner {
  /** Resolves with a block, or null when cancelled (by cancel() or a newer mine()). */
  mine(template: BlockTemplate, difficulty: number): Promise<Block | null>;
  /** Cancels the running search; resolves when the workers are idle. */
  cancel(): Promise<void>;
  stats(): MiningStats;
  close(): Promise<void>;
}

export interface NodeModules {
  /** Default: silent. */
  logger?: Logger;
  /** Builds the miner when mining is on. Default: MiningCoordinator.create with `workers` threads. */
  createMiner?: (options: { workers: number }, modules: { logger: Logger }) => Promise<NodeMiner>;
  /** Milliseconds since the epoch, for block timestamps. Default Date.now. */
  now?: () => number;
}

export type TipChange = { readonly tip: Block | undefined; readonly source: 'mined' | 'peer' | 'sync' };

/** A running node, as `startNode` returns it. */
export interface NodeHandle {
  /** Base URL of the HTTP API, with the actual port (e.g. http://127.0.0.1:43121/). */
  readonly url: string;
  readonly port: number;
  readonly config: NodeConfig;
  readonly dataDir: string;
  /** The current chain. */
  chain(): Chain;
  status(): NodeStatus;
  /** Calls `listener` after every tip change; returns a function that unsubscribes. */
  onTip(listener: (change: TipChange) => void): () => void;
  /** Stops mining, syncing and serving; waits for writes in progress. Idempotent. */
  close(): Promise<void>;
}
