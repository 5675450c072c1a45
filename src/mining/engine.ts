/**
 * The engine interface: one way of searching a nonce range for a header
 * prefix. Every engine (WASM kernels, the hash-wasm baseline, node:crypto)
 * implements it, runs synchronously in the calling thread, and is what a
 * Piscina worker or the in-thread miner calls. Expected outcomes are values,
 * not throws.
 */

export interface SearchRequest {
  /** UTF-8 bytes of the header up to the nonce (index + prev_hash + data + timestamp). */
  readonly prefix: Uint8Array;
  /** First nonce to try. Any size: nonces beyond 2^53 are bigint throughout. */
  readonly start: bigint;
  /** How many consecutive nonces to try, start .. start + count - 1. */
  readonly count: number;
  /**
   * The proof-of-work target: a nonce is a hit when the SHA-256 digest of
   * its header, read as a big-endian 256-bit number, is at most this.
   * jbc's D leading '0' hex digits is zerosTarget(D) (src/target.ts).
   */
  readonly target: bigint;
}

export type SearchResult =
  | { readonly status: 'found'; readonly nonce: bigint; readonly hashes: number }
  | { readonly status: 'exhausted'; readonly hashes: number }
  | { readonly status: 'stopped'; readonly hashes: number };

export interface Engine {
  readonly name: string;
  /**
   * Searches the range and returns the first nonce that meets the target.
   * `stop`, when given, is an Int32Array over a SharedArrayBuffer; the engine
   * checks `Atomics.load(stop, 0) !== 0` between chunks of nonces and returns
   * `stopped` as soon as it sees it set, so cancellation never waits for the
   * whole range.
   */
  search(request: SearchRequest, stop?: Int32Array): SearchResult;
}
