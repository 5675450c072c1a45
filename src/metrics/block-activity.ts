/**
 * How fast blocks come, for the logs: at the default difficulty a node may
 * mine several blocks a second, and a line per block drowns everything else.
 * Per-block lines stay `info` while blocks come at most one a second and drop
 * to `debug` above that; every 10 s an `info` summary says what happened
 * (blocks mined, accepted from peers, height, rate).
 */
import type { Logger } from '../log.js';
import type { NodeMetrics } from './metrics.js';

export interface BlockActivityOptions {
  /** How often the summary is logged (when blocks came). */
  readonly summaryIntervalMs: number;
}

export interface BlockActivityModules {
  readonly logger: Logger;
  readonly height: () => bigint;
  readonly metrics: NodeMetrics | undefined;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
}

/** Per-block lines are demoted above this many blocks in the last second. */
const INFO_BLOCKS_PER_SECOND = 1;

export class BlockActivity {
  readonly #logger: Logger;
  readonly #height: () => bigint;
  readonly #metrics: NodeMetrics | undefined;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly #intervalMs: number;
  /** When the blocks of the last second came. */
  #recent: number[] = [];
  #mined = 0;
  #accepted = 0;

  constructor(options: BlockActivityOptions, modules: BlockActivityModules) {
    this.#logger = modules.logger;
    this.#height = modules.height;
    this.#metrics = modules.metrics;
    this.#now = modules.now ?? (() => performance.now());
    this.#intervalMs = options.summaryIntervalMs;
    this.#timer = setInterval(() => this.#summary(), options.summaryIntervalMs);
    this.#timer.unref();
  }

  /** Counts a block this node mined; returns the level its own log line should have. */
  mined(): 'info' | 'debug' {
    this.#mined++;
    this.#metrics?.blocksMined.inc();
    return this.#note();
  }

  /** Counts a peer's block that extended the tip; returns the level its own log line should have. */
  accepted(): 'info' | 'debug' {
    this.#accepted++;
    this.#metrics?.blocksAccepted.inc();
    return this.#note();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #note(): 'info' | 'debug' {
    const now = this.#now();
    this.#recent = this.#recent.filter((at) => at > now - 1000);
    this.#recent.push(now);
    return this.#recent.length > INFO_BLOCKS_PER_SECOND ? 'debug' : 'info';
  }

  #summary(): void {
    const blocks = this.#mined + this.#accepted;
    if (blocks === 0) return;
    const perMinute = Math.round((blocks * 60_000) / this.#intervalMs);
    this.#logger.info(
      { mined: this.#mined, accepted: this.#accepted, height: Number(this.#height()), blocksPerMinute: perMinute },
      `${blocks} blocks in the last ${Math.round(this.#intervalMs / 1000)} s (${this.#mined} mined, ${this.#accepted} from peers), height ${this.#height()}`,
    );
    this.#mined = 0;
    this.#accepted = 0;
  }
}
