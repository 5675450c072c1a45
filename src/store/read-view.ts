/**
 * The read side of a ChainDb: blocks found through the chunk table's runs,
 * read from the block log (pread), checked, and cached. Every read goes
 * through an LMDB read transaction pinned to the last commit the store
 * finished (`advance` moves it), so a length, a tip and the blocks read
 * under it always describe one chain, even while the next commit is being
 * written. Iterations take their own snapshot instead, so a long one
 * (serving the whole chain) never sees a commit that lands meanwhile.
 */
import type { Database, RootDatabase, Transaction } from 'lmdb';
import type { Block } from '../block.js';
import type { JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlockLog } from './block-log.js';
import { chunkKey, chunkOf, chunkStart, decodeRuns, findSlot, slotOf, splitLines, type Run } from './chunks.js';
import { corrupt } from './database.js';
import { isStorableHeight } from './encoding.js';
import { Lru } from './lru.js';
import { readStoredBlock, storedLineHash, type StoredPlace } from './stored-block.js';

/**
 * Block data (characters) the cache of recently read blocks holds at most,
 * whatever its count allows: a thousand blocks of a megabyte would be a
 * gigabyte.
 */
const CACHE_DATA_CHARS = 8 * 1024 * 1024;

/** What a check of a stored line gives: at least the block's hash, for the next line's link. */
interface Checked {
  readonly hash: string;
}

/** A check of a stored line (stored-block.ts): throws STORE_CORRUPT naming its height when the block is not sound. */
type Check<T extends Checked> = (line: Buffer, place: StoredPlace, dir: string) => T;

/** The check for readers that need a line's text and hash but no Block. */
const lineHash: Check<Checked> = (line, place, dir) => ({ hash: storedLineHash(line, place, dir) });

export interface ReadViewParts {
  readonly dir: string;
  readonly difficulty: number;
  readonly root: RootDatabase;
  readonly chunks: Database<Buffer, Buffer>;
  readonly log: BlockLog;
  readonly logger: Logger;
  /** Blocks the cache of recently read ones holds. */
  readonly cacheBlocks: number;
  /** The read transaction to start from (the view ends it), and the chain's length as the metadata records it there. */
  readonly transaction: Transaction;
  readonly length: number;
}

export class ReadView {
  readonly #dir: string;
  readonly #difficulty: number;
  readonly #root: RootDatabase;
  readonly #chunks: Database<Buffer, Buffer>;
  readonly #log: BlockLog;
  readonly #logger: Logger;
  readonly #cache: Lru<bigint, Block>;
  #transaction: Transaction;
  #length: number;
  /** The lowest height a read found damaged, until a commit replaces it. */
  #damagedAt: bigint | undefined;
  readonly #damageListeners = new Set<(damage: JbcError) => void>();
  #snapshots = 0;

  /** Ends with `done`. */
  constructor(parts: ReadViewParts) {
    this.#dir = parts.dir;
    this.#difficulty = parts.difficulty;
    this.#root = parts.root;
    this.#chunks = parts.chunks;
    this.#log = parts.log;
    this.#logger = parts.logger;
    this.#cache = new Lru(parts.cacheBlocks, { max: CACHE_DATA_CHARS, of: (block) => block.data.length });
    this.#length = parts.length;
    this.#transaction = parts.transaction;
  }

  /** The read transaction every read of this view goes through (tables beside the chunks read through it too). */
  get transaction(): Transaction {
    return this.#transaction;
  }

  get length(): number {
    return this.#length;
  }

  /** The lowest height a read found damaged since the last commit that replaced it; undefined when none. */
  get damagedAt(): bigint | undefined {
    return this.#damagedAt;
  }

  /** Iterations in progress, each holding a read snapshot open (and so keeping LMDB from reusing pages freed since). */
  get snapshots(): number {
    return this.#snapshots;
  }

  /** After a commit that replaced the blocks from `forkPoint` on: reads see it, and forget what they knew of the blocks it replaced. */
  advance(forkPoint: bigint, length: number): void {
    this.renew();
    this.#cache.deleteWhere((height) => height >= forkPoint);
    if (this.#damagedAt !== undefined && this.#damagedAt >= forkPoint) this.#damagedAt = undefined;
    this.#length = length;
  }

  /** Moves the pinned transaction to the newest commit (one that changed no block: the pool, the hash index). */
  renew(): void {
    const previous = this.#transaction;
    this.#transaction = this.#root.useReadTransaction();
    previous.done();
  }

  done(): void {
    this.#transaction.done();
  }

  at(index: bigint): Block | undefined {
    if (index < 0n || index >= BigInt(this.#length)) return undefined;
    return this.read(index);
  }

  /** Block `index` (below the length), checked against its contents and its parent. */
  read(index: bigint): Block {
    const cached = this.#cache.get(index);
    if (cached !== undefined) return cached;
    const { lines, at } = this.#runOf(index);
    let parentHash = index === 0n ? '' : this.#cache.get(index - 1n)?.hash;
    if (parentHash === undefined) {
      const parent = at > 0 ? { lines, at: at - 1 } : this.#runOf(index - 1n);
      parentHash = this.#check(parent.lines[parent.at]!, index - 1n, undefined, lineHash).hash;
    }
    const block = this.#check(lines[at]!, index, parentHash, readStoredBlock);
    this.#cache.set(index, block);
    return block;
  }

  range(from: bigint, limit: number): Block[] {
    const blocks: Block[] = [];
    if (from < 0n || !(limit > 0)) return blocks;
    const count = BigInt(Number.isFinite(limit) ? Math.floor(limit) : this.#length);
    const end = BigInt(this.#length) < from + count ? BigInt(this.#length) : from + count;
    if (from >= end) return blocks;
    for (const { checked } of this.#checkedLines(this.#transaction, from, end, readStoredBlock)) blocks.push(checked);
    return blocks;
  }

  *iterate(from = 0n): Generator<Block> {
    for (const { checked } of this.#scan(from, readStoredBlock)) yield checked;
  }

  /**
   * Like `iterate`, but each block as its output-form JSON text, straight
   * from the stored bytes (checked like every read, but never decoded):
   * serving the chain (`/blockchain.json`, an export) needs no Block.
   */
  *iterateJson(from = 0n): Generator<string> {
    for (const { line } of this.#scan(from, lineHash)) yield line.toString('utf8', 0, line.length - 1);
  }

  *#scan<T extends Checked>(from: bigint, check: Check<T>): Generator<{ checked: T; line: Buffer }> {
    if (!isStorableHeight(from)) return;
    const snapshot = this.#root.useReadTransaction();
    this.#snapshots++;
    try {
      yield* this.#checkedLines(snapshot, from, undefined, check);
    } finally {
      this.#snapshots--;
      snapshot.done();
    }
  }

  /**
   * The stored lines of heights from `from` (up to `end`, or to the tip of
   * `transaction`'s chain; undefined: the write transaction under way), read
   * from the log a run of up to 64 lines at a time. Unchecked: for a commit
   * that only needs what the lines say (or drops them).
   */
  *lines(transaction: Transaction | undefined, from: bigint, end: bigint | undefined): Generator<{ height: bigint; line: Buffer }> {
    const start = chunkKey(chunkOf(from));
    for (const { key, value } of this.#chunks.getRange({ start, ...(transaction === undefined ? {} : { transaction }) })) {
      let height = chunkStart(key.readBigUInt64BE());
      for (const run of decodeRuns(value)) {
        if (height + BigInt(run.count) <= from) {
          height += BigInt(run.count);
          continue;
        }
        for (const line of this.readRun(run)) {
          if (end !== undefined && height >= end) return;
          if (height >= from) yield { height, line };
          height++;
        }
      }
    }
  }

  /**
   * `lines`, each line checked by `check` (stored-block.ts) and linked to
   * the one before it; the line below `from` is read too, for the first link.
   */
  *#checkedLines<T extends Checked>(
    transaction: Transaction | undefined,
    from: bigint,
    end: bigint | undefined,
    check: Check<T>,
  ): Generator<{ checked: T; line: Buffer }> {
    let parentHash: string | undefined = from === 0n ? '' : this.#cache.get(from - 1n)?.hash;
    const start = parentHash === undefined ? from - 1n : from;
    for (const { height, line } of this.lines(transaction, start, end)) {
      const checked = this.#check(line, height, parentHash, check);
      parentHash = checked.hash;
      if (height >= from) yield { checked, line };
    }
  }

  /** A stored line, checked; a damaged one is reported to the damage listeners before it is thrown. */
  #check<T extends Checked>(line: Buffer, height: bigint, parentHash: string | undefined, check: Check<T>): T {
    try {
      return check(line, { height, difficulty: this.#difficulty, parentHash }, this.#dir);
    } catch (err) {
      this.noteDamage(height, err as JbcError);
      throw err;
    }
  }

  /** Logs a damaged block and tells the damage listeners, once per height below any found before. */
  noteDamage(height: bigint, damage: JbcError): void {
    if (this.#damagedAt !== undefined && this.#damagedAt <= height) return;
    this.#damagedAt = height;
    this.#logger.error({ dir: this.#dir, height: Number(height), code: damage.code, reason: damage.data.reason }, 'a stored block is damaged');
    for (const listener of this.#damageListeners) listener(damage);
  }

  /**
   * Calls `listener` when a read finds a stored block damaged (a
   * STORE_CORRUPT error whose `data.height` names it), once per height below
   * any found before; returns a function that unsubscribes.
   */
  onDamage(listener: (damage: JbcError) => void): () => void {
    this.#damageListeners.add(listener);
    return () => this.#damageListeners.delete(listener);
  }

  readRun(run: Run): Buffer[] {
    return splitLines(this.#log.read(run.offset, run.bytes), run.count);
  }

  /** The runs of a chunk (none when there is no such chunk), through `transaction` (undefined: the write transaction under way). */
  chunkRuns(chunk: bigint, transaction?: Transaction): Run[] {
    const value = this.#chunks.get(chunkKey(chunk), transaction === undefined ? undefined : { transaction });
    return value === undefined ? [] : decodeRuns(value);
  }

  /** The lines of the run that holds height `index`, and its place among them. */
  #runOf(index: bigint): { lines: Buffer[]; at: number } {
    const found = findSlot(this.chunkRuns(chunkOf(index), this.#transaction), slotOf(index));
    if (found === undefined) throw corrupt(this.#dir, `block ${index} is missing below its tip`);
    return { lines: this.readRun(found.run), at: found.line };
  }
}
