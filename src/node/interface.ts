/** The types of a node as a whole: what builds it, and the handle `startNode` returns. */
import type { ChainView } from '../chain.js';
import type { Logger } from '../log.js';
import type { BlockMiner, EngineChoice } from '../mining/index.js';
import type { NodeStatus } from '../api/index.js';
import type { TipChange } from '../chain/index.js';
import type { NodeConfig } from './options.js';

export interface NodeModules {
  /** Default: silent. */
  logger?: Logger;
  /** Builds the miner when mining is on. Default: MiningCoordinator.create with `workers` threads of `engine`. */
  createMiner?: (options: { workers: number; engine: EngineChoice }, modules: { logger: Logger }) => Promise<BlockMiner>;
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
