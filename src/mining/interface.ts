/**
 * The types the rest of the node depends on: the block miner the node drives,
 * the search runner under it (one interface, a pool and an in-thread
 * implementation), the stats it reports, and the modules it is given.
 */
import type { Block, BlockTemplate } from '../block.js';
import type { Logger } from '../log.js';
import type { EngineName } from './engine-loader.js';
import type { SearchTask, SearchTaskResult } from './task.js';

/** Runs search tasks somewhere: in Piscina worker threads, or in this thread. */
export interface SearchRunner {
  readonly engine: EngineName;
  /** Worker threads; 0 for the in-thread miner. */
  readonly workers: number;
  /** Tasks that run at the same time (worker threads; 1 in-thread). */
  readonly parallelism: number;
  /** Resolves with the result; rejects when the task is aborted or its thread dies. */
  search(task: SearchTask, signal: AbortSignal): Promise<SearchTaskResult>;
  close(): Promise<void>;
}

/** What the node asks of a block miner (MiningCoordinator; tests pass fakes). */
export interface BlockMiner {
  /**
   * Resolves with a block whose hash, read as a 256-bit number, is at most
   * `target`, or null when cancelled (by cancel() or a newer mine()). `onStarted` is told, once, the wall-clock time (ms, fractional)
   * at which a worker began hashing this template.
   */
  mine(template: BlockTemplate, target: bigint, onStarted?: (startedAt: number) => void): Promise<Block | null>;
  /** Cancels the running search; resolves when the workers are idle. */
  cancel(): Promise<void>;
  stats(): MiningStats;
  close(): Promise<void>;
}

export interface MiningStats {
  /** The engine the workers hash with. */
  readonly engine: string;
  /** Worker threads (0 when mining in the calling thread). */
  readonly workers: number;
  /** Hashes per second over the rate window, all workers. */
  readonly hashrate: number;
  /**
   * Hashes per second of each worker over the rate window, by ascending
   * threadId; at least `workers` entries (idle ones 0), more only when a
   * thread was replaced within the window.
   */
  readonly perWorker: number[];
  /** Hashes computed since the coordinator was created. */
  readonly hashes: number;
  /** True while a search is running. */
  readonly searching: boolean;
  /** For the last block found: ms from the worker finding the nonce to mine() resolving with the block. */
  readonly lastFoundToHandoverMs: number | null;
  /** Whether this runtime has WASM SIMD; false means the default engine fell back to the scalar kernel. */
  readonly simdSupported: boolean;
}

export interface MiningModules {
  /** Default: silent. */
  logger?: Logger;
  /**
   * Where ranges are searched. Default: a Piscina pool of `options.workers`
   * threads, or the in-thread miner when `options.workers` is 0. The
   * coordinator owns it and closes it in close().
   */
  runner?: SearchRunner;
  /** Whether the runtime has WASM SIMD. Default: detectSimd(); tests set false to see the fallback. */
  simdSupported?: boolean;
}

/** What a node reports of its mining (`/status`, `/events`). */
export interface MiningStatus {
  /** Mining without being asked (`--no-mine`, `POST /mining`); blocks asked for with `POST /mine` are mined either way. */
  readonly enabled: boolean;
  /** Blocks asked for (`POST /mine`) and not mined yet. */
  readonly requested: number;
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
