/**
 * The chain in an embedded database (LMDB, through lmdb-js): blocks by
 * height, an index from hash to height, and metadata (format version,
 * difficulty, length, tip hash) in one file, `<dir>/chain.mdb`.
 *
 * - Every commit is one LMDB write transaction, durable when it resolves
 *   (overlappingSync off: LMDB syncs before the commit returns, and lmdb-js
 *   resolves the commit promise after that, so it is also the flush). LMDB is
 *   copy-on-write with a two-meta-page commit, so a kill -9 at any instant
 *   leaves the old chain or the new one.
 * - Opening reads the length and tip from the metadata: no scan, no
 *   re-verification. Blocks are decoded when read, and only a small LRU of
 *   them stays in memory.
 * - Reads are synchronous and go through a read transaction pinned to the
 *   last commit this object finished, so `length`, `tip` and `at()` always
 *   describe one chain, even while a commit is being written.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { isHash, type Block } from '../block.js';
import type { Entry } from '../entries.js';
import { formatUint } from '../codec.js';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import { DirLock } from './dir-lock.js';
import { decodeBlock, encodeBlock, hashKey, heightKey, isStorableHeight } from './encoding.js';
import type { ChainStore, OpenReport } from './interface.js';
import { io, loadJbcDir, lowerGenesisDifficulty, quarantiner, type QuarantinedFile } from './jbc-files.js';
import { EntryIndex, type EntryRecord, type PendingEntry } from './entry-index.js';
import { JbcMirror } from './jbc-mirror.js';
import { Lru } from './lru.js';
import { checkChainDbOptions, defaultChainDbOptions, type ChainDbOptions } from './options.js';

/** The database file inside the data directory (LMDB keeps its reader table beside it, in `chain.mdb-lock`). */
export const DB_FILE = 'chain.mdb';
/**
 * The address space the database is mapped into: reserved, not allocated
 * (the file grows only as blocks are written). Left to grow on demand, lmdb
 * maps the file again each time it outgrows its map and keeps the earlier
 * maps, so every page read lands in memory several times over.
 */
const MAP_SIZE = 2 ** 40;

/** Version of the layout below; a database of a newer version is refused rather than misread. */
export const STORE_FORMAT = 1;

interface Meta {
  readonly format: number;
  readonly difficulty: number;
  readonly length: number;
  /** Hash of the tip; '' for the empty chain. */
  readonly tip: string;
}

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
  #report: OpenReport = { imported: 0, quarantined: [], mirrorRepaired: 0 };
  readonly #root: RootDatabase;
  readonly #blocks: Database<Buffer, Buffer>;
  readonly #hashes: Database<Buffer, Buffer>;
  readonly #meta: Database<unknown, string>;
  readonly #lock: DirLock;
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
  readonly #writes = new SerialQueue();
  #snapshots = 0;
  #closed: Promise<void> | undefined;

  private constructor(init: {
    dir: string;
    difficulty: number;
    root: RootDatabase;
    lock: DirLock;
    logger: Logger;
    mirror: JbcMirror | undefined;
    cacheBlocks: number;
  }) {
    this.dir = init.dir;
    this.difficulty = init.difficulty;
    this.#root = init.root;
    ({ blocks: this.#blocks, hashes: this.#hashes, meta: this.#meta } = tables(init.root));
    this.#lock = init.lock;
    this.#logger = init.logger;
    this.#mirror = init.mirror;
    this.#cache = new Lru(init.cacheBlocks);
    this.#entries = new EntryIndex(this.#root);
    this.#view = this.#root.useReadTransaction();
    this.#entries.load(this.#view);
    const meta = readMeta(this.dir, this.#meta, this.#view);
    if (meta === undefined) throw corrupt(this.dir, 'its metadata is missing');
    this.#length = meta.length;
    this.#tip = meta.length === 0 ? undefined : this.#read(BigInt(meta.length - 1));
    if (meta.length > 0 && this.#tip?.hash !== meta.tip) throw corrupt(this.dir, `its tip is not block ${meta.length - 1}`);
    if (this.#blocks.get(heightKey(BigInt(meta.length)), { transaction: this.#view }) !== undefined) {
      throw corrupt(this.dir, `it holds blocks beyond its recorded length ${meta.length}`);
    }
  }

  /**
   * Creates the directory when missing, locks it (DATA_DIR_LOCKED when
   * another process holds it), then opens, creates or imports its database.
   */
  static async open(options: ChainDbOptions, modules: ChainDbModules = {}): Promise<ChainDb> {
    checkChainDbOptions(options);
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
    const recorded = existsSync(path) ? await peekMeta(dir, path) : undefined;
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
    }
    const difficulty = recorded?.difficulty ?? options.difficulty;
    if (difficulty === undefined) {
      throw new JbcError(ErrorCode.BAD_OPTION, `${dir} holds no chain database yet; options.difficulty is needed to create one`, { dir });
    }
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

    let root: RootDatabase;
    try {
      root = open({ path, noSubdir: true, overlappingSync: false, maxDbs: 8, mapSize: MAP_SIZE });
    } catch (err) {
      throw new JbcError(ErrorCode.STORE_IO, `cannot open ${path}: ${describeError(err)}`, { path }, { cause: err });
    }
    const quarantined: QuarantinedFile[] = [];
    let imported = 0;
    let mirrorRepaired = 0;
    let db: ChainDb | undefined;
    try {
      if (recorded === undefined) imported = await create(root, dir, difficulty, logger, quarantined);
      const jbcFiles = options.jbcFiles ?? defaultChainDbOptions.jbcFiles;
      const mirror = jbcFiles ? new JbcMirror(dir) : undefined;
      db = new ChainDb({ dir, difficulty, root, lock, logger, mirror, cacheBlocks: options.cacheBlocks ?? defaultChainDbOptions.cacheBlocks });
      if (mirror !== undefined && !(await mirror.isCurrent(db.tip, db.length))) {
        logger.warn({ dir, length: db.length }, 'block files lag the database; rewriting them from it');
        mirrorRepaired = await mirror.repair(db.iterate(), db.length, quarantiner(dir, logger, quarantined));
      }
    } catch (err) {
      if (db !== undefined) db.#view.done();
      await root.close();
      throw err;
    }
    db.#report = { imported, quarantined, mirrorRepaired };
    logger.info({ dir, height: Number(db.height), difficulty, imported, quarantined: quarantined.length }, 'chain database opened');
    return db;
  }

  /** What opening found and did: blocks imported, files quarantined, mirror files rewritten. */
  get report(): OpenReport {
    return this.#report;
  }

  get length(): number {
    return this.#length;
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
    const key = this.#hashes.get(hashKey(hash), { transaction: this.#view });
    if (key === undefined) return undefined;
    const block = this.at(key.readBigUInt64BE());
    return block?.hash === hash ? block : undefined;
  }

  range(from: bigint, limit: number): Block[] {
    const blocks: Block[] = [];
    if (from < 0n || !(limit > 0)) return blocks;
    const count = BigInt(Number.isFinite(limit) ? Math.floor(limit) : this.#length);
    const end = BigInt(this.#length) < from + count ? BigInt(this.#length) : from + count;
    for (let index = from; index < end; index++) blocks.push(this.#read(index));
    return blocks;
  }

  /** Iterations in progress, each holding a read snapshot open (and so keeping LMDB from reusing pages freed since). */
  get snapshots(): number {
    return this.#snapshots;
  }

  *iterate(from = 0n): Generator<Block> {
    for (const { key, value } of this.#scan(from)) yield decodeBlock(value, `block ${key.readBigUInt64BE()} of ${this.dir}`);
  }

  /**
   * Like `iterate`, but each block as its output-form JSON text, straight
   * from the stored bytes: serving the chain (`/blockchain.json`, an export)
   * needs no decoding and re-encoding.
   */
  *iterateJson(from = 0n): Generator<string> {
    for (const { value } of this.#scan(from)) yield value.toString('utf8', 0, value.length - 1);
  }

  *#scan(from: bigint): Generator<{ key: Buffer; value: Buffer }> {
    if (!isStorableHeight(from)) return;
    const snapshot = this.#root.useReadTransaction();
    this.#snapshots++;
    try {
      yield* this.#blocks.getRange({ start: heightKey(from), transaction: snapshot });
    } finally {
      this.#snapshots--;
      snapshot.done();
    }
  }

  append(block: Block): Promise<void> {
    return this.#writes.run(() => this.#commit(BigInt(this.#length), [block]));
  }

  commit(forkPoint: bigint, blocks: readonly Block[]): Promise<void> {
    return this.#writes.run(() => this.#commit(forkPoint, blocks));
  }

  /** Waits for queued commits, then closes the database and releases the directory. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#writes.idle();
      this.#view.done();
      await this.#root.close();
      await this.#lock.release();
    })();
    return this.#closed;
  }

  async #commit(forkPoint: bigint, blocks: readonly Block[]): Promise<void> {
    if (this.#closed !== undefined) throw new JbcError(ErrorCode.STORE_IO, `the chain database of ${this.dir} is closed`);
    const oldLength = this.#length;
    this.#checkLinks(forkPoint, blocks);
    const newLength = Number(forkPoint) + blocks.length;
    const rows = blocks.map((block) => ({ height: heightKey(block.index), hash: hashKey(block.hash), value: encodeBlock(block) }));
    const meta: Meta = { format: STORE_FORMAT, difficulty: this.difficulty, length: newLength, tip: blocks.at(-1)?.hash ?? this.at(forkPoint - 1n)?.hash ?? '' };
    try {
      this.#root.transactionSync(() => {
        for (let height = forkPoint; height < BigInt(oldLength); height++) {
          const key = heightKey(height);
          const old = this.#blocks.getBinary(key);
          if (old !== undefined) {
            const block = decodeBlock(old, `block ${height} of ${this.dir}`);
            this.#hashes.removeSync(hashKey(block.hash));
            this.#entries.blockRemoved(block, height);
          }
          this.#blocks.removeSync(key);
        }
        for (const [i, row] of rows.entries()) {
          this.#blocks.putSync(row.height, row.value);
          this.#hashes.putSync(row.hash, row.height);
          this.#entries.blockAdded(blocks[i]!);
        }
        writeMeta(this.#meta, meta);
      });
      this.#entries.committed();
    } catch (err) {
      this.#entries.abandoned();
      if (err instanceof JbcError) throw err;
      throw this.#writeError(err);
    }
    // The new chain becomes visible to readers all at once, here.
    this.#renewView();
    this.#cache.deleteWhere((height) => height >= forkPoint);
    this.#length = newLength;
    this.#tip = newLength === 0 ? undefined : (blocks.at(-1) ?? this.#read(BigInt(newLength - 1)));
    if (this.#mirror !== undefined) {
      try {
        await this.#mirror.apply(blocks, newLength, oldLength);
      } catch (err) {
        // The database holds the commit; the files are repaired from it on the next open.
        this.#logger.error({ dir: this.dir, err: describeError(err) }, 'could not update the block files; they are rewritten on the next open');
      }
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
      let outcomes: Array<'added' | 'pending' | 'confirmed'> = [];
      try {
        this.#root.transactionSync(() => {
          outcomes = batch.map(({ entry, now }) => this.#entries.add(entry, now));
        });
        this.#entries.committed();
      } catch (err) {
        this.#entries.abandoned();
        throw this.#writeError(err);
      }
      this.#renewView();
      batch.forEach((add, i) => add.resolve(outcomes[i]!));
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

  /** A failed write as STORE_IO, naming the database file. */
  #writeError(err: unknown): JbcError {
    return new JbcError(ErrorCode.STORE_IO, `cannot write to ${join(this.dir, DB_FILE)}: ${describeError(err)}`, { dir: this.dir }, { cause: err });
  }

  #renewView(): void {
    const previous = this.#view;
    this.#view = this.#root.useReadTransaction();
    previous.done();
  }

  #read(index: bigint): Block {
    const cached = this.#cache.get(index);
    if (cached !== undefined) return cached;
    const bytes = this.#blocks.get(heightKey(index), { transaction: this.#view });
    if (bytes === undefined) throw corrupt(this.dir, `block ${index} is missing below its tip`);
    const block = decodeBlock(bytes, `block ${index} of ${this.dir}`);
    this.#cache.set(index, block);
    return block;
  }

}

function tables(root: RootDatabase) {
  return {
    blocks: root.openDB<Buffer, Buffer>({ name: 'blocks', keyEncoding: 'binary', encoding: 'binary' }),
    hashes: root.openDB<Buffer, Buffer>({ name: 'hashes', keyEncoding: 'binary', encoding: 'binary' }),
    meta: root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }),
  };
}

const META_KEYS = ['format', 'difficulty', 'length', 'tip'] as const;

/** The metadata; undefined when none was ever committed. Throws STORE_CORRUPT when it is there but malformed. */
function readMeta(dir: string, meta: Database<unknown, string>, transaction?: Transaction): Meta | undefined {
  const values = META_KEYS.map((key) => meta.get(key, transaction === undefined ? undefined : { transaction }));
  if (values.every((v) => v === undefined)) return undefined;
  const [format, difficulty, length, tip] = values;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!count(format) || !count(difficulty) || !count(length) || typeof tip !== 'string') throw corrupt(dir, 'its metadata is unreadable');
  return { format, difficulty, length, tip };
}

function writeMeta(meta: Database<unknown, string>, values: Meta): void {
  for (const key of META_KEYS) meta.putSync(key, values[key]);
}

/** The recorded metadata, read through a read-only environment that writes nothing. */
async function peekMeta(dir: string, path: string): Promise<Meta | undefined> {
  let root: RootDatabase | undefined;
  try {
    root = open({ path, noSubdir: true, readOnly: true, maxDbs: 8 });
    return readMeta(dir, root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }));
  } catch (err) {
    if (err instanceof JbcError) throw err;
    // A database file whose first transaction never committed (a crash while it was created) holds no tables yet.
    return undefined;
  } finally {
    await root?.close();
  }
}

/**
 * The first open of a directory: imports its jbc block files, if any, and
 * records the difficulty, all in one transaction, so a crash leaves either
 * no chain (and the import runs again) or the whole import.
 */
async function create(root: RootDatabase, dir: string, difficulty: number, logger: Logger, quarantined: QuarantinedFile[]): Promise<number> {
  const loaded = await loadJbcDir(dir, difficulty, logger);
  quarantined.push(...loaded.quarantined);
  const { blocks, hashes, meta } = tables(root);
  root.transactionSync(() => {
    for (const block of loaded.blocks) {
      blocks.putSync(heightKey(block.index), encodeBlock(block));
      hashes.putSync(hashKey(block.hash), heightKey(block.index));
    }
    writeMeta(meta, { format: STORE_FORMAT, difficulty, length: loaded.blocks.length, tip: loaded.blocks.at(-1)?.hash ?? '' });
  });
  if (loaded.blocks.length > 0 || loaded.quarantined.length > 0) {
    logger.info({ dir, imported: loaded.blocks.length, quarantined: loaded.quarantined.length }, 'jbc block files imported');
  }
  return loaded.blocks.length;
}

function corrupt(dir: string, why: string): JbcError {
  return new JbcError(ErrorCode.STORE_CORRUPT, `the chain database of ${dir} is unusable: ${why}`, { dir });
}
