/**
 * Bringing a data directory to the current format: its jbc block files
 * imported on the first open, and a version-1 database (blocks inside it)
 * converted to the block log and then compacted.
 */
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { TargetTrail, retargets, type ChainRule } from '../retarget.js';
import { chainWork, workHex } from '../target.js';
import { TargetTable } from './targets.js';
import type { BlockLog } from './block-log.js';
import { CHUNK_HEIGHTS, chunkKey, encodeRuns, fillChunks } from './chunks.js';
import { BLOCK_BYTES, BLOCK_PUTS, STORE_FORMAT, compactCopy, corrupt, fileSize, openRoot, readMeta, tables, writeMeta } from './database.js';
import { encodeBlock } from './encoding.js';
import { putEntry } from './hash-index.js';
import { fsyncDir, loadJbcDir, type QuarantinedFile } from './jbc-files.js';
import type { Headroom } from './lmdb-file.js';

/**
 * The first open of a directory: imports its jbc block files, if any, and
 * records the difficulty: the blocks' lines go to the log, then one
 * transaction points at them, so a crash leaves either no chain (and the
 * import runs again) or the whole import.
 */
export async function create(
  root: RootDatabase,
  headroom: Headroom,
  log: BlockLog,
  dir: string,
  rule: ChainRule,
  logger: Logger,
  quarantined: QuarantinedFile[],
): Promise<number> {
  const loaded = await loadJbcDir(dir, rule, logger);
  quarantined.push(...loaded.quarantined);
  const { chunks, byHash, meta, targets } = tables(root);
  const trail = TargetTrail.from(rule, [], 0n);
  const blockTargets = loaded.blocks.map((block) => trail.push(block));
  headroom.reserve(loaded.blocks.length * BLOCK_PUTS, loaded.blocks.length * BLOCK_BYTES);
  const written = log.write(loaded.blocks.map(encodeBlock));
  root.transactionSync(() => {
    for (const { chunk, runs } of fillChunks(0n, [], written.locations)) chunks.putSync(chunkKey(chunk), encodeRuns(runs), { append: true });
    for (const block of loaded.blocks) putEntry(byHash, block.hash, block.index);
    const tip = loaded.blocks.at(-1)?.hash ?? '';
    if (retargets(rule)) new TargetTable(targets).replace(0n, 0n, blockTargets);
    writeMeta(meta, {
      format: STORE_FORMAT,
      difficulty: rule.difficulty,
      length: loaded.blocks.length,
      tip,
      logEnd: written.end,
      targetBlockTimeMs: rule.targetBlockTimeMs,
      work: retargets(rule) ? workHex(chainWork(blockTargets)) : '',
    });
  });
  log.committed(written.end);
  if (loaded.blocks.length > 0 || loaded.quarantined.length > 0) {
    logger.info({ dir, imported: loaded.blocks.length, quarantined: loaded.quarantined.length }, 'jbc block files imported');
  }
  return loaded.blocks.length;
}

/**
 * Rewrites the database without its free pages and opens the copy in its
 * place. An LMDB file never shrinks, and after a conversion most of it is
 * free pages that later writes would reuse all over the file, so the map a
 * node keeps in memory would span the old size. A crash before the rename
 * leaves the uncompacted database, which works, and a stray copy, which the
 * next open removes; so does a copy that cannot be written (a full disk),
 * which is logged and leaves the database as it is.
 */
export async function compact(root: RootDatabase, path: string, logger: Logger): Promise<RootDatabase> {
  const copy = compactCopy(path);
  try {
    await root.backup(copy, true);
  } catch (err) {
    await rm(copy, { force: true });
    logger.warn({ path, err: describeError(err) }, 'could not compact the converted chain database; it works as it is');
    return root;
  }
  await root.close();
  await rename(copy, path);
  await fsyncDir(dirname(path));
  return openRoot(path);
}

/**
 * Converts a version-1 database, which held the blocks' bytes itself and
 * indexed whole hashes: copies the blocks to the log in height order
 * (synced), then one transaction points each height at its line, rebuilds
 * the hash index from the old one, drops the old tables and records this
 * version. A crash before that transaction leaves version 1, and the copy
 * starts over.
 */
export function upgradeFormat1(root: RootDatabase, headroom: Headroom, log: BlockLog, dir: string, logger: Logger): void {
  const { chunks, byHash, meta } = tables(root);
  const old = root.openDB<Buffer, Buffer>({ name: 'blocks', keyEncoding: 'binary', encoding: 'binary' });
  const oldHashes = root.openDB<Buffer, Buffer>({ name: 'hashes', keyEncoding: 'binary', encoding: 'binary' });
  const recorded = readMeta(dir, meta)!;
  // The lines go to the log back to back, so each chunk is one run: only where each chunk starts is kept.
  const chunkOffsets: number[] = [];
  let count = 0;
  let lines: Buffer[] = [];
  let end = log.end;
  const flush = () => {
    const written = log.write(lines);
    written.locations.forEach((location, i) => {
      if ((count - lines.length + i) % CHUNK_HEIGHTS === 0) chunkOffsets.push(location.offset);
    });
    end = written.end;
    lines = [];
  };
  for (const { key, value } of old.getRange()) {
    if (count >= recorded.length || key.readBigUInt64BE() !== BigInt(count)) {
      throw corrupt(dir, `its blocks are not heights 0 to ${recorded.length - 1}`);
    }
    lines.push(value);
    count++;
    if (lines.length === 10_000) flush();
  }
  flush();
  if (count !== recorded.length) throw corrupt(dir, `it records ${recorded.length} blocks but holds ${count}`);
  // Dropping the old tables lists each of their pages as free, 8 bytes a page.
  headroom.reserve(count * BLOCK_PUTS, count * BLOCK_BYTES + ((fileSize(headroom.path) ?? 0) / headroom.pageSize) * 8);
  root.transactionSync(() => {
    chunkOffsets.forEach((offset, chunk) => {
      const run = { offset, bytes: (chunkOffsets[chunk + 1] ?? end) - offset, count: Math.min(CHUNK_HEIGHTS, count - chunk * CHUNK_HEIGHTS) };
      chunks.putSync(chunkKey(BigInt(chunk)), encodeRuns([run]), { append: true });
    });
    for (const { key, value } of oldHashes.getRange()) putEntry(byHash, key.toString('hex'), value.readBigUInt64BE());
    old.dropSync();
    oldHashes.dropSync();
    writeMeta(meta, { ...recorded, format: STORE_FORMAT, logEnd: end });
  });
  log.committed(end);
  logger.info({ dir, blocks: count, from: recorded.format, to: STORE_FORMAT }, 'chain database converted to the current format');
}
