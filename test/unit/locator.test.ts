import { describe, expect, it } from 'vitest';
import { Chain } from '../../src/chain.js';
import { blockLocator, DENSE_LOCATOR_BLOCKS, locateFork, locatorHeights, MAX_LOCATOR_HASHES } from '../../src/locator.js';
import { mineChain } from '../helpers/fixtures.js';

describe('block locators', () => {
  it('name the last 16 blocks one by one, then ever further apart, down to block 0', () => {
    expect(locatorHeights(0)).toEqual([]);
    expect(locatorHeights(1)).toEqual([0]);
    expect(locatorHeights(5)).toEqual([4, 3, 2, 1, 0]);
    const heights = locatorHeights(1000);
    expect(heights.slice(0, DENSE_LOCATOR_BLOCKS)).toEqual(Array.from({ length: DENSE_LOCATOR_BLOCKS }, (_, i) => 999 - i));
    const steps = heights
      .slice(DENSE_LOCATOR_BLOCKS - 1, -1)
      .map((h, i, all) => (i === 0 ? 0 : all[i - 1]! - h))
      .slice(1);
    expect(steps).toEqual(steps.map((_, i) => 2 ** (i + 1)));
    expect(heights.at(-1)).toBe(0);
  });

  it('stay short at any height: a 2^53-block chain needs fewer hashes than a locator may hold', () => {
    expect(locatorHeights(2 ** 20).length).toBeLessThan(40);
    expect(locatorHeights(Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(MAX_LOCATOR_HASHES);
  });

  it('are answered from one past the newest named block the answering chain holds', () => {
    const common = mineChain(30, 1, { tag: 'common' });
    const ours = new Chain([...common, ...mineChain(3, 1, { after: common.at(-1), tag: 'ours' })]);
    const theirs = new Chain([...common, ...mineChain(5, 1, { after: common.at(-1), tag: 'theirs' })]);
    expect(locateFork(theirs, blockLocator(ours))).toBe(30n);
    expect(locateFork(ours, blockLocator(ours))).toBe(33n);
    expect(locateFork(new Chain(mineChain(4, 1, { tag: 'other' })), blockLocator(ours))).toBe(0n);
  });
});
