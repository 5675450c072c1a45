/**
 * One queue for chain mutations. Every change to the node's chain (own block,
 * peer block, sync adoption) runs inside `run`, one at a time in arrival
 * order, so two blocks for the same height, or a block arriving while the
 * node persists its own, never interleave their check-persist-append steps.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier `run` has settled; resolves or rejects with its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    // The queue goes on whether `fn` failed or not; the caller sees the failure.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once everything queued so far has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
