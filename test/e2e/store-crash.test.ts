/**
 * kill -9 of a real process in the middle of a large commit: the store opens
 * to exactly the old chain or exactly the new one, never a mix. The child
 * prints a line on every event-loop turn while LMDB writes the transaction,
 * and the parent kills it after a different number of them each run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { verifyChain } from '../../src/chain.js';
import { openChainDb } from '../../src/store/index.js';
import { BASE, chains, FORK_AT } from './helpers/store-child.mjs';
import { startStoreChild } from './helpers/store-process.js';

const { base, grow, fork } = chains();
const scenarios = {
  grow: { old: base, fresh: [...base, ...grow] },
  reorg: { old: [...base, ...grow], fresh: [...base, ...grow.slice(0, FORK_AT - BASE), ...fork] },
};
/** When to kill: on "start" (-1), after that many ticks, or after "done" (Infinity). */
const KILL_POINTS = [-1, 0, 20, 200, 700, 1500, Infinity];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-crash-'));
  for (const { old, fresh } of Object.values(scenarios)) {
    verifyChain(old, 1);
    verifyChain(fresh, 1);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens the store in this process and makes it hold exactly `blocks`. */
async function reset(blocks: readonly Block[]): Promise<void> {
  const db = await openChainDb({ dir, difficulty: 1 });
  let fork = 0;
  while (fork < Math.min(db.length, blocks.length) && db.at(BigInt(fork))!.hash === blocks[fork]!.hash) fork++;
  await db.commit(BigInt(fork), blocks.slice(fork));
  await db.close();
}

/** Which of the two chains the store holds; fails on anything else. */
async function outcome(old: readonly Block[], fresh: readonly Block[]): Promise<'old' | 'new'> {
  const db = await openChainDb({ dir, difficulty: 1 });
  try {
    const stored = [...db.iterate()].map((b) => b.hash);
    expect(db.length).toBe(stored.length);
    expect(db.tip?.hash).toBe(stored.at(-1));
    if (stored.length === old.length) {
      expect(stored).toEqual(old.map((b) => b.hash));
      return 'old';
    }
    expect(stored).toEqual(fresh.map((b) => b.hash));
    expect(db.findByHash(fresh.at(-1)!.hash)?.index).toBe(BigInt(fresh.length - 1));
    return 'new';
  } finally {
    await db.close();
  }
}

describe.each(Object.entries(scenarios))('kill -9 during a large commit (%s)', (name, { old, fresh }) => {
  it.each(KILL_POINTS)('killed at point %s: the store holds the old chain or the new one', async (point) => {
    await reset(old);
    const child = startStoreChild(['commit', dir, name]);
    try {
      if (point === Infinity) await child.waitFor((line) => line === 'done');
      else if (point < 0) await child.waitFor((line) => line === 'start');
      else await child.waitFor((line) => line === `tick ${point}` || line === 'done');
    } finally {
      await child.kill9();
    }
    const result = await outcome(old, fresh);
    // "done" is printed once the commit resolved, which means durable.
    if (point === Infinity) expect(result).toBe('new');
  });
});
