/**
 * Hash-rate accounting over a sliding window, from the hashes workers actually
 * report (a stopped range reports the part it did). Pure: the caller passes
 * the clock readings, so tests drive time by hand.
 */

export interface RateSample {
  /** When the work ended (ms, any monotonic clock shared by all samples). */
  readonly at: number;
  /** The worker thread that did it. */
  readonly threadId: number;
  readonly hashes: number;
  /** How long the work took; the sample covers [at - elapsedMs, at]. */
  readonly elapsedMs: number;
}

export interface ThreadRate {
  readonly threadId: number;
  /** Hashes per second over the window. */
  readonly hashrate: number;
}

export interface RateSnapshot {
  /** Hashes per second over the window, all threads. Equals the sum of `perThread`. */
  readonly total: number;
  /** Threads that did work within the window, by ascending threadId. */
  readonly perThread: readonly ThreadRate[];
}

export class RateMeter {
  #samples: RateSample[] = [];
  #totalHashes = 0;

  constructor(readonly windowMs: number) {}

  record(sample: RateSample): void {
    this.#samples.push(sample);
    this.#totalHashes += sample.hashes;
    this.#prune(sample.at);
  }

  /** Every hash ever recorded, window or not. */
  get totalHashes(): number {
    return this.#totalHashes;
  }

  /**
   * Rates over the window ending at `now`. A sample that began before the
   * window counts in proportion to its part inside it. The divisor is the
   * window, or the time since the oldest work when mining began more recently,
   * so a fresh miner does not report a tenth of its speed; once mining stops
   * the rate decays to zero over one window.
   */
  rates(now: number): RateSnapshot {
    this.#prune(now);
    const windowStart = now - this.windowMs;
    let earliest = now;
    const byThread = new Map<number, number>();
    for (const s of this.#samples) {
      const start = s.at - s.elapsedMs;
      const from = Math.max(start, windowStart);
      const to = Math.min(s.at, now);
      if (to < from) continue;
      const share = s.elapsedMs > 0 ? (s.hashes * (to - from)) / s.elapsedMs : s.hashes;
      byThread.set(s.threadId, (byThread.get(s.threadId) ?? 0) + share);
      earliest = Math.min(earliest, from);
    }
    const spanMs = now - earliest;
    if (byThread.size === 0 || spanMs <= 0) return { total: 0, perThread: [] };
    const perThread = [...byThread.entries()].sort(([a], [b]) => a - b).map(([threadId, hashes]) => ({ threadId, hashrate: (hashes * 1000) / spanMs }));
    return { total: perThread.reduce((sum, t) => sum + t.hashrate, 0), perThread };
  }

  #prune(now: number): void {
    const windowStart = now - this.windowMs;
    if (this.#samples.length > 0 && this.#samples[0]!.at < windowStart) {
      this.#samples = this.#samples.filter((s) => s.at >= windowStart);
    }
  }
}
