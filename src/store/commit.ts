/**
 * The commit path of a ChainDb: how blocks that replace the chain from a
 * fork point become durable. Room is reserved in the database file first
 * (lmdb-file.ts), then the blocks' lines are written and synced past the
 * log's committed end, then one LMDB write transaction drops the replaced
 * blocks from every table and points at the new lines. The transaction is
 * durable when it returns (overlappingSync off), and LMDB's two meta pages
 * make it all or nothing: a kill -9 at any instant leaves the old chain or
 * the new one, and log bytes past the end the database records are cut off
 * when it is opened again.
 */
import type { Database, RootDatabase } from 'lmdb';
import type { Block } from '../block.js';
import { formatUint } from '../codec.js';
import { unpackBlockData } from '../entries.js';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import { LOG_FILE, type BlockLog } from './block-log.js';
import { chunkKey, chunkOf, encodeRuns, fillChunks, slotOf, type Run } from './chunks.js';
import { BLOCK_BYTES, BLOCK_PUTS, DB_FILE, ENTRY_BYTES, ENTRY_PUTS, writeError, writeMeta, type Meta } from './database.js';
import { decodeBlock, encodeBlock } from './encoding.js';
import type { EntryIndex, SettleReport } from './entry-index.js';
import type { HashIndex } from './hash-index.js';
import type { Headroom } from './lmdb-file.js';
import type { ReadView } from './read-view.js';
import type { TargetTable } from './targets.js';

/** What a commit writes to, and reads the replaced blocks through. */
export interface CommitParts {
  readonly dir: string;
  readonly logger: Logger;
  readonly root: RootDatabase;
  readonly chunks: Database<Buffer, Buffer>;
  readonly meta: Database<unknown, string>;
  readonly targets: TargetTable;
  readonly hashes: HashIndex;
  readonly entries: EntryIndex;
  readonly headroom: Headroom;
  readonly log: BlockLog;
  readonly view: ReadView;
}

export interface Commit {
  /** The first height replaced: `blocks[0]` goes there. */
  readonly forkPoint: bigint;
  readonly blocks: readonly Block[];
  /** The blocks' targets, when the chain's rule records them. */
  readonly targets: readonly bigint[] | undefined;
  /** The metadata once committed, but for the log's end, which the write of the blocks decides. */
  readonly meta: Omit<Meta, 'logEnd'>;
}

/** Throws unless `blocks` start at `forkPoint`, link to the block before it, and link to each other. */
export function checkLinks(view: ReadView, forkPoint: bigint, blocks: readonly Block[]): void {
  const length = BigInt(view.length);
  if (forkPoint < 0n || forkPoint > length) {
    throw new JbcError(ErrorCode.NOT_EXTENDING_TIP, `cannot commit at block ${forkPoint}: the stored chain has ${length} blocks`, {
      forkPoint: String(forkPoint),
      length: view.length,
    });
  }
  const parent = forkPoint === 0n ? undefined : view.read(forkPoint - 1n);
  let prev = parent;
  for (const [i, block] of blocks.entries()) {
    const expected = prev === undefined ? 0n : prev.index + 1n;
    if (block.index !== expected || block.prevHash !== (prev?.hash ?? '')) {
      throw new JbcError(
        i === 0 ? ErrorCode.NOT_EXTENDING_TIP : ErrorCode.INVALID_CHAIN,
        i === 0
          ? `block ${block.index} does not continue the stored chain at block ${forkPoint}` +
              (parent === undefined ? ' (the first block must have index 0 and an empty prev_hash)' : ` (after ${parent.hash.slice(0, 12)}…)`)
          : `block ${block.index} does not follow block ${prev?.index} of the same commit`,
        { index: formatUint(block.index), forkPoint: formatUint(forkPoint) },
      );
    }
    prev = block;
  }
}

/**
 * Writes `commit` (whose links were checked) durably: on return the
 * database holds it, and readers see it once the view advances. Throws
 * STORE_IO naming the file that could not be written, with nothing
 * committed.
 */
export function writeCommit(parts: CommitParts, commit: Commit): void {
  const { forkPoint, blocks } = commit;
  const oldLength = BigInt(parts.view.length);
  reserveForCommit(parts, forkPoint, blocks);
  let written: ReturnType<BlockLog['write']>;
  try {
    written = parts.log.write(blocks.map(encodeBlock));
  } catch (err) {
    throw writeError(parts.dir, err, LOG_FILE);
  }
  let settled: SettleReport;
  try {
    settled = parts.root.transactionSync(() => {
      const head = dropFrom(parts, forkPoint, oldLength);
      for (const { chunk, runs } of fillChunks(forkPoint, head, written.locations)) parts.chunks.putSync(chunkKey(chunk), encodeRuns(runs));
      if (commit.targets !== undefined) parts.targets.replace(forkPoint, oldLength, commit.targets);
      for (const block of blocks) {
        parts.hashes.add(block.hash, block.index);
        parts.entries.blockAdded(block);
      }
      writeMeta(parts.meta, { ...commit.meta, logEnd: written.end });
      return parts.entries.settle(Date.now());
    });
    parts.entries.committed();
  } catch (err) {
    parts.entries.abandoned();
    parts.log.abandon();
    if (err instanceof JbcError) throw err;
    throw writeError(parts.dir, err, DB_FILE);
  }
  parts.log.committed(written.end);
  logSettled(parts, settled, forkPoint);
}

/**
 * Room for a commit (see Headroom): each block a chunk and a hash index
 * entry, and each entry of the blocks it adds or drops moves between
 * pending (with its data) and confirmed.
 */
function reserveForCommit(parts: CommitParts, forkPoint: bigint, blocks: readonly Block[]): void {
  let puts = 0;
  let bytes = 0;
  const count = (data: string) => {
    puts += BLOCK_PUTS;
    bytes += BLOCK_BYTES;
    for (const entry of unpackBlockData(data)) {
      puts += ENTRY_PUTS;
      bytes += Buffer.byteLength(entry.data, 'utf8') + ENTRY_BYTES;
    }
  };
  for (const block of blocks) count(block.data);
  const { view } = parts;
  for (const { height, line } of view.lines(view.transaction, forkPoint, BigInt(view.length))) {
    count(decodeBlock(line, `block ${height} of ${parts.dir}`).data);
  }
  parts.headroom.reserve(puts, bytes);
}

/**
 * Inside the write transaction: drops the blocks at heights from `from` to
 * `to` (exclusive) from every table, returning the runs that stay in the
 * chunk of `from` (its lines before `from`), for the new blocks to follow.
 */
function dropFrom(parts: CommitParts, from: bigint, to: bigint): Run[] {
  const { view } = parts;
  const first = chunkOf(from);
  const runs = view.chunkRuns(first);
  if (from >= to) return runs;
  for (const { height, line } of view.lines(undefined, from, to)) {
    let block: Block;
    try {
      block = decodeBlock(line, `block ${height} of ${parts.dir}`);
    } catch {
      continue; // A damaged line being dropped: nothing in it can be trusted to undo.
    }
    parts.hashes.remove(block.hash, height);
    parts.entries.blockRemoved(block, height);
  }
  for (let chunk = chunkOf(to - 1n); chunk > first; chunk--) parts.chunks.removeSync(chunkKey(chunk));
  // Keep the lines before `from`: whole runs, then part of the run it falls in.
  const kept: Run[] = [];
  let left = slotOf(from);
  for (const run of runs) {
    if (left === 0) break;
    if (run.count <= left) {
      kept.push(run);
      left -= run.count;
    } else {
      const lines = view.readRun(run);
      const bytes = lines.slice(0, left).reduce((sum, line) => sum + line.length, 0);
      kept.push({ offset: run.offset, bytes, count: left });
      left = 0;
    }
  }
  if (kept.length === 0) parts.chunks.removeSync(chunkKey(first));
  return kept;
}

/** Entries of abandoned blocks that did not go back to the pool: the pool's rules keep them out, so say so once. */
function logSettled(parts: CommitParts, settled: SettleReport, forkPoint: bigint): void {
  const { oversized, overCap, repended } = settled;
  const { dir, logger } = parts;
  if (oversized.length > 0) {
    logger.warn(
      { dir, forkPoint: String(forkPoint), count: oversized.length, ids: oversized.slice(0, 10) },
      'entries of abandoned blocks are past the entry size limit; dropped, not pending again',
    );
  }
  if (overCap > 0) {
    logger.warn(
      { dir, forkPoint: String(forkPoint), dropped: overCap, repended },
      `${overCap} entries of abandoned blocks did not fit the data pool's caps; the oldest are pending again, those dropped`,
    );
  }
}
