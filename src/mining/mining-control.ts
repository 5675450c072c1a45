/**
 * Mining as the node's operator steers it at run time: on or off, how many
 * worker threads, and "mine N blocks now". It owns the miner (built when
 * first needed: a `--no-mine` node starts no worker threads until it is
 * asked to mine) and the loop that mines on the tip. Changes go one at a
 * time, and each builds what it needs before it touches what runs, so one
 * that fails (a worker pool that cannot start) changes nothing.
 */
import type { Block } from '../block.js';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import type { BlockMiner, MiningStatus } from './interface.js';
import { MiningLoop, type MiningLoopModules, type MiningLoopOptions } from './mining-loop.js';

/** Most blocks one request may ask for: enough for any test or demo, and a bound on what one request can make the node do. */
export const MAX_REQUESTED_BLOCKS = 1000;
/** Most worker threads a resize may ask for (what `--workers` takes). */
export const MAX_MINING_WORKERS = 1024;

export interface MiningControlOptions {
  /** Mine without being asked (false: `--no-mine`). */
  readonly enabled: boolean;
  /** Worker threads of the miner. */
  readonly workers: number;
  /** The mining loop's options, but for `auto`, which `enabled` sets. */
  readonly loop: Omit<MiningLoopOptions, 'auto'>;
}

export interface MiningControlModules extends Omit<MiningLoopModules, 'miner'> {
  /** Builds a miner with this many worker threads (MINING_FAILED when it cannot). */
  readonly createMiner: (workers: number) => Promise<BlockMiner>;
  readonly logger: Logger;
}

/** What `POST /mining` asks for: any of the two. */
export interface MiningChange {
  readonly enabled?: boolean;
  readonly workers?: number;
}

export class MiningControl {
  readonly #options: MiningControlOptions;
  readonly #modules: MiningControlModules;
  readonly #changes = new SerialQueue();
  #enabled: boolean;
  #workers: number;
  /** The miner being built or built, with the worker count it was built for. */
  #miner: { readonly workers: number; readonly ready: Promise<BlockMiner> } | undefined;
  #loop: MiningLoop | undefined;
  #started = false;
  #closed = false;

  constructor(options: MiningControlOptions, modules: MiningControlModules) {
    this.#options = options;
    this.#modules = modules;
    this.#enabled = options.enabled;
    this.#workers = options.workers;
  }

  /** Starts building the miner when mining is on, so its threads load while the node syncs. */
  prepare(): void {
    if (!this.#enabled || this.#miner !== undefined) return;
    const ready = this.#modules.createMiner(this.#workers);
    ready.catch(() => {}); // start() awaits it and reports a failure; this only keeps it from going unhandled meanwhile
    this.#miner = { workers: this.#workers, ready };
  }

  /** Mining may begin (the chain is synced and checked): the loop starts when mining is on. */
  async start(): Promise<void> {
    await this.#changes.run(async () => {
      this.#started = true;
      if (this.#enabled) await this.#ensureLoop();
    });
  }

  status(): MiningStatus {
    return this.#loop?.status() ?? idleMiningStatus(this.#enabled);
  }

  /** Turns mining on or off and resizes its worker pool; resolves with the status once the change is in effect. */
  change(change: MiningChange): Promise<MiningStatus> {
    const { workers } = change;
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > MAX_MINING_WORKERS)) {
      throw new JbcError(ErrorCode.BAD_REQUEST, `workers must be an integer from 1 to ${MAX_MINING_WORKERS}`, { field: 'workers' });
    }
    return this.#changes.run(async () => {
      this.#requireStarted();
      const enabled = change.enabled ?? this.#enabled;
      const target = workers ?? this.#workers;
      const resize = this.#miner !== undefined && this.#miner.workers !== target;
      if (enabled || resize) {
        // Built before anything running is touched: if the pool cannot start, mining goes on as it was.
        const miner = await this.#minerFor(target);
        if (this.#loop === undefined) this.#createLoop(miner, enabled);
        else if (resize) await this.#loop.useMiner(miner);
      }
      this.#loop?.setAuto(enabled);
      if (enabled !== this.#enabled || target !== this.#workers) {
        this.#modules.logger.info({ enabled, workers: target }, enabled ? 'mining on' : 'mining off');
      }
      this.#enabled = enabled;
      this.#workers = target;
      return this.status();
    });
  }

  /** Mines `count` blocks on the tip (whether mining is on or off) and resolves with them once they are stored. */
  async mine(count: number, signal?: AbortSignal): Promise<Block[]> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_REQUESTED_BLOCKS) {
      throw new JbcError(ErrorCode.BAD_REQUEST, `blocks must be an integer from 1 to ${MAX_REQUESTED_BLOCKS}`, { field: 'blocks' });
    }
    const loop = await this.#changes.run(() => {
      this.#requireStarted();
      return this.#ensureLoop();
    });
    return loop.request(count, signal);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#changes.idle();
    if (this.#loop !== undefined) await this.#loop.close();
    else await (await this.#miner?.ready.catch(() => undefined))?.close();
  }

  #requireStarted(): void {
    if (this.#closed) throw new JbcError(ErrorCode.NOT_READY, 'the node is shutting down');
    if (!this.#started) throw new JbcError(ErrorCode.NOT_READY, 'the node is still starting (startup sync); try again once /readyz answers 200');
  }

  async #ensureLoop(): Promise<MiningLoop> {
    if (this.#loop !== undefined) return this.#loop;
    return this.#createLoop(await this.#minerFor(this.#workers), this.#enabled);
  }

  #createLoop(miner: BlockMiner, auto: boolean): MiningLoop {
    this.#loop = new MiningLoop({ ...this.#options.loop, auto }, { ...this.#modules, miner });
    return this.#loop;
  }

  /**
   * The miner with `workers` threads: the one there is when it has that
   * many (or is being built with that many), else a new one, which becomes
   * the miner once it runs (the caller puts it in place). A build that
   * failed is forgotten once its failure is seen here, so the next request
   * tries again.
   */
  async #minerFor(workers: number): Promise<BlockMiner> {
    const current = this.#miner;
    const built = current !== undefined && current.workers === workers ? current : { workers, ready: this.#modules.createMiner(workers) };
    if (current === undefined) this.#miner = built;
    try {
      const miner = await built.ready;
      this.#miner = built;
      return miner;
    } catch (err) {
      if (this.#miner === built) this.#miner = undefined;
      throw err;
    }
  }
}

/** What a node reports of its mining while no miner runs: `enabled` says whether it mines unasked. */
export function idleMiningStatus(enabled: boolean): MiningStatus {
  return {
    enabled,
    requested: 0,
    workers: 0,
    hashrate: 0,
    perWorker: [],
    engine: null,
    kernel: null,
    simd: null,
    simdSupported: null,
    hashes: 0,
  };
}
