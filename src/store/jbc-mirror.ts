/**
 * The jbc layout kept beside the database (`jbcFiles: true`): after each
 * commit, one atomic file per new block, and the files of abandoned blocks
 * removed. The database is the truth; the files follow it. A crash between a
 * commit and its files leaves them behind the database, so opening checks
 * the tip's file (and that no file lies beyond it) and, when they disagree,
 * rewrites every file from the database.
 *
 * A file agrees with the database when it holds the same block, however it
 * is spelled: the Python jbc node writes its own key order and spacing (and
 * may write integers as numbers), and its files in a directory it shares
 * with this node are left as they are. jbc reads both spellings alike.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBlock, type Block } from '../block.js';
import { parseJson } from '../codec.js';
import { BLOCK_FILE, blockFileName, fsyncDir, io, listBlockFiles, serializeBlock, writeAtomic, type Quarantine } from './jbc-files.js';

/** Files written at once: their fsyncs overlap, the order of the writes does not matter. */
const PARALLEL_WRITES = 64;

export class JbcMirror {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Makes the files follow a commit that wrote `blocks` and left `newLength` blocks where there were `oldLength`. */
  async apply(blocks: readonly Block[], newLength: number, oldLength: number): Promise<void> {
    await this.#writeAll(blocks);
    for (let height = newLength; height < oldLength; height++) {
      const path = join(this.dir, blockFileName(BigInt(height)));
      await io(`remove abandoned block file ${path}`, () => rm(path, { force: true }));
    }
    await fsyncDir(this.dir);
  }

  /** True when the tip's file holds the tip and no block file lies beyond it: the state every finished commit leaves. */
  async isCurrent(tip: Block | undefined, length: number): Promise<boolean> {
    if ((await readOrUndefined(join(this.dir, blockFileName(BigInt(length))))) !== undefined) return false;
    if (tip === undefined) return true;
    return holds(await readOrUndefined(join(this.dir, blockFileName(tip.index))), tip);
  }

  /**
   * Rewrites every file that is missing or holds another block than the
   * database (such a file is quarantined first), and quarantines block files
   * beyond the tip. Returns the number of files written.
   */
  async repair(blocks: Iterable<Block>, length: number, quarantine: Quarantine): Promise<number> {
    let written = 0;
    let batch: Block[] = [];
    const flush = async (): Promise<void> => {
      await this.#writeAll(batch);
      written += batch.length;
      batch = [];
    };
    for (const block of blocks) {
      const path = join(this.dir, blockFileName(block.index));
      const contents = await readOrUndefined(path);
      if (holds(contents, block)) continue;
      if (contents !== undefined) await quarantine(path, `differs from block ${block.index} in the database`);
      batch.push(block);
      if (batch.length >= 1000) await flush();
    }
    await flush();
    for (const name of await listBlockFiles(this.dir)) {
      if (BigInt(BLOCK_FILE.exec(name)![1]!) >= BigInt(length)) {
        await quarantine(join(this.dir, name), `beyond the database's tip (block ${length - 1}): the database holds the chain, block files only mirror it`);
      }
    }
    await fsyncDir(this.dir);
    return written;
  }

  async #writeAll(blocks: readonly Block[]): Promise<void> {
    for (let i = 0; i < blocks.length; i += PARALLEL_WRITES) {
      await Promise.all(blocks.slice(i, i + PARALLEL_WRITES).map((block) => writeAtomic(this.dir, blockFileName(block.index), serializeBlock(block), false)));
    }
  }
}

/** True when `contents` is a block file holding `block`, in output form or any other spelling of it. */
function holds(contents: string | undefined, block: Block): boolean {
  if (contents === undefined) return false;
  if (contents === serializeBlock(block)) return true;
  let held: Block;
  try {
    held = parseBlock(parseJson(contents));
  } catch {
    return false;
  }
  return (
    held.index === block.index &&
    held.timestamp === block.timestamp &&
    held.data === block.data &&
    held.prevHash === block.prevHash &&
    held.nonce === block.nonce &&
    held.hash === block.hash
  );
}

function readOrUndefined(path: string): Promise<string | undefined> {
  return io(`read ${path}`, async () => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  });
}
