/**
 * Blocks on their way to peers, bounded per peer. A peer that accepts the
 * connection and never answers would otherwise hold one socket (and a
 * request's buffers) per block until the request times out: at hundreds of
 * blocks a second that is thousands of sockets, and the node slows down.
 *
 * So each peer has at most `MAX_IN_FLIGHT_PER_PEER` posts in flight; a block
 * sent meanwhile waits in a one-block slot, where a newer block replaces an
 * older one (only the newest tip matters: a peer that gets it and lacks its
 * parents syncs them). A peer whose post failed is skipped for a back-off
 * that doubles with each failure in a row. Posting never blocks the caller.
 */
import type { Block } from '../block.js';
import { isAborted } from '../errors.js';
import type { MinedReply } from './peer-client.js';
import { peerKey } from './peer-url.js';

/** Posts one peer may have in flight at once. */
export const MAX_IN_FLIGHT_PER_PEER = 2;
/** Longest back-off after failed posts. */
export const MAX_BACKOFF_MS = 60_000;

export interface OutboxOptions {
  /** Back-off after the first failed post; it doubles with each further failure, up to MAX_BACKOFF_MS. */
  readonly backoffMs: number;
}

export interface OutboxModules {
  readonly post: (peer: string, block: Block) => Promise<MinedReply>;
  /** Told of each post's outcome (the peer list keeps health). */
  readonly onSent: (peer: string, block: Block, reply: MinedReply) => void;
  readonly onFailed: (peer: string, block: Block, err: unknown) => void;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
}

interface PeerQueue {
  inFlight: number;
  /** The newest block waiting for a free slot. */
  waiting: Block | undefined;
  failures: number;
  /** No post before this time (now() units). */
  backoffUntil: number;
}

export class BlockOutbox {
  readonly #options: OutboxOptions;
  readonly #modules: OutboxModules;
  readonly #now: () => number;
  readonly #queues = new Map<string, PeerQueue>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: OutboxOptions, modules: OutboxModules) {
    this.#options = options;
    this.#modules = modules;
    this.#now = modules.now ?? (() => performance.now());
  }

  /** Sends `block` to `peer` now, or when a slot frees; skipped while the peer is in back-off. */
  send(peer: string, block: Block): void {
    const key = peerKey(peer);
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { inFlight: 0, waiting: undefined, failures: 0, backoffUntil: 0 };
      this.#queues.set(key, queue);
    }
    if (this.#closed || this.#now() < queue.backoffUntil) return;
    if (queue.inFlight < MAX_IN_FLIGHT_PER_PEER) this.#post(peer, queue, block);
    else if (queue.waiting === undefined || block.index >= queue.waiting.index) queue.waiting = block;
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

  #post(peer: string, queue: PeerQueue, block: Block): void {
    queue.inFlight++;
    const done = this.#modules.post(peer, block).then(
      (reply) => {
        queue.failures = 0;
        queue.backoffUntil = 0;
        this.#modules.onSent(peer, block, reply);
      },
      (err: unknown) => {
        if (!isAborted(err)) {
          queue.failures++;
          queue.backoffUntil = this.#now() + Math.min(this.#options.backoffMs * 2 ** (queue.failures - 1), MAX_BACKOFF_MS);
          // What waited would meet the same fate; the next block after the back-off is newer anyway.
          queue.waiting = undefined;
        }
        this.#modules.onFailed(peer, block, err);
      },
    );
    const tracked = done.finally(() => {
      queue.inFlight--;
      this.#inFlight.delete(tracked);
      const next = queue.waiting;
      if (next !== undefined && !this.#closed && this.#now() >= queue.backoffUntil) {
        queue.waiting = undefined;
        this.#post(peer, queue, next);
      }
    });
    this.#inFlight.add(tracked);
  }
}
