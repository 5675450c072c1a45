/**
 * Block locators: how two nodes find where their chains part in one request,
 * without either sending the other its chain (Bitcoin's `getheaders`
 * locator). The asking node lists hashes of its own chain, every block of
 * the last DENSE_LOCATOR_BLOCKS and then ever further apart down to block 0;
 * the answering node finds the first of them on its chain and sends the
 * blocks after it. Pure: no I/O.
 */
import type { ChainView } from './chain.js';

/** Blocks below the tip that a locator names one by one: a fork no deeper than this costs no block twice. */
export const DENSE_LOCATOR_BLOCKS = 16;

/** Most hashes a locator may hold: dense part, doubling steps over 2^64 heights, block 0, with room. */
export const MAX_LOCATOR_HASHES = 101;

/**
 * Heights a locator of a chain of `length` blocks names, tip first: the
 * tip and the DENSE_LOCATOR_BLOCKS - 1 below it, then steps that double,
 * ending with block 0. About 16 + log2(length) heights.
 */
export function locatorHeights(length: number): number[] {
  const heights: number[] = [];
  let step = 1;
  for (let height = length - 1; height > 0; height -= step) {
    heights.push(height);
    if (heights.length >= DENSE_LOCATOR_BLOCKS) step *= 2;
  }
  if (length > 0) heights.push(0);
  return heights;
}

/** The locator of `view`: the hashes at `locatorHeights`, tip first. */
export function blockLocator(view: ChainView): string[] {
  return locatorHeights(view.length).map((height) => view.at(BigInt(height))!.hash);
}

/**
 * Where the blocks a locator's owner lacks begin on `view`: one past the
 * first locator hash that is on `view`, or 0 when none is (the chains share
 * no block).
 */
export function locateFork(view: ChainView, locator: readonly string[]): bigint {
  for (const hash of locator) {
    const block = view.findByHash(hash);
    if (block !== undefined) return block.index + 1n;
  }
  return 0n;
}
