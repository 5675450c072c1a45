import { describe, expect, it } from 'vitest';
import { sealBlock, type Block } from '../../src/block.js';
import { blocksSince, meanBlockTime, timestampMs } from '../../src/block-times.js';
import { Chain } from '../../src/chain.js';

/** A chain (difficulty 0) whose blocks carry these timestamps. */
function chainAt(timestamps: readonly bigint[]): Chain {
  const blocks: Block[] = [];
  for (const [i, timestamp] of timestamps.entries()) {
    blocks.push(sealBlock({ index: BigInt(i), prevHash: blocks.at(-1)?.hash ?? '', data: `block ${i}`, timestamp }, 0n));
  }
  return new Chain(blocks);
}

describe('block times', () => {
  it('reads Unix seconds, milliseconds and jbc 20-digit local times', () => {
    expect(timestampMs(1_700_000_000n)).toBe(1_700_000_000_000);
    expect(timestampMs(1_700_000_000_123n)).toBe(1_700_000_000_123);
    expect(timestampMs(20171025013626123456n)).toBe(new Date(2017, 9, 25, 1, 36, 26, 123).getTime());
    expect(timestampMs(123456789012345678901234n)).toBeUndefined();
  });

  it('averages the time between the last blocks from the first and last of them', () => {
    const chain = chainAt([1000n, 1001n, 1003n, 1004n, 1010n]);
    expect(meanBlockTime(chain)).toEqual({ from: 0n, to: 4n, seconds: 2.5 });
    expect(meanBlockTime(chain, 3)).toEqual({ from: 2n, to: 4n, seconds: 3.5 });
    expect(meanBlockTime(chainAt([1000n]))).toBeUndefined();
    expect(meanBlockTime(new Chain())).toBeUndefined();
  });

  it('counts the blocks of the last minute from the tip down to the first older one', () => {
    const chain = chainAt([100n, 130n, 170n, 175n, 200n]);
    expect(blocksSince(chain, 200_000)).toEqual({ blocks: 3, from: 2n, capped: false });
    expect(blocksSince(chain, 1_000_000)).toEqual({ blocks: 0, from: undefined, capped: false });
    expect(blocksSince(chain, 200_000, 60_000, 2)).toEqual({ blocks: 2, from: 3n, capped: true });
    expect(blocksSince(chain, 200_000, 1_000_000)).toEqual({ blocks: 5, from: 0n, capped: false });
  });

  it('counts across more blocks than one read of the chain holds', () => {
    const chain = chainAt(Array.from({ length: 600 }, (_, i) => 10_000n + BigInt(i) / 10n));
    expect(blocksSince(chain, 10_060_000)).toEqual({ blocks: 600, from: 0n, capped: false });
  });
});
