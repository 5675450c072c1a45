/**
 * The mining coordinator: turns a block template into a sealed block. It hands
 * bounded nonce ranges to whichever worker is free, keeps a few tasks queued
 * per worker so none idles, takes the first nonce found, and stops every other
 * range through a per-search SharedArrayBuffer flag the kernels poll. Piscina's
 * AbortSignal (which kills the thread) is kept for workers that do not stop in
 * time and for shutdown.
 */
import { sealBlock, headerPrefix, type Block, type BlockTemplate } from '../block.js';
import { describeError, ErrorCode, isJbcError, JbcError } from '../errors.js';
import { initHashing } from '../hash.js';
import { silentLogger, type Logger } from '../log.js';
import { meetsTarget } from '../target.js';
import { defaultEngineName, detectSimd } from './engine-loader.js';
import type { BlockMiner, SearchRunner, MiningModules, MiningStats } from './interface.js';
import { checkTarget, resolveMinerOptions, type MinerOptions, type ResolvedMinerOptions } from './options.js';
import { PoolRunner } from './pool-runner.js';
import { RangeQueue, type NonceRange } from './ranges.js';
import { RateMeter } from './rate.js';
import { newStopFlag, requestStop, wallClockMs, type SearchTask, type SearchTaskResult } from './task.js';
import { ThreadRunner } from './thread-runner.js';

const encoder = new TextEncoder();

/** One search: one template at one target, until found, cancelled or failed. */
class Search {
  readonly stop = newStopFlag();
  /** Aborts this search's tasks by killing their threads; only when they ignore `stop`. */
  readonly abort = new AbortController();
  readonly prefix: Uint8Array;
  readonly ranges: RangeQueue;
  readonly promise: Promise<Block | null>;
  inFlight = 0;
  /** Told, once, when the first of this search's ranges began in a worker (wall-clock ms). */
  onStarted: ((startedAt: number) => void) | undefined;
  /** Set by the first nonce found, cancel, or failure: no more ranges, later results only count toward the rate. */
  done = false;
  #settled = false;
  #resolve!: (block: Block | null) => void;
  #reject!: (err: unknown) => void;

  constructor(
    readonly template: BlockTemplate,
    readonly target: bigint,
    rangeSize: number,
  ) {
    this.prefix = encoder.encode(headerPrefix(template));
    this.ranges = new RangeQueue(rangeSize);
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Ends the search (the first outcome wins): every other range stops at its next chunk. */
  finish(outcome: { block: Block | null } | { error: unknown }): void {
    requestStop(this.stop);
    this.done = true;
    if (this.#settled) return;
    this.#settled = true;
    if ('block' in outcome) this.#resolve(outcome.block);
    else this.#reject(outcome.error);
  }
}

interface PendingTask {
  readonly search: Search;
}

export class MiningCoordinator implements BlockMiner {
  readonly #runner: SearchRunner;
  readonly #options: ResolvedMinerOptions;
  readonly #logger: Logger;
  readonly #rates: RateMeter;
  /** The live search, if any. A finished search's tasks may still be draining. */
  #search: Search | null = null;
  /** Every task not yet settled, from any search: cancel() waits for these. */
  readonly #pending = new Map<Promise<void>, PendingTask>();
  #closed = false;
  #lastHandoverMs: number | null = null;
  readonly #simdSupported: boolean;

  private constructor(runner: SearchRunner, options: ResolvedMinerOptions, simdSupported: boolean, logger: Logger) {
    this.#runner = runner;
    this.#simdSupported = simdSupported;
    this.#options = options;
    this.#logger = logger;
    this.#rates = new RateMeter(options.rateWindowMs);
  }

  /**
   * Validates the options (BAD_OPTION naming the option), starts the workers
   * and loads the engine in each (MINING_FAILED when it cannot).
   */
  static async create(options: MinerOptions = {}, modules: MiningModules = {}): Promise<MiningCoordinator> {
    const resolved = resolveMinerOptions(options);
    const logger = modules.logger ?? silentLogger;
    const simdSupported = modules.simdSupported ?? detectSimd();
    const runner = modules.runner ?? (await startRunner(resolved, simdSupported, logger));
    // The block hash is recomputed here when a nonce is found; load the hasher
    // now so the first block does not pay for it.
    await initHashing();
    return new MiningCoordinator(runner, { ...resolved, workers: runner.workers, engine: runner.engine }, simdSupported, logger);
  }

  /**
   * Searches for a nonce for this template whose block hash, read as a
   * 256-bit number, is at most `target`; resolves with
   * the sealed block, or null when cancelled by cancel(), a newer mine() or
   * close(). One search at a time: a new mine() stops the running one and
   * starts at once; its ranges queue behind the stopped ones, which end at
   * their next chunk, so each worker goes from the old template to the new
   * one without a round trip through this thread. `onStarted` is told when
   * the first range began in a worker. Rejects with MINING_FAILED when a
   * worker crashes.
   */
  async mine(template: BlockTemplate, target: bigint, onStarted?: (startedAt: number) => void): Promise<Block | null> {
    checkTarget(target);
    if (this.#closed) throw new JbcError(ErrorCode.MINING_FAILED, 'the miner is closed');
    this.#stopSearch();
    const search = new Search(template, target, this.#options.rangeSize);
    search.onStarted = onStarted;
    this.#search = search;
    this.#fill(search);
    return search.promise;
  }

  /** Cancels the current search (its mine() resolves null); resolves when every worker is idle. */
  async cancel(): Promise<void> {
    this.#stopSearch();
    await this.#drain();
  }

  stats(): MiningStats {
    const { total, perThread } = this.#rates.rates(wallClockMs());
    const perWorker = perThread.map((t) => t.hashrate);
    while (perWorker.length < this.#runner.workers) perWorker.push(0);
    return {
      engine: this.#runner.engine,
      workers: this.#runner.workers,
      hashrate: total,
      perWorker,
      hashes: this.#rates.totalHashes,
      searching: this.#search !== null,
      lastFoundToHandoverMs: this.#lastHandoverMs,
      simdSupported: this.#simdSupported,
    };
  }

  /** Cancels any search and stops the workers. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.cancel();
    await this.#runner.close();
  }

  #stopSearch(): void {
    const search = this.#search;
    this.#search = null;
    search?.finish({ block: null });
  }

  /**
   * Waits until no task is in flight. Kernels see the stop flag within one
   * chunk; a task still running after stopTimeoutMs has its thread aborted.
   */
  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const pending = [...this.#pending.keys()];
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled(pending).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.#options.stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const searches = new Set([...this.#pending.values()].map((p) => p.search));
        this.#logger.warn({ tasks: this.#pending.size, timeoutMs: this.#options.stopTimeoutMs }, 'mining workers did not stop in time; aborting their threads');
        for (const search of searches) search.abort.abort(new JbcError(ErrorCode.MINING_FAILED, 'worker did not stop in time'));
      }
    }
  }

  #fill(search: Search): void {
    const target = this.#runner.parallelism * this.#options.tasksPerWorker;
    while (!search.done && search.inFlight < target) this.#dispatch(search, search.ranges.next());
  }

  #dispatch(search: Search, range: NonceRange): void {
    const task: SearchTask = {
      kind: 'search',
      engine: this.#runner.engine,
      prefix: search.prefix,
      start: range.start,
      count: range.count,
      target: search.target,
      stop: search.stop,
    };
    search.inFlight++;
    // Both handlers catch everything, so `settled` never rejects.
    const settled = this.#runner.search(task, search.abort.signal).then(
      (result) => this.#onResult(search, result),
      (err: unknown) => this.#onError(search, err),
    );
    this.#pending.set(settled, { search });
    void settled.then(() => this.#pending.delete(settled));
  }

  async #onResult(search: Search, result: SearchTaskResult): Promise<void> {
    search.inFlight--;
    this.#rates.record({ at: result.finishedAt, threadId: result.threadId, hashes: result.hashes, elapsedMs: result.elapsedMs });
    const onStarted = search.onStarted;
    search.onStarted = undefined;
    onStarted?.(result.finishedAt - result.elapsedMs);
    if (search.done) return;
    if (result.status !== 'found' || result.nonce === null) {
      this.#fill(search);
      return;
    }
    // Stop the other ranges now; the search stays current while the block is
    // sealed, so a cancel() meanwhile still resolves it null.
    requestStop(search.stop);
    search.done = true;
    try {
      const block = sealBlock(search.template, result.nonce);
      if (!meetsTarget(block.hash, search.target)) {
        throw new JbcError(ErrorCode.MINING_FAILED, `engine ${this.#runner.engine} reported nonce ${result.nonce}, whose hash lacks the work`, {
          engine: this.#runner.engine,
          nonce: result.nonce.toString(),
        });
      }
      if (this.#search !== search) return;
      this.#search = null;
      this.#lastHandoverMs = wallClockMs() - result.finishedAt;
      search.finish({ block });
    } catch (err) {
      this.#fail(search, err);
    }
  }

  #onError(search: Search, err: unknown): void {
    search.inFlight--;
    if (search.done) {
      // Expected after a stop-timeout abort; anything else is worth a line.
      if (!search.abort.signal.aborted) this.#logger.warn({ err }, 'mining task failed after its search ended');
      return;
    }
    this.#fail(search, err);
  }

  #fail(search: Search, err: unknown): void {
    const error = isJbcError(err, ErrorCode.MINING_FAILED)
      ? err
      : new JbcError(ErrorCode.MINING_FAILED, `mining worker failed: ${describeError(err)}`, { engine: this.#runner.engine }, { cause: err });
    this.#logger.error({ err: error }, 'mining failed');
    if (this.#search === search) this.#search = null;
    search.finish({ error });
  }
}

async function startRunner(options: ResolvedMinerOptions, simdSupported: boolean, logger: Logger): Promise<SearchRunner> {
  const engine = options.engine ?? defaultEngineName(simdSupported);
  if (options.engine === undefined && !simdSupported) {
    logger.warn({ engine }, 'this runtime lacks WebAssembly SIMD: mining with the scalar kernel, about half the hash rate');
  }
  try {
    const miner =
      options.workers === 0
        ? await ThreadRunner.create(engine)
        : await PoolRunner.create({ engine, workers: options.workers, tasksPerWorker: options.tasksPerWorker }, logger);
    logger.info({ engine, workers: options.workers }, 'mining engine ready');
    return miner;
  } catch (err) {
    const error = isJbcError(err, ErrorCode.MINING_FAILED)
      ? err
      : new JbcError(ErrorCode.MINING_FAILED, `cannot start the ${engine} miner: ${describeError(err)}`, { engine }, { cause: err });
    logger.error({ code: error.code, err: describeError(error) }, 'mining engine failed to start');
    throw error;
  }
}
