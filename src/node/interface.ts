/**
 * The types the node's parts depend on: what the HTTP layer asks of the node,
 * and the handle `startNode` returns.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Block } from '../block.js';
import type { ChainView } from '../chain.js';
import type { Logger } from '../log.js';
import type { BlockMiner } from '../mining/index.js';
import type { PendingEntry } from '../store/index.js';
import type { StoreFault, TipChange } from './chain-state.js';
import type { EntryView, SubmitResult } from './data-pool.js';
import type { NodeConfig } from './options.js';
import type { AddPeerResult, PeerState } from './peers.js';

export type AddPeerAnswer = AddPeerResult | 'checking';
import type { SyncStatus } from './syncer.js';

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
  /** True until the startup sync is done (or its deadline passed); /readyz answers 503 meanwhile. */
  readonly syncing: boolean;
  /** The biggest download running now, or null. */
  readonly sync: SyncStatus | null;
  /** Why the data dir refuses writes (full or read-only disk), or null; /readyz answers 503 meanwhile. */
  readonly storeFault: StoreFault | null;
  readonly version: string;
  /** Random per process; lets a node notice that a "peer" is itself. */
  readonly nodeId: string;
  /** The URL this node announces (X-Jbc-Peer). */
  readonly url: string;
}

/** What the routes call. Routes parse, call one of these, serialise. */
export interface NodeApi {
  /** The chain now (read it synchronously; after an await, ask again). */
  chain(): ChainView;
  /** Every block's output-form JSON text, in order, from one consistent read. */
  chainJson(): Iterable<string>;
  status(): NodeStatus;
  /** True once the startup sync is done. */
  ready(): boolean;
  /** The biggest download running now, or null (answers before the data dir is open too). */
  syncStatus(): SyncStatus | null;
  /** Why the data dir refuses writes, or null (answers before the data dir is open too). */
  storeFault(): StoreFault | null;
  peers(): readonly string[];
  peerStates(): readonly PeerState[];
  /**
   * Adds a peer once it answers like a node; 'checking' when it has not
   * answered yet (it is added if it does). Throws BAD_REQUEST for a bad URL or
   * this node's own, PEER_ADDRESS_REFUSED for a refused address, and the peer
   * error when it does not answer like a node. A known peer is synced from again.
   */
  addPeer(url: string): Promise<AddPeerAnswer>;
  /** False when the peer was not listed. Throws BAD_REQUEST for a bad URL. */
  removePeer(url: string): boolean;
  /** Throws INVALID_BLOCK for a block without its proof of work. */
  receiveBlock(block: Block, sender: Sender): Promise<ReceiveResult>;
  /** Adds a data entry (durable when it resolves); `from` is the peer that passed it on. */
  submitData(data: unknown, from: string | undefined): Promise<SubmitResult>;
  dataEntry(id: string): EntryView | undefined;
  pendingData(limit: number, after?: string): { entries: PendingEntry[]; pool: { entries: number; bytes: number } };
  /** Streams Server-Sent Events on `res` until the client leaves; false (nothing written) when the streams are full. */
  serveEvents(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface NodeModules {
  /** Default: silent. */
  logger?: Logger;
  /** Builds the miner when mining is on. Default: MiningCoordinator.create with `workers` threads. */
  createMiner?: (options: { workers: number }, modules: { logger: Logger }) => Promise<BlockMiner>;
  /** Milliseconds since the epoch, for block timestamps and peer state. Default Date.now. */
  now?: () => number;
}

/** A running node, as `startNode` returns it. */
export interface NodeHandle {
  /** Base URL of the HTTP API, with the actual port (e.g. http://127.0.0.1:43121/). */
  readonly url: string;
  readonly port: number;
  readonly config: NodeConfig;
  readonly dataDir: string;
  /** The current chain. */
  chain(): ChainView;
  status(): NodeStatus;
  /** Calls `listener` after every tip change; returns a function that unsubscribes. */
  onTip(listener: (change: TipChange) => void): () => void;
  /** Stops mining, syncing and serving; waits for writes in progress. Idempotent. */
  close(): Promise<void>;
}
