/**
 * Runs async jobs one at a time, in the order they were queued. The chain
 * state uses one for every chain change (so two blocks for the same height
 * never interleave their check-persist-append steps), and the block store one
 * for its writes.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` after every earlier job has settled; resolves or rejects with its result. */
  run<T>(job: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(job, job);
    // The queue goes on whether `job` failed or not; the caller sees the failure.
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
