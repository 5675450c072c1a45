import { describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { firstComeUpTo, MAX_BACKOFF_MS, MAX_IN_FLIGHT_PER_PEER, newestBlockWins, Outbox, type Enqueue } from '../../src/node/outbox.js';
import { mineChain } from '../helpers/fixtures.js';

const blocks = mineChain(6, 1);
const PEER = 'http://peer/';

/** An outbox over posts the test settles by hand, on a clock the test moves. */
function outboxOf<T>(enqueue: Enqueue<T>, backoffMs = 1000) {
  let time = 0;
  const posts: Array<{ item: T; settle: (ok: boolean) => void }> = [];
  const box = new Outbox<T, true>(
    { backoffMs, enqueue },
    {
      post: (_peer, item) =>
        new Promise<true>((resolve, reject) => {
          posts.push({ item, settle: (ok) => (ok ? resolve(true) : reject(new Error('down'))) });
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

const outbox = (backoffMs = 1000) => outboxOf<Block>(newestBlockWins, backoffMs);

describe('the outbox of blocks to one peer', () => {
  it(`has at most ${MAX_IN_FLIGHT_PER_PEER} posts in flight; the newest waiting block goes next`, async () => {
    const { box, posts, settle } = outbox();
    for (const block of blocks) box.send(PEER, block);
    expect(posts.map((p) => p.item.index)).toEqual([0n, 1n]);
    await settle(0, true);
    expect(posts.map((p) => p.item.index)).toEqual([0n, 1n, 5n]);
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

describe('the outbox of data entries to one peer', () => {
  it(`has at most ${MAX_IN_FLIGHT_PER_PEER} posts in flight; up to its limit the rest wait in order, and past it new ones are left out`, async () => {
    const { box, posts, settle } = outboxOf<string>(firstComeUpTo(3));
    for (const entry of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) box.send(PEER, entry);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b']);
    for (let i = 0; i < 5; i++) await settle(i, true);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a failure empties the line: what waited is not sent into the back-off', async () => {
    const { box, posts, settle, advance } = outboxOf<string>(firstComeUpTo(10), 1000);
    for (const entry of ['a', 'b', 'c', 'd']) box.send(PEER, entry);
    await settle(0, false);
    await settle(1, true);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b']);
    advance(1000);
    box.send(PEER, 'e');
    expect(posts.map((p) => p.item)).toEqual(['a', 'b', 'e']);
  });
});
