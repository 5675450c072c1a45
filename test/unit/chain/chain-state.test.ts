import { afterEach, describe, expect, it } from 'vitest';
import type { Block } from '../../../src/block.js';
import { ErrorCode } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { ChainState, type TipChange } from '../../../src/chain/chain-state.js';
import { removeDir, tempDir } from '../../e2e/helpers/fixtures.js';
import { hashesOf, mineChain, seed } from '../../helpers/fixtures.js';

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
