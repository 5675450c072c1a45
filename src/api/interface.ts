/** What the HTTP layer asks of the node: routes parse, call one of these, serialise. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Block } from '../block.js';
import type { ChainView } from '../chain.js';
import type { MiningChange, MiningStatus } from '../mining/index.js';
import type { HashrateHistoryView, ReorgSummary } from '../metrics/index.js';
import type { PendingEntry } from '../store/index.js';
import type { ChainFigures, StoreFault } from '../chain/index.js';
import type { EntryView, SubmitResult } from '../pool/index.js';
import type { ReceiveResult, Sender } from '../network/index.js';
import type { AddPeerAnswer } from '../network/index.js';
import type { PeerState } from '../peer/index.js';
import type { SyncStatus } from '../sync/index.js';

export interface NodeStatus extends ChainFigures {
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

/** GET /stats: how fast the chain grows and how often it reorganised, for the explorer's network figures. */
export interface ChainStats {
  /** The node's clock when this was computed, ms since the epoch. */
  readonly at: number;
  /** Mean seconds between the last blocks, from their timestamps; null with fewer than two blocks. */
  readonly blockTime: { readonly from: string; readonly to: string; readonly meanSeconds: number } | null;
  /** Blocks whose timestamps are within the last minute; `from` is the oldest of them. */
  readonly lastMinute: { readonly blocks: number; readonly from: string | null; readonly capped: boolean };
  /** Reorgs this node made in the last hour (since it started, if that is less). */
  readonly reorgs: ReorgSummary;
  /** The chain rule's figures, as `/status` gives them: the next target, its difficulty, the work, the network hash rate. */
  readonly chain: ChainFigures;
}

/** What the routes call. Routes parse, call one of these, serialise. */
export interface NodeApi {
  /** The chain now (read it synchronously; after an await, ask again). */
  chain(): ChainView;
  /** Every block's output-form JSON text, in order, from one consistent read. */
  chainJson(): Iterable<string>;
  status(): NodeStatus;
  /** The target block `index` met; undefined past the tip. */
  blockTarget(index: bigint): bigint | undefined;
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
  /** The hash-rate samples of the last minutes, oldest first. */
  hashrateHistory(): HashrateHistoryView;
  chainStats(): ChainStats;
  pendingData(limit: number, after?: string): { entries: PendingEntry[]; pool: { entries: number; bytes: number } };
  /**
   * Mines `count` blocks on the tip and resolves with them once stored;
   * rejects with AbortedError when `signal` aborts (the client left).
   */
  mineBlocks(count: number, signal: AbortSignal): Promise<Block[]>;
  /** Turns mining on or off and resizes its worker pool at run time. */
  setMining(change: MiningChange): Promise<MiningStatus>;
  /** Streams Server-Sent Events on `res` until the client leaves; false (nothing written) when the streams are full. */
  serveEvents(req: IncomingMessage, res: ServerResponse): boolean;
}
