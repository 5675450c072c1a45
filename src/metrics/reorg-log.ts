/**
 * The reorgs this node made since it started: each switch to another fork,
 * with where the chains part and how many blocks it replaced, for the
 * explorer's network figures (`GET /stats`). Kept in memory, a bounded
 * number of them; a restart starts the log afresh.
 */

export interface Reorg {
  /** When the node switched, ms since the epoch. */
  readonly at: number;
  /** The last block both chains share; "-1" when they share none. */
  readonly forkPoint: string;
  /** Blocks of the old chain that were replaced. */
  readonly abandoned: number;
  /** Blocks of the new chain above the fork point. */
  readonly added: number;
  /** The new tip's index. */
  readonly height: string;
  /** What brought the new chain: `peer`, `sync` or `mined`. */
  readonly source: string;
}

export interface ReorgLogOptions {
  /** Most reorgs remembered. Default 1000. */
  readonly maxReorgs?: number;
  /** The span `summary()` counts. Default one hour. */
  readonly windowMs?: number;
}

export const defaultReorgLogOptions: Required<ReorgLogOptions> = { maxReorgs: 1000, windowMs: 60 * 60_000 };

export interface ReorgLogModules {
  /** The tip's index when the log starts (-1n for an empty chain). */
  readonly height: bigint;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

export interface ReorgSummary {
  /** The span counted, ms. */
  readonly windowMs: number;
  /** Reorgs within it. */
  readonly count: number;
  /** Those reorgs, newest first. */
  readonly recent: readonly Reorg[];
}

export class ReorgLog {
  readonly #options: Required<ReorgLogOptions>;
  readonly #now: () => number;
  #height: bigint;
  #reorgs: Reorg[] = [];

  constructor(options: ReorgLogOptions, modules: ReorgLogModules) {
    this.#options = { ...defaultReorgLogOptions, ...options };
    this.#height = modules.height;
    this.#now = modules.now ?? Date.now;
  }

  /** A tip change: `height` is the new tip's index, `abandoned` the old chain's blocks it replaced. */
  observe(height: bigint, abandoned: number, source: string): void {
    const before = this.#height;
    this.#height = height;
    // A repair cuts damaged blocks away; no other chain won.
    if (abandoned <= 0 || source === 'repair') return;
    const forkPoint = before - BigInt(abandoned);
    this.#reorgs.push({
      at: this.#now(),
      forkPoint: forkPoint.toString(),
      abandoned,
      added: Number(height - forkPoint),
      height: height.toString(),
      source,
    });
    if (this.#reorgs.length > this.#options.maxReorgs) this.#reorgs.shift();
  }

  summary(): ReorgSummary {
    const since = this.#now() - this.#options.windowMs;
    const recent = this.#reorgs.filter((reorg) => reorg.at >= since).reverse();
    return { windowMs: this.#options.windowMs, count: recent.length, recent };
  }
}
