import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { ErrorCode } from '../../src/errors.js';
import { BlockStore, blockFileName, serializeBlock } from '../../src/store.js';
import { fixturePath, mineChain, seed } from '../helpers/fixtures.js';

const D = 1;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (difficulty = D) => BlockStore.open({ dir, difficulty });
const hashes = (blocks: Iterable<Block>) => [...blocks].map((b) => b.hash);
const writeBlockFile = (block: Block, name = blockFileName(block.index), where = dir) =>
  writeFile(join(where, name), serializeBlock(block));
const blockFiles = async (where = dir) => (await readdir(where)).filter((n) => n.endsWith('.json')).sort();
const quarantineFiles = async () => readdir(join(dir, 'quarantine'));

describe('file names', () => {
  it('are the index zero-padded to six digits, wider when needed', () => {
    expect(blockFileName(42n)).toBe('000042.json');
    expect(blockFileName(0n)).toBe('000000.json');
    expect(blockFileName(1234567n)).toBe('1234567.json');
  });
});

describe('loading', () => {
  it('a directory written by the Python jbc node loads as-is, files untouched', async () => {
    await cp(fixturePath('jbc-chaindata'), dir, { recursive: true });
    const before = await readFile(join(dir, '000002.json'), 'utf8');
    const { chain, quarantined } = await open(seed.difficulty);
    expect(hashes(chain)).toEqual(hashes(seed.chain));
    expect(quarantined).toEqual([]);
    expect(await readFile(join(dir, '000002.json'), 'utf8')).toBe(before);
  });

  it('a missing directory is created and loads as the empty chain', async () => {
    const { chain } = await BlockStore.open({ dir: join(dir, 'new', '5001'), difficulty: D });
    expect(chain.length).toBe(0);
    expect(await readdir(join(dir, 'new', '5001'))).toContain('quarantine');
  });

  it('sorts by index, not by listing or name order', async () => {
    const blocks = mineChain(12, D);
    for (const block of [...blocks].reverse()) await writeBlockFile(block);
    const { chain } = await open();
    expect(hashes(chain)).toEqual(hashes(blocks));
  });

  it('unpadded names sort numerically (9 before 10)', async () => {
    const blocks = mineChain(11, D);
    for (const block of blocks) await writeBlockFile(block, `${block.index}.json`);
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(11);
    expect(quarantined).toEqual([]);
  });

  it('a file that is not JSON is reported with path and reason and moved to quarantine', async () => {
    const blocks = mineChain(3, D);
    for (const block of blocks.slice(0, 2)) await writeBlockFile(block);
    await writeFile(join(dir, '000002.json'), '{"index": "2", "nonce":');
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(2);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.path).toBe(join(dir, '000002.json'));
    expect(quarantined[0]!.reason).toMatch(/not valid JSON/);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json']);
    const [moved] = await quarantineFiles();
    expect(await readFile(join(dir, 'quarantine', moved!), 'utf8')).toBe('{"index": "2", "nonce":');
  });

  it('a file with a malformed field is quarantined naming the field', async () => {
    const [zero] = mineChain(1, D);
    await writeFile(join(dir, '000000.json'), JSON.stringify({ ...JSON.parse(serializeBlock(zero!)), nonce: '-1' }));
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(0);
    expect(quarantined[0]!.reason).toMatch(/nonce/);
  });

  it('a file whose data holds a lone surrogate is quarantined naming the field', async () => {
    const [zero] = mineChain(1, D);
    await writeFile(join(dir, '000000.json'), serializeBlock(zero!).replace(/"data":"[^"]*"/, '"data":"x\\ud800y"'));
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(0);
    expect(quarantined[0]!.reason).toMatch(/data .*Unicode/);
    expect(await quarantineFiles()).toHaveLength(1);
  });

  it('a block whose hash does not match keeps the prefix before it; it and every later file are quarantined', async () => {
    const blocks = mineChain(5, D);
    for (const block of blocks) await writeBlockFile(block, blockFileName(block.index));
    await writeBlockFile({ ...blocks[2]!, data: 'tampered' });
    const { chain, quarantined } = await open();
    expect(hashes(chain)).toEqual(hashes(blocks.slice(0, 2)));
    expect(quarantined.map((q) => q.path).sort()).toEqual(['000002.json', '000003.json', '000004.json'].map((n) => join(dir, n)));
    expect(quarantined.find((q) => q.path.endsWith('000002.json'))!.reason).toMatch(/invalid/);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json']);
  });

  it('blocks after a gap are not part of the chain and are quarantined', async () => {
    const blocks = mineChain(4, D);
    for (const block of [blocks[0]!, blocks[1]!, blocks[3]!]) await writeBlockFile(block);
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(2);
    expect(quarantined.map((q) => q.path)).toEqual([join(dir, '000003.json')]);
  });

  it('a file whose block index differs from its name is quarantined', async () => {
    const blocks = mineChain(2, D);
    await writeBlockFile(blocks[0]!);
    await writeBlockFile(blocks[1]!, '000005.json');
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(1);
    expect(quarantined[0]!.reason).toMatch(/holds block 1, not 5/);
  });

  it('of two files for one index, the canonical name is kept and the other quarantined', async () => {
    const blocks = mineChain(2, D);
    await writeBlockFile(blocks[0]!);
    await writeBlockFile(blocks[1]!);
    await writeBlockFile(blocks[1]!, '1.json');
    const { chain, quarantined } = await open();
    expect(chain.length).toBe(2);
    expect(quarantined.map((q) => q.path)).toEqual([join(dir, '1.json')]);
  });

  it('files that are not block files are left alone', async () => {
    await writeFile(join(dir, 'NOTES.txt'), 'mine');
    const { quarantined } = await open();
    expect(quarantined).toEqual([]);
    expect(await readdir(dir)).toContain('NOTES.txt');
  });
});

describe('writing', () => {
  it('append writes the block in output form and it loads back', async () => {
    const blocks = mineChain(3, D);
    const { store } = await open();
    for (const block of blocks) await store.append(block);
    expect(JSON.parse(await readFile(join(dir, '000001.json'), 'utf8'))).toEqual({
      index: '1',
      timestamp: String(blocks[1]!.timestamp),
      data: blocks[1]!.data,
      prev_hash: blocks[0]!.hash,
      nonce: String(blocks[1]!.nonce),
      hash: blocks[1]!.hash,
    });
    expect(hashes((await open()).chain)).toEqual(hashes(blocks));
  });

  it('append leaves no temp files behind', async () => {
    const { store } = await open();
    for (const block of mineChain(3, D)) await store.append(block);
    expect((await readdir(dir)).sort()).toEqual(['000000.json', '000001.json', '000002.json', 'quarantine']);
  });

  it('concurrent appends are written one at a time, in order', async () => {
    const blocks = mineChain(6, D);
    const { store } = await open();
    await Promise.all(blocks.map((b) => store.append(b)));
    expect(hashes((await open()).chain)).toEqual(hashes(blocks));
  });

  it('append refuses a block that does not extend the stored chain and writes nothing', async () => {
    const blocks = mineChain(3, D);
    const { store } = await open();
    await store.append(blocks[0]!);
    await expect(store.append(blocks[2]!)).rejects.toMatchObject({ code: ErrorCode.NOT_EXTENDING_TIP });
    expect(await blockFiles()).toEqual(['000000.json']);
  });

  it('commit switches to a longer fork: new files in place, abandoned ones gone', async () => {
    const common = mineChain(2, D, { tag: 'common' });
    const ours = mineChain(2, D, { after: common[1], tag: 'ours' });
    const theirs = mineChain(4, D, { after: common[1], tag: 'theirs' });
    const { store } = await open();
    for (const block of [...common, ...ours]) await store.append(block);
    await store.commit(2, theirs);
    const { chain, quarantined } = await open();
    expect(hashes(chain)).toEqual(hashes([...common, ...theirs]));
    expect(quarantined).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([...(await blockFiles()), 'quarantine'].sort());
  });

  it('commit of nothing at a fork point removes the files past it removes the files past its tip', async () => {
    const blocks = mineChain(5, D);
    const { store } = await open();
    for (const block of blocks) await store.append(block);
    await store.commit(2, []);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json']);
    await store.append(blocks[2]!);
    expect((await open()).chain.length).toBe(3);
  });
});

describe('a crash at any step leaves a directory that loads to a valid chain', () => {
  const common = mineChain(2, D, { tag: 'common' });
  const ours = mineChain(2, D, { after: common[1], tag: 'ours' });
  const theirs = mineChain(4, D, { after: common[1], tag: 'theirs' });
  const oldChain = [...common, ...ours];
  const newChain = [...common, ...theirs];

  async function writeOld(): Promise<void> {
    for (const block of oldChain) await writeBlockFile(block);
  }

  it('during a block write: the temp file is quarantined, the chain before it loads', async () => {
    await writeOld();
    await writeFile(join(dir, `.000004.json.123.abcd.tmp`), serializeBlock(theirs[0]!).slice(0, 30));
    const { chain, quarantined } = await open();
    expect(hashes(chain)).toEqual(hashes(oldChain));
    expect(quarantined.map((q) => q.reason)).toEqual(['incomplete write left by a crash']);
  });

  it('while the new fork is being staged: the old chain loads and the staged blocks are quarantined', async () => {
    await writeOld();
    await mkdir(join(dir, 'pending'));
    for (const block of theirs.slice(0, 2)) await writeBlockFile(block, undefined, join(dir, 'pending'));
    const { chain, quarantined } = await open();
    expect(hashes(chain)).toEqual(hashes(oldChain));
    expect(quarantined).toHaveLength(2);
    expect(await readdir(dir)).not.toContain('pending');
  });

  it('while the new fork is moved into place: the move is finished and the new chain loads', async () => {
    await writeOld();
    await mkdir(join(dir, 'pending'));
    // two of the four new blocks already renamed over the old files, two still staged
    await writeBlockFile(theirs[0]!);
    await writeBlockFile(theirs[1]!);
    for (const block of theirs.slice(2)) await writeBlockFile(block, undefined, join(dir, 'pending'));
    const { chain, quarantined } = await open();
    expect(hashes(chain)).toEqual(hashes(newChain));
    expect(quarantined).toEqual([]);
    expect(hashes((await open()).chain)).toEqual(hashes(newChain));
    expect(await readdir(dir)).not.toContain('pending');
  });

  it('after the move, before abandoned files are removed: the new chain loads, leftovers quarantined', async () => {
    const long = mineChain(6, D);
    for (const block of long) await writeBlockFile(block);
    const short = [...long.slice(0, 2), ...mineChain(1, D, { after: long[1], tag: 'fork' })];
    await writeBlockFile(short[2]!);
    const { chain } = await open();
    expect(hashes(chain)).toEqual(hashes(short));
  });

  it('a store opened after any of these keeps appending normally', async () => {
    await writeOld();
    await writeFile(join(dir, `.000004.json.1.ff.tmp`), '');
    const { store } = await open();
    const next = mineChain(1, D, { after: ours[1] });
    await store.append(next[0]!);
    expect((await open()).chain.length).toBe(oldChain.length + 1);
  });
});
