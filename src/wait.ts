/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * `promise`'s value, or undefined when it has not settled within `ms`. The
 * promise goes on either way; a caller that stops waiting handles its outcome.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise, wait(ms, timer.signal).then(() => undefined)]);
  } finally {
    timer.abort();
  }
}
