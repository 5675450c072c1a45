import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Block } from '../../../src/block.js';
import { packBlockData, toEntry, type Entry } from '../../../src/entries.js';
import { openChainDb, type ChainDb, type PoolLimits } from '../../../src/store/index.js';
import { mineBlock } from '../../helpers/fixtures.js';

let dir: string;
let db: ChainDb;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-entries-'));
  db = await openChainDb({ dir, difficulty: 1 });
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** A block after `prev` whose data holds `entries` (or free text when none). */
function blockWith(prev: Block | undefined, entries: readonly Entry[], tag = 'a'): Block {
  const index = prev === undefined ? 0n : prev.index + 1n;
  const data = entries.length > 0 ? packBlockData(index, `http://${tag}/`, entries) : `I block #${index} (${tag})`;
  return mineBlock({ index, prevHash: prev?.hash ?? '', data, timestamp: 1_700_000_000n + index }, 1);
}

const state = (id: string) => db.entry(id)?.state;

/** `length` blocks of free text after `prev`: a fork that abandons whatever followed `prev`. */
function forkOf(prev: Block, length: number): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < length; i++) blocks.push(blockWith(blocks.at(-1) ?? prev, [], 'fork'));
  return blocks;
}

async function reopen(pool: PoolLimits): Promise<void> {
  await db.close();
  db = await openChainDb({ dir, difficulty: 1, pool });
}

describe('data entries in the chain database', () => {
  it('an added entry is pending, durable, listed oldest first, and counted', async () => {
    const [one, two] = [toEntry('one'), toEntry('two')];
    expect(await db.addPending(one, 1000)).toBe('added');
    expect(await db.addPending(two, 2000)).toBe('added');
    expect(await db.addPending(one, 3000)).toBe('pending');
    expect(db.pending(10)).toEqual([
      { id: one.id, data: 'one', submittedAt: 1000 },
      { id: two.id, data: 'two', submittedAt: 2000 },
    ]);
    expect(db.pending(10, one.id).map((e) => e.data)).toEqual(['two']);
    expect([db.pendingCount, db.pendingBytes]).toEqual([2, 6]);
    await db.close();
    db = await openChainDb({ dir, difficulty: 1 });
    expect(db.entry(two.id)).toEqual({ state: 'pending', data: 'two', submittedAt: 2000 });
    expect([db.pendingCount, db.pendingBytes]).toEqual([2, 6]);
  });

  it('a block holding an entry confirms it and takes it out of the pool, in the same commit', async () => {
    const entry = toEntry('pay alice');
    await db.addPending(entry, 1);
    const zero = blockWith(undefined, []);
    const one = blockWith(zero, [entry]);
    await db.commit(0n, [zero, one]);
    expect(db.entry(entry.id)).toEqual({ state: 'confirmed', data: 'pay alice', index: 1n });
    expect(db.pending(10)).toEqual([]);
    expect(db.pendingCount).toBe(0);
    expect(await db.addPending(entry, 2)).toBe('confirmed');
  });

  it('a reorg that drops the block puts the entry back first in line; a later block confirms it once', async () => {
    const [a, b] = [toEntry('a'), toEntry('b')];
    await db.addPending(a, 1);
    await db.addPending(b, 2);
    const zero = blockWith(undefined, []);
    const ours = blockWith(zero, [a]);
    await db.commit(0n, [zero, ours]);
    expect(db.pending(10).map((e) => e.data)).toEqual(['b']);

    // Another fork, longer, without `a`.
    const theirs1 = blockWith(zero, [], 'theirs');
    const theirs2 = blockWith(theirs1, [], 'theirs');
    await db.commit(1n, [theirs1, theirs2]);
    expect(state(a.id)).toBe('pending');
    expect(db.pending(10).map((e) => e.data)).toEqual(['a', 'b']);

    const next = blockWith(theirs2, [a, b], 'theirs');
    await db.commit(3n, [next]);
    expect(db.entry(a.id)).toMatchObject({ state: 'confirmed', index: 3n });
    expect(db.pendingCount).toBe(0);
  });

  it('an entry the new fork holds too stays confirmed across the reorg, at its new height', async () => {
    const entry = toEntry('both forks');
    const zero = blockWith(undefined, []);
    await db.commit(0n, [zero, blockWith(zero, [entry], 'ours')]);
    const filler = blockWith(zero, [], 'theirs');
    await db.commit(1n, [filler, blockWith(filler, [entry], 'theirs')]);
    expect(db.entry(entry.id)).toMatchObject({ state: 'confirmed', index: 2n });
    expect(db.pendingCount).toBe(0);
  });

  it('an entry in two blocks of one chain is confirmed at the first; dropping only the second changes nothing', async () => {
    const entry = toEntry('twice');
    const zero = blockWith(undefined, []);
    const first = blockWith(zero, [entry]);
    const second = blockWith(first, [entry], 'again');
    await db.commit(0n, [zero, first, second]);
    expect(db.entry(entry.id)).toMatchObject({ state: 'confirmed', index: 1n });
    await db.commit(2n, [blockWith(first, [], 'other'), blockWith(blockWith(first, [], 'other'), [], 'more')]);
    expect(db.entry(entry.id)).toMatchObject({ state: 'confirmed', index: 1n });
    expect(db.pendingCount).toBe(0);
  });

  it('entries of abandoned blocks come back oldest first, in chain order, ahead of the pending ones', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((text) => toEntry(text)) as [Entry, Entry, Entry, Entry];
    const zero = blockWith(undefined, []);
    const one = blockWith(zero, [a, b], 'peer');
    await db.commit(0n, [zero, one, blockWith(one, [c], 'peer')]);
    await db.addPending(d, 1);
    const other = blockWith(zero, [], 'other');
    await db.commit(1n, [other, blockWith(other, [], 'other'), blockWith(blockWith(other, [], 'other'), [], 'more')]);
    expect(db.pending(10).map((e) => e.data)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('an entry of an abandoned block past the entry size limit is dropped, not pending again', async () => {
    await reopen({ maxEntries: 100, maxBytes: 1000, maxEntryBytes: 8 });
    const [big, small] = [toEntry('longer than eight'), toEntry('small')];
    const zero = blockWith(undefined, []);
    await db.commit(0n, [zero, blockWith(zero, [big, small], 'peer')]);
    await db.commit(1n, forkOf(zero, 2));
    expect(db.pending(10).map((e) => e.data)).toEqual(['small']);
    expect(db.entry(big.id)).toBeUndefined();
    expect([db.pendingCount, db.pendingBytes]).toEqual([1, 5]);
  });

  it('entries of an abandoned block past the pool caps: the pool stays within them, acknowledged entries kept first, then the oldest', async () => {
    await reopen({ maxEntries: 4, maxBytes: 1000, maxEntryBytes: 100 });
    const seen = Array.from({ length: 30 }, (_, i) => toEntry(`seen ${i}`));
    const acked = toEntry('acknowledged here');
    const waiting = toEntry('still waiting');
    await db.addPending(acked, 1);
    const zero = blockWith(undefined, []);
    await db.commit(0n, [zero, blockWith(zero, [...seen.slice(0, 20), acked, ...seen.slice(20)], 'peer')]);
    expect(db.pendingCount).toBe(0);
    await db.addPending(waiting, 2);
    await db.commit(1n, forkOf(zero, 2));
    expect(db.pending(10).map((e) => e.data)).toEqual(['seen 0', 'seen 1', 'acknowledged here', 'still waiting']);
    expect(db.pendingCount).toBe(4);
    expect(db.entry(seen[2]!.id)).toBeUndefined();
  });

  it('the byte cap binds entries of an abandoned block the same way', async () => {
    await reopen({ maxEntries: 100, maxBytes: 20, maxEntryBytes: 100 });
    const entries = ['0123456789', 'abcdefghij', 'klmnopqrst'].map((text) => toEntry(text));
    const zero = blockWith(undefined, []);
    await db.commit(0n, [zero, blockWith(zero, entries, 'peer')]);
    await db.commit(1n, forkOf(zero, 2));
    expect(db.pending(10).map((e) => e.data)).toEqual(['0123456789', 'abcdefghij']);
    expect(db.pendingBytes).toBe(20);
  });

  it('entries arriving in a peer block were never submitted here, and are still found by id', async () => {
    const entry = toEntry('from elsewhere');
    const zero = blockWith(undefined, [entry], 'peer');
    await db.commit(0n, [zero]);
    expect(db.entry(entry.id)).toEqual({ state: 'confirmed', data: 'from elsewhere', index: 0n });
  });
});
