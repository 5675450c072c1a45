import { afterEach, describe, expect, it } from 'vitest';
import { isValidBlock, type Block } from '../../../src/block.js';
import { TargetTrail, type ChainRule } from '../../../src/retarget.js';
import { targetWork } from '../../../src/target.js';
import { ErrorCode } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { ChainState, type TipChange } from '../../../src/chain/chain-state.js';
import { removeDir, tempDir } from '../../e2e/helpers/fixtures.js';
import { hashesOf, mineAboveTarget, mineChain, mineOnTrail, seed, workFork } from '../../helpers/fixtures.js';

const states: ChainState[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(states.splice(0).map((state) => state.close()));
  await Promise.all(dirs.splice(0).map(removeDir));
});

async function chainState(blocks: readonly Block[], difficulty: number): Promise<ChainState> {
  const dir = await tempDir('jbc-chain-state-');
  dirs.push(dir);
  const state = await ChainState.open({ dataDir: dir, difficulty, jbcFiles: false }, { logger: silentLogger });
  states.push(state);
  if (blocks.length > 0) await state.adopt({ peer: 'setup', forkPoint: 0, blocks });
  return state;
}

describe('a block from a peer', () => {
  it('of two competing blocks at one height, the node keeps the one it has, even when the other was mined earlier', async () => {
    const [zero, one, two, three] = seed.chain;
    expect(three!.timestamp).toBeLessThan(seed.competingBlockThree.timestamp);
    const state = await chainState([zero!, one!, two!, seed.competingBlockThree], seed.difficulty);
    expect(await state.receive(three!)).toEqual({ kind: 'stale', height: 3n });
    expect(state.view.tip!.hash).toBe(seed.competingBlockThree.hash);
  });

  it('is accepted when it extends the tip, known when held, ahead when it does not link', async () => {
    const blocks = mineChain(4, 1);
    const state = await chainState(blocks.slice(0, 2), 1);
    const tips: TipChange[] = [];
    state.onTip((change) => tips.push(change));
    expect(await state.receive(blocks[2]!)).toEqual({ kind: 'accepted' });
    expect(await state.receive(blocks[2]!)).toEqual({ kind: 'known' });
    expect(await state.receive(mineChain(2, 1, { after: blocks[3], tag: 'far' })[1]!)).toEqual({ kind: 'ahead', height: 2n });
    expect(tips.map((t) => [t.source, t.tip?.index])).toEqual([['peer', 2n]]);
  });

  it('without its proof of work is refused before anything is queued', async () => {
    const state = await chainState([], 3);
    const [weak] = mineChain(1, 0);
    expect(() => state.receive(weak!)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_BLOCK }));
  });
});

describe('adopting blocks from a sync', () => {
  const common = mineChain(3, 1, { tag: 'common' });
  const ours = mineChain(3, 1, { after: common[2], tag: 'ours' });
  const theirs = mineChain(5, 1, { after: common[2], tag: 'theirs' });

  it('replaces the chain from the fork point when that makes it longer, writing only new blocks', async () => {
    const state = await chainState([...common, ...ours], 1);
    const result = await state.adopt({ peer: 'p', forkPoint: 2, blocks: [common[2]!, ...theirs] });
    expect(result).toEqual({ adopted: true, forkPoint: 3, written: 5, abandoned: 3, previousLength: 6 });
    expect(hashesOf(state.view)).toEqual(hashesOf([...common, ...theirs]));
  });

  it('is refused when it would not make the chain strictly longer', async () => {
    const state = await chainState([...common, ...ours], 1);
    expect(await state.adopt({ peer: 'p', forkPoint: 3, blocks: theirs.slice(0, 3) })).toEqual({ adopted: false, reason: 'not-longer' });
    expect(hashesOf(state.view)).toEqual(hashesOf([...common, ...ours]));
  });

  it('is refused as diverged when the chain no longer holds the block it links to', async () => {
    const state = await chainState([...mineChain(3, 1, { tag: 'other' })], 1);
    expect(await state.adopt({ peer: 'p', forkPoint: 3, blocks: theirs })).toEqual({ adopted: false, reason: 'diverged' });
    expect(await state.adopt({ peer: 'p', forkPoint: 9, blocks: [] })).toEqual({ adopted: false, reason: 'diverged' });
  });

  it('a snapshot does not show blocks appended after it was taken', async () => {
    const state = await chainState([...common, ...ours], 1);
    const before = state.snapshot();
    await state.appendOwn(mineChain(1, 1, { after: ours[2], tag: 'next' })[0]!);
    expect(before.length).toBe(6);
    expect(before.at(6n)).toBeUndefined();
    expect(before.tip?.hash).toBe(ours[2]!.hash);
    expect(hashesOf(before)).toEqual(hashesOf([...common, ...ours]));
    expect(state.view.length).toBe(7);
  });
});

describe('a chain with a target block time', () => {
  const rule: ChainRule = { difficulty: 0, targetBlockTimeMs: 2000 };

  async function retargetState(blocks: readonly Block[], dir?: string): Promise<ChainState> {
    const dataDir = dir ?? (await tempDir('jbc-chain-state-'));
    if (dir === undefined) dirs.push(dataDir);
    const state = await ChainState.open(
      { dataDir, difficulty: rule.difficulty, targetBlockTimeMs: rule.targetBlockTimeMs, jbcFiles: false },
      { logger: silentLogger },
    );
    states.push(state);
    if (blocks.length > 0) await state.adopt({ peer: 'setup', forkPoint: 0, blocks });
    return state;
  }

  /** The work of `blocks` on top of `trail`. */
  function workOf(trail: TargetTrail, blocks: readonly Block[]): bigint {
    const copy = trail.clone();
    return blocks.reduce((sum, block) => sum + targetWork(copy.push(block)), 0n);
  }

  const fork = () => workFork(rule);

  it('a chain with more work and fewer blocks wins', async () => {
    const { trail, prefix, heavy, light } = fork();
    expect(heavy.length).toBeLessThan(light.length);
    expect(workOf(trail, heavy)).toBeGreaterThan(workOf(trail, light));
    const state = await retargetState([...prefix, ...light]);
    expect(await state.adopt({ peer: 'p', forkPoint: 10, blocks: heavy })).toMatchObject({ adopted: true, abandoned: 3, written: 2 });
    expect(hashesOf(state.view)).toEqual(hashesOf([...prefix, ...heavy]));
  });

  it('a chain with more blocks and less work loses', async () => {
    const { prefix, heavy, light } = fork();
    const state = await retargetState([...prefix, ...heavy]);
    expect(await state.adopt({ peer: 'p', forkPoint: 10, blocks: light })).toEqual({ adopted: false, reason: 'not-longer' });
    expect(hashesOf(state.view)).toEqual(hashesOf([...prefix, ...heavy]));
  });

  it('a tie in work keeps the chain the node has', async () => {
    const { trail, prefix, heavy } = fork();
    const twin = mineOnTrail(trail.clone(), prefix.at(-1), prefix.at(-1)!.timestamp, [1, 1], 'twin');
    expect(workOf(trail, twin)).toBe(workOf(trail, heavy));
    const state = await retargetState([...prefix, ...heavy]);
    expect(await state.adopt({ peer: 'p', forkPoint: 10, blocks: twin })).toEqual({ adopted: false, reason: 'not-longer' });
  });

  it('a batch weighed while shorter is weighed again once it grows, as sync hands it over', async () => {
    const { prefix, heavy, light } = fork();
    const state = await retargetState([...prefix, ...light]);
    // Sync asks of a batch as it grows in place, then adopts that same array.
    const batch = heavy.slice(0, 1);
    expect(state.outworks(10, batch)).toBe(false);
    batch.push(heavy[1]!);
    expect(state.outworks(10, batch)).toBe(true);
    expect(await state.adopt({ peer: 'p', forkPoint: 10, blocks: batch })).toMatchObject({ adopted: true, written: 2, abandoned: 3 });
  });

  it('a batch weighed before the tip moved is weighed again against the new tip', async () => {
    const { prefix, heavy, light } = fork();
    const state = await retargetState([...prefix, heavy[0]!]);
    expect(state.outworks(10, light)).toBe(true);
    // Meanwhile a peer's block makes the heavy branch the tip.
    expect(await state.receive(heavy[1]!)).toEqual({ kind: 'accepted' });
    expect(await state.adopt({ peer: 'p', forkPoint: 10, blocks: light })).toEqual({ adopted: false, reason: 'not-longer' });
    expect(hashesOf(state.view)).toEqual(hashesOf([...prefix, ...heavy]));
  });

  it('a block that misses the target its ancestors imply is refused with the reason, and nothing is written', async () => {
    const { prefix, heavy } = fork();
    const state = await retargetState(prefix);
    const target = state.nextTrail().target;
    // Difficulty 0 takes any hash; the chain's target does not.
    const easy = mineAboveTarget({ ...heavy[0]!, data: 'too easy' }, target, rule.difficulty);
    expect(isValidBlock(easy, rule.difficulty)).toBe(true);
    await expect(state.adopt({ peer: 'p', forkPoint: 10, blocks: [easy] })).rejects.toMatchObject({
      code: ErrorCode.INVALID_CHAIN,
      data: { reason: 'above-target' },
    });
    await expect(state.receive(easy)).rejects.toMatchObject({ code: ErrorCode.INVALID_BLOCK, data: { reason: 'above-target' } });
    expect(state.view.length).toBe(10);
  });

  it("keeps each block's target and the chain's work in the data dir, and reads them back after a restart", async () => {
    const { trail, prefix, heavy } = fork();
    const dir = await tempDir('jbc-chain-state-');
    dirs.push(dir);
    const first = await retargetState([...prefix, ...heavy], dir);
    const targets = [...prefix, ...heavy].map((b) => first.targetAt(b.index));
    const work = first.work;
    const next = first.nextTrail().target;
    await first.close();
    states.splice(states.indexOf(first), 1);
    const again = await retargetState([], dir);
    expect([...prefix, ...heavy].map((b) => again.targetAt(b.index))).toEqual(targets);
    expect(again.work).toBe(work);
    expect(work).toBe(workOf(TargetTrail.from(rule, [], 0n), [...prefix, ...heavy]));
    expect(again.nextTrail().target).toBe(next);
    expect(trail.target).toBe(targets[10]);
  });

  it('a data dir opened with another target block time is refused naming both, and changes nothing', async () => {
    const dir = await tempDir('jbc-chain-state-');
    dirs.push(dir);
    const { prefix } = fork();
    const first = await retargetState(prefix, dir);
    await first.close();
    states.splice(states.indexOf(first), 1);
    await expect(ChainState.open({ dataDir: dir, difficulty: 0, targetBlockTimeMs: 0, jbcFiles: false }, { logger: silentLogger })).rejects.toMatchObject({
      code: ErrorCode.DIFFICULTY_MISMATCH,
      message: `${dir} holds a chain with a target block time of 2 s; start with --target-block-time 2 or another --data-dir (not --target-block-time 0)`,
    });
    await expect(ChainState.open({ dataDir: dir, difficulty: 0, targetBlockTimeMs: 5000, jbcFiles: false }, { logger: silentLogger })).rejects.toMatchObject({
      code: ErrorCode.DIFFICULTY_MISMATCH,
    });
    expect((await retargetState([], dir)).view.length).toBe(10);
  });
});
