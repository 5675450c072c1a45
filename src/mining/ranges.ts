/**
 * The nonce space of one search, handed out as bounded ranges to whichever
 * worker is free. Bounded ranges keep every task short, so a worker returns to
 * the coordinator often and a search never depends on one slow slice. Nonces
 * are bigint: the space never runs out, the queue just keeps counting.
 */

export interface NonceRange {
  /** First nonce of the range. */
  readonly start: bigint;
  /** Number of consecutive nonces, start .. start + count - 1. */
  readonly count: number;
}

export class RangeQueue {
  #next: bigint;

  constructor(
    readonly rangeSize: number,
    start = 0n,
  ) {
    this.#next = start;
  }

  /** The next range; consecutive calls return adjacent, non-overlapping ranges. */
  next(): NonceRange {
    const range = { start: this.#next, count: this.rangeSize };
    this.#next += BigInt(this.rangeSize);
    return range;
  }

  /** First nonce not yet handed out. */
  get frontier(): bigint {
    return this.#next;
  }
}
