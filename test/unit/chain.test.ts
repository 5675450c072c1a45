import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { Chain, isValidChain, longestValidPrefix, shouldAdopt, verifyChain, verifySegment } from '../../src/chain.js';
import { ErrorCode } from '../../src/errors.js';
import { fixedRule } from '../../src/retarget.js';
import { mineBlock, mineChain, seed } from '../helpers/fixtures.js';
import { thrown } from '../helpers/thrown.js';

const D = seed.difficulty;
const [zero, one, two, three] = seed.chain as [Block, Block, Block, Block];

describe('the article test.py, chain part', () => {
  it('blocks 0-2 form a valid chain of length 3', async () => {
    const blockchain = new Chain([zero, one, two]);
    expect(isValidChain(blockchain.toArray(), D)).toBe(true);
    expect(blockchain.length).toBe(3);
  });

  it('an empty chain has length 0, and 1 after adding block 0', () => {
    const empty = new Chain([]);
    expect(empty.length).toBe(0);
    empty.append(zero);
    expect(empty.length).toBe(1);
  });

  it('chains with the same blocks are equal and compare as neither longer nor shorter', () => {
    const blockchain = new Chain([zero, one, two]);
    const another = new Chain([zero, one, two]);
    expect(blockchain.equals(another)).toBe(true);
    expect(blockchain.compareLength(another)).toBe(0);
  });

  it('adding block 3 keeps the chain valid, makes it longer and no longer equal', async () => {
    const blockchain = new Chain([zero, one, two]);
    const another = new Chain([zero, one, two]);
    blockchain.append(three);
    expect(isValidChain(blockchain.toArray(), D)).toBe(true);
    expect(blockchain.length).toBe(4);
    expect(blockchain.equals(another)).toBe(false);
    expect(blockchain.compareLength(another)).toBe(1);
    expect(another.compareLength(blockchain)).toBe(-1);
  });
});

describe('chain queries', () => {
  const chain = new Chain(seed.chain);

  it('the tip is the last block and the height its index', () => {
    expect(chain.tip).toBe(three);
    expect(chain.height).toBe(3n);
    expect(new Chain().tip).toBeUndefined();
    expect(new Chain().height).toBe(-1n);
  });

  it('finds a block by index, and nothing past the tip or below zero', () => {
    expect(chain.at(2n)).toBe(two);
    expect(chain.at(4n)).toBeUndefined();
    expect(chain.at(-1n)).toBeUndefined();
  });

  it('finds a block by hash, and nothing for an unknown hash', () => {
    expect(chain.findByHash(one.hash)).toBe(one);
    expect(chain.findByHash(seed.competingBlockThree.hash)).toBeUndefined();
  });

  it('a range holds only the blocks that exist', () => {
    expect(chain.range(1n, 2)).toEqual([one, two]);
    expect(chain.range(2n, 100)).toEqual([two, three]);
    expect(chain.range(9n, 5)).toEqual([]);
    expect(chain.range(0n, 0)).toEqual([]);
  });

  it('chains differing in one block are not equal', () => {
    expect(chain.equals(new Chain([zero, one, two, seed.competingBlockThree]))).toBe(false);
  });
});

describe('append refuses a block that does not extend the tip', () => {
  it('a block with the wrong index', () => {
    const chain = new Chain([zero, one]);
    expect(() => chain.append(three)).toThrow(expect.objectContaining({ code: ErrorCode.NOT_EXTENDING_TIP }));
    expect(chain.length).toBe(2);
  });

  it('a block linked to another parent', () => {
    const chain = new Chain([zero, one, two]);
    const stranger = { ...three, prevHash: one.hash };
    expect(() => chain.append(stranger)).toThrow(expect.objectContaining({ code: ErrorCode.NOT_EXTENDING_TIP }));
  });

  it('a first block that is not block 0', () => {
    expect(() => new Chain([one])).toThrow(expect.objectContaining({ code: ErrorCode.NOT_EXTENDING_TIP }));
  });
});

describe('chain validity, one rule at a time', () => {
  it('the empty chain is valid', async () => {
    expect(isValidChain([], D)).toBe(true);
  });

  it('a chain whose first block is not index 0 is invalid', async () => {
    expect(thrown(() => verifyChain([one, two], D))).toMatchObject({ code: ErrorCode.INVALID_CHAIN, data: { reason: 'bad-index' } });
  });

  it('a block 0 with a non-empty prev_hash is invalid', async () => {
    const b = mineBlock({ index: 0n, prevHash: one.hash, data: 'x', timestamp: 1n }, 1);
    expect(thrown(() => verifyChain([b], 1))).toMatchObject({ data: { reason: 'bad-link' } });
  });

  it('block 0 itself must be valid at the difficulty', async () => {
    const badZero = { ...zero, nonce: zero.nonce + 1n };
    expect(thrown(() => verifyChain([badZero], D))).toMatchObject({ code: ErrorCode.INVALID_CHAIN, data: { index: '0', reason: 'hash-mismatch' } });
  });

  it('an index that skips is invalid', async () => {
    expect(thrown(() => verifyChain([zero, one, three], D))).toMatchObject({ data: { index: '3', reason: 'bad-index' } });
  });

  it('a prev_hash that is not the previous hash is invalid', async () => {
    const [a, b] = mineChain(2, 1);
    const forged = mineBlock({ index: 1n, prevHash: 'f'.repeat(64), data: 'x', timestamp: 1n }, 1);
    expect(isValidChain([a!, b!], 1)).toBe(true);
    expect(thrown(() => verifyChain([a!, forged], 1))).toMatchObject({ data: { index: '1', reason: 'bad-link' } });
  });

  it('a block valid at a lower difficulty makes the chain invalid at a higher one', async () => {
    let block = mineBlock({ index: 0n, prevHash: '', data: 'd', timestamp: 0n }, 1);
    for (let t = 1n; block.hash.startsWith('00'); t++) block = mineBlock({ index: 0n, prevHash: '', data: 'd', timestamp: t }, 1);
    expect(isValidChain([block], 1)).toBe(true);
    expect(thrown(() => verifyChain([block], 2))).toMatchObject({ data: { index: '0', reason: 'insufficient-work' } });
  });

  it('a segment is checked against the block it continues', async () => {
    const blocks = mineChain(4, 1);
    expect(() => verifySegment(blocks[1], blocks.slice(2), 1)).not.toThrow();
    expect(thrown(() => verifySegment(blocks[0], blocks.slice(2), 1))).toMatchObject({ code: ErrorCode.INVALID_CHAIN });
  });

  it('the longest valid prefix stops before the first bad block and says why', async () => {
    const { valid, rejected } = longestValidPrefix([zero, one, { ...two, data: 'tampered' }, three], fixedRule(D));
    expect(valid).toEqual([zero, one]);
    expect(rejected?.block.index).toBe(2n);
    expect(rejected?.error.data.reason).toBe('hash-mismatch');
  });
});

describe('fork choice', () => {
  it('adopts a valid, strictly longer chain', async () => {
    expect(shouldAdopt(new Chain([zero, one]), [zero, one, two], D)).toBe(true);
  });

  it('keeps the current chain on a tie, even with a different tip', async () => {
    const current = new Chain([zero, one, two, three]);
    expect(shouldAdopt(current, [zero, one, two, seed.competingBlockThree], D)).toBe(false);
  });

  it('keeps the current chain when the candidate is shorter', async () => {
    expect(shouldAdopt(new Chain(seed.chain), [zero], D)).toBe(false);
  });

  it('rejects a longer chain that is invalid', async () => {
    const forged = [zero, one, two, { ...three, nonce: 1n }];
    expect(thrown(() => shouldAdopt(new Chain([zero, one]), forged, D))).toMatchObject({ code: ErrorCode.INVALID_CHAIN });
  });
});
