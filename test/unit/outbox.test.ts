import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { BlockOutbox, MAX_BACKOFF_MS, MAX_IN_FLIGHT_PER_PEER } from '../../src/node/outbox.js';
import type { MinedReply } from '../../src/node/peer-client.js';
import { mineChain } from '../helpers/fixtures.js';

const blocks = mineChain(6, 1);
const PEER = 'http://peer/';

/** An outbox over posts the test settles by hand, on a clock the test moves. */
function outbox(backoffMs = 1000) {
  let time = 0;
  const posts: Array<{ block: Block; settle: (ok: boolean) => void }> = [];
  const box = new BlockOutbox(
    { backoffMs },
    {
      post: (_peer, block) =>
        new Promise<MinedReply>((resolve, reject) => {
          posts.push({ block, settle: (ok) => (ok ? resolve({ accepted: true, reason: undefined }) : reject(new Error('down'))) });
        }),
      onSent: () => {},
      onFailed: () => {},
      now: () => time,
    },
  );
  const settle = async (i: number, ok: boolean) => {
    posts[i]!.settle(ok);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { box, posts, settle, advance: (ms: number) => (time += ms) };
}

describe('the outbox of blocks to one peer', () => {
  it(`has at most ${MAX_IN_FLIGHT_PER_PEER} posts in flight; the newest waiting block goes next`, async () => {
    const { box, posts, settle } = outbox();
    for (const block of blocks) box.send(PEER, block);
    expect(posts.map((p) => p.block.index)).toEqual([0n, 1n]);
    await settle(0, true);
    expect(posts.map((p) => p.block.index)).toEqual([0n, 1n, 5n]);
    await settle(1, true);
    expect(posts).toHaveLength(3);
  });

  it('backs off after a failure, doubling with each failure in a row up to the cap; a success ends it', async () => {
    const { box, posts, settle, advance } = outbox(1000);
    let n = 0;
    const failNext = async () => {
      box.send(PEER, blocks[0]!);
      await settle(n++, false);
    };
    await failNext();
    for (const wait of [1000, 2000, 4000]) {
      advance(wait - 1);
      box.send(PEER, blocks[1]!);
      expect(posts).toHaveLength(n);
      advance(1);
      await failNext();
    }
    advance(MAX_BACKOFF_MS);
    box.send(PEER, blocks[2]!);
    await settle(n++, true);
    box.send(PEER, blocks[3]!);
    expect(posts).toHaveLength(n + 1);
  });

  it('never waits longer than the cap', async () => {
    const { box, posts, settle, advance } = outbox(MAX_BACKOFF_MS);
    box.send(PEER, blocks[0]!);
    await settle(0, false);
    advance(MAX_BACKOFF_MS);
    box.send(PEER, blocks[0]!);
    await settle(1, false);
    // Twice the first back-off would be 2 × MAX_BACKOFF_MS.
    advance(MAX_BACKOFF_MS);
    box.send(PEER, blocks[1]!);
    expect(posts).toHaveLength(3);
  });
});
