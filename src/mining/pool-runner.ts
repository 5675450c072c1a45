/**
 * The production miner: a Piscina pool of worker threads, each running the
 * compiled worker entry (dist/workers/worker.js, the same file under vitest as
 * in production) with its engine loaded once per thread.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { distPath } from '../paths.js';
import type { EngineName } from './engine-loader.js';
import type { Logger } from '../log.js';
import type { SearchRunner } from './interface.js';
import type { SearchTask, SearchTaskResult, WarmUpTask, WorkerResult, WorkerTask } from './task.js';

export interface PoolMinerOptions {
  readonly engine: EngineName;
  readonly workers: number;
  /**
   * Tasks Piscina posts to a thread at once. Above 1 a thread finishing a
   * range starts the next one already in its inbox instead of waiting for the
   * main thread to dispatch it (which a busy event loop delays). Default 2.
   */
  readonly tasksPerWorker?: number;
  /** How long the warm-up waits for every thread to load its engine, ms. */
  readonly warmUpTimeoutMs?: number;
}

export function workerFile(): string {
  return distPath('workers', 'worker.js');
}

export class PoolRunner implements SearchRunner {
  readonly engine: EngineName;
  readonly workers: number;
  readonly parallelism: number;
  /** Set by the warm-up from what the threads report. */
  kernel = 'unknown';
  readonly #pool: Piscina<WorkerTask, WorkerResult>;
  #closed: Promise<void> | undefined;

  private constructor(pool: Piscina<WorkerTask, WorkerResult>, engine: EngineName, workers: number) {
    this.#pool = pool;
    this.engine = engine;
    this.workers = workers;
    this.parallelism = workers;
  }

  /**
   * Starts `workers` threads and has each load the engine before returning,
   * so a kernel that fails to load is a MINING_FAILED here, not on the first
   * block, and the first search runs at full speed.
   */
  static async create(options: PoolMinerOptions, logger: Logger): Promise<PoolRunner> {
    const filename = workerFile();
    if (!existsSync(filename)) {
      throw new JbcError(ErrorCode.MINING_FAILED, `worker file ${filename} is missing: run npm run build`, { filename });
    }
    const pool = new Piscina<WorkerTask, WorkerResult>({
      filename,
      minThreads: options.workers,
      maxThreads: options.workers,
      concurrentTasksPerWorker: options.tasksPerWorker ?? 2,
      // The coordinator bounds the queue itself (workers x tasksPerWorker).
      maxQueue: Infinity,
    });
    // Errors outside any task (a thread dying while idle); tasks see their own.
    pool.on('error', (err: unknown) => logger.error({ err }, 'mining worker error'));
    const miner = new PoolRunner(pool, options.engine, options.workers);
    try {
      await miner.#warmUp(options.warmUpTimeoutMs ?? 30_000, logger);
    } catch (err) {
      await pool.destroy();
      throw new JbcError(
        ErrorCode.MINING_FAILED,
        `engine ${options.engine} failed to load in a worker: ${describeError(err)}`,
        { engine: options.engine },
        { cause: err },
      );
    }
    return miner;
  }

  /**
   * Rounds of one warm-up task per thread until every thread has answered
   * (loaded its engine). Not a blocking barrier: with several tasks posted per
   * thread, two warm-ups can land on one thread.
   */
  async #warmUp(timeoutMs: number, logger: Logger): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const task: WarmUpTask = { kind: 'warmup', engine: this.engine };
    const ready = new Set<number>();
    for (;;) {
      const results = await Promise.all(Array.from({ length: this.parallelism }, () => this.#pool.run(task)));
      for (const r of results) {
        ready.add(r.threadId);
        if (r.kind === 'warmup') this.kernel = r.kernel;
      }
      if (this.#pool.threads.every((t) => ready.has(t.threadId)) && ready.size >= this.parallelism) return;
      if (performance.now() > deadline) {
        logger.warn({ engine: this.engine, workers: this.parallelism, ready: ready.size }, 'not every mining worker was ready in time');
        return;
      }
      await sleep(5);
    }
  }

  async search(task: SearchTask, signal: AbortSignal): Promise<SearchTaskResult> {
    const result = await this.#pool.run(task, { signal });
    if (result.kind !== 'search') throw new JbcError(ErrorCode.INTERNAL, 'worker answered a search with a warm-up result');
    return result;
  }

  /** Threads alive now, for diagnostics and tests; a thread killed by an abort is replaced by a new one. */
  get threads(): readonly Worker[] {
    return this.#pool.threads;
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.destroy();
    return this.#closed;
  }
}
