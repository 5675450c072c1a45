/**
 * The node's data directory: one JSON file per block (`000042.json`), the
 * layout jbc writes, so a directory from a Python node loads as-is.
 *
 * Durability rules (SPEC §3):
 * - every write is temp file → fsync → rename → fsync(dir), so a file is
 *   either absent or complete, and a block is durable before `append` or
 *   `replace` resolves;
 * - a reorg first writes the new fork into `pending/`, then renames each file
 *   into place, then removes the abandoned files. A crash at any instant
 *   leaves either the old chain or, with `pending/` laid over it, the new one;
 *   `open` finishes or abandons the reorg, whichever is the longer valid chain;
 * - nothing is silently deleted: unreadable, invalid or unreachable files and
 *   leftover temp files go to `quarantine/`, reported with path and reason.
 * All writes go through one queue, so concurrent callers never interleave.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { blockToJson, type Block, parseBlock } from './block.js';
import { Chain, longestValidPrefix } from './chain.js';
import { formatUint, parseJsonBytes } from './codec.js';
import { describeError, ErrorCode, JbcError } from './errors.js';
import { initHashing } from './hash.js';
import { silentLogger, type Logger } from './log.js';
import { SerialQueue } from './serial-queue.js';

export interface StoreOptions {
  /** The data directory; created when missing. */
  readonly dir: string;
  /** Difficulty the loaded chain is validated at. */
  readonly difficulty: number;
}

export interface QuarantinedFile {
  /** Where the file was. */
  readonly path: string;
  /** Where it is now (undefined when moving it failed; the reason says why). */
  readonly movedTo: string | undefined;
  readonly reason: string;
}

export interface OpenedStore {
  readonly store: BlockStore;
  readonly chain: Chain;
  readonly quarantined: readonly QuarantinedFile[];
}

const BLOCK_FILE = /^([0-9]+)\.json$/;
const TEMP_FILE = /\.tmp$/;
const PENDING = 'pending';
const QUARANTINE = 'quarantine';

/** `000042.json`: the index zero-padded to six digits, wider when it needs more. */
export function blockFileName(index: bigint): string {
  return `${formatUint(index).padStart(6, '0')}.json`;
}

export function serializeBlock(block: Block): string {
  return `${JSON.stringify(blockToJson(block))}\n`;
}

interface FileEntry {
  readonly path: string;
  readonly block: Block;
}

export class BlockStore {
  readonly dir: string;
  readonly #logger: Logger;
  /** Hash of the block each on-disk index holds, in index order. */
  readonly #onDisk: string[];
  readonly #writes = new SerialQueue();

  private constructor(dir: string, onDisk: string[], logger: Logger) {
    this.dir = dir;
    this.#onDisk = onDisk;
    this.#logger = logger;
  }

  /**
   * Loads the directory: sorts files by index, keeps the longest valid chain
   * from block 0, finishes or abandons an interrupted reorg, and quarantines
   * every file that is not part of the chain. Never throws for bad files;
   * throws STORE_IO only when the directory itself cannot be used.
   */
  static async open(options: StoreOptions, modules: { logger?: Logger } = {}): Promise<OpenedStore> {
    const logger = modules.logger ?? silentLogger;
    const { dir, difficulty } = options;
    const quarantined: QuarantinedFile[] = [];
    const quarantine = async (path: string, reason: string): Promise<void> => {
      const report = await moveToQuarantine(dir, path, reason);
      logger.warn({ path, movedTo: report.movedTo, reason }, 'block file quarantined');
      quarantined.push(report);
    };

    await initHashing();
    await io(`create data directory ${dir}`, () => mkdir(join(dir, QUARANTINE), { recursive: true }));

    const main = await readBlockFiles(dir, quarantine);
    const pending = await readBlockFiles(join(dir, PENDING), quarantine);
    let files = main;
    if (pending.size > 0) {
      const overlay = new Map([...main, ...pending]);
      const [old, fork] = await Promise.all([validPrefix(main, difficulty), validPrefix(overlay, difficulty)]);
      if (fork.length > old.length) {
        logger.warn({ dir, blocks: pending.size }, 'finishing a chain replacement interrupted by a crash');
        for (const [index, entry] of pending) {
          const target = join(dir, blockFileName(index));
          await io(`move ${entry.path} into place`, () => rename(entry.path, target));
          overlay.set(index, { path: target, block: entry.block });
        }
        await fsyncDir(dir);
        files = overlay;
      } else {
        for (const entry of pending.values()) await quarantine(entry.path, 'block of an unfinished chain replacement');
      }
    }
    await removeEmptyDir(join(dir, PENDING), logger);

    const blocks = await validPrefix(files, difficulty);
    const rejected = blocks.rejected;
    for (const [index, entry] of [...files].sort(byIndex)) {
      if (index < BigInt(blocks.length)) continue;
      const reason =
        rejected !== undefined && index === rejected.block.index
          ? `invalid: ${rejected.error.message}`
          : `not part of the chain: the valid chain ends at block ${blocks.length - 1}`;
      await quarantine(entry.path, reason);
    }

    const chain = new Chain(blocks);
    logger.info({ dir, height: formatUint(chain.height), quarantined: quarantined.length }, 'chain loaded');
    return { store: new BlockStore(dir, chain.toArray().map((b) => b.hash), logger), chain, quarantined };
  }

  /** Number of blocks on disk. */
  get length(): number {
    return this.#onDisk.length;
  }

  /** Writes the block that extends the stored chain; resolves once it is durable. */
  append(block: Block): Promise<void> {
    return this.#writes.run(async () => {
      if (block.index !== BigInt(this.#onDisk.length)) {
        throw new JbcError(
          ErrorCode.NOT_EXTENDING_TIP,
          `cannot store block ${block.index}: the stored chain has ${this.#onDisk.length} blocks`,
          { index: formatUint(block.index) },
        );
      }
      await writeAtomic(this.dir, blockFileName(block.index), serializeBlock(block));
      this.#onDisk.push(block.hash);
    });
  }

  /**
   * Makes the directory hold the stored chain's first `forkPoint` blocks
   * followed by `blocks` (a reorg to another fork, or a sync that adopted a
   * peer's blocks). The new blocks are durable before any abandoned file is
   * overwritten or removed.
   */
  commit(forkPoint: number, blocks: readonly Block[]): Promise<void> {
    return this.#writes.run(async () => {
      if (forkPoint > this.#onDisk.length || (blocks.length > 0 && blocks[0]!.index !== BigInt(forkPoint))) {
        throw new JbcError(ErrorCode.NOT_EXTENDING_TIP, `cannot store blocks from ${blocks[0]?.index} at fork point ${forkPoint}`, {
          forkPoint,
        });
      }
      let same = 0;
      while (same < blocks.length && blocks[same]!.hash === this.#onDisk[forkPoint + same]) same++;
      const fresh = blocks.slice(same);
      const length = forkPoint + blocks.length;
      const pendingDir = join(this.dir, PENDING);
      if (fresh.length > 0) {
        await io(`create ${pendingDir}`, () => mkdir(pendingDir, { recursive: true }));
        for (const block of fresh) await writeAtomic(pendingDir, blockFileName(block.index), serializeBlock(block), false);
        await fsyncDir(pendingDir);
        for (const block of fresh) {
          const name = blockFileName(block.index);
          await io(`move ${name} into place`, () => rename(join(pendingDir, name), join(this.dir, name)));
        }
        await fsyncDir(this.dir);
      }
      for (let index = length; index < this.#onDisk.length; index++) {
        const path = join(this.dir, blockFileName(BigInt(index)));
        await io(`remove abandoned block file ${path}`, () => rm(path, { force: true }));
      }
      await fsyncDir(this.dir);
      await removeEmptyDir(pendingDir, this.#logger);
      this.#onDisk.length = forkPoint;
      for (const block of blocks) this.#onDisk.push(block.hash);
      this.#logger.info({ fork: forkPoint, length, written: fresh.length }, 'stored chain replaced');
    });
  }

  /** Waits for every queued write to settle. */
  flush(): Promise<void> {
    return this.#writes.idle();
  }
}

/**
 * Block files of one directory keyed by index. Files that cannot be read or
 * parsed, whose block index differs from the file name, that duplicate an
 * index, or that are leftover temp files are handed to `quarantine`.
 */
async function readBlockFiles(
  dir: string,
  quarantine: (path: string, reason: string) => Promise<void>,
): Promise<Map<bigint, FileEntry>> {
  const files = new Map<bigint, FileEntry>();
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw new JbcError(ErrorCode.STORE_IO, `cannot list ${dir}: ${describeError(err)}`, { path: dir }, { cause: err });
  }
  // Canonical names first, so `000042.json` wins over a stray `42.json`.
  names.sort((a, b) => Number(isCanonicalName(b)) - Number(isCanonicalName(a)) || (a < b ? -1 : 1));
  for (const name of names) {
    const path = join(dir, name);
    if (TEMP_FILE.test(name)) {
      await quarantine(path, 'incomplete write left by a crash');
      continue;
    }
    const match = BLOCK_FILE.exec(name);
    if (!match) continue;
    const fileIndex = BigInt(match[1]!);
    try {
      const block = parseBlock(parseJsonBytes(await readFile(path), path));
      if (block.index !== fileIndex) {
        throw new JbcError(ErrorCode.STORE_BAD_FILE, `holds block ${block.index}, not ${fileIndex}`, { path });
      }
      if (files.has(fileIndex)) {
        throw new JbcError(ErrorCode.STORE_BAD_FILE, `duplicates ${files.get(fileIndex)!.path}`, { path });
      }
      files.set(fileIndex, { path, block });
    } catch (err) {
      await quarantine(path, describeError(err));
    }
  }
  return files;
}

function isCanonicalName(name: string): boolean {
  const match = BLOCK_FILE.exec(name);
  return match !== null && name === blockFileName(BigInt(match[1]!));
}

function byIndex([a]: [bigint, FileEntry], [b]: [bigint, FileEntry]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function validPrefix(files: Map<bigint, FileEntry>, difficulty: number) {
  const ordered = [...files].sort(byIndex).map(([, entry]) => entry.block);
  const { valid, rejected } = await longestValidPrefix(ordered, difficulty);
  return Object.assign(valid, { rejected });
}

async function moveToQuarantine(dir: string, path: string, reason: string): Promise<QuarantinedFile> {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const target = join(dir, QUARANTINE, `${name}.${Date.now()}-${randomBytes(3).toString('hex')}`);
  try {
    await rename(path, target);
    return { path, movedTo: target, reason };
  } catch (err) {
    return { path, movedTo: undefined, reason: `${reason} (could not move it aside: ${describeError(err)})` };
  }
}

/** temp file → write → fsync → rename over `name` → fsync(dir). */
async function writeAtomic(dir: string, name: string, contents: string, syncDir = true): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await io(`write ${target}`, async () => {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(contents, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  });
  if (syncDir) await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  await io(`sync directory ${dir}`, async () => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

async function removeEmptyDir(dir: string, logger: Logger): Promise<void> {
  try {
    await rmdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') logger.warn({ path: dir, err }, 'could not remove directory');
  }
}

async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw new JbcError(ErrorCode.STORE_IO, `cannot ${what}: ${describeError(err)}`, { what }, { cause: err });
  }
}
