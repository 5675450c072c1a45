/**
 * What a node posts to its peers (blocks, data entries), bounded per peer. A
 * peer that accepts the connection and never answers would otherwise hold
 * one socket (and a request's buffers) per post until the request times out:
 * at hundreds of posts a second that is thousands of sockets, and the node
 * slows down.
 *
 * So each peer has at most `maxInFlight` posts in flight; what is sent
 * meanwhile waits in a short line whose policy the owner picks
 * (`newestUpTo`, `firstComeUpTo`). A peer whose post failed is skipped for a
 * back-off that doubles with each failure in a row. Then either its line is
 * emptied (what waited would meet the same fate), or, with `retries`, the
 * failed item goes back to the front and the line keeps filling, so a peer
 * that missed a moment still gets every item in order. Posting never blocks
 * the caller.
 */
import { isAborted } from '../errors.js';
import { peerKey } from '../peer/index.js';

/** Longest back-off after failed posts. */
export const MAX_BACKOFF_MS = 60_000;

/** Puts `item` in a peer's waiting line (or leaves it out, or drops another). */
export type Enqueue<T> = (waiting: T[], item: T) => void;

/**
 * Up to `limit` wait, in order; past that the oldest is dropped. For blocks:
 * a peer that fell this far behind fetches what it lacks from the newest.
 */
export function newestUpTo<T>(limit: number): Enqueue<T> {
  return (waiting, item) => {
    waiting.push(item);
    if (waiting.length > limit) waiting.shift();
  };
}

/** Up to `limit` wait, in order; past that, new ones are left out. */
export function firstComeUpTo<T>(limit: number): Enqueue<T> {
  return (waiting, item) => {
    if (waiting.length < limit) waiting.push(item);
  };
}

export interface OutboxOptions<T> {
  /** Back-off after the first failed post; it doubles with each further failure, up to MAX_BACKOFF_MS. */
  readonly backoffMs: number;
  readonly enqueue: Enqueue<T>;
  /** Posts one peer may have in flight at once. */
  readonly maxInFlight: number;
  /**
   * Times a failed item is posted again (after its back-off, before what
   * waits behind it); 0: a failure drops it and empties the line.
   */
  readonly retries: number;
  /** Whether a failure is worth a retry (an answer that refuses the item is not). Default: every failure. */
  readonly retryable?: (err: unknown) => boolean;
}

export interface OutboxModules<T, R> {
  readonly post: (peer: string, item: T) => Promise<R>;
  /** Told of each post's outcome (the peer list keeps health). */
  readonly onSent: (peer: string, item: T, reply: R) => void;
  /** Told of each failed post; `willRetry` when the item stays first in line. */
  readonly onFailed: (peer: string, item: T, err: unknown, willRetry: boolean) => void;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
  /** Runs `fn` after `ms` (the end of a back-off); returns its cancel. Default an unref'd setTimeout. */
  readonly schedule?: (fn: () => void, ms: number) => () => void;
}

interface PeerQueue<T> {
  readonly peer: string;
  inFlight: number;
  waiting: T[];
  /** The item last put back after a failure, and its failed posts so far (others have none). */
  retrying: { readonly item: T; failed: number } | undefined;
  failures: number;
  /** No post before this time (now() units). */
  backoffUntil: number;
  /** Cancels the timer that resumes posting when the back-off ends. */
  resume: (() => void) | undefined;
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export class Outbox<T, R> {
  readonly #options: OutboxOptions<T>;
  readonly #modules: OutboxModules<T, R>;
  readonly #now: () => number;
  readonly #schedule: (fn: () => void, ms: number) => () => void;
  readonly #queues = new Map<string, PeerQueue<T>>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: OutboxOptions<T>, modules: OutboxModules<T, R>) {
    this.#options = options;
    this.#modules = modules;
    this.#now = modules.now ?? (() => performance.now());
    this.#schedule = modules.schedule ?? defaultSchedule;
  }

  /**
   * Sends `item` to `peer` now, or when a slot frees (as the line's policy
   * allows). During a back-off it waits in the line when failed items are
   * retried, and is skipped otherwise.
   */
  send(peer: string, item: T): void {
    if (this.#closed) return;
    const key = peerKey(peer);
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { peer, inFlight: 0, waiting: [], retrying: undefined, failures: 0, backoffUntil: 0, resume: undefined };
      this.#queues.set(key, queue);
    }
    const backingOff = this.#now() < queue.backoffUntil;
    if (backingOff && this.#options.retries === 0) return;
    if (!backingOff && queue.waiting.length === 0 && queue.inFlight < this.#options.maxInFlight) {
      this.#post(queue, item);
      return;
    }
    this.#options.enqueue(queue.waiting, item);
    this.#drain(queue);
  }

  /** Forgets a peer that left the list. */
  forget(peer: string): void {
    const key = peerKey(peer);
    this.#queues.get(key)?.resume?.();
    this.#queues.delete(key);
  }

  /** Forgets every peer but `peers` (peers evicted from the list leave no state behind). */
  retain(peers: readonly string[]): void {
    if (this.#queues.size <= peers.length) return;
    const keep = new Set(peers.map(peerKey));
    for (const [key, queue] of this.#queues) {
      if (keep.has(key)) continue;
      queue.resume?.();
      this.#queues.delete(key);
    }
  }

  /** Waits for the posts in flight (the client's shutdown ends them). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const queue of this.#queues.values()) queue.resume?.();
    await Promise.allSettled([...this.#inFlight]);
  }

  #post(queue: PeerQueue<T>, item: T): void {
    queue.inFlight++;
    const { peer } = queue;
    const failed = queue.retrying?.item === item ? queue.retrying.failed : 0;
    const done = this.#modules.post(peer, item).then(
      (reply) => {
        queue.failures = 0;
        queue.backoffUntil = 0;
        this.#modules.onSent(peer, item, reply);
      },
      (err: unknown) => {
        let retry = false;
        if (!isAborted(err)) {
          queue.failures++;
          const backoff = Math.min(this.#options.backoffMs * 2 ** (queue.failures - 1), MAX_BACKOFF_MS);
          queue.backoffUntil = this.#now() + backoff;
          retry = failed + 1 <= this.#options.retries && (this.#options.retryable?.(err) ?? true);
          if (retry) {
            queue.retrying = { item, failed: failed + 1 };
            queue.waiting.unshift(item);
          } else if (this.#options.retries === 0) queue.waiting.length = 0;
          this.#resumeAfter(queue, backoff);
        }
        this.#modules.onFailed(peer, item, err, retry);
      },
    );
    const tracked = done.finally(() => {
      queue.inFlight--;
      this.#inFlight.delete(tracked);
      this.#drain(queue);
    });
    this.#inFlight.add(tracked);
  }

  /** Posts what waits, as far as the slots and the back-off allow. */
  #drain(queue: PeerQueue<T>): void {
    if (this.#closed || this.#queues.get(peerKey(queue.peer)) !== queue || this.#now() < queue.backoffUntil) return;
    while (queue.waiting.length > 0 && queue.inFlight < this.#options.maxInFlight) this.#post(queue, queue.waiting.shift()!);
  }

  #resumeAfter(queue: PeerQueue<T>, ms: number): void {
    queue.resume?.();
    queue.resume = this.#schedule(() => {
      queue.resume = undefined;
      // This is the back-off's end (a later failure would have replaced the timer); timers may fire a little before the clock agrees.
      queue.backoffUntil = 0;
      this.#drain(queue);
    }, ms);
  }
}
