/**
 * kill -9 of a real process in the middle of a large commit: the store opens
 * to exactly the old chain or exactly the new one, never a mix. A commit
 * first writes its blocks to the block log, then commits the database
 * transaction that points at them; the parent watches both files and kills
 * the child at each stage.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { verifyChain } from '../../src/chain.js';
import { openChainDb } from '../../src/store/index.js';
import { encodeBlock } from '../../src/store/encoding.js';
import { BASE, chains, FORK_AT } from './helpers/store-child.mjs';
import { startStoreChild, type StoreChild } from './helpers/store-process.js';

const { base, grow, fork } = chains();
const scenarios = {
  grow: { old: base, fresh: [...base, ...grow], written: grow },
  reorg: { old: [...base, ...grow], fresh: [...base, ...grow.slice(0, FORK_AT - BASE), ...fork], written: fork },
};

interface Files {
  readonly log: number;
  readonly db: number;
}

/**
 * When to kill, as a state of the files the parent can see: each point is
 * reached, or the commit resolves first (then the kill comes after it).
 */
const KILL_POINTS: Record<string, (now: Files, before: Files, logged: number) => boolean> = {
  'before the commit': () => true,
  'once its blocks are in the log': (now, before, logged) => now.log >= before.log + logged,
  'while the database transaction is written': (now, before, logged) => now.log >= before.log + logged && now.db !== before.db,
};

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

async function files(): Promise<Files> {
  const [log, db] = await Promise.all([stat(join(dir, 'blocks.log')), stat(join(dir, 'chain.mdb'))]);
  return { log: log.size, db: db.mtimeMs * 1e6 + db.size };
}

/** Kills the child once `point` holds, polling the files every event-loop turn; or once it printed "done". */
async function killAt(child: StoreChild, point: (now: Files, before: Files, logged: number) => boolean, before: Files, logged: number): Promise<void> {
  let done = false;
  const finished = child.waitFor((line) => line === 'done').then(() => (done = true));
  await child.waitFor((line) => line === 'start');
  while (!done && !point(await files(), before, logged)) await new Promise((resolve) => setImmediate(resolve));
  await child.kill9();
  finished.catch(() => {});
}

describe.each(Object.entries(scenarios))('kill -9 during a large commit (%s)', (name, { old, fresh, written }) => {
  const logged = written.reduce((sum, block) => sum + encodeBlock(block).length, 0);

  it.each(Object.keys(KILL_POINTS))('killed %s: the store holds the old chain or the new one, and the log only what it points into', async (point) => {
    await reset(old);
    const before = await files();
    await killAt(startStoreChild(['commit', dir, name]), KILL_POINTS[point]!, before, logged);
    const result = await outcome(old, fresh);
    // Opening cut off what the killed commit wrote to the log, unless it committed.
    expect((await files()).log).toBe(before.log + (result === 'new' ? logged : 0));
  });

  it('killed after the commit resolved: the store holds the new chain', async () => {
    await reset(old);
    const child = startStoreChild(['commit', dir, name]);
    await child.waitFor((line) => line === 'done');
    await child.kill9();
    expect(await outcome(old, fresh)).toBe('new');
  });
});

describe('kill -9 while hash index entries are written out to a run file', () => {
  it('the store opens with the committed chain, every block found by hash, and no run file it does not record', async () => {
    const { old, fresh } = scenarios.grow;
    await reset(old);
    const child = startStoreChild(['commit', dir, 'grow', '1000']);
    let done = false;
    const finished = child.waitFor((line) => line === 'done').then(() => (done = true));
    await child.waitFor((line) => line === 'start');
    // Opening may have written a run of what the table held; the commit's run comes after the commit is durable.
    const runs = async () => (await readdir(dir)).filter((name) => name.endsWith('.run'));
    const before = await runs();
    while (!done && (await runs()).every((name) => before.includes(name))) await new Promise((resolve) => setImmediate(resolve));
    await child.kill9();
    finished.catch(() => {});
    expect(await outcome(old, fresh)).toBe('new');
    // A run file the kill cut short was never recorded, and opening deleted it; one that was recorded is whole.
    for (const name of await runs()) {
      if (!before.includes(name)) expect((await stat(join(dir, name))).size).toBe(grow.length * 16);
    }
    const db = await openChainDb({ dir, difficulty: 1, hashRunEntries: 1000 });
    try {
      for (let i = 0; i < fresh.length; i += 97) expect(db.findByHash(fresh[i]!.hash)?.index).toBe(BigInt(i));
    } finally {
      await db.close();
    }
  });
});
