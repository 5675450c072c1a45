/**
 * The in-thread miner: the same task function as the pool's workers, run in
 * the calling thread. For tests and as a fallback (`workers: 0`). Each range
 * blocks the event loop while it runs; between ranges it yields, so cancel()
 * is seen at the next range.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import type { Engine } from './engine.js';
import { loadEngine, type EngineName } from './engine-loader.js';
import type { SearchRunner } from './interface.js';
import { runSearch, type SearchTask, type SearchTaskResult } from './task.js';

export class ThreadRunner implements SearchRunner {
  readonly workers = 0;
  readonly parallelism = 1;

  readonly kernel: string;
  readonly #engine: Engine;

  private constructor(
    readonly engine: EngineName,
    loaded: Engine,
  ) {
    this.#engine = loaded;
    this.kernel = loaded.kernel;
  }

  static async create(engine: EngineName): Promise<ThreadRunner> {
    return new ThreadRunner(engine, await loadEngine(engine));
  }

  async search(task: SearchTask, signal: AbortSignal): Promise<SearchTaskResult> {
    await nextTurn();
    signal.throwIfAborted();
    return runSearch(this.#engine, task, threadId);
  }

  async close(): Promise<void> {}
}
