/**
 * The data directory around the database: importing jbc block files on first
 * open, the recorded difficulty, the jbc mirror and the export.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateChain } from '../../../bench/chain-gen.js';
import type { Block } from '../../../src/block.js';
import { ErrorCode } from '../../../src/errors.js';
import { blockFileName, exportJbcDir, openChainDb, serializeBlock, type ChainDb, type ChainDbOptions } from '../../../src/store/index.js';
import { FIXTURES, loadFixtures } from '../../e2e/helpers/fixtures.js';
import { halfThePagesInUse, insideAPageInUse, insideTheRoomPastItsPages, seed } from '../../helpers/fixtures.js';

let dir: string;
let out: string;
const open: ChainDb[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-dir-'));
  out = await mkdtemp(join(tmpdir(), 'jbc-out-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

async function openDb(options: Partial<ChainDbOptions> = {}): Promise<ChainDb> {
  const db = await openChainDb({ dir, difficulty: 1, ...options });
  open.push(db);
  return db;
}
async function closeDb(db: ChainDb): Promise<void> {
  open.splice(open.indexOf(db), 1);
  await db.close();
}

const hashes = (blocks: Iterable<Block>) => [...blocks].map((b) => b.hash);
const chain = (n: number, options: { after?: Block; tag?: string } = {}) => [...generateChain(n, options)];
const writeBlockFile = (block: Block, name = blockFileName(block.index)) => writeFile(join(dir, name), serializeBlock(block));
const blockFiles = async (where = dir) => (await readdir(where)).filter((n) => n.endsWith('.json')).sort();

/**
 * Every file below `root` with its SHA-256 and size, so any write, rename or
 * removal shows. LMDB's lock file, `chain.mdb-lock`, is listed but not
 * hashed: it is LMDB's table of reader processes, rewritten by every open
 * (read-only ones included), and holds no chain data.
 */
async function snapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const key = relative(root, path);
    if (entry.isDirectory()) result[key] = 'dir';
    else if (entry.name === 'chain.mdb-lock') result[key] = 'present';
    else
      result[key] = `${createHash('sha256')
        .update(await readFile(path))
        .digest('hex')} ${(await stat(path)).size}`;
  }
  return result;
}

describe('first open of a jbc data directory', () => {
  it("imports the Python node's directory as-is, and leaves its files untouched", async () => {
    await cp(join(FIXTURES, 'jbc-chaindata'), dir, { recursive: true });
    const before = await readFile(join(dir, '000002.json'), 'utf8');
    const db = await openDb({ difficulty: seed.difficulty });
    expect(hashes(db.iterate())).toEqual(hashes(seed.chain));
    expect(db.report).toMatchObject({ imported: 4, quarantined: [] });
    expect(await readFile(join(dir, '000002.json'), 'utf8')).toBe(before);
  });

  it('sorts by index, not by listing or name order, unpadded names included', async () => {
    const blocks = chain(12);
    for (const block of [...blocks].reverse()) await writeBlockFile(block, block.index % 2n === 0n ? `${block.index}.json` : undefined);
    const db = await openDb();
    expect(hashes(db.iterate())).toEqual(hashes(blocks));
    expect(db.report.quarantined).toEqual([]);
  });

  it('integers written as JSON numbers, 20 digits and beyond 2^64, import exactly', async () => {
    const { main, difficulty } = await loadFixtures();
    for (const block of main) await writeBlockFile(block);
    await cp(join(FIXTURES, 'mined-bigint-numbers.json'), join(dir, '000012.json'));
    const db = await openDb({ difficulty });
    expect(db.length).toBe(13);
    expect(db.tip!.timestamp).toBe(20231105123456789012n);
    expect(db.tip!.nonce).toBe(18446744073709564663n);
    await exportJbcDir(db, out);
    expect(JSON.parse(await readFile(join(out, '000012.json'), 'utf8'))).toMatchObject({
      timestamp: '20231105123456789012',
      nonce: '18446744073709564663',
    });
  });

  it('keeps the longest valid prefix; corrupt, invalid and unlinked files go to quarantine with path and reason', async () => {
    const blocks = chain(8);
    for (const block of blocks) await writeBlockFile(block);
    await writeFile(join(dir, '000003.json'), '{"index": "3", "nonce":');
    const db = await openDb();
    expect(hashes(db.iterate())).toEqual(hashes(blocks.slice(0, 3)));
    const reasons = Object.fromEntries(db.report.quarantined.map((q) => [relative(dir, q.path), q.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['000003.json', '000004.json', '000005.json', '000006.json', '000007.json']);
    expect(reasons['000003.json']).toMatch(/not valid JSON/);
    expect(reasons['000004.json']).toMatch(/block 4 follows block 2/);
    expect(reasons['000005.json']).toMatch(/not part of the chain/);
    expect(await blockFiles()).toEqual(['000000.json', '000001.json', '000002.json']);
    expect((await readdir(join(dir, 'quarantine'))).length).toBe(5);
  });

  it('the import happens once: files dropped in later are not read, the database is the chain', async () => {
    const blocks = chain(6);
    for (const block of blocks.slice(0, 3)) await writeBlockFile(block);
    await closeDb(await openDb());
    for (const block of blocks.slice(3)) await writeBlockFile(block);
    const db = await openDb();
    expect(db.length).toBe(3);
    expect(db.report).toMatchObject({ imported: 0, quarantined: [] });
    expect(await blockFiles()).toHaveLength(6);
  });
});

describe('the recorded difficulty', () => {
  it('opening with another difficulty is refused with the dir and both fixes named, and changes nothing', async () => {
    const blocks = chain(5);
    for (const block of blocks) await writeBlockFile(block);
    await closeDb(await openDb({ difficulty: 1 }));
    await writeFile(join(dir, '000009.json'), 'not a block'); // would be quarantined by any open that read the files
    const before = await snapshot(dir);
    await expect(openChainDb({ dir, difficulty: 2, jbcFiles: true })).rejects.toMatchObject({
      code: ErrorCode.DIFFICULTY_MISMATCH,
      message: `${dir} holds a difficulty-1 chain; start with --difficulty 1 or another --data-dir (not --difficulty 2)`,
    });
    expect(await snapshot(dir)).toEqual(before);
    expect((await openDb({ difficulty: 1 })).length).toBe(5);
  });

  it('a jbc directory whose block 0 lacks the zeros is refused before anything is imported or quarantined', async () => {
    await cp(join(FIXTURES, 'jbc-chaindata'), dir, { recursive: true });
    const before = await snapshot(dir);
    const zeros = /^0*/.exec(seed.chain[0]!.hash)![0].length;
    await expect(openChainDb({ dir, difficulty: zeros + 1 })).rejects.toMatchObject({
      code: ErrorCode.DIFFICULTY_MISMATCH,
      message: expect.stringContaining(`start with --difficulty ${zeros} or lower`),
    });
    expect(await snapshot(dir)).toEqual(before);
  });
});

describe('a missing or damaged chain database', () => {
  /** A directory holding a 62-block chain, closed. */
  async function filledDir(): Promise<void> {
    const db = await openDb();
    await db.commit(0n, chain(62));
    await closeDb(db);
  }

  it('with blocks.log kept but chain.mdb deleted, the open is refused naming both files, and blocks.log keeps every byte', async () => {
    await filledDir();
    await unlink(join(dir, 'chain.mdb'));
    const log = await readFile(join(dir, 'blocks.log'));
    expect(log.length).toBeGreaterThan(0);
    const before = await snapshot(dir);
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
      code: ErrorCode.STORE_CORRUPT,
      message: expect.stringContaining(`${join(dir, 'chain.mdb')} is missing but ${join(dir, 'blocks.log')} holds ${log.length} bytes of blocks`),
    });
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toThrow(`move blocks.log out of ${dir} to start with an empty chain`);
    expect(await readFile(join(dir, 'blocks.log'))).toEqual(log);
    expect(await snapshot(dir)).toEqual(before);
  });

  const damages: Array<[string, (bytes: Buffer) => Buffer]> = [
    ['truncated to 0 bytes', () => Buffer.alloc(0)],
    ['truncated to half the pages it uses', halfThePagesInUse],
    ['cut inside a page it uses', insideAPageInUse],
    ['overwritten with random bytes', (bytes) => randomBytes(bytes.length)],
  ];
  for (const [what, damage] of damages) {
    it(`chain.mdb ${what} is STORE_CORRUPT naming it, and nothing is changed`, async () => {
      await filledDir();
      const path = join(dir, 'chain.mdb');
      await writeFile(path, damage(await readFile(path)));
      const before = await snapshot(dir);
      await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
        code: ErrorCode.STORE_CORRUPT,
        message: expect.stringContaining(path),
      });
      expect(await snapshot(dir)).toEqual(before);
    });
  }

  it('chain.mdb cut inside the room kept past its pages (a kill while that room was written) opens with the whole chain, and takes writes', async () => {
    await filledDir();
    const path = join(dir, 'chain.mdb');
    await writeFile(path, insideTheRoomPastItsPages(await readFile(path)));
    const db = await openDb();
    expect(db.length).toBe(62);
    await db.commit(62n, chain(63).slice(62));
    await closeDb(db);
    expect((await openDb()).length).toBe(63);
  });

  it('an empty chain.mdb beside an empty log is a new database, as after a crash while it was first created', async () => {
    await writeFile(join(dir, 'chain.mdb'), '');
    expect((await openDb()).length).toBe(0);
  });
});

describe('the data directory lock', () => {
  it('a second open of the same directory is refused, naming the directory, until the first closes', async () => {
    const db = await openDb();
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED,
      message: expect.stringContaining(dir),
    });
    await closeDb(db);
    await openDb();
  });

  it('a lock file left by a process that no longer runs is taken over', async () => {
    await closeDb(await openDb());
    await writeFile(join(dir, 'LOCK'), '2147483646\n'); // above any pid Linux hands out
    expect((await openDb()).length).toBe(0);
  });

  it.runIf(existsSync('/proc/self/stat'))(
    'a lock file whose pid now belongs to another process (a restarted container, a reboot) is taken over (where /proc gives start times)',
    async () => {
      const db = await openDb();
      const [pid, identity] = (await readFile(join(dir, 'LOCK'), 'utf8')).split('\n');
      expect(pid).toBe(String(process.pid));
      // This process holds it, and says so: the same pid, boot and start time.
      await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({ code: ErrorCode.DATA_DIR_LOCKED });
      await closeDb(db);
      // The same pid, but started at another time: an earlier process that had it.
      const [boot, start] = identity!.split(' ');
      await writeFile(join(dir, 'LOCK'), `${process.pid}\n${boot} ${Number(start) - 1}\n`);
      expect((await openDb()).length).toBe(0);
    },
  );
});

describe('jbcFiles: the block files mirror the database', () => {
  async function expectMirror(db: ChainDb): Promise<void> {
    expect(await blockFiles()).toEqual([...db.iterate()].map((b) => blockFileName(b.index)));
    for (const block of db.iterate()) expect(await readFile(join(dir, blockFileName(block.index)), 'utf8')).toBe(serializeBlock(block));
  }

  it('after appends, a batch, and a reorg to a shorter chain', async () => {
    const common = chain(20, { tag: 'common' });
    const ours = chain(15, { after: common[19], tag: 'ours' });
    const theirs = chain(5, { after: common[19], tag: 'theirs' });
    const db = await openDb({ jbcFiles: true });
    for (const block of common.slice(0, 5)) await db.append(block);
    await db.commit(5n, [...common.slice(5), ...ours]);
    await expectMirror(db);
    await db.commit(20n, theirs);
    expect(db.length).toBe(25);
    await expectMirror(db);
  });

  it("leaves the Python node's own files as they are: the same blocks in its key order, spacing and integer style", async () => {
    await cp(join(FIXTURES, 'jbc-chaindata'), dir, { recursive: true });
    // jbc may write integers as JSON numbers too.
    const numbers = (await readFile(join(dir, '000003.json'), 'utf8')).replace(/"(index|nonce|timestamp)": "([0-9]+)"/g, '"$1": $2');
    await writeFile(join(dir, '000003.json'), numbers);
    const before = await snapshot(dir);
    for (let open = 0; open < 2; open++) {
      const db = await openDb({ difficulty: seed.difficulty, jbcFiles: true });
      expect(hashes(db.iterate())).toEqual(hashes(seed.chain));
      expect(db.report).toMatchObject({ quarantined: [], mirrorRepaired: 0 });
      await closeDb(db);
    }
    const after = await snapshot(dir);
    for (const name of await blockFiles()) expect(after[name]).toBe(before[name]);
    expect(existsSync(join(dir, 'quarantine'))).toBe(false);
  });

  it('files that lag the database (a crash between commit and files) are rewritten on open', async () => {
    const blocks = chain(10);
    const db = await openDb({ jbcFiles: true });
    await db.commit(0n, blocks);
    await closeDb(db);
    await unlink(join(dir, '000009.json'));
    await writeFile(join(dir, '000004.json'), serializeBlock(chain(5, { tag: 'other' })[4]!));
    await writeBlockFile(chain(11)[10]!);
    const again = await openDb({ jbcFiles: true });
    await expectMirror(again);
    expect(again.report.mirrorRepaired).toBe(2);
    expect(again.report.quarantined.map((q) => relative(dir, q.path)).sort()).toEqual(['000004.json', '000010.json']);
  });
});

describe('export', () => {
  it('writes every block as a jbc file that loads back as the same chain', async () => {
    const blocks = chain(1100);
    const db = await openDb();
    await db.commit(0n, blocks);
    expect(await exportJbcDir(db, out)).toBe(1100);
    expect(await blockFiles(out)).toHaveLength(1100);
    expect(await readFile(join(out, '001099.json'), 'utf8')).toBe(serializeBlock(blocks[1099]!));
    await closeDb(db);
    const copy = await openChainDb({ dir: out, difficulty: 1 });
    open.push(copy);
    expect(hashes(copy.iterate())).toEqual(hashes(blocks));
  });

  it('refuses a target that already holds block files, and a directory without a database', async () => {
    const db = await openDb();
    await db.commit(0n, chain(2));
    await writeFile(join(out, '000000.json'), '{}');
    await expect(exportJbcDir(db, out)).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
    await expect(exportJbcDir(join(dir, 'nowhere'), join(out, 'x'))).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
  });
});
