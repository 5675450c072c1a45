import { describe, expect, it } from 'vitest';
import { HeldBlocks, type HeldBlocksOptions } from '../../../src/network/held-blocks.js';
import { hashesOf, mineChain } from '../../helpers/fixtures.js';

const base = mineChain(3, 1, { tag: 'base' });
const a = mineChain(5, 1, { after: base.at(-1), tag: 'a' });
const b = mineChain(2, 1, { after: a[1], tag: 'b' });

const roomy: HeldBlocksOptions = { maxBlocks: 100, maxDataChars: 1_000_000, maxPerSender: 100, maxDepth: 10 };

describe('blocks held off the chain', () => {
  it('gives a block with its held ancestors, oldest first, down to the first whose parent is not held', () => {
    const held = new HeldBlocks(roomy);
    for (const block of [a[2]!, a[0]!, a[1]!]) held.add(block, 'p');
    expect(hashesOf(held.branchTo(a[2]!))).toEqual(hashesOf(a.slice(0, 3)));
    expect(hashesOf(held.branchTo(a[4]!))).toEqual(hashesOf([a[4]!]));
  });

  it('gives the longest run of held blocks after a block', () => {
    const held = new HeldBlocks(roomy);
    for (const block of [...a.slice(2, 4), ...b]) held.add(block, 'p');
    // After a[1]: a[2], a[3] or b[0], b[1]: as long; after a[2]: a[3].
    expect(held.longestAfter(a[1]!.hash)).toHaveLength(2);
    expect(hashesOf(held.longestAfter(a[2]!.hash))).toEqual(hashesOf([a[3]!]));
    held.add(a[4]!, 'p');
    expect(hashesOf(held.longestAfter(a[1]!.hash))).toEqual(hashesOf(a.slice(2)));
    expect(held.longestAfter(a[4]!.hash)).toEqual([]);
  });

  it('holds at most maxBlocks, dropping the oldest', () => {
    const held = new HeldBlocks({ ...roomy, maxBlocks: 3 });
    for (const block of a) held.add(block, 'p');
    expect(held.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => held.has(a[i]!.hash))).toEqual([false, false, true, true, true]);
  });

  it('holds at most maxDataChars of block data, and never a block bigger than that', () => {
    const perBlock = a[0]!.data.length;
    const held = new HeldBlocks({ ...roomy, maxDataChars: perBlock * 2 });
    for (const block of a.slice(0, 3)) held.add(block, 'p');
    expect(held.size).toBe(2);
    const tight = new HeldBlocks({ ...roomy, maxDataChars: perBlock - 1 });
    expect(tight.add(a[0]!, 'p')).toBe(false);
    expect(tight.size).toBe(0);
  });

  it("holds at most maxPerSender from one sender: a flood drops only that sender's oldest", () => {
    const held = new HeldBlocks({ ...roomy, maxPerSender: 2 });
    held.add(b[0]!, 'honest');
    for (const block of a) held.add(block, 'flood');
    expect(held.has(b[0]!.hash)).toBe(true);
    expect(held.size).toBe(3);
    expect(held.has(a[4]!.hash) && held.has(a[3]!.hash)).toBe(true);
  });

  it('drops blocks more than maxDepth below the tip, and those that joined the chain', () => {
    const held = new HeldBlocks({ ...roomy, maxDepth: 2 });
    for (const block of a) held.add(block, 'p');
    held.prune(a[4]!.index);
    expect(held.has(a[1]!.hash)).toBe(false);
    expect(held.has(a[2]!.hash)).toBe(true);
    held.delete([a[2]!.hash, a[3]!.hash]);
    expect(held.size).toBe(1);
    expect(held.add(a[4]!, 'p')).toBe(false);
  });
});
