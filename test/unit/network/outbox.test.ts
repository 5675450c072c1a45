import { describe, expect, it } from 'vitest';
import type { Block } from '../../../src/block.js';
import { firstComeUpTo, MAX_BACKOFF_MS, newestUpTo, Outbox, type OutboxOptions } from '../../../src/network/outbox.js';
import { mineChain } from '../../helpers/fixtures.js';

const blocks = mineChain(8, 1);
const PEER = 'http://peer/';

class Refused extends Error {}

/** An outbox over posts the test settles by hand, on a clock and timers the test moves. */
function outboxOf<T>(options: OutboxOptions<T>) {
  let time = 0;
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  const posts: Array<{ item: T; settle: (ok: boolean | Error) => void }> = [];
  const failed: Array<{ item: T; willRetry: boolean }> = [];
  const box = new Outbox<T, true>(options, {
    post: (_peer, item) =>
      new Promise<true>((resolve, reject) => {
        posts.push({ item, settle: (ok) => (ok === true ? resolve(true) : reject(ok === false ? new Error('down') : ok)) });
      }),
    onSent: () => {},
    onFailed: (_peer, item, _err, willRetry) => failed.push({ item, willRetry }),
    now: () => time,
    schedule: (fn, ms) => {
      const timer = { at: time + ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
  });
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const settle = async (i: number, ok: boolean | Error) => {
    posts[i]!.settle(ok);
    await tick();
  };
  const advance = async (ms: number) => {
    time += ms;
    for (const timer of timers.splice(0)) {
      if (timer.cancelled) continue;
      if (timer.at <= time) timer.fn();
      else timers.push(timer);
    }
    await tick();
  };
  return { box, posts, failed, settle, advance };
}

const blockOutbox = (backoffMs = 1000, waiting = 4) =>
  outboxOf<Block>({ backoffMs, enqueue: newestUpTo(waiting), maxInFlight: 1, retries: 2, retryable: (err) => !(err instanceof Refused) });
const indexes = (posts: Array<{ item: Block }>) => posts.map((p) => Number(p.item.index));

describe('the outbox of blocks to one peer', () => {
  it('has one post in flight; every block sent meanwhile follows in order', async () => {
    const { box, posts, settle } = blockOutbox();
    for (const block of blocks.slice(0, 4)) box.send(PEER, block);
    expect(indexes(posts)).toEqual([0]);
    for (let i = 0; i < 4; i++) await settle(i, true);
    expect(indexes(posts)).toEqual([0, 1, 2, 3]);
  });

  it('past its limit the oldest waiting block is dropped: the newest always reach the peer', async () => {
    const { box, posts, settle } = blockOutbox(1000, 3);
    for (const block of blocks) box.send(PEER, block);
    for (let i = 0; i < 4; i++) await settle(i, true);
    expect(indexes(posts)).toEqual([0, 5, 6, 7]);
  });

  it('posts a failed block again after the back-off, before what waits behind it, and keeps the line meanwhile', async () => {
    const { box, posts, settle, advance, failed } = blockOutbox(1000);
    box.send(PEER, blocks[0]!);
    box.send(PEER, blocks[1]!);
    await settle(0, false);
    expect(failed).toEqual([{ item: blocks[0], willRetry: true }]);
    // Sent during the back-off: it waits instead of being lost.
    box.send(PEER, blocks[2]!);
    await advance(999);
    expect(indexes(posts)).toEqual([0]);
    await advance(1);
    expect(indexes(posts)).toEqual([0, 0]);
    await settle(1, true);
    await settle(2, true);
    await settle(3, true);
    expect(indexes(posts)).toEqual([0, 0, 1, 2]);
  });

  it('gives a block up after its retries, and one the peer refused at once', async () => {
    const { box, posts, settle, advance, failed } = blockOutbox(1000);
    box.send(PEER, blocks[0]!);
    box.send(PEER, blocks[1]!);
    await settle(0, false);
    await advance(1000);
    await settle(1, false);
    await advance(2000);
    await settle(2, false);
    expect(failed.map((f) => f.willRetry)).toEqual([true, true, false]);
    await advance(4000);
    expect(indexes(posts)).toEqual([0, 0, 0, 1]);
    await settle(3, new Refused('HTTP 400'));
    expect(failed.at(-1)).toEqual({ item: blocks[1], willRetry: false });
    box.send(PEER, blocks[2]!);
    await advance(MAX_BACKOFF_MS);
    expect(indexes(posts)).toEqual([0, 0, 0, 1, 2]);
  });

  it('doubles the back-off with each failure in a row, up to the cap; a success ends it', async () => {
    const { box, posts, settle, advance } = outboxOf<Block>({ backoffMs: 1000, enqueue: newestUpTo(4), maxInFlight: 1, retries: 100 });
    box.send(PEER, blocks[0]!);
    let n = 0;
    for (const wait of [1000, 2000, 4000, 8000, 16000, 32000, MAX_BACKOFF_MS, MAX_BACKOFF_MS]) {
      await settle(n++, false);
      await advance(wait - 1);
      expect(posts).toHaveLength(n);
      await advance(1);
      expect(posts).toHaveLength(n + 1);
    }
    await settle(n++, true);
    box.send(PEER, blocks[1]!);
    expect(posts).toHaveLength(n + 1);
  });
});

describe('the outbox of data entries to one peer', () => {
  it('has at most 2 posts in flight; up to its limit the rest wait in order, and past it new ones are left out', async () => {
    const { box, posts, settle } = outboxOf<string>({ backoffMs: 1000, enqueue: firstComeUpTo(3), maxInFlight: 2, retries: 0 });
    for (const entry of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) box.send(PEER, entry);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b']);
    for (let i = 0; i < 5; i++) await settle(i, true);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('without retries a failure empties the line, and nothing is sent into the back-off', async () => {
    const { box, posts, settle, advance } = outboxOf<string>({ backoffMs: 1000, enqueue: firstComeUpTo(10), maxInFlight: 2, retries: 0 });
    for (const entry of ['a', 'b', 'c', 'd']) box.send(PEER, entry);
    await settle(0, false);
    box.send(PEER, 'x');
    await advance(999);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b']);
    await advance(1);
    expect(posts.map((p) => p.item)).toEqual(['a', 'b']);
    box.send(PEER, 'e');
    expect(posts.map((p) => p.item)).toEqual(['a', 'b', 'e']);
  });
});
