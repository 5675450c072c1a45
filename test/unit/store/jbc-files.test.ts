import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Block } from '../../../src/block.js';
import { silentLogger } from '../../../src/log.js';
import { fixedRule } from '../../../src/retarget.js';
import { blockFileName, loadJbcDir, serializeBlock } from '../../../src/store/jbc-files.js';
import { fixturePath, mineChain, seed } from '../../helpers/fixtures.js';

const D = 1;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const load = async (difficulty = D) => {
  const { blocks, quarantined } = await loadJbcDir(dir, fixedRule(difficulty), silentLogger);
  return { chain: blocks, quarantined };
};
const hashes = (blocks: Iterable<Block>) => [...blocks].map((b) => b.hash);
const writeBlockFile = (block: Block, name = blockFileName(block.index), where = dir) => writeFile(join(where, name), serializeBlock(block));
const blockFiles = async (where = dir) => (await readdir(where)).filter((n) => n.endsWith('.json')).sort();
const quarantineFiles = async () => readdir(join(dir, 'quarantine'));

describe('file names', () => {
  it('are the index zero-padded to six digits, wider when needed', () => {
    expect(blockFileName(42n)).toBe('000042.json');
    expect(blockFileName(0n)).toBe('000000.json');
    expect(blockFileName(1234567n)).toBe('1234567.json');
  });
});

describe('loading a jbc directory (the import of a first start)', () => {
  it('a directory written by the Python jbc node loads as-is, files untouched', async () => {
    await cp(fixturePath('jbc-chaindata'), dir, { recursive: true });
    const before = await readFile(join(dir, '000002.json'), 'utf8');
    const { chain, quarantined } = await load(seed.difficulty);
    expect(hashes(chain)).toEqual(hashes(seed.chain));
    expect(quarantined).toEqual([]);
    expect(await readFile(join(dir, '000002.json'), 'utf8')).toBe(before);
  });

  it('sorts by index, not by listing or name order', async () => {
    const blocks = mineChain(12, D);
    for (const block of [...blocks].reverse()) await writeBlockFile(block);
    const { chain } = await load();
    expect(hashes(chain)).toEqual(hashes(blocks));
  });

  it('unpadded names sort numerically (9 before 10)', async () => {
    const blocks = mineChain(11, D);
    for (const block of blocks) await writeBlockFile(block, `${block.index}.json`);
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(11);
    expect(quarantined).toEqual([]);
  });

  it('a file that is not JSON is reported with path and reason and moved to quarantine', async () => {
    const blocks = mineChain(3, D);
    for (const block of blocks.slice(0, 2)) await writeBlockFile(block);
    await writeFile(join(dir, '000002.json'), '{"index": "2", "nonce":');
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(2);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.path).toBe(join(dir, '000002.json'));
    expect(quarantined[0]!.reason).toMatch(/not valid JSON/);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json']);
    const [moved] = await quarantineFiles();
    expect(await readFile(join(dir, 'quarantine', moved!), 'utf8')).toBe('{"index": "2", "nonce":');
  });

  it.runIf(process.platform !== 'win32')(
    'a block file name on a directory, a FIFO or a dangling link is moved to quarantine saying what it is, never opened; a link to a file is read',
    async () => {
      const chain = mineChain(3, D);
      await writeBlockFile(chain[0]!);
      await writeBlockFile(chain[1]!, 'elsewhere.txt');
      await symlink(join(dir, 'elsewhere.txt'), join(dir, '000001.json'));
      await mkdir(join(dir, '000002.json'));
      await symlink(join(dir, 'gone.txt'), join(dir, '000003.json'));
      execFileSync('mkfifo', [join(dir, '000004.json')]);
      const { chain: loaded, quarantined } = await load();
      expect(hashes(loaded)).toEqual(hashes(chain.slice(0, 2)));
      const reasons = Object.fromEntries(quarantined.map((q) => [q.path.split('/').at(-1), q.reason]));
      expect(reasons).toEqual({
        '000002.json': 'is a directory, not a regular file',
        '000003.json': 'is a symbolic link that leads to no regular file',
        '000004.json': 'is a FIFO, not a regular file',
      });
    },
  );

  it('a file with a malformed field is quarantined naming the field', async () => {
    const [zero] = mineChain(1, D);
    await writeFile(join(dir, '000000.json'), JSON.stringify({ ...JSON.parse(serializeBlock(zero!)), nonce: '-1' }));
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(0);
    expect(quarantined[0]!.reason).toMatch(/nonce/);
  });

  it('a file whose data holds a lone surrogate is quarantined naming the field', async () => {
    const [zero] = mineChain(1, D);
    await writeFile(join(dir, '000000.json'), serializeBlock(zero!).replace(/"data":"[^"]*"/, '"data":"x\\ud800y"'));
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(0);
    expect(quarantined[0]!.reason).toMatch(/data .*Unicode/);
    expect(await quarantineFiles()).toHaveLength(1);
  });

  it('a block whose hash does not match keeps the prefix before it; it and every later file are quarantined', async () => {
    const blocks = mineChain(5, D);
    for (const block of blocks) await writeBlockFile(block, blockFileName(block.index));
    await writeBlockFile({ ...blocks[2]!, data: 'tampered' });
    const { chain, quarantined } = await load();
    expect(hashes(chain)).toEqual(hashes(blocks.slice(0, 2)));
    expect(quarantined.map((q) => q.path).sort()).toEqual(['000002.json', '000003.json', '000004.json'].map((n) => join(dir, n)));
    expect(quarantined.find((q) => q.path.endsWith('000002.json'))!.reason).toMatch(/invalid/);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json']);
  });

  it('blocks after a gap are not part of the chain and are quarantined', async () => {
    const blocks = mineChain(4, D);
    for (const block of [blocks[0]!, blocks[1]!, blocks[3]!]) await writeBlockFile(block);
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(2);
    expect(quarantined.map((q) => q.path)).toEqual([join(dir, '000003.json')]);
  });

  it('a file whose block index differs from its name is quarantined', async () => {
    const blocks = mineChain(2, D);
    await writeBlockFile(blocks[0]!);
    await writeBlockFile(blocks[1]!, '000005.json');
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(1);
    expect(quarantined[0]!.reason).toMatch(/holds block 1, not 5/);
  });

  it('of two files for one index, the canonical name is kept and the other quarantined', async () => {
    const blocks = mineChain(2, D);
    await writeBlockFile(blocks[0]!);
    await writeBlockFile(blocks[1]!);
    await writeBlockFile(blocks[1]!, '1.json');
    const { chain, quarantined } = await load();
    expect(chain.length).toBe(2);
    expect(quarantined.map((q) => q.path)).toEqual([join(dir, '1.json')]);
  });

  it('files that are not block files are left alone', async () => {
    await writeFile(join(dir, 'NOTES.txt'), 'mine');
    const { quarantined } = await load();
    expect(quarantined).toEqual([]);
    expect(await readdir(dir)).toContain('NOTES.txt');
  });
});
