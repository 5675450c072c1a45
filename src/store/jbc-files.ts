/**
 * The article's on-disk layout: one JSON file per block, `000042.json`, in
 * output form. Reading a directory of them (any order, any integer style,
 * with bad files quarantined), and writing them atomically. Used to import a
 * jbc data directory, to mirror the database as files, and to export a
 * chain.
 *
 * Durability rules:
 * - every write is temp file → fsync → rename → fsync(dir), so a file is
 *   either absent or complete;
 * - nothing is silently deleted: unreadable, invalid or unreachable files and
 *   leftover temp files go to `quarantine/`, reported with path and reason.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { blockToJson, computeHash, parseBlock, type Block } from '../block.js';
import { longestValidPrefix } from '../chain.js';
import { formatUint, parseJsonBytes } from '../codec.js';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChainRule } from '../retarget.js';

export interface QuarantinedFile {
  /** Where the file was. */
  readonly path: string;
  /** Where it is now (undefined when moving it failed; the reason says why). */
  readonly movedTo: string | undefined;
  readonly reason: string;
}

export interface FileEntry {
  readonly path: string;
  readonly block: Block;
}

export const BLOCK_FILE = /^([0-9]+)\.json$/;
const TEMP_FILE = /\.tmp$/;
export const PENDING = 'pending';
export const QUARANTINE = 'quarantine';

/** `000042.json`: the index zero-padded to six digits, wider when it needs more. */
export function blockFileName(index: bigint): string {
  return `${formatUint(index).padStart(6, '0')}.json`;
}

/** A block file's exact contents: the output form on one line. */
export function serializeBlock(block: Block): string {
  return `${JSON.stringify(blockToJson(block))}\n`;
}

/** Moves a file to `<dir>/quarantine/`, logs it, and records it in `into`. */
export type Quarantine = (path: string, reason: string) => Promise<void>;

export function quarantiner(dir: string, logger: Logger, into: QuarantinedFile[]): Quarantine {
  return async (path, reason) => {
    await io(`create ${join(dir, QUARANTINE)}`, () => mkdir(join(dir, QUARANTINE), { recursive: true }));
    const report = await moveToQuarantine(dir, path, reason);
    logger.warn({ path, movedTo: report.movedTo, reason }, 'block file quarantined');
    into.push(report);
  };
}

/**
 * Loads a jbc directory: sorts files by index, keeps the longest valid chain
 * from block 0, finishes or abandons a reorg that an earlier file-only
 * version of this node left unfinished (`pending/`), and quarantines every block file that is not part of the
 * chain. Never throws for bad files; throws STORE_IO only when the directory
 * itself cannot be used.
 */
export async function loadJbcDir(dir: string, rule: ChainRule, logger: Logger): Promise<{ blocks: Block[]; quarantined: QuarantinedFile[] }> {
  const quarantined: QuarantinedFile[] = [];
  const quarantine = quarantiner(dir, logger, quarantined);
  const main = await readBlockFiles(dir, quarantine);
  const pending = await readBlockFiles(join(dir, PENDING), quarantine);
  let files = main;
  if (pending.size > 0) {
    const overlay = new Map([...main, ...pending]);
    const [old, fork] = [validPrefix(main, rule), validPrefix(overlay, rule)];
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

  const blocks = validPrefix(files, rule);
  const rejected = blocks.rejected;
  for (const [index, entry] of [...files].sort(byIndex)) {
    if (index < BigInt(blocks.length)) continue;
    const reason =
      rejected !== undefined && index === rejected.block.index
        ? `invalid: ${rejected.error.message}`
        : `not part of the chain: the valid chain ends at block ${blocks.length - 1}`;
    await quarantine(entry.path, reason);
  }
  return { blocks, quarantined };
}

/**
 * The leading zeros of block 0's hash when the directory's `000000.json` is a
 * genuine block (its hash recomputes) that lacks `difficulty` zeros: a jbc
 * directory mined at a lower difficulty. Undefined otherwise (no such file,
 * a bad one, or enough zeros), so the import decides as usual.
 */
export async function lowerGenesisDifficulty(dir: string, difficulty: number): Promise<number | undefined> {
  let block: Block;
  try {
    block = parseBlock(parseJsonBytes(await readFile(join(dir, blockFileName(0n)))));
  } catch {
    return undefined;
  }
  if (block.index !== 0n || computeHash(block, block.nonce) !== block.hash) return undefined;
  const zeros = /^0*/.exec(block.hash)![0].length;
  return zeros < difficulty ? zeros : undefined;
}

/** Names of the block files (`<digits>.json`) directly in `dir`; [] when it does not exist. */
export async function listBlockFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && BLOCK_FILE.test(e.name)).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new JbcError(ErrorCode.STORE_IO, `cannot list ${dir}: ${describeError(err)}`, { path: dir }, { cause: err });
  }
}

/** Whether `path` (a symbolic link) leads to a regular file. */
async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false; // a dangling link: moved aside like any non-file
  }
}

function notAFile(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'is a symbolic link that leads to no regular file';
  const what = entry.isDirectory() ? 'a directory' : entry.isFIFO() ? 'a FIFO' : entry.isSocket() ? 'a socket' : 'a device';
  return `is ${what}, not a regular file`;
}

/**
 * Block files of one directory keyed by index. Files that cannot be read or
 * parsed, whose block index differs from the file name, that duplicate an
 * index, or that are leftover temp files are handed to `quarantine`.
 */
async function readBlockFiles(dir: string, quarantine: Quarantine): Promise<Map<bigint, FileEntry>> {
  const files = new Map<bigint, FileEntry>();
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = [];
    for (const entry of entries) {
      if (entry.isFile() || (entry.isSymbolicLink() && (await isRegularFile(join(dir, entry.name))))) names.push(entry.name);
      // A block file name on anything else is never opened (a FIFO would block the read): it is moved aside, saying what it is.
      else if (BLOCK_FILE.test(entry.name)) await quarantine(join(dir, entry.name), notAFile(entry));
    }
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

function validPrefix(files: Map<bigint, FileEntry>, rule: ChainRule) {
  const ordered = [...files].sort(byIndex).map(([, entry]) => entry.block);
  const { valid, rejected } = longestValidPrefix(ordered, rule);
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

/** temp file → write → fsync → rename over `name` → fsync(dir) unless `syncDir` is false. */
export async function writeAtomic(dir: string, name: string, contents: string | Uint8Array, syncDir = true): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await io(`write ${target}`, async () => {
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(contents);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (err) {
      // A full or failing disk must not leave a temp file per try behind.
      await rm(temp, { force: true }).catch(() => {});
      throw err;
    }
  });
  if (syncDir) await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  await io(`sync directory ${dir}`, async () => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

export async function removeEmptyDir(dir: string, logger: Logger): Promise<void> {
  try {
    await rmdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') logger.warn({ path: dir, error: describeError(err) }, 'could not remove directory');
  }
}

/** Runs a filesystem action; any failure becomes STORE_IO naming what was being done. */
export async function io<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw new JbcError(ErrorCode.STORE_IO, `cannot ${what}: ${describeError(err)}`, { what }, { cause: err });
  }
}
