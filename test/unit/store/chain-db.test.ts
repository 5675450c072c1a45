import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateChain } from '../../../bench/chain-gen.js';
import { blockJsonBytes, blockToJson, type Block } from '../../../src/block.js';
import { verifyChain } from '../../../src/chain.js';
import { ErrorCode } from '../../../src/errors.js';
import { toEntry } from '../../../src/entries.js';
import type { Logger } from '../../../src/log.js';
import { CUT_BACK_MESSAGE, openChainDb, type ChainDb } from '../../../src/store/index.js';
import { FIXTURES, loadFixtures } from '../../e2e/helpers/fixtures.js';
import { thrown } from '../../helpers/thrown.js';

const D = 1;
let dir: string;
const open: ChainDb[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-chaindb-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openDb(options: { difficulty?: number; jbcFiles?: boolean; cacheBlocks?: number; hashRunEntries?: number } = {}): Promise<ChainDb> {
  const db = await openChainDb({ dir, difficulty: D, ...options });
  open.push(db);
  return db;
}

async function reopen(db: ChainDb, options: { difficulty?: number; cacheBlocks?: number; hashRunEntries?: number } = {}): Promise<ChainDb> {
  await db.close();
  return openDb(options);
}

const hashes = (blocks: Iterable<Block>) => [...blocks].map((b) => b.hash);
const chain = (n: number, options: { after?: Block; tag?: string } = {}) => [...generateChain(n, { difficulty: D, ...options })];

describe('an empty store', () => {
  it('has length 0, height -1 and no tip, and answers every query with nothing', async () => {
    const db = await openDb();
    expect([db.length, db.height, db.tip]).toEqual([0, -1n, undefined]);
    expect(db.at(0n)).toBeUndefined();
    expect(db.range(0n, 10)).toEqual([]);
    expect([...db.iterate()]).toEqual([]);
  });
});

describe('reads', () => {
  it('answers by index, by hash and by range, and stops at the tip', async () => {
    const blocks = chain(30);
    const db = await openDb();
    await db.commit(0n, blocks);
    expect(db.length).toBe(30);
    expect(db.height).toBe(29n);
    expect(db.tip).toEqual(blocks[29]);
    expect(db.at(7n)).toEqual(blocks[7]);
    expect(db.at(30n)).toBeUndefined();
    expect(db.at(-1n)).toBeUndefined();
    expect(db.findByHash(blocks[12]!.hash)).toEqual(blocks[12]);
    expect(db.findByHash('0'.repeat(64))).toBeUndefined();
    expect(db.findByHash('not a hash')).toBeUndefined();
    // The index keys blocks by the end of their hash: a hash that ends alike is not enough.
    const { hash } = blocks[12]!;
    const lookalike = hash.slice(0, 10) + (hash[10] === 'a' ? 'b' : 'a') + hash.slice(11);
    expect(db.findByHash(lookalike)).toBeUndefined();
    expect(hashes(db.range(25n, 10))).toEqual(hashes(blocks.slice(25)));
    expect(db.range(30n, 10)).toEqual([]);
    expect(hashes(db.range(27n, Infinity))).toEqual(hashes(blocks.slice(27)));
    expect(db.range(0n, 0)).toEqual([]);
    expect(hashes(db.iterate(28n))).toEqual(hashes(blocks.slice(28)));
  });

  it('20-digit timestamps and nonces beyond 2^64 read back exactly', async () => {
    const { main, bigint, difficulty } = await loadFixtures();
    const db = await openDb({ difficulty });
    await db.commit(0n, [...main, bigint]);
    const again = await reopen(db, { difficulty });
    expect(again.tip).toEqual(bigint);
    expect(again.tip!.timestamp).toBe(20231105123456789012n);
    expect(again.tip!.nonce).toBe(18446744073709564663n);
  });

  it('after reopening, the same chain: length and tip from the metadata, blocks from the database', async () => {
    const blocks = chain(50);
    const db = await openDb();
    await db.commit(0n, blocks.slice(0, 20));
    for (const block of blocks.slice(20)) await db.append(block);
    const again = await reopen(db, { cacheBlocks: 0 });
    expect(again.length).toBe(50);
    expect(again.tip).toEqual(blocks[49]);
    expect(hashes(again.iterate())).toEqual(hashes(blocks));
    verifyChain([...again.iterate()], D);
  });
});

describe('commit', () => {
  it('a reorg drops the blocks above the fork point from every index', async () => {
    const common = chain(10, { tag: 'common' });
    const ours = chain(5, { after: common[9], tag: 'ours' });
    const theirs = chain(8, { after: common[9], tag: 'theirs' });
    const db = await openDb();
    await db.commit(0n, [...common, ...ours]);
    await db.commit(10n, theirs);
    expect(hashes(db.iterate())).toEqual(hashes([...common, ...theirs]));
    for (const block of ours) expect(db.findByHash(block.hash)).toBeUndefined();
    expect(db.findByHash(theirs[2]!.hash)).toEqual(theirs[2]);
    const again = await reopen(db);
    expect(hashes(again.iterate())).toEqual(hashes([...common, ...theirs]));
    expect(again.findByHash(ours[0]!.hash)).toBeUndefined();
  });

  it('to a shorter chain: commit with no blocks cuts the chain at the fork point', async () => {
    const blocks = chain(10);
    const db = await openDb();
    await db.commit(0n, blocks);
    await db.commit(4n, []);
    expect(db.length).toBe(4);
    expect(db.tip).toEqual(blocks[3]);
    expect(db.findByHash(blocks[5]!.hash)).toBeUndefined();
    expect((await reopen(db)).tip).toEqual(blocks[3]);
  });

  it('append is commit at the length; concurrent appends are written in call order', async () => {
    const blocks = chain(20);
    const db = await openDb();
    await Promise.all(blocks.map((block) => db.append(block)));
    expect(hashes((await reopen(db)).iterate())).toEqual(hashes(blocks));
  });

  it.each([
    ['a block whose index is not the fork point', (mine: Block[]) => mine[4]!],
    ['a block that does not link to the block before the fork point', (_mine: Block[], other: Block[]) => other[3]!],
  ])('refuses %s with NOT_EXTENDING_TIP and writes nothing', async (_what, pick) => {
    const blocks = chain(6);
    const other = chain(6, { tag: 'other' });
    const db = await openDb();
    await db.commit(0n, blocks.slice(0, 3));
    await expect(db.commit(3n, [pick(blocks, other)])).rejects.toMatchObject({ code: ErrorCode.NOT_EXTENDING_TIP });
    expect(db.length).toBe(3);
    expect((await reopen(db)).length).toBe(3);
  });

  it('refuses a fork point beyond the tip, and blocks that do not link to each other', async () => {
    const blocks = chain(6);
    const db = await openDb();
    await db.commit(0n, blocks.slice(0, 3));
    await expect(db.commit(4n, blocks.slice(4))).rejects.toMatchObject({ code: ErrorCode.NOT_EXTENDING_TIP });
    await expect(db.commit(3n, [blocks[3]!, blocks[5]!])).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
    await expect(db.append(chain(1)[0]!)).rejects.toMatchObject({ code: ErrorCode.NOT_EXTENDING_TIP });
    expect(hashes((await reopen(db)).iterate())).toEqual(hashes(blocks.slice(0, 3)));
  });

  it('the first block of an empty store must be block 0 with an empty prev_hash', async () => {
    const db = await openDb();
    await expect(db.commit(0n, chain(3).slice(1))).rejects.toMatchObject({ code: ErrorCode.NOT_EXTENDING_TIP });
    expect(db.length).toBe(0);
  });
});

describe('iterate', () => {
  it('yields the chain as it was when iteration started, while commits replace it', async () => {
    const common = chain(100, { tag: 'common' });
    const old = chain(400, { after: common[99], tag: 'old' });
    const fresh = chain(500, { after: common[99], tag: 'new' });
    const db = await openDb();
    await db.commit(0n, [...common, ...old]);

    const seen: Block[] = [];
    for (const block of db.iterate()) {
      seen.push(block);
      if (seen.length === 50) await db.commit(100n, fresh);
      if (seen.length === 300) await db.append(chain(1, { after: fresh.at(-1) })[0]!);
    }
    expect(hashes(seen)).toEqual(hashes([...common, ...old]));
    expect(db.length).toBe(601);
    expect(hashes(db.iterate(100n))).toEqual(hashes([...fresh, db.tip!]));
  });

  it('holds its snapshot only while iterating: released at the end and on break', async () => {
    const db = await openDb();
    await db.commit(0n, chain(200));
    const iterator = db.iterate()[Symbol.iterator]();
    expect(db.snapshots).toBe(0);
    iterator.next();
    expect(db.snapshots).toBe(1);
    for (let r = iterator.next(); !r.done; r = iterator.next());
    expect(db.snapshots).toBe(0);
    for (const block of db.iterate()) if (block.index === 10n) break;
    expect(db.snapshots).toBe(0);
  });

  it('iterateJson yields each block in output form, from its own snapshot', async () => {
    const { main, bigint, difficulty } = await loadFixtures();
    const db = await openDb({ difficulty });
    await db.commit(0n, main);
    const texts: string[] = [];
    for (const text of db.iterateJson(10n)) {
      texts.push(text);
      if (texts.length === 1) await db.append(bigint);
    }
    expect(texts).toEqual(main.slice(10).map((b) => JSON.stringify(blockToJson(b))));
    expect([...db.iterateJson(12n)]).toEqual([JSON.stringify(blockToJson(bigint))]);
    expect(db.snapshots).toBe(0);
  });

  it('starts where asked and yields nothing past the tip', async () => {
    const blocks = chain(20);
    const db = await openDb();
    await db.commit(0n, blocks);
    expect(hashes(db.iterate(15n))).toEqual(hashes(blocks.slice(15)));
    expect([...db.iterate(20n)]).toEqual([]);
    expect([...db.iterate(2n ** 70n)]).toEqual([]);
  });
});

describe('the block log', () => {
  const LOG = () => join(dir, 'blocks.log');

  it("holds each block's output-form line; a reorg appends the new blocks and reads skip the dropped ones", async () => {
    const common = chain(1500, { tag: 'common' });
    const old = chain(1200, { after: common.at(-1), tag: 'old' });
    const fresh = chain(1300, { after: common.at(-1), tag: 'new' });
    const db = await openDb();
    await db.commit(0n, [...common, ...old]);
    const lines = (blocks: Block[]) => blocks.map((b) => `${JSON.stringify(blockToJson(b))}\n`).join('');
    expect(await readFile(LOG(), 'utf8')).toBe(lines([...common, ...old]));

    await db.commit(1500n, fresh);
    expect(await readFile(LOG(), 'utf8')).toBe(lines([...common, ...old, ...fresh]));
    const expected = [...common, ...fresh];
    // Scans read the log in spans of consecutive lines; these cross the gap the dropped blocks left.
    expect(hashes(db.iterate())).toEqual(hashes(expected));
    expect(hashes(db.range(1400n, 300))).toEqual(hashes(expected.slice(1400, 1700)));
    expect([...db.iterateJson(1490n)]).toEqual(expected.slice(1490).map((b) => JSON.stringify(blockToJson(b))));
    expect(db.findByHash(old[0]!.hash)).toBeUndefined();
    expect(db.findByHash(fresh[5]!.hash)).toEqual(fresh[5]);
    const reopened = await reopen(db);
    expect(hashes(reopened.iterate())).toEqual(hashes(expected));
  });

  it('after any sequence of appends, reorgs and cuts, every read agrees with the chain committed, before and after reopening', async () => {
    // Fork points fall anywhere in the 64-height chunks the locations are kept in, so chunks end up
    // holding lines from several commits, and reorgs cut them in the middle.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let db = await openDb();
    let expected: Block[] = [];
    for (let step = 0; step < 40; step++) {
      const forkPoint = step % 4 === 0 || expected.length === 0 ? expected.length : expected.length - 1 - random(Math.min(expected.length, 150));
      const count = step % 7 === 6 ? 0 : 1 + random(step % 3 === 0 ? 200 : 5);
      const blocks = chain(count, { after: expected[forkPoint - 1], tag: `step ${step}` });
      if (forkPoint === 0 && count === 0) continue;
      await db.commit(BigInt(forkPoint), blocks);
      expected = [...expected.slice(0, forkPoint), ...blocks];
      if (step % 10 === 9) db = await reopen(db);

      expect(db.length).toBe(expected.length);
      expect(db.tip?.hash).toBe(expected.at(-1)?.hash);
      expect(hashes(db.iterate())).toEqual(hashes(expected));
      const from = random(expected.length + 1);
      expect(hashes(db.range(BigInt(from), 70))).toEqual(hashes(expected.slice(from, from + 70)));
      for (let i = 0; i < 5 && expected.length > 0; i++) {
        const at = random(expected.length);
        // A fresh store reads through the database and log, not the cache of recent blocks.
        expect(db.at(BigInt(at))?.hash).toBe(expected[at]!.hash);
        expect(db.findByHash(expected[at]!.hash)?.index).toBe(BigInt(at));
      }
    }
    const fresh = await reopen(db, { cacheBlocks: 0 });
    expect(hashes(expected.map((_, i) => fresh.at(BigInt(i))!))).toEqual(hashes(expected));
  });

  it('a log shorter than the database points into is STORE_CORRUPT, naming the file', async () => {
    const db = await openDb();
    await db.commit(0n, chain(20));
    await db.close();
    const { size } = await stat(LOG());
    await truncate(LOG(), size - 10);
    await expect(openChainDb({ dir, difficulty: D })).rejects.toMatchObject({ code: ErrorCode.STORE_CORRUPT, message: expect.stringContaining('blocks.log') });
  });

  it('a database of the first format, which held the blocks itself, is converted once, when opened: same chain, same entries', async () => {
    await cp(join(FIXTURES, 'store-format-1'), dir, { recursive: true });
    const messages: string[] = [];
    const log = (_: unknown, msg: string) => messages.push(msg);
    const logger: Logger = { error: log, warn: log, info: log, debug: log, child: () => logger };
    const db = await openChainDb({ dir }, { logger });
    open.push(db);
    expect(messages).toContain('chain database converted to the current format');
    expect([db.difficulty, db.length]).toEqual([1, 12]);
    const blocks = [...db.iterate()];
    verifyChain(blocks, 1);
    expect(db.tip?.hash).toBe('0b0f41606a79a9b41a596087f68c9b4c6bdb2462617c34456839a711ece1e1d4');
    expect(db.findByHash(blocks[7]!.hash)).toEqual(blocks[7]);
    expect(db.entry(toEntry('an entry confirmed in block 7').id)).toMatchObject({ state: 'confirmed', index: 7n });
    expect(db.pending(10).map((e) => e.data)).toEqual(['an entry still pending']);
    expect(await readFile(LOG(), 'utf8')).toBe(blocks.map((b) => `${JSON.stringify(blockToJson(b))}\n`).join(''));
    // Compacted afterwards: the blocks' pages are gone from the file, not just freed.
    expect((await stat(join(dir, 'chain.mdb'))).size).toBeLessThan((await stat(join(FIXTURES, 'store-format-1', 'chain.mdb'))).size);
    expect(existsSync(join(dir, 'chain.mdb.compact'))).toBe(false);

    await db.close();
    messages.length = 0;
    const again = await openChainDb({ dir }, { logger });
    open.push(again);
    expect(messages).not.toContain('chain database converted to the current format');
    expect(hashes(again.iterate())).toEqual(hashes(blocks));
    await again.append(chain(1, { after: blocks.at(-1) })[0]!);
    expect(again.length).toBe(13);
  });
});

describe('the hash index', () => {
  it('finds every block by hash while its entries move out to run files and runs are merged, and never a dropped block', async () => {
    const runEntries = { hashRunEntries: 40 };
    let db = await openDb(runEntries);
    let expected: Block[] = [];
    const dropped: Block[] = [];
    let mostRuns = 0;
    for (let step = 0; step < 40; step++) {
      const forkPoint = step % 5 === 4 ? expected.length - 10 : expected.length;
      const blocks = chain(step % 3 === 0 ? 55 : 17, { after: expected[forkPoint - 1], tag: `step ${step}` });
      dropped.push(...expected.slice(forkPoint));
      await db.commit(BigInt(forkPoint), blocks);
      expected = [...expected.slice(0, forkPoint), ...blocks];
      if (step % 7 === 6) db = await reopen(db, runEntries);
      mostRuns = Math.max(mostRuns, (await readdir(dir)).filter((name) => name.endsWith('.run')).length);
    }
    // Runs were written, and merged before there were more than 8 of them.
    expect(mostRuns).toBeGreaterThan(1);
    expect(mostRuns).toBeLessThanOrEqual(9);
    for (const [i, block] of expected.entries()) expect(db.findByHash(block.hash)?.index).toBe(BigInt(i));
    for (const block of dropped) expect(db.findByHash(block.hash)).toBeUndefined();
  });
});

describe('a damaged hash index run', () => {
  const damages: Array<[string, (bytes: Buffer) => Buffer]> = [
    ['cut short by a record', (bytes) => bytes.subarray(0, bytes.length - 16)],
    [
      'with one bit flipped',
      (bytes) => {
        const flipped = Buffer.from(bytes);
        flipped[flipped.length >> 1]! ^= 1;
        return flipped;
      },
    ],
  ];
  for (const [what, damage] of damages) {
    it(`${what} is STORE_CORRUPT naming the file when opened, not blocks that seem not to exist`, async () => {
      const db = await openDb({ hashRunEntries: 40 });
      await db.commit(0n, chain(62));
      await db.close();
      open.splice(0);
      const runs = (await readdir(dir)).filter((name) => name.endsWith('.run'));
      expect(runs).toHaveLength(1);
      const path = join(dir, runs[0]!);
      await writeFile(path, damage(await readFile(path)));
      await expect(openChainDb({ dir, difficulty: D, hashRunEntries: 40 })).rejects.toMatchObject({
        code: ErrorCode.STORE_CORRUPT,
        message: expect.stringContaining(path),
      });
    });
  }

  it('an intact run opens and finds every block', async () => {
    let db = await openDb({ hashRunEntries: 40 });
    const blocks = chain(62);
    await db.commit(0n, blocks);
    db = await reopen(db, { hashRunEntries: 40 });
    for (const block of blocks) expect(db.findByHash(block.hash)?.index).toBe(block.index);
  });
});

describe('options', () => {
  it.each([
    [{ dir: '' }, 'options.dir'],
    [{ dir: 'x', difficulty: 65 }, 'options.difficulty'],
    [{ dir: 'x', difficulty: 1.5 }, 'options.difficulty'],
    [{ dir: 'x', difficulty: 1, cacheBlocks: -1 }, 'options.cacheBlocks'],
  ])('%j is a BAD_OPTION naming the field', async (options, field) => {
    await expect(openChainDb(options)).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION, message: expect.stringContaining(field) });
  });

  it('a new directory needs a difficulty; an existing one opens with the recorded one', async () => {
    await expect(openChainDb({ dir })).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
    const db = await openDb({ difficulty: 3 });
    expect((await reopen(db, { difficulty: undefined })).difficulty).toBe(3);
  });
});

describe('damaged blocks in the log', () => {
  const LOG = () => join(dir, 'blocks.log');

  /** Rewrites line `height` of the log (a chain written in one commit, so its lines are in height order). */
  async function editLine(height: number, edit: (line: string) => string): Promise<void> {
    const lines = (await readFile(LOG(), 'utf8')).split('\n');
    const edited = edit(lines[height]!);
    expect(Buffer.byteLength(edited)).toBe(Buffer.byteLength(lines[height]!));
    lines[height] = edited;
    await writeFile(LOG(), lines.join('\n'));
  }

  async function storedChain(n: number): Promise<Block[]> {
    const blocks = chain(n);
    const db = await openDb();
    await db.commit(0n, blocks);
    await db.close();
    open.splice(open.indexOf(db), 1);
    return blocks;
  }

  it("a changed letter of a block's data is STORE_CORRUPT naming its height, for every kind of read, reported once", async () => {
    // Longer than the newest blocks that opening checks, so it is the reads below that find it.
    const blocks = await storedChain(300);
    await editLine(5, (line) => line.replace('block #5 x', 'block #5 y'));
    const db = await openDb({ cacheBlocks: 0 });
    const damage: string[] = [];
    db.onDamage((err) => damage.push(String(err.data.height)));
    const at5 = thrown(() => db.at(5n));
    expect(at5).toMatchObject({ code: ErrorCode.STORE_CORRUPT, data: { height: '5', reason: 'its hash does not match its contents' } });
    expect(at5.message).toContain('block 5 of');
    // A read of the block above checks its link, and so its parent.
    expect(thrown(() => db.at(6n)).data.height).toBe('5');
    expect(thrown(() => db.range(0n, 10)).data.height).toBe('5');
    expect(thrown(() => [...db.iterate()]).data.height).toBe('5');
    expect(thrown(() => [...db.iterateJson(3n)]).data.height).toBe('5');
    expect(thrown(() => db.findByHash(blocks[5]!.hash)).data.height).toBe('5');
    expect(damage).toEqual(['5']);
    // What lies below it reads as before.
    expect(hashes(db.range(0n, 5))).toEqual(hashes(blocks.slice(0, 5)));
    expect(db.at(4n)).toEqual(blocks[4]);
    expect(hashes(db.iterate(7n))).toEqual(hashes(blocks.slice(7)));
    expect(db.length).toBe(300);
  });

  it('a changed hash character, a lost newline, and a sound block that does not link are each found at their height', async () => {
    await storedChain(300);
    await editLine(7, (line) => line.replace(/"hash":"(.)/, (_, c: string) => `"hash":"${c === 'a' ? 'b' : 'a'}`));
    let db = await openDb({ cacheBlocks: 0 });
    expect(thrown(() => db.at(7n)).data).toMatchObject({ height: '7', reason: 'its hash does not match its contents' });

    await db.close();
    await storedChainAgain();
    const log = await readFile(LOG());
    const ends = [...log.keys()].filter((i) => log[i] === 0x0a);
    log[ends[9]!] = 0x20; // line 9 runs into line 10
    await writeFile(LOG(), log);
    db = await openDb({ cacheBlocks: 0 });
    expect(db.length).toBe(400);
    expect(thrown(() => db.range(0n, 30)).data).toMatchObject({ height: '9', reason: 'it is not a readable block' });
    expect(hashes(db.range(0n, 9))).toHaveLength(9);

    await db.close();
    await storedChainAgain();
    // Block 12 of another chain, the same size: sound by itself, but not this chain's.
    const other = Array.from({ length: 20 }, (_, i) => chain(13, { tag: String.fromCharCode(98 + i) })[12]!);
    const stranger = other.find((b) => blockJsonBytes(b) === Buffer.byteLength(readFileSync(LOG(), 'utf8').split('\n')[12]!))!;
    await editLine(12, () => JSON.stringify(blockToJson(stranger)));
    db = await openDb({ cacheBlocks: 0 });
    expect(thrown(() => db.at(12n)).data).toMatchObject({ height: '12', reason: expect.stringMatching(/^it (does not link to block 11|is not)/) });
    expect(thrown(() => [...db.iterate(10n)]).data.height).toBe('12');

    async function storedChainAgain(): Promise<void> {
      open.splice(0);
      await rm(dir, { recursive: true, force: true });
      // Long enough that the checks at open do not reach the first 64-block run, which a lost newline shifts.
      await storedChain(400);
    }
  });

  it('a damaged tip is cut away when opened: the chain ends below it, the log keeps every byte, and the chain grows again from there', async () => {
    const blocks = await storedChain(20);
    await editLine(19, (line) => line.replace('block #19 x', 'block #19 z'));
    const before = await readFile(LOG());
    const messages: string[] = [];
    const log = (_: unknown, msg: string) => messages.push(msg);
    const logger: Logger = { error: log, warn: log, info: log, debug: log, child: () => logger };
    const db = await openChainDb({ dir, difficulty: D }, { logger });
    open.push(db);
    expect(db.length).toBe(19);
    expect(db.tip).toEqual(blocks[18]);
    expect(db.report.cutBack).toEqual({ height: 19n, reason: 'its hash does not match its contents', abandoned: 1 });
    expect(messages).toEqual(expect.arrayContaining(['a stored block is damaged', CUT_BACK_MESSAGE]));
    expect((await readFile(LOG())).subarray(0, before.length).equals(before)).toBe(true);
    await db.append(blocks[19]!);
    expect(hashes((await reopen(db)).iterate())).toEqual(hashes(blocks));
  });

  it('a tip line swapped for an earlier sound block of the chain is found against the recorded tip', async () => {
    const blocks = await storedChain(12);
    // Two whole lines swapped: each block is sound by itself, but 10 no longer links and 11 is not the recorded tip.
    const lines = (await readFile(LOG(), 'utf8')).split('\n');
    [lines[10], lines[11]] = [lines[11]!, lines[10]!];
    await writeFile(LOG(), lines.join('\n'));
    const db = await openDb();
    expect(db.length).toBeLessThanOrEqual(10);
    expect(hashes(db.iterate())).toEqual(hashes(blocks.slice(0, db.length)));
  });
});
