/**
 * The miner's hash rate over the last few minutes, sampled on a timer
 * whether or not anyone watches, so the explorer page draws its chart from
 * the moment it opens (`GET /hashrate`) instead of from its first events.
 * A bounded ring: one sample per interval, the window's worth of them.
 */

/** What a sample is read from (the mining status holds these among others). */
export interface HashrateSource {
  readonly enabled: boolean;
  readonly workers: number;
  /** Hashes per second, all workers. */
  readonly hashrate: number;
  readonly perWorker: readonly number[];
  readonly hashes: number;
}

/** One reading, in the shape of the event stream's `hashrate` event. */
export interface HashrateSample {
  /** Milliseconds since the epoch, on the node's clock. */
  readonly at: number;
  readonly total: number;
  readonly perWorker: readonly number[];
  readonly hashes: number;
}

export interface HashrateHistoryOptions {
  /** Time between samples. Default 2000 ms, the event stream's period. */
  readonly intervalMs?: number;
  /** How far back samples are kept. Default 5 minutes. */
  readonly windowMs?: number;
}

export const defaultHashrateHistoryOptions: Required<HashrateHistoryOptions> = { intervalMs: 2_000, windowMs: 5 * 60_000 };

export interface HashrateHistoryModules {
  readonly mining: () => HashrateSource;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

export interface HashrateHistoryView {
  readonly intervalMs: number;
  readonly windowMs: number;
  /** Oldest first; none while the node does not mine. */
  readonly samples: readonly HashrateSample[];
}

export class HashrateHistory {
  readonly #options: Required<HashrateHistoryOptions>;
  readonly #mining: () => HashrateSource;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #samples: HashrateSample[] = [];

  /** Starts sampling at once; close() stops it. */
  constructor(options: HashrateHistoryOptions, modules: HashrateHistoryModules) {
    this.#options = { ...defaultHashrateHistoryOptions, ...options };
    for (const [name, value] of Object.entries(this.#options)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`options.${name} must be a positive integer`);
    }
    this.#mining = modules.mining;
    this.#now = modules.now ?? Date.now;
    this.#timer = setInterval(() => this.sample(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Takes a sample now (the timer calls this); none while not mining. */
  sample(): void {
    const mining = this.#mining();
    if (!mining.enabled || mining.workers === 0) return;
    const at = this.#now();
    this.#samples.push({ at, total: mining.hashrate, perWorker: [...mining.perWorker], hashes: mining.hashes });
    this.#prune(at);
  }

  view(): HashrateHistoryView {
    this.#prune(this.#now());
    return { intervalMs: this.#options.intervalMs, windowMs: this.#options.windowMs, samples: [...this.#samples] };
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #prune(now: number): void {
    const from = now - this.#options.windowMs;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]!.at < from) drop++;
    // The window's worth by count too, should the clock step back.
    drop = Math.max(drop, this.#samples.length - Math.ceil(this.#options.windowMs / this.#options.intervalMs) - 1);
    if (drop > 0) this.#samples = this.#samples.slice(drop);
  }
}
