import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockHeader, isValidBlock, type Block } from '../../src/block.js';
import { isValidChain } from '../../src/chain.js';
import { ErrorCode } from '../../src/errors.js';
import { initHashing, sha256Hex } from '../../src/hash.js';
import {
  MAX_FUTURE_SECONDS,
  MAX_INTERVAL_FACTOR,
  MAX_OWN_AHEAD_SECONDS,
  RETARGET_WINDOW,
  TargetTrail,
  earliestMiningSecond,
  fixedRule,
  miningTimestamp,
  type ChainRule,
  type Stamp,
} from '../../src/retarget.js';
import { HASH_SPACE, targetDifficulty, targetWork, zerosTarget } from '../../src/target.js';
import { fixturePath } from '../helpers/fixtures.js';
import { thrown } from '../helpers/thrown.js';

await initHashing();

interface VectorCase {
  name: string;
  difficulty: number;
  targetBlockTimeMs: number;
  timestamps: string[];
  targets: string[];
}
const vectors = (JSON.parse(readFileSync(fixturePath('retarget-vectors.json'), 'utf8')) as { cases: VectorCase[] }).cases;

/** A block whose hash is 0: it meets any target, so a trail can be walked with made-up timestamps alone. */
function stampBlock(index: number, timestamp: bigint): Block {
  return { index: BigInt(index), timestamp, data: '', prevHash: '', nonce: 0n, hash: '0'.repeat(64) };
}

/**
 * Blocks mined by a network of `hashrate(height)` hashes a second, each
 * taking exactly the expected time for its target (so the figures are
 * deterministic), timestamps in whole seconds as a miner stamps them. Returns each block's target
 * and timestamp.
 */
function simulate(rule: ChainRule, blocks: number, hashrate: (height: number) => number, gapAt?: { height: number; seconds: number }) {
  const trail = TargetTrail.from(rule, [], 0n);
  const out: Array<Stamp & { interval: number }> = [];
  let clock = 1_700_000_000;
  for (let height = 0; height < blocks; height++) {
    const target = trail.target;
    const timestamp = miningTimestamp(trail, BigInt(Math.floor(clock)));
    trail.push(stampBlock(height, timestamp));
    const seconds = Number(targetWork(target)) / hashrate(height) + (gapAt?.height === height ? gapAt.seconds : 0);
    out.push({ timestamp, target, interval: seconds });
    clock += seconds;
  }
  return out;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const T = 2000;
const rule: ChainRule = { difficulty: 1, targetBlockTimeMs: T };
/** The target at which a network of `hashrate` takes T per block on average. */
const balanced = (hashrate: number) => Number(HASH_SPACE) / (hashrate * (T / 1000));

describe('target vectors (made-up timestamps, values from an independent implementation of the documented formula)', () => {
  for (const vector of vectors) {
    it(vector.name, () => {
      const trail = TargetTrail.from({ difficulty: vector.difficulty, targetBlockTimeMs: vector.targetBlockTimeMs }, [], 0n);
      const got = vector.timestamps.map((timestamp, i) => {
        const target = trail.target;
        trail.push(stampBlock(i, BigInt(timestamp)));
        return target.toString(16).padStart(64, '0');
      });
      expect(got).toEqual(vector.targets);
    });
  }

  it('a trail rebuilt from the newest blocks of a chain gives what the trail walked from block 0 gives', () => {
    const blocks = simulate(rule, 300, () => 50_000);
    const walked = TargetTrail.from(rule, [], 0n);
    for (const [i, b] of blocks.entries()) walked.push(stampBlock(i, b.timestamp));
    const rebuilt = TargetTrail.from(rule, blocks.slice(-TargetTrail.depth), 300n);
    expect(rebuilt.target).toBe(walked.target);
    expect(rebuilt.medianTime).toBe(walked.medianTime);
  });
});

describe('the target follows the hash rate', () => {
  it('the first two blocks of a chain have the easiest target, `--difficulty` zeros', () => {
    const [zero, one, two] = simulate(rule, 3, () => 1e9);
    expect(zero!.target).toBe(zerosTarget(1));
    expect(one!.target).toBe(zerosTarget(1));
    expect(two!.target).toBeLessThan(zerosTarget(1));
  });

  it('a steady hash rate settles at one block per target block time', () => {
    const blocks = simulate(rule, 400, () => 2_000_000);
    const settled = blocks.slice(200);
    expect(mean(settled.map((b) => b.interval))).toBeGreaterThan(1.8);
    expect(mean(settled.map((b) => b.interval))).toBeLessThan(2.2);
    const target = Number(settled.at(-1)!.target);
    expect(target / balanced(2_000_000)).toBeGreaterThan(0.9);
    expect(target / balanced(2_000_000)).toBeLessThan(1.1);
  });

  it('when the hash rate doubles, the target halves and blocks come back to the target block time', () => {
    const blocks = simulate(rule, 600, (height) => (height < 300 ? 2_000_000 : 4_000_000));
    const before = Number(blocks[299]!.target);
    const after = blocks.slice(450);
    expect(Number(after.at(-1)!.target) / before).toBeGreaterThan(0.45);
    expect(Number(after.at(-1)!.target) / before).toBeLessThan(0.55);
    expect(mean(after.map((b) => b.interval))).toBeGreaterThan(1.8);
    expect(mean(after.map((b) => b.interval))).toBeLessThan(2.2);
  });

  it('when the hash rate halves, the target doubles and blocks come back to the target block time', () => {
    const blocks = simulate(rule, 600, (height) => (height < 300 ? 4_000_000 : 2_000_000));
    const before = Number(blocks[299]!.target);
    const after = blocks.slice(450);
    expect(Number(after.at(-1)!.target) / before).toBeGreaterThan(1.8);
    expect(Number(after.at(-1)!.target) / before).toBeLessThan(2.2);
    expect(mean(after.map((b) => b.interval))).toBeGreaterThan(1.8);
    expect(mean(after.map((b) => b.interval))).toBeLessThan(2.2);
  });

  it('after a gap of an hour the target eases by one bounded step a block, and settles again once the gap leaves the window', () => {
    const blocks = simulate(rule, 500, () => 2_000_000, { height: 250, seconds: 3600 });
    for (let h = 251; h < 500; h++) {
      expect(blocks[h]!.target).toBeLessThanOrEqual(blocks[h - 1]!.target * 2n);
      expect(blocks[h]!.target).toBeGreaterThanOrEqual(blocks[h - 1]!.target / 2n);
    }
    // The gap counts as MAX_INTERVAL_FACTOR block times, so the window's span grows by at most that much.
    const settled = Number(blocks[249]!.target);
    const peak = Math.max(...blocks.slice(251, 251 + RETARGET_WINDOW).map((b) => Number(b.target)));
    expect(peak / settled).toBeLessThan(Number(MAX_INTERVAL_FACTOR) + 1);
    expect(Number(blocks[499]!.target) / settled).toBeGreaterThan(0.9);
    expect(Number(blocks[499]!.target) / settled).toBeLessThan(1.1);
  });

  it('the target is never easier than `--difficulty` zeros, however slowly blocks come', () => {
    const blocks = simulate(rule, 200, () => 100);
    for (const b of blocks) expect(b.target).toBeLessThanOrEqual(zerosTarget(1));
  });

  it('a difficulty of leading zeros reads back as that difficulty', () => {
    for (const zeros of [0, 1, 5, 7, 12]) expect(targetDifficulty(zerosTarget(zeros))).toBeCloseTo(zeros, 9);
  });
});

describe('a block and its target', () => {
  it('a block whose hash is above its target is refused, saying so', () => {
    // Three blocks a second apart at a 2 s target: the next target is harder than `--difficulty` zeros.
    const recent = [0n, 1n, 2n].map((i): Stamp => ({ timestamp: 1_700_000_000n + i, target: zerosTarget(1) }));
    const trail = TargetTrail.from(rule, recent, 3n);
    expect(trail.target).toBeLessThan(zerosTarget(1));
    // It has the leading zero jbc's check asks for, and is still above the target.
    const above = { ...stampBlock(3, 1_700_000_003n), hash: `0${'f'.repeat(63)}` };
    const err = thrown(() => trail.push(above));
    expect(err).toMatchObject({ code: ErrorCode.INVALID_BLOCK, data: { reason: 'above-target' } });
    expect(err.message).toContain(`block 3 hash is above its target ${trail.target.toString(16).padStart(64, '0')}`);
  });

  it('under the fixed rule, any timestamp goes and the target is `--difficulty` zeros', () => {
    const trail = TargetTrail.from(fixedRule(3), [], 0n);
    for (const [i, timestamp] of [20171025120000000000n, 5n, 1n].entries()) {
      expect(trail.target).toBe(zerosTarget(3));
      trail.push(stampBlock(i, timestamp));
    }
  });

  it('every block mined at its target also passes the plain jbc check at `--difficulty`', () => {
    const trail = TargetTrail.from(rule, [], 0n);
    const blocks: Block[] = [];
    const now = 1_700_000_000n;
    for (let i = 0; i < 12; i++) {
      const target = trail.target;
      const template = { index: BigInt(i), prevHash: blocks.at(-1)?.hash ?? '', data: `block ${i}`, timestamp: miningTimestamp(trail, now) };
      let nonce = 0n;
      let hash = sha256Hex(blockHeader(template, nonce));
      while (BigInt(`0x${hash}`) > target) hash = sha256Hex(blockHeader(template, ++nonce));
      const block = { ...template, nonce, hash };
      trail.push(block, now);
      blocks.push(block);
    }
    expect(trail.target).toBeLessThan(zerosTarget(2)); // the target did move past what jbc's check asks
    for (const block of blocks) expect(isValidBlock(block, rule.difficulty)).toBe(true);
    expect(isValidChain(blocks, rule.difficulty)).toBe(true);
  });
});

describe('timestamps', () => {
  const recent = Array.from({ length: 11 }, (_, i): Stamp => ({ timestamp: 1_700_000_000n + BigInt(i * 2), target: zerosTarget(1) }));
  const trail = () => TargetTrail.from(rule, recent, 11n);
  const median = 1_700_000_010n;

  it('must be later than the median of the 11 blocks before', () => {
    expect(trail().medianTime).toBe(median);
    expect(thrown(() => trail().push(stampBlock(11, median)))).toMatchObject({ code: ErrorCode.INVALID_BLOCK, data: { reason: 'timestamp-too-old' } });
    expect(() => trail().push(stampBlock(11, median + 1n))).not.toThrow();
  });

  it(`may be at most ${MAX_FUTURE_SECONDS} s ahead of the checking node's clock`, () => {
    const now = 1_700_000_030n;
    expect(thrown(() => trail().push(stampBlock(11, now + MAX_FUTURE_SECONDS + 1n), now))).toMatchObject({
      code: ErrorCode.INVALID_BLOCK,
      data: { reason: 'timestamp-too-new' },
    });
    expect(() => trail().push(stampBlock(11, now + MAX_FUTURE_SECONDS), now)).not.toThrow();
  });

  it("are Unix seconds: jbc's 20-digit date-times and milliseconds are refused by name", () => {
    expect(thrown(() => trail().push(stampBlock(11, 20261207055341123456n)))).toMatchObject({
      data: { reason: 'timestamp-format' },
      message: expect.stringContaining("jbc's date-time form"),
    });
    expect(thrown(() => trail().push(stampBlock(11, 1_765_000_000_000n)))).toMatchObject({
      data: { reason: 'timestamp-format' },
      message: expect.stringContaining('milliseconds'),
    });
  });

  it('a miner whose clock is behind the median stamps its block just past it', () => {
    expect(miningTimestamp(trail(), median - 100n)).toBe(median + 1n);
    expect(miningTimestamp(trail(), median + 5n)).toBe(median + 5n);
  });

  it(`a miner stamps its own blocks at most ${MAX_OWN_AHEAD_SECONDS} s ahead of its clock: it mines once its clock reaches the median + 1 less that`, () => {
    expect(earliestMiningSecond(trail())).toBe(median + 1n - MAX_OWN_AHEAD_SECONDS);
    expect(miningTimestamp(trail(), earliestMiningSecond(trail())) - earliestMiningSecond(trail())).toBe(MAX_OWN_AHEAD_SECONDS);
    // Under jbc's rule timestamps are free, and so is the miner.
    expect(earliestMiningSecond(TargetTrail.from(fixedRule(1), recent, 11n))).toBe(0n);
  });
});
