/**
 * The chain in a data directory: the blocks' bytes in an append-only log,
 * `<dir>/blocks.log` (see block-log.ts), and an embedded database (LMDB,
 * through lmdb-js), `<dir>/chain.mdb`, holding where each height's block is
 * in the log (chunks.ts), the newest part of the index from hash to height
 * (the rest is in run files: hash-index.ts), and metadata (format version,
 * difficulty, length, tip hash, the log's committed end, the index's runs).
 *
 * - Every commit writes and syncs its blocks' lines past the log's committed
 *   end, then is one LMDB write transaction, durable when it resolves
 *   (overlappingSync off: LMDB syncs before the commit returns, and lmdb-js
 *   resolves the commit promise after that, so it is also the flush). LMDB is
 *   copy-on-write with a two-meta-page commit, so a kill -9 at any instant
 *   leaves the old chain or the new one (log bytes past the end the
 *   database records are cut off when it is opened again).
 * - Opening reads the length and tip from the metadata: no scan, no
 *   re-verification. Blocks are read from the log (pread) and decoded when
 *   asked for, and only a small LRU of them stays in memory. Only the
 *   database, under a byte a block plus the newest hash index entries, is
 *   memory-mapped.
 * - Reads are synchronous and go through a read transaction pinned to the
 *   last commit this object finished, so `length`, `tip` and `at()` always
 *   describe one chain, even while a commit is being written.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { isHash, type Block } from '../block.js';
import { unpackBlockData, type Entry } from '../entries.js';
import { formatUint } from '../codec.js';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { initHashing } from '../hash.js';
import { silentLogger, type Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import { TargetTrail, baseTarget, retargets, type ChainRule, type Stamp } from '../retarget.js';
import { chainWork, targetWork, workHex } from '../target.js';
import { TargetTable } from './targets.js';
import { DirLock } from './dir-lock.js';
import { decodeBlock, encodeBlock, isStorableHeight } from './encoding.js';
import { damagedBlock, damagedHeight, readStoredBlock } from './stored-block.js';
import { HashIndex, type HashIndexTables } from './hash-index.js';
import type { ChainStore, CutBack, OpenReport } from './interface.js';
import { io, lowerGenesisDifficulty, quarantiner, type QuarantinedFile } from './jbc-files.js';
import { EntryIndex, type EntryRecord, type PendingEntry, type SettleReport } from './entry-index.js';
import { JbcMirror } from './jbc-mirror.js';
import { BlockLog, LOG_FILE, type Location } from './block-log.js';
import { chunkKey, chunkOf, chunkStart, decodeRuns, encodeRuns, fillChunks, findSlot, lineCount, slotOf, splitLines, type Run } from './chunks.js';
import { Headroom, lmdbFileProblem } from './lmdb-file.js';
import { Lru } from './lru.js';
import { compact, create, upgradeFormat1 } from './conversion.js';
import {
  BLOCK_BYTES,
  BLOCK_PUTS,
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
  writeMeta,
  type Meta,
} from './database.js';
import { checkChainDbOptions, defaultChainDbOptions, defaultPoolLimits, type ChainDbOptions, type PoolLimits } from './options.js';

/** The newest blocks opening reads and checks: what the node reads first (its tip, the event stream's recent blocks, a locator's dense part). */
const OPEN_CHECKED_BLOCKS = 256;

/** What the node logs when it cuts its chain back below a damaged block. */
export const CUT_BACK_MESSAGE = 'the chain is cut back to the blocks below a damaged one; the rest is synced from peers again';

/**
 * Block data (characters) the cache of recently read blocks holds at most,
 * whatever `cacheBlocks` says: a thousand blocks of a megabyte would be a
 * gigabyte.
 */
const CACHE_DATA_CHARS = 8 * 1024 * 1024;

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
  readonly #chunks: Database<Buffer, Buffer>;
  readonly #hashes: HashIndex;
  readonly #meta: Database<unknown, string>;
  /** Each block's target; kept only when the rule retargets (otherwise every block's is the rule's base target). */
  readonly #targets: TargetTable;
  /** With a target block time: the chain's cumulative work, as committed. */
  #work: bigint;
  readonly #lock: DirLock;
  readonly #headroom: Headroom;
  readonly #log: BlockLog;
  readonly #logger: Logger;
  readonly #mirror: JbcMirror | undefined;
  readonly #cache: Lru<bigint, Block>;
  #view: Transaction;
  readonly #entries: EntryIndex;
  /** Entries waiting for the next pool write. */
  readonly #adds: Array<{
    entry: Entry;
    now: number;
    resolve: (outcome: 'added' | 'pending' | 'confirmed') => void;
    reject: (err: unknown) => void;
  }> = [];
  #length: number;
  #tip: Block | undefined;
  /** The tip's hash as the metadata records it, until the tip has been read and checked against it. */
  #recordedTip: string | undefined;
  /** The lowest height a read found damaged, until a commit replaces it. */
  #damagedAt: bigint | undefined;
  readonly #damageListeners = new Set<(damage: JbcError) => void>();
  readonly #writes = new SerialQueue();
  #snapshots = 0;
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
    this.dir = init.dir;
    this.rule = init.rule;
    this.difficulty = init.rule.difficulty;
    this.#root = init.root;
    const { chunks, meta: metaTable, targets } = tables(init.root);
    this.#chunks = chunks;
    this.#meta = metaTable;
    this.#targets = new TargetTable(targets);
    this.#hashes = init.hashes;
    this.#headroom = init.headroom;
    this.#lock = init.lock;
    this.#log = init.log;
    this.#logger = init.logger;
    this.#mirror = init.mirror;
    this.#cache = new Lru(init.cacheBlocks, { max: CACHE_DATA_CHARS, of: (block) => block.data.length });
    this.#entries = new EntryIndex(this.#root, init.pool);
    this.#view = this.#root.useReadTransaction();
    this.#entries.load(this.#view);
    const meta = readMeta(this.dir, this.#meta, this.#view);
    if (meta === undefined) throw corrupt(this.dir, 'its metadata is missing');
    this.#length = meta.length;
    this.#recordedTip = meta.tip;
    this.#work = meta.work === '' ? 0n : BigInt(`0x${meta.work}`);
    if (lineCount(this.#chunkRuns(chunkOf(BigInt(meta.length)), this.#view)) !== slotOf(BigInt(meta.length))) {
      throw corrupt(this.dir, `it holds blocks beyond its recorded length ${meta.length}`);
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
        const newest = this.range(BigInt(Math.max(0, this.#length - OPEN_CHECKED_BLOCKS)), OPEN_CHECKED_BLOCKS);
        const tip = newest.at(-1);
        if (tip !== undefined && this.#recordedTip !== undefined && tip.hash !== this.#recordedTip) {
          const damage = damagedBlock(this.dir, tip.index, `it is not the tip ${this.#recordedTip.slice(0, 12)}… that the database records`);
          this.#noteDamage(tip.index, damage);
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
      const height = this.#damagedAt ?? damagedHeight(found)!;
      const abandoned = this.#length - Number(height);
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
    return this.#length;
  }

  /** The target block `index` met; undefined past the tip. */
  targetAt(index: bigint): bigint | undefined {
    if (index < 0n || index >= BigInt(this.#length)) return undefined;
    if (!retargets(this.rule)) return baseTarget(this.rule);
    const target = this.#targets.at(index, this.#view);
    if (target === undefined) throw corrupt(this.dir, `it records no target for block ${index}`);
    return target;
  }

  /** The chain's cumulative work: the sum over its blocks of 2^256 / (target + 1). */
  get work(): bigint {
    return retargets(this.rule) ? this.#work : BigInt(this.#length) * targetWork(baseTarget(this.rule));
  }

  /**
   * The trail (retarget.ts) of the chain's first `height` blocks: what a
   * block at `height` must meet. Reads the blocks of its window only.
   */
  trailAt(height: bigint): TargetTrail {
    const from = height - BigInt(TargetTrail.depth) < 0n ? 0n : height - BigInt(TargetTrail.depth);
    const stamps: Stamp[] = [];
    if (retargets(this.rule)) {
      for (let index = from; index < height; index++) stamps.push({ timestamp: this.#read(index).timestamp, target: this.targetAt(index)! });
    }
    return TargetTrail.from(this.rule, stamps, height);
  }

  get height(): bigint {
    return BigInt(this.#length) - 1n;
  }

  get tip(): Block | undefined {
    return this.#tip;
  }

  at(index: bigint): Block | undefined {
    if (index < 0n || index >= BigInt(this.#length)) return undefined;
    return this.#read(index);
  }

  findByHash(hash: string): Block | undefined {
    if (!isHash(hash)) return undefined;
    for (const height of this.#hashes.heights(hash, this.#view)) {
      const block = this.at(height);
      if (block?.hash === hash) return block;
    }
    return undefined;
  }

  range(from: bigint, limit: number): Block[] {
    const blocks: Block[] = [];
    if (from < 0n || !(limit > 0)) return blocks;
    const count = BigInt(Number.isFinite(limit) ? Math.floor(limit) : this.#length);
    const end = BigInt(this.#length) < from + count ? BigInt(this.#length) : from + count;
    if (from >= end) return blocks;
    for (const { block } of this.#checkedLines(this.#view, from, end)) blocks.push(block);
    return blocks;
  }

  /** Iterations in progress, each holding a read snapshot open (and so keeping LMDB from reusing pages freed since). */
  get snapshots(): number {
    return this.#snapshots;
  }

  *iterate(from = 0n): Generator<Block> {
    for (const { block } of this.#scan(from)) yield block;
  }

  /**
   * Like `iterate`, but each block as its output-form JSON text, straight
   * from the stored bytes (checked like every read): serving the chain
   * (`/blockchain.json`, an export) needs no re-encoding.
   */
  *iterateJson(from = 0n): Generator<string> {
    for (const { line } of this.#scan(from)) yield line.toString('utf8', 0, line.length - 1);
  }

  *#scan(from: bigint): Generator<{ block: Block; line: Buffer }> {
    if (!isStorableHeight(from)) return;
    const snapshot = this.#root.useReadTransaction();
    this.#snapshots++;
    try {
      yield* this.#checkedLines(snapshot, from, undefined);
    } finally {
      this.#snapshots--;
      snapshot.done();
    }
  }

  /**
   * The stored lines of heights from `from` (up to `end`, or to the tip of
   * `transaction`'s chain; undefined: the write transaction under way), read
   * from the log a run of up to 64 lines at a time.
   */
  *#lines(transaction: Transaction | undefined, from: bigint, end: bigint | undefined): Generator<{ height: bigint; line: Buffer }> {
    const start = chunkKey(chunkOf(from));
    for (const { key, value } of this.#chunks.getRange({ start, ...(transaction === undefined ? {} : { transaction }) })) {
      let height = chunkStart(key.readBigUInt64BE());
      for (const run of decodeRuns(value)) {
        if (height + BigInt(run.count) <= from) {
          height += BigInt(run.count);
          continue;
        }
        for (const line of this.#readRun(run)) {
          if (end !== undefined && height >= end) return;
          if (height >= from) yield { height, line };
          height++;
        }
      }
    }
  }

  /**
   * `#lines`, each line checked (stored-block.ts) and linked to the one
   * before it; the line below `from` is read too, for the first link.
   */
  *#checkedLines(transaction: Transaction | undefined, from: bigint, end: bigint | undefined): Generator<{ block: Block; line: Buffer }> {
    let parentHash: string | undefined = from === 0n ? '' : this.#cache.get(from - 1n)?.hash;
    const start = parentHash === undefined ? from - 1n : from;
    for (const { height, line } of this.#lines(transaction, start, end)) {
      const block = this.#check(line, height, parentHash);
      parentHash = block.hash;
      if (height >= from) yield { block, line };
    }
  }

  /** The block in a stored line, checked; a damaged one is reported to the damage listeners before it is thrown. */
  #check(line: Buffer, height: bigint, parentHash: string | undefined): Block {
    try {
      return readStoredBlock(line, { height, difficulty: this.difficulty, parentHash }, this.dir);
    } catch (err) {
      this.#noteDamage(height, err as JbcError);
      throw err;
    }
  }

  #noteDamage(height: bigint, damage: JbcError): void {
    if (this.#damagedAt !== undefined && this.#damagedAt <= height) return;
    this.#damagedAt = height;
    this.#logger.error({ dir: this.dir, height: Number(height), code: damage.code, reason: damage.data.reason }, 'a stored block is damaged');
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

  #readRun(run: Run): Buffer[] {
    return splitLines(this.#log.read(run.offset, run.bytes), run.count);
  }

  /** The runs of a chunk (none when there is no such chunk), through `transaction` (undefined: the write transaction under way). */
  #chunkRuns(chunk: bigint, transaction?: Transaction): Run[] {
    const value = this.#chunks.get(chunkKey(chunk), transaction === undefined ? undefined : { transaction });
    return value === undefined ? [] : decodeRuns(value);
  }

  append(block: Block, target?: bigint): Promise<void> {
    return this.#writes.run(() => this.#commit(BigInt(this.#length), [block], target === undefined ? undefined : [target]));
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
    const oldLength = this.#length;
    this.#checkLinks(forkPoint, blocks);
    const newLength = Number(forkPoint) + blocks.length;
    // Recorded with the blocks; a block that misses its target is refused before anything is written.
    let targets: readonly bigint[] = [];
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
    this.#reserveForCommit(forkPoint, blocks);
    let written: { locations: Location[]; end: number };
    try {
      written = this.#log.write(blocks.map(encodeBlock));
    } catch (err) {
      throw this.#writeError(err, LOG_FILE);
    }
    const tip = blocks.at(-1)?.hash ?? this.at(forkPoint - 1n)?.hash ?? '';
    const meta: Meta = {
      format: STORE_FORMAT,
      difficulty: this.difficulty,
      length: newLength,
      tip,
      logEnd: written.end,
      targetBlockTimeMs: this.rule.targetBlockTimeMs,
      work: retargets(this.rule) ? workHex(work) : '',
    };
    let settled: SettleReport;
    try {
      settled = this.#root.transactionSync(() => {
        const head = this.#dropFrom(forkPoint, BigInt(oldLength));
        for (const { chunk, runs } of fillChunks(forkPoint, head, written.locations)) this.#chunks.putSync(chunkKey(chunk), encodeRuns(runs));
        if (retargets(this.rule)) this.#targets.replace(forkPoint, BigInt(oldLength), targets);
        for (const block of blocks) {
          this.#hashes.add(block.hash, block.index);
          this.#entries.blockAdded(block);
        }
        writeMeta(this.#meta, meta);
        return this.#entries.settle(Date.now());
      });
      this.#entries.committed();
    } catch (err) {
      this.#entries.abandoned();
      this.#log.abandon();
      if (err instanceof JbcError) throw err;
      throw this.#writeError(err, DB_FILE);
    }
    this.#log.committed(written.end);
    this.#logSettled(settled, forkPoint);
    // The new chain becomes visible to readers all at once, here.
    this.#renewView();
    this.#cache.deleteWhere((height) => height >= forkPoint);
    if (this.#damagedAt !== undefined && this.#damagedAt >= forkPoint) this.#damagedAt = undefined;
    this.#length = newLength;
    this.#work = work;
    this.#recordedTip = undefined;
    this.#tip = newLength === 0 ? undefined : (blocks.at(-1) ?? this.#read(BigInt(newLength - 1)));
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

  /**
   * Room for a commit (see Headroom): each block a chunk and a hash index
   * entry, and each entry of the blocks it adds or drops moves between
   * pending (with its data) and confirmed.
   */
  #reserveForCommit(forkPoint: bigint, blocks: readonly Block[]): void {
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
    for (const { height, line } of this.#lines(this.#view, forkPoint, BigInt(this.#length))) count(decodeBlock(line, `block ${height} of ${this.dir}`).data);
    this.#headroom.reserve(puts, bytes);
  }

  /** Moves hash index entries out to run files when due; a failure leaves them where they are, and is retried after the next commit. */
  async #maintainHashIndex(): Promise<void> {
    try {
      if (await this.#hashes.maintain()) this.#renewView();
    } catch (err) {
      this.#logger.error({ dir: this.dir, err: describeError(err) }, 'could not write hash index entries out to a run file; they stay in the database for now');
    }
  }

  /** Throws unless `blocks` start at `forkPoint`, link to the block before it, and link to each other. */
  #checkLinks(forkPoint: bigint, blocks: readonly Block[]): void {
    const length = BigInt(this.#length);
    if (forkPoint < 0n || forkPoint > length) {
      throw new JbcError(ErrorCode.NOT_EXTENDING_TIP, `cannot commit at block ${forkPoint}: the stored chain has ${length} blocks`, {
        forkPoint: String(forkPoint),
        length: this.#length,
      });
    }
    const parent = forkPoint === 0n ? undefined : this.#read(forkPoint - 1n);
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
        throw this.#writeError(err, DB_FILE);
      }
      this.#renewView();
      for (const [i, add] of batch.entries()) add.resolve(outcomes[i]!);
    } catch (err) {
      for (const add of batch) add.reject(err);
    }
  }

  pending(limit: number, after?: string): PendingEntry[] {
    return this.#entries.pending(this.#view, limit, after);
  }

  entry(id: string): EntryRecord | undefined {
    return this.#entries.entry(this.#view, id, (height) => this.at(height));
  }

  /** Entries of abandoned blocks that did not go back to the pool: the pool's rules keep them out, so say so once. */
  #logSettled(settled: SettleReport, forkPoint: bigint): void {
    const { oversized, overCap, repended } = settled;
    if (oversized.length > 0) {
      this.#logger.warn(
        { dir: this.dir, forkPoint: String(forkPoint), count: oversized.length, ids: oversized.slice(0, 10) },
        'entries of abandoned blocks are past the entry size limit; dropped, not pending again',
      );
    }
    if (overCap > 0) {
      this.#logger.warn(
        { dir: this.dir, forkPoint: String(forkPoint), dropped: overCap, repended },
        `${overCap} entries of abandoned blocks did not fit the data pool's caps; the oldest are pending again, those dropped`,
      );
    }
  }

  /** A failed write as STORE_IO, naming the file. */
  #writeError(err: unknown, file: string): JbcError {
    return new JbcError(ErrorCode.STORE_IO, `cannot write to ${join(this.dir, file)}: ${describeError(err)}`, { dir: this.dir }, { cause: err });
  }

  #renewView(): void {
    const previous = this.#view;
    this.#view = this.#root.useReadTransaction();
    previous.done();
  }

  /** Block `index` of the chain, checked against its contents and its parent. */
  #read(index: bigint): Block {
    const cached = this.#cache.get(index);
    if (cached !== undefined) return cached;
    const { lines, at } = this.#runOf(index);
    let parentHash = index === 0n ? '' : this.#cache.get(index - 1n)?.hash;
    if (parentHash === undefined) {
      const parent = at > 0 ? { lines, at: at - 1 } : this.#runOf(index - 1n);
      parentHash = this.#check(parent.lines[parent.at]!, index - 1n, undefined).hash;
    }
    const block = this.#check(lines[at]!, index, parentHash);
    this.#cache.set(index, block);
    return block;
  }

  /** The lines of the run that holds height `index`, and its place among them. */
  #runOf(index: bigint): { lines: Buffer[]; at: number } {
    const found = findSlot(this.#chunkRuns(chunkOf(index), this.#view), slotOf(index));
    if (found === undefined) throw corrupt(this.dir, `block ${index} is missing below its tip`);
    return { lines: this.#readRun(found.run), at: found.line };
  }

  /**
   * Inside a write transaction: drops the blocks at heights from `from` to
   * `to` (exclusive) from every table, returning the runs that stay in the
   * chunk of `from` (its lines before `from`), for the new blocks to follow.
   */
  #dropFrom(from: bigint, to: bigint): Run[] {
    const first = chunkOf(from);
    const runs = this.#chunkRuns(first);
    if (from >= to) return runs;
    for (const { height, line } of this.#lines(undefined, from, to)) {
      let block: Block;
      try {
        block = decodeBlock(line, `block ${height} of ${this.dir}`);
      } catch {
        continue; // A damaged line being dropped: nothing in it can be trusted to undo.
      }
      this.#hashes.remove(block.hash, height);
      this.#entries.blockRemoved(block, height);
    }
    for (let chunk = chunkOf(to - 1n); chunk > first; chunk--) this.#chunks.removeSync(chunkKey(chunk));
    // Keep the lines before `from`: whole runs, then part of the run it falls in.
    const kept: Run[] = [];
    let left = slotOf(from);
    for (const run of runs) {
      if (left === 0) break;
      if (run.count <= left) {
        kept.push(run);
        left -= run.count;
      } else {
        const lines = this.#readRun(run);
        const bytes = lines.slice(0, left).reduce((sum, line) => sum + line.length, 0);
        kept.push({ offset: run.offset, bytes, count: left });
        left = 0;
      }
    }
    if (kept.length === 0) this.#chunks.removeSync(chunkKey(first));
    return kept;
  }
}

function hashTables(root: RootDatabase, headroom: Headroom): HashIndexTables {
  const { byHash, meta } = tables(root);
  return { root, table: byHash, meta, reserve: () => headroom.reserve(0, 0) };
}
