/**
 * The chain in a data directory: the blocks' bytes in an append-only log,
 * `<dir>/blocks.log` (see block-log.ts), and an embedded database (LMDB,
 * through lmdb-js), `<dir>/chain.mdb`, holding where each height's block is
 * in the log (chunks.ts), the newest part of the index from hash to height
 * (the rest is in run files: hash-index.ts), each block's target when the
 * rule retargets (targets.ts), the data pool (entry-index.ts), and metadata
 * (format version, chain rule, length, tip hash, work, the log's committed
 * end, the index's runs).
 *
 * ChainDb opens the directory (creating, importing or converting it:
 * conversion.ts), keeps the chain's length, tip and work, and queues writes
 * one at a time. Commits are written by commit.ts, all or nothing, durable
 * when they resolve; reads go through read-view.ts, pinned to the last
 * commit finished, every block checked as it is read. Opening reads the
 * length and tip from the metadata and checks only the newest blocks: no
 * scan. Only the database, under a byte a block plus the newest hash index
 * entries, is memory-mapped.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { isHash, type Block } from '../block.js';
import type { Entry } from '../entries.js';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { initHashing } from '../hash.js';
import { silentLogger, type Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import { TargetTrail, baseTarget, retargets, type ChainRule, type Stamp } from '../retarget.js';
import { chainWork, targetWork, workHex } from '../target.js';
import { TargetTable } from './targets.js';
import { DirLock } from './dir-lock.js';
import { damagedBlock, damagedHeight } from './stored-block.js';
import { HashIndex, type HashIndexTables } from './hash-index.js';
import type { ChainStore, CutBack, OpenReport } from './interface.js';
import { io, lowerGenesisDifficulty, quarantiner, type QuarantinedFile } from './jbc-files.js';
import { EntryIndex, type EntryRecord, type PendingEntry } from './entry-index.js';
import { JbcMirror } from './jbc-mirror.js';
import { BlockLog, LOG_FILE } from './block-log.js';
import { chunkOf, lineCount, slotOf } from './chunks.js';
import { checkLinks, writeCommit, type CommitParts } from './commit.js';
import { Headroom, lmdbFileProblem } from './lmdb-file.js';
import { ReadView } from './read-view.js';
import { compact, create, upgradeFormat1 } from './conversion.js';
import {
  DB_FILE,
  ENTRY_BYTES,
  ENTRY_PUTS,
  STORE_FORMAT,
  compactCopy,
  corrupt,
  damaged,
  fileSize,
  openRoot,
  peekMeta,
  readMeta,
  tables,
  writeError,
} from './database.js';
import { checkChainDbOptions, defaultChainDbOptions, defaultPoolLimits, type ChainDbOptions, type PoolLimits } from './options.js';

/** The newest blocks opening reads and checks: what the node reads first (its tip, the event stream's recent blocks, a locator's dense part). */
const OPEN_CHECKED_BLOCKS = 256;

/** What the node logs when it cuts its chain back below a damaged block. */
export const CUT_BACK_MESSAGE = 'the chain is cut back to the blocks below a damaged one; the rest is synced from peers again';

export interface ChainDbModules {
  readonly logger?: Logger;
}

/** Opens (creating or importing when needed) the chain database of a data directory: `ChainDb.open`. */
export function openChainDb(options: ChainDbOptions, modules: ChainDbModules = {}): Promise<ChainDb> {
  return ChainDb.open(options, modules);
}

export class ChainDb implements ChainStore {
  readonly dir: string;
  readonly difficulty: number;
  readonly rule: ChainRule;
  #report: OpenReport = { imported: 0, quarantined: [], mirrorRepaired: 0 };
  readonly #root: RootDatabase;
  readonly #hashes: HashIndex;
  readonly #lock: DirLock;
  readonly #headroom: Headroom;
  readonly #log: BlockLog;
  readonly #logger: Logger;
  readonly #mirror: JbcMirror | undefined;
  readonly #view: ReadView;
  readonly #writer: CommitParts;
  readonly #entries: EntryIndex;
  /** Each block's target; kept only when the rule retargets (otherwise every block's is the rule's base target). */
  readonly #targets: TargetTable;
  /** With a target block time: the chain's cumulative work, as committed. */
  #work: bigint;
  /** Entries waiting for the next pool write. */
  readonly #adds: Array<{
    entry: Entry;
    now: number;
    resolve: (outcome: 'added' | 'pending' | 'confirmed') => void;
    reject: (err: unknown) => void;
  }> = [];
  #tip: Block | undefined;
  /** The tip's hash as the metadata records it, until the tip has been read and checked against it. */
  #recordedTip: string | undefined;
  readonly #writes = new SerialQueue();
  #closed: Promise<void> | undefined;

  private constructor(init: {
    dir: string;
    rule: ChainRule;
    root: RootDatabase;
    headroom: Headroom;
    lock: DirLock;
    log: BlockLog;
    hashes: HashIndex;
    logger: Logger;
    mirror: JbcMirror | undefined;
    cacheBlocks: number;
    pool: PoolLimits;
  }) {
    const { dir, root, log, logger } = init;
    this.dir = dir;
    this.rule = init.rule;
    this.difficulty = init.rule.difficulty;
    this.#root = root;
    this.#hashes = init.hashes;
    this.#headroom = init.headroom;
    this.#lock = init.lock;
    this.#log = log;
    this.#logger = logger;
    this.#mirror = init.mirror;
    const { chunks, meta: metaTable, targets } = tables(root);
    this.#targets = new TargetTable(targets);
    this.#entries = new EntryIndex(root, init.pool);
    const transaction = root.useReadTransaction();
    const meta = readMeta(dir, metaTable, transaction);
    if (meta === undefined) {
      transaction.done();
      throw corrupt(dir, 'its metadata is missing');
    }
    this.#view = new ReadView({ dir, difficulty: this.difficulty, root, chunks, log, logger, cacheBlocks: init.cacheBlocks, transaction, length: meta.length });
    this.#writer = {
      dir,
      logger,
      root,
      chunks,
      meta: metaTable,
      targets: this.#targets,
      hashes: this.#hashes,
      entries: this.#entries,
      headroom: this.#headroom,
      log,
      view: this.#view,
    };
    this.#entries.load(transaction);
    this.#recordedTip = meta.tip;
    this.#work = meta.work === '' ? 0n : BigInt(`0x${meta.work}`);
    if (lineCount(this.#view.chunkRuns(chunkOf(BigInt(meta.length)), transaction)) !== slotOf(BigInt(meta.length))) {
      this.#view.done();
      throw corrupt(dir, `it holds blocks beyond its recorded length ${meta.length}`);
    }
  }

  /**
   * Creates the directory when missing, locks it (DATA_DIR_LOCKED when
   * another process holds it), then opens, creates or imports its database.
   */
  static async open(options: ChainDbOptions, modules: ChainDbModules = {}): Promise<ChainDb> {
    checkChainDbOptions(options);
    // Every read checks its block's hash.
    await initHashing();
    const logger = modules.logger ?? silentLogger;
    const { dir } = options;
    await io(`create data directory ${dir}`, () => mkdir(dir, { recursive: true }));
    const lock = await DirLock.acquire(dir);
    try {
      return await ChainDb.#openLocked(options, logger, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  static async #openLocked(options: ChainDbOptions, logger: Logger, lock: DirLock): Promise<ChainDb> {
    const { dir } = options;
    const path = join(dir, DB_FILE);
    // Checked read-only first, so a refused open writes nothing.
    const dbSize = fileSize(path);
    const logSize = fileSize(join(dir, LOG_FILE)) ?? 0;
    // Without the database nothing says where the blocks are, and opening would start a new chain and cut the log to nothing.
    if ((dbSize ?? 0) === 0 && logSize > 0) {
      throw new JbcError(
        ErrorCode.STORE_CORRUPT,
        `${path} is ${dbSize === undefined ? 'missing' : 'empty'} but ${join(dir, LOG_FILE)} holds ${logSize} bytes of blocks; nothing was changed: ` +
          `restore ${DB_FILE}, or move ${LOG_FILE} out of ${dir} to start with an empty chain (and sync it again from peers)`,
        { dir, path, logSize },
      );
    }
    if (dbSize !== undefined && dbSize > 0) {
      const problem = lmdbFileProblem(path);
      if (problem !== undefined) throw damaged(dir, path, problem);
    }
    const recorded = dbSize !== undefined && dbSize > 0 ? await peekMeta(dir, path) : undefined;
    if (recorded !== undefined) {
      if (recorded.format > STORE_FORMAT) {
        throw corrupt(dir, `its format version ${recorded.format} is newer than this program's (${STORE_FORMAT})`);
      }
      if (options.difficulty !== undefined && options.difficulty !== recorded.difficulty) {
        throw new JbcError(
          ErrorCode.DIFFICULTY_MISMATCH,
          `${dir} holds a difficulty-${recorded.difficulty} chain; start with --difficulty ${recorded.difficulty} or another --data-dir (not --difficulty ${options.difficulty})`,
          { dir, recorded: recorded.difficulty, requested: options.difficulty },
        );
      }
      if (options.targetBlockTimeMs !== undefined && options.targetBlockTimeMs !== recorded.targetBlockTimeMs) {
        const flag = (ms: number) => `--target-block-time ${ms / 1000}`;
        const holds =
          recorded.targetBlockTimeMs === 0 ? "jbc's fixed difficulty (no target block time)" : `a target block time of ${recorded.targetBlockTimeMs / 1000} s`;
        throw new JbcError(
          ErrorCode.DIFFICULTY_MISMATCH,
          `${dir} holds a chain with ${holds}; start with ${flag(recorded.targetBlockTimeMs)} or another --data-dir (not ${flag(options.targetBlockTimeMs)})`,
          { dir, recordedTargetBlockTimeMs: recorded.targetBlockTimeMs, requestedTargetBlockTimeMs: options.targetBlockTimeMs },
        );
      }
    }
    const difficulty = recorded?.difficulty ?? options.difficulty;
    if (difficulty === undefined) {
      throw new JbcError(ErrorCode.BAD_OPTION, `${dir} holds no chain database yet; options.difficulty is needed to create one`, { dir });
    }
    const rule: ChainRule = { difficulty, targetBlockTimeMs: recorded?.targetBlockTimeMs ?? options.targetBlockTimeMs ?? 0 };
    if (recorded === undefined) {
      // A jbc directory started at the wrong difficulty would otherwise be quarantined block by block.
      const zeros = await lowerGenesisDifficulty(dir, difficulty);
      if (zeros !== undefined) {
        throw new JbcError(
          ErrorCode.DIFFICULTY_MISMATCH,
          `${dir} holds jbc block files whose block 0 has ${zeros} leading zeros, not ${difficulty}; start with --difficulty ${zeros} or lower, or another --data-dir`,
          { dir, recorded: zeros, requested: difficulty },
        );
      }
    }

    await rm(compactCopy(path), { force: true });
    let root = openRoot(path);
    let headroom: Headroom | undefined;
    const quarantined: QuarantinedFile[] = [];
    let imported = 0;
    let mirrorRepaired = 0;
    let log: BlockLog | undefined;
    let hashes: HashIndex | undefined;
    let db: ChainDb | undefined;
    let cutBack: CutBack | undefined;
    try {
      headroom = Headroom.open(path);
      log = await BlockLog.open(dir, recorded?.logEnd ?? 0);
      if (recorded === undefined) imported = await create(root, headroom, log, dir, rule, logger, quarantined);
      else if (recorded.format === 1) {
        upgradeFormat1(root, headroom, log, dir, logger);
        // The whole index went into the database's table: out to a run before compacting, so the copy leaves it behind.
        const upgraded = HashIndex.open(dir, hashTables(root, headroom), logger, 1);
        try {
          await upgraded.maintain();
        } finally {
          upgraded.close();
        }
        headroom.close();
        headroom = undefined;
        root = await compact(root, path, logger);
        headroom = Headroom.open(path);
      }
      hashes = HashIndex.open(dir, hashTables(root, headroom), logger, options.hashRunEntries ?? defaultChainDbOptions.hashRunEntries);
      const jbcFiles = options.jbcFiles ?? defaultChainDbOptions.jbcFiles;
      const mirror = jbcFiles ? new JbcMirror(dir) : undefined;
      const cacheBlocks = options.cacheBlocks ?? defaultChainDbOptions.cacheBlocks;
      db = new ChainDb({ dir, rule, root, headroom, lock, log, hashes, logger, mirror, cacheBlocks, pool: options.pool ?? defaultPoolLimits });
      cutBack = await db.#openTip();
      // An import puts every block in the database's table.
      await db.#maintainHashIndex();
      if (mirror !== undefined && !(await mirror.isCurrent(db.tip, db.length))) {
        logger.warn({ dir, length: db.length }, 'block files lag the database; rewriting them from it');
        mirrorRepaired = await mirror.repair(db.iterate(), db.length, quarantiner(dir, logger, quarantined));
      }
    } catch (err) {
      if (db !== undefined) db.#view.done();
      await root.close();
      headroom?.close();
      log?.close();
      hashes?.close();
      throw err;
    }
    db.#report = { imported, quarantined, mirrorRepaired, ...(cutBack === undefined ? {} : { cutBack }) };
    logger.info(
      { dir, height: Number(db.height), difficulty, targetBlockTime: rule.targetBlockTimeMs / 1000 || null, imported, quarantined: quarantined.length },
      'chain database opened',
    );
    return db;
  }

  /**
   * Reads the newest blocks, checking each against its contents and its
   * parent, and the tip against the metadata, so nothing is built on a
   * damaged tip and what the node reads first at start is sound. Where a block
   * at or below it is damaged, the chain is cut back to the blocks below
   * that one (their lines stay in the log; the database forgets the rest),
   * as often as it takes; peers give the rest back when the node syncs.
   */
  async #openTip(): Promise<CutBack | undefined> {
    let cutBack: CutBack | undefined;
    for (;;) {
      let found: JbcError;
      try {
        const newest = this.range(BigInt(Math.max(0, this.length - OPEN_CHECKED_BLOCKS)), OPEN_CHECKED_BLOCKS);
        const tip = newest.at(-1);
        if (tip !== undefined && this.#recordedTip !== undefined && tip.hash !== this.#recordedTip) {
          const damage = damagedBlock(this.dir, tip.index, `it is not the tip ${this.#recordedTip.slice(0, 12)}… that the database records`);
          this.#view.noteDamage(tip.index, damage);
          throw damage;
        }
        this.#tip = tip;
        this.#recordedTip = undefined;
        return cutBack;
      } catch (err) {
        if (damagedHeight(err) === undefined) throw err;
        found = err as JbcError;
      }
      // The lowest damage any read found: a cut above it would only find it again.
      const height = this.#view.damagedAt ?? damagedHeight(found)!;
      const abandoned = this.length - Number(height);
      this.#logger.warn({ dir: this.dir, kept: Number(height), abandoned }, CUT_BACK_MESSAGE);
      try {
        await this.#writes.run(() => this.#commit(height, [], undefined));
      } catch (err) {
        // The cut read a damaged block below it (its new tip): the next round cuts below that.
        if (damagedHeight(err) === undefined) throw err;
        continue;
      }
      cutBack = { height, reason: String(found.data.reason), abandoned: (cutBack?.abandoned ?? 0) + abandoned };
    }
  }

  /** What opening found and did: blocks imported, files quarantined, mirror files rewritten. */
  get report(): OpenReport {
    return this.#report;
  }

  get length(): number {
    return this.#view.length;
  }

  /** The target block `index` met; undefined past the tip. */
  targetAt(index: bigint): bigint | undefined {
    if (index < 0n || index >= BigInt(this.length)) return undefined;
    if (!retargets(this.rule)) return baseTarget(this.rule);
    const target = this.#targets.at(index, this.#view.transaction);
    if (target === undefined) throw corrupt(this.dir, `it records no target for block ${index}`);
    return target;
  }

  /** The chain's cumulative work: the sum over its blocks of 2^256 / (target + 1). */
  get work(): bigint {
    return retargets(this.rule) ? this.#work : BigInt(this.length) * targetWork(baseTarget(this.rule));
  }

  /**
   * The trail (retarget.ts) of the chain's first `height` blocks: what a
   * block at `height` must meet. Reads the blocks of its window only.
   */
  trailAt(height: bigint): TargetTrail {
    const from = height - BigInt(TargetTrail.depth) < 0n ? 0n : height - BigInt(TargetTrail.depth);
    const stamps: Stamp[] = [];
    if (retargets(this.rule)) {
      for (let index = from; index < height; index++) stamps.push({ timestamp: this.#view.read(index).timestamp, target: this.targetAt(index)! });
    }
    return TargetTrail.from(this.rule, stamps, height);
  }

  get height(): bigint {
    return BigInt(this.length) - 1n;
  }

  get tip(): Block | undefined {
    return this.#tip;
  }

  at(index: bigint): Block | undefined {
    return this.#view.at(index);
  }

  findByHash(hash: string): Block | undefined {
    if (!isHash(hash)) return undefined;
    for (const height of this.#hashes.heights(hash, this.#view.transaction)) {
      const block = this.at(height);
      if (block?.hash === hash) return block;
    }
    return undefined;
  }

  range(from: bigint, limit: number): Block[] {
    return this.#view.range(from, limit);
  }

  /** Iterations in progress, each holding a read snapshot open (and so keeping LMDB from reusing pages freed since). */
  get snapshots(): number {
    return this.#view.snapshots;
  }

  iterate(from = 0n): Generator<Block> {
    return this.#view.iterate(from);
  }

  iterateJson(from = 0n): Generator<string> {
    return this.#view.iterateJson(from);
  }

  onDamage(listener: (damage: JbcError) => void): () => void {
    return this.#view.onDamage(listener);
  }

  append(block: Block, target?: bigint): Promise<void> {
    return this.#writes.run(() => this.#commit(BigInt(this.length), [block], target === undefined ? undefined : [target]));
  }

  commit(forkPoint: bigint, blocks: readonly Block[], targets?: readonly bigint[]): Promise<void> {
    return this.#writes.run(() => this.#commit(forkPoint, blocks, targets));
  }

  /** Waits for queued commits, then closes the database and releases the directory. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#writes.idle();
      this.#view.done();
      await this.#root.close();
      this.#headroom.close();
      this.#log.close();
      this.#hashes.close();
      await this.#lock.release();
    })();
    return this.#closed;
  }

  async #commit(forkPoint: bigint, blocks: readonly Block[], given: readonly bigint[] | undefined): Promise<void> {
    if (this.#closed !== undefined) throw new JbcError(ErrorCode.STORE_IO, `the chain database of ${this.dir} is closed`);
    const oldLength = this.length;
    checkLinks(this.#view, forkPoint, blocks);
    const newLength = Number(forkPoint) + blocks.length;
    // Recorded with the blocks; a block that misses its target is refused before anything is written.
    let targets: readonly bigint[] | undefined;
    let work = this.#work;
    if (retargets(this.rule)) {
      if (given !== undefined && given.length === blocks.length) targets = given;
      else {
        const trail = this.trailAt(forkPoint);
        targets = blocks.map((block) => trail.push(block));
      }
      for (let height = forkPoint; height < BigInt(oldLength); height++) work -= targetWork(this.targetAt(height)!);
      work += chainWork(targets);
    }
    const tip = blocks.at(-1)?.hash ?? this.at(forkPoint - 1n)?.hash ?? '';
    writeCommit(this.#writer, {
      forkPoint,
      blocks,
      targets,
      meta: {
        format: STORE_FORMAT,
        difficulty: this.difficulty,
        length: newLength,
        tip,
        targetBlockTimeMs: this.rule.targetBlockTimeMs,
        work: retargets(this.rule) ? workHex(work) : '',
      },
    });
    // The new chain becomes visible to readers all at once, here.
    this.#view.advance(forkPoint, newLength);
    this.#work = work;
    this.#recordedTip = undefined;
    this.#tip = newLength === 0 ? undefined : (blocks.at(-1) ?? this.#view.read(BigInt(newLength - 1)));
    if (this.#mirror !== undefined) {
      try {
        await this.#mirror.apply(blocks, newLength, oldLength);
      } catch (err) {
        // The database holds the commit; the files are repaired from it on the next open.
        this.#logger.error({ dir: this.dir, err: describeError(err) }, 'could not update the block files; they are rewritten on the next open');
      }
    }
    await this.#maintainHashIndex();
  }

  /** Moves hash index entries out to run files when due; a failure leaves them where they are, and is retried after the next commit. */
  async #maintainHashIndex(): Promise<void> {
    try {
      if (await this.#hashes.maintain()) this.#view.renew();
    } catch (err) {
      this.#logger.error({ dir: this.dir, err: describeError(err) }, 'could not write hash index entries out to a run file; they stay in the database for now');
    }
  }

  // ---- the data pool's entries (EntryStore) ----

  get pendingCount(): number {
    return this.#entries.pendingCount;
  }

  get pendingBytes(): number {
    return this.#entries.pendingBytes;
  }

  /**
   * Adds `entry` to the pool; resolves once durable. Entries that arrive
   * while a write is under way wait for it and then go in together, one
   * transaction (and one fsync) for the lot.
   */
  addPending(entry: Entry, now: number): Promise<'added' | 'pending' | 'confirmed'> {
    return new Promise((resolve, reject) => {
      this.#adds.push({ entry, now, resolve, reject });
      if (this.#adds.length === 1) void this.#writes.run(() => this.#writeAdds());
    });
  }

  async #writeAdds(): Promise<void> {
    const batch = this.#adds.splice(0);
    try {
      if (this.#closed !== undefined) throw new JbcError(ErrorCode.STORE_IO, `the chain database of ${this.dir} is closed`);
      this.#headroom.reserve(
        batch.length * ENTRY_PUTS,
        batch.reduce((sum, { entry }) => sum + Buffer.byteLength(entry.data, 'utf8') + ENTRY_BYTES, 0),
      );
      let outcomes: Array<'added' | 'pending' | 'confirmed'> = [];
      try {
        this.#root.transactionSync(() => {
          outcomes = batch.map(({ entry, now }) => this.#entries.add(entry, now));
        });
        this.#entries.committed();
      } catch (err) {
        this.#entries.abandoned();
        throw writeError(this.dir, err, DB_FILE);
      }
      this.#view.renew();
      for (const [i, add] of batch.entries()) add.resolve(outcomes[i]!);
    } catch (err) {
      for (const add of batch) add.reject(err);
    }
  }

  pending(limit: number, after?: string): PendingEntry[] {
    return this.#entries.pending(this.#view.transaction, limit, after);
  }

  entry(id: string): EntryRecord | undefined {
    return this.#entries.entry(this.#view.transaction, id, (height) => this.at(height));
  }
}

function hashTables(root: RootDatabase, headroom: Headroom): HashIndexTables {
  const { byHash, meta } = tables(root);
  return { root, table: byHash, meta, reserve: () => headroom.reserve(0, 0) };
}
