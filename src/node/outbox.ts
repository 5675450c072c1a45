/**
 * What a node posts to its peers (blocks, data entries), bounded per peer. A
 * peer that accepts the connection and never answers would otherwise hold
 * one socket (and a request's buffers) per post until the request times out:
 * at hundreds of posts a second that is thousands of sockets, and the node
 * slows down.
 *
 * So each peer has at most `MAX_IN_FLIGHT_PER_PEER` posts in flight; what is
 * sent meanwhile waits in a short line whose policy the owner picks
 * (`newestBlockWins`, `firstComeUpTo`). A peer whose post failed is skipped
 * for a back-off that doubles with each failure in a row, and its line is
 * emptied. Posting never blocks the caller.
 */
import type { Block } from '../block.js';
import { isAborted } from '../errors.js';
import { peerKey } from './peer-url.js';

/** Posts one peer may have in flight at once. */
export const MAX_IN_FLIGHT_PER_PEER = 2;
/** Longest back-off after failed posts. */
export const MAX_BACKOFF_MS = 60_000;

/** Puts `item` in a peer's waiting line (or leaves it out). */
export type Enqueue<T> = (waiting: T[], item: T) => void;

/** Blocks: one waits, and a newer one replaces it (only the newest tip matters: a peer that gets it and lacks its parents syncs them). */
export const newestBlockWins: Enqueue<Block> = (waiting, block) => {
  if (waiting.length === 0 || block.index >= waiting[0]!.index) waiting.splice(0, waiting.length, block);
};

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
}

export interface OutboxModules<T, R> {
  readonly post: (peer: string, item: T) => Promise<R>;
  /** Told of each post's outcome (the peer list keeps health). */
  readonly onSent: (peer: string, item: T, reply: R) => void;
  readonly onFailed: (peer: string, item: T, err: unknown) => void;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
}

interface PeerQueue<T> {
  inFlight: number;
  waiting: T[];
  failures: number;
  /** No post before this time (now() units). */
  backoffUntil: number;
}

export class Outbox<T, R> {
  readonly #options: OutboxOptions<T>;
  readonly #modules: OutboxModules<T, R>;
  readonly #now: () => number;
  readonly #queues = new Map<string, PeerQueue<T>>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: OutboxOptions<T>, modules: OutboxModules<T, R>) {
    this.#options = options;
    this.#modules = modules;
    this.#now = modules.now ?? (() => performance.now());
  }

  /** Sends `item` to `peer` now, or when a slot frees (as the line's policy allows); skipped while the peer is in back-off. */
  send(peer: string, item: T): void {
    const key = peerKey(peer);
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { inFlight: 0, waiting: [], failures: 0, backoffUntil: 0 };
      this.#queues.set(key, queue);
    }
    if (this.#closed || this.#now() < queue.backoffUntil) return;
    if (queue.inFlight < MAX_IN_FLIGHT_PER_PEER) this.#post(peer, queue, item);
    else this.#options.enqueue(queue.waiting, item);
  }

  /** Forgets a peer that left the list. */
  forget(peer: string): void {
    this.#queues.delete(peerKey(peer));
  }

  /** Forgets every peer but `peers` (peers evicted from the list leave no state behind). */
  retain(peers: readonly string[]): void {
    if (this.#queues.size <= peers.length) return;
    const keep = new Set(peers.map(peerKey));
    for (const key of this.#queues.keys()) if (!keep.has(key)) this.#queues.delete(key);
  }

  /** Waits for the posts in flight (the client's shutdown ends them). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  #post(peer: string, queue: PeerQueue<T>, item: T): void {
    queue.inFlight++;
    const done = this.#modules.post(peer, item).then(
      (reply) => {
        queue.failures = 0;
        queue.backoffUntil = 0;
        this.#modules.onSent(peer, item, reply);
      },
      (err: unknown) => {
        if (!isAborted(err)) {
          queue.failures++;
          queue.backoffUntil = this.#now() + Math.min(this.#options.backoffMs * 2 ** (queue.failures - 1), MAX_BACKOFF_MS);
          // What waits would meet the same fate.
          queue.waiting.length = 0;
        }
        this.#modules.onFailed(peer, item, err);
      },
    );
    const tracked = done.finally(() => {
      queue.inFlight--;
      this.#inFlight.delete(tracked);
      if (queue.waiting.length > 0 && !this.#closed && this.#now() >= queue.backoffUntil) this.#post(peer, queue, queue.waiting.shift()!);
    });
    this.#inFlight.add(tracked);
  }
}
