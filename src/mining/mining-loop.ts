/**
 * The mining loop: build a candidate on the tip (holding the oldest pending
 * data entries that fit), search, store the block,
 * broadcast it, repeat. A tip change from anywhere else (a peer's block, a
 * sync) cancels the running search so the next one starts on the new tip. A
 * miner failure is logged and retried with a doubling back-off.
 *
 * It mines on its own while `auto` is on, and otherwise only for requests
 * (`request(n)`: the next n blocks it stores go to the asker), idle between.
 */
import { formatUint } from '../codec.js';
import type { Block, BlockTemplate } from '../block.js';
import { packBlockData, type Entry } from '../entries.js';
import { AbortedError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatRate } from '../hashrate.js';
import { earliestMiningSecond, miningTimestamp, type TargetTrail } from '../retarget.js';
import { wait } from '../wait.js';
import type { ChainState } from '../chain/index.js';
import type { BlockActivity, NodeMetrics } from '../metrics/index.js';
import type { Gossip } from '../network/index.js';
import type { BlockMiner, MiningStatus } from './interface.js';
import { wallClockMs } from './task.js';

/** Wait after the miner failed before trying again, doubling up to the maximum. */
const RETRY_MS = { first: 1_000, max: 30_000 };

export interface MiningLoopOptions {
  /** How often the hash rate is logged; 0 turns it off. */
  readonly hashrateLogIntervalMs: number;
  /** The URL written into mined blocks' data (it also keeps two nodes from searching the same header). */
  readonly minerUrl: () => string;
  /** At most one block of this node's own per this many ms (a local policy; peers' blocks come as they come); 0: no limit. */
  readonly blockTimeMs: number;
  /** Mine without being asked. Default true; false mines only for `request()`. */
  readonly auto?: boolean;
}

/** A request for the next `remaining` blocks this node stores. */
interface Demand {
  remaining: number;
  readonly blocks: Block[];
  readonly resolve: (blocks: Block[]) => void;
  readonly reject: (err: unknown) => void;
}

export interface MiningLoopModules {
  readonly miner: BlockMiner;
  readonly chain: ChainState;
  readonly gossip: Gossip;
  readonly activity: BlockActivity;
  /** The pending data entries that fit the next block, oldest first. */
  readonly entries: (miner: string) => readonly Entry[];
  readonly logger: Logger;
  /** Milliseconds since the epoch, for block timestamps. */
  readonly now: () => number;
  readonly metrics?: NodeMetrics | undefined;
}

export class MiningLoop {
  readonly #options: MiningLoopOptions;
  #miner: BlockMiner;
  readonly #chain: ChainState;
  readonly #gossip: Gossip;
  readonly #entries: (miner: string) => readonly Entry[];
  readonly #activity: BlockActivity;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #stop = new AbortController();
  readonly #unsubscribe: () => void;
  readonly #loop: Promise<void>;
  readonly #hashrateTimer: NodeJS.Timeout | undefined;
  readonly #metrics: NodeMetrics | undefined;
  /** When the tip changed under a search (wall-clock ms), until a search on the new tip is made. */
  #tipChangedAt: number | undefined;
  #auto: boolean;
  /** Requests for blocks, oldest first: each block stored goes to the first. */
  readonly #demands: Demand[] = [];
  /** Aborted (and replaced) to wake the loop from idling or from a --block-time wait. */
  #wakeup = new AbortController();

  /** Starts mining at once. */
  constructor(options: MiningLoopOptions, modules: MiningLoopModules) {
    this.#options = options;
    this.#miner = modules.miner;
    this.#chain = modules.chain;
    this.#gossip = modules.gossip;
    this.#entries = modules.entries;
    this.#activity = modules.activity;
    this.#logger = modules.logger;
    this.#now = modules.now;
    this.#metrics = modules.metrics;
    this.#auto = options.auto ?? true;
    this.#unsubscribe = this.#chain.onTip(({ source }) => {
      // Our own block: that search already ended.
      if (source === 'mined') return;
      this.#tipChangedAt ??= wallClockMs();
      void this.#miner.cancel().catch((err: unknown) => this.#logger.warn({ err }, 'miner cancel failed'));
    });
    this.#loop = this.#run();
    if (options.hashrateLogIntervalMs > 0) {
      this.#hashrateTimer = setInterval(() => this.#logHashrate(), options.hashrateLogIntervalMs);
      this.#hashrateTimer.unref();
    }
  }

  /** Turns mining without requests on or off; requests are served either way. */
  setAuto(enabled: boolean): void {
    this.#auto = enabled;
    if (enabled) this.#wake();
    else this.#cancelUnlessWanted();
  }

  /**
   * Resolves with the next `count` blocks this node stores (mining for them
   * when `auto` is off, and without the --block-time wait); rejects with
   * AbortedError when `signal` aborts (the asker left) or the loop closes.
   */
  request(count: number, signal?: AbortSignal): Promise<Block[]> {
    if (this.#stop.signal.aborted) return Promise.reject(new AbortedError('mining is stopped'));
    if (signal?.aborted) return Promise.reject(new AbortedError('the request was given up'));
    return new Promise((resolve, reject) => {
      const demand: Demand = { remaining: count, blocks: [], resolve, reject };
      this.#demands.push(demand);
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.#demands.indexOf(demand);
          if (at === -1) return;
          this.#demands.splice(at, 1);
          reject(new AbortedError('the request was given up'));
          this.#cancelUnlessWanted();
        },
        { once: true },
      );
      this.#wake();
    });
  }

  /**
   * Mines with `miner` from its next search on, and closes the one it had
   * (a resize: the caller built the new one first, so a failure changes nothing).
   */
  async useMiner(miner: BlockMiner): Promise<void> {
    const old = this.#miner;
    this.#miner = miner;
    await old.cancel().catch((err: unknown) => this.#logger.warn({ err }, 'miner cancel failed'));
    await old.close().catch((err: unknown) => this.#logger.warn({ err }, 'miner close failed'));
  }

  status(): MiningStatus {
    const stats = this.#miner.stats();
    return {
      enabled: this.#auto,
      requested: this.#demands.reduce((sum, demand) => sum + demand.remaining, 0),
      workers: stats.workers,
      hashrate: Math.round(stats.hashrate),
      perWorker: stats.perWorker.map(Math.round),
      engine: stats.engine,
      kernel: stats.kernel,
      simd: stats.engine === 'wasm-simd',
      simdSupported: stats.simdSupported,
      hashes: stats.hashes,
    };
  }

  /** Stops the search, waits for the loop to end, and closes the miner. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#unsubscribe();
    clearInterval(this.#hashrateTimer);
    for (const demand of this.#demands.splice(0)) demand.reject(new AbortedError('the node is shutting down'));
    await this.#miner.cancel().catch((err: unknown) => this.#logger.warn({ err }, 'miner cancel failed'));
    await this.#loop;
    await this.#miner.close().catch((err: unknown) => this.#logger.warn({ err }, 'miner close failed'));
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    let retryMs = RETRY_MS.first;
    let lastMinedAt: number | undefined;
    while (!stopped.aborted) {
      const wakeup = AbortSignal.any([stopped, this.#wakeup.signal]);
      if (!this.#auto && this.#demands.length === 0) {
        await wait(2 ** 31 - 1, wakeup);
        continue;
      }
      // Blocks someone asked for are not held back by the local pace.
      if (lastMinedAt !== undefined && this.#options.blockTimeMs > 0 && this.#demands.length === 0) {
        const rest = lastMinedAt + this.#options.blockTimeMs - performance.now();
        if (rest > 0) await wait(rest, wakeup);
        if (stopped.aborted) break;
        if (rest > 0) continue;
      }
      let block: Block | null;
      try {
        // The chain rule's next target, and the timestamps it allows, from the tip as it is now.
        const trail = this.#chain.nextTrail();
        const early = Number(earliestMiningSecond(trail)) * 1000 - this.#now();
        if (early > 0) {
          this.#logger.debug(
            { waitMs: early, medianTime: formatUint(trail.medianTime!) },
            "the chain's timestamps run ahead of this node's clock; mining waits for it",
          );
          await wait(early, wakeup);
          continue;
        }
        const template = this.#template(this.#chain.view.tip, trail);
        const target = trail.target;
        const changedAt = this.#tipChangedAt;
        this.#tipChangedAt = undefined;
        block = await this.#miner.mine(template, target, (startedAt) => this.#started(template, changedAt, startedAt));
        retryMs = RETRY_MS.first;
      } catch (err) {
        if (stopped.aborted) break;
        this.#logger.error({ err, retryInMs: retryMs }, 'mining failed');
        await wait(retryMs, stopped);
        retryMs = Math.min(retryMs * 2, RETRY_MS.max);
        continue;
      }
      if (block === null || stopped.aborted) continue;
      const outcome = await this.#store(block);
      if (outcome === 'stored') {
        lastMinedAt = performance.now();
        this.#deliver(block);
      } else if (outcome === 'failed') {
        // The disk refused the block: mining on would only fail again at once.
        await wait(retryMs, stopped);
        retryMs = Math.min(retryMs * 2, RETRY_MS.max);
      }
    }
  }

  /** The first request gets `block`; it is answered once it has all it asked for. */
  #deliver(block: Block): void {
    const demand = this.#demands[0];
    if (demand === undefined) return;
    demand.blocks.push(block);
    if (--demand.remaining > 0) return;
    this.#demands.shift();
    demand.resolve(demand.blocks);
  }

  #wake(): void {
    const wakeup = this.#wakeup;
    this.#wakeup = new AbortController();
    wakeup.abort();
  }

  /** Stops the running search when nothing wants it any more (mining off, no requests left). */
  #cancelUnlessWanted(): void {
    if (this.#auto || this.#demands.length > 0) return;
    this.#wake();
    void this.#miner.cancel().catch((err: unknown) => this.#logger.warn({ err }, 'miner cancel failed'));
  }

  /** A worker began on `template`: when the tip had moved under the search before it, that move took until now. */
  #started(template: BlockTemplate, changedAt: number | undefined, startedAt: number): void {
    if (changedAt === undefined) return;
    const switchMs = Math.max(0, startedAt - changedAt);
    this.#metrics?.tipSwitch.observe(switchMs / 1000);
    this.#logger.debug({ index: Number(template.index), switchMs: Math.round(switchMs * 1000) / 1000 }, 'search moved to new tip');
  }

  #template(tip: Block | undefined, trail: TargetTrail): BlockTemplate {
    const index = tip === undefined ? 0n : tip.index + 1n;
    const miner = this.#options.minerUrl();
    return {
      index,
      prevHash: tip?.hash ?? '',
      data: packBlockData(index, miner, this.#entries(miner)),
      timestamp: miningTimestamp(trail, BigInt(Math.floor(this.#now() / 1000))),
    };
  }

  /** Stores and broadcasts a mined block; `dropped` when the tip moved on meanwhile. */
  async #store(block: Block): Promise<'stored' | 'dropped' | 'failed'> {
    let stored: boolean;
    try {
      stored = await this.#chain.appendOwn(block);
    } catch (err) {
      this.#logger.error({ err, index: Number(block.index) }, 'could not store own block');
      return 'failed';
    }
    if (!stored) {
      this.#logger.debug({ index: Number(block.index) }, 'own block no longer extends the tip; dropped');
      return 'dropped';
    }
    this.#logger[this.#activity.mined()]({ index: Number(block.index), hash: block.hash, nonce: formatUint(block.nonce) }, `mined block #${block.index}`);
    this.#gossip.broadcast(block, undefined);
    return 'stored';
  }

  #logHashrate(): void {
    const stats = this.#miner.stats();
    const perWorker = stats.perWorker.map((rate, i) => `w${i} ${formatRate(rate)}`).join(', ');
    this.#logger.info(
      { hashrate: Math.round(stats.hashrate), perWorker: stats.perWorker.map(Math.round), engine: stats.engine, kernel: stats.kernel, hashes: stats.hashes },
      `hashrate ${formatRate(stats.hashrate)} total (${perWorker})`,
    );
  }
}
