/**
 * The chain in a data directory: the blocks' bytes in an append-only log,
 * `<dir>/blocks.log` (see block-log.ts), and an embedded database (LMDB,
 * through lmdb-js), `<dir>/chain.mdb`, holding where each height's block is
 * in the log, an index from hash to height, and metadata (format version,
 * difficulty, length, tip hash, the log's committed end).
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
 *   database, a few bytes per block, is memory-mapped.
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
import { decodeBlock, encodeBlock, hashIndexKey, hashIndexRange, heightKey, heightOfHashIndexKey, isStorableHeight } from './encoding.js';
import type { ChainStore, OpenReport } from './interface.js';
import { io, loadJbcDir, lowerGenesisDifficulty, quarantiner, type QuarantinedFile } from './jbc-files.js';
import { EntryIndex, type EntryRecord, type PendingEntry } from './entry-index.js';
import { JbcMirror } from './jbc-mirror.js';
import { BlockLog, decodeLocation, encodeLocation, LOG_FILE, type Location } from './block-log.js';
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

/**
 * Version of the layout below; a database of a newer version is refused
 * rather than misread. Version 1 kept the blocks' bytes in the database
 * itself; it is converted when opened (`upgradeFormat1`).
 */
export const STORE_FORMAT = 2;

interface Meta {
  readonly format: number;
  readonly difficulty: number;
  readonly length: number;
  /** Hash of the tip; '' for the empty chain. */
  readonly tip: string;
  /** Bytes of the block log that the chain points into (0 in version 1, which had no log). */
  readonly logEnd: number;
}

/** Blocks read from the log in one pread while scanning, at most. */
const SCAN_BLOCKS = 1024;
/** Bytes read from the log in one pread while scanning, at most (one longer block is read alone). */
const SCAN_BYTES = 1024 * 1024;

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
  readonly #locations: Database<Buffer, Buffer>;
  readonly #byHash: Database<Buffer, Buffer>;
  readonly #meta: Database<unknown, string>;
  readonly #lock: DirLock;
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
  readonly #writes = new SerialQueue();
  #snapshots = 0;
  #closed: Promise<void> | undefined;

  private constructor(init: {
    dir: string;
    difficulty: number;
    root: RootDatabase;
    lock: DirLock;
    log: BlockLog;
    logger: Logger;
    mirror: JbcMirror | undefined;
    cacheBlocks: number;
  }) {
    this.dir = init.dir;
    this.difficulty = init.difficulty;
    this.#root = init.root;
    ({ locations: this.#locations, byHash: this.#byHash, meta: this.#meta } = tables(init.root));
    this.#lock = init.lock;
    this.#log = init.log;
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
    if (this.#locations.get(heightKey(BigInt(meta.length)), { transaction: this.#view }) !== undefined) {
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
    let log: BlockLog | undefined;
    let db: ChainDb | undefined;
    try {
      log = BlockLog.open(dir, recorded?.logEnd ?? 0);
      if (recorded === undefined) imported = await create(root, log, dir, difficulty, logger, quarantined);
      else if (recorded.format === 1) upgradeFormat1(root, log, dir, logger);
      const jbcFiles = options.jbcFiles ?? defaultChainDbOptions.jbcFiles;
      const mirror = jbcFiles ? new JbcMirror(dir) : undefined;
      db = new ChainDb({ dir, difficulty, root, lock, log, logger, mirror, cacheBlocks: options.cacheBlocks ?? defaultChainDbOptions.cacheBlocks });
      if (mirror !== undefined && !(await mirror.isCurrent(db.tip, db.length))) {
        logger.warn({ dir, length: db.length }, 'block files lag the database; rewriting them from it');
        mirrorRepaired = await mirror.repair(db.iterate(), db.length, quarantiner(dir, logger, quarantined));
      }
    } catch (err) {
      if (db !== undefined) db.#view.done();
      await root.close();
      log?.close();
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
    for (const key of this.#byHash.getKeys({ ...hashIndexRange(hash), inclusiveEnd: true, transaction: this.#view })) {
      const block = this.at(heightOfHashIndexKey(key));
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
    for (const { height, line } of this.#lines(this.#view, from, end)) blocks.push(decodeBlock(line, `block ${height} of ${this.dir}`));
    return blocks;
  }

  /** Iterations in progress, each holding a read snapshot open (and so keeping LMDB from reusing pages freed since). */
  get snapshots(): number {
    return this.#snapshots;
  }

  *iterate(from = 0n): Generator<Block> {
    for (const { height, line } of this.#scan(from)) yield decodeBlock(line, `block ${height} of ${this.dir}`);
  }

  /**
   * Like `iterate`, but each block as its output-form JSON text, straight
   * from the stored bytes: serving the chain (`/blockchain.json`, an export)
   * needs no decoding and re-encoding.
   */
  *iterateJson(from = 0n): Generator<string> {
    for (const { line } of this.#scan(from)) yield line.toString('utf8', 0, line.length - 1);
  }

  *#scan(from: bigint): Generator<{ height: bigint; line: Buffer }> {
    if (!isStorableHeight(from)) return;
    const snapshot = this.#root.useReadTransaction();
    this.#snapshots++;
    try {
      yield* this.#lines(snapshot, from, undefined);
    } finally {
      this.#snapshots--;
      snapshot.done();
    }
  }

  /**
   * The stored lines of heights from `from` (up to `end`, or to the tip of
   * `transaction`'s chain), read from the log in spans: consecutive blocks
   * usually lie back to back in it, so one pread serves many of them.
   */
  *#lines(transaction: Transaction, from: bigint, end: bigint | undefined): Generator<{ height: bigint; line: Buffer }> {
    let span: Span = [];
    for (const { key, value } of this.#locations.getRange({ start: heightKey(from), end: end === undefined ? undefined : heightKey(end), transaction })) {
      const location = decodeLocation(value);
      if (span.length > 0 && !continuesSpan(span, location)) {
        yield* this.#readSpan(span);
        span = [];
      }
      span.push({ height: key.readBigUInt64BE(), location });
    }
    if (span.length > 0) yield* this.#readSpan(span);
  }

  *#readSpan(span: Span): Generator<{ height: bigint; line: Buffer }> {
    const first = span[0]!.location;
    const last = span.at(-1)!.location;
    const bytes = this.#log.read(first.offset, last.offset + last.length - first.offset);
    for (const { height, location } of span) {
      const start = location.offset - first.offset;
      yield { height, line: bytes.subarray(start, start + location.length) };
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
      this.#log.close();
      await this.#lock.release();
    })();
    return this.#closed;
  }

  async #commit(forkPoint: bigint, blocks: readonly Block[]): Promise<void> {
    if (this.#closed !== undefined) throw new JbcError(ErrorCode.STORE_IO, `the chain database of ${this.dir} is closed`);
    const oldLength = this.#length;
    this.#checkLinks(forkPoint, blocks);
    const newLength = Number(forkPoint) + blocks.length;
    let written: { locations: Location[]; end: number };
    try {
      written = this.#log.write(blocks.map(encodeBlock));
    } catch (err) {
      throw this.#writeError(err, LOG_FILE);
    }
    const tip = blocks.at(-1)?.hash ?? this.at(forkPoint - 1n)?.hash ?? '';
    const meta: Meta = { format: STORE_FORMAT, difficulty: this.difficulty, length: newLength, tip, logEnd: written.end };
    try {
      this.#root.transactionSync(() => {
        for (let height = forkPoint; height < BigInt(oldLength); height++) {
          const key = heightKey(height);
          const block = this.#readAt(key, undefined, height);
          this.#byHash.removeSync(hashIndexKey(block.hash, height));
          this.#entries.blockRemoved(block, height);
          this.#locations.removeSync(key);
        }
        for (const [i, block] of blocks.entries()) {
          const height = heightKey(block.index);
          // Heights above forkPoint were just removed, so each one is the highest key: LMDB fills its pages.
          this.#locations.putSync(height, encodeLocation(written.locations[i]!), { append: true });
          this.#byHash.putSync(hashIndexKey(block.hash, block.index), EMPTY);
          this.#entries.blockAdded(block);
        }
        writeMeta(this.#meta, meta);
      });
      this.#entries.committed();
    } catch (err) {
      this.#entries.abandoned();
      this.#log.abandon();
      if (err instanceof JbcError) throw err;
      throw this.#writeError(err, DB_FILE);
    }
    this.#log.committed(written.end);
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
        throw this.#writeError(err, DB_FILE);
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

  /** A failed write as STORE_IO, naming the file. */
  #writeError(err: unknown, file: string): JbcError {
    return new JbcError(ErrorCode.STORE_IO, `cannot write to ${join(this.dir, file)}: ${describeError(err)}`, { dir: this.dir }, { cause: err });
  }

  #renewView(): void {
    const previous = this.#view;
    this.#view = this.#root.useReadTransaction();
    previous.done();
  }

  #read(index: bigint): Block {
    const cached = this.#cache.get(index);
    if (cached !== undefined) return cached;
    const block = this.#readAt(heightKey(index), this.#view, index);
    this.#cache.set(index, block);
    return block;
  }

  /** The block at a height, through `transaction` (undefined: the write transaction under way). */
  #readAt(key: Buffer, transaction: Transaction | undefined, height: bigint): Block {
    const value = this.#locations.get(key, transaction === undefined ? undefined : { transaction });
    if (value === undefined) throw corrupt(this.dir, `block ${height} is missing below its tip`);
    const { offset, length } = decodeLocation(value);
    return decodeBlock(this.#log.read(offset, length), `block ${height} of ${this.dir}`);
  }
}

/** Consecutive blocks whose lines lie back to back in the log. */
type Span = Array<{ height: bigint; location: Location }>;

/** Whether `location` directly follows `span` in the log, and the span may still grow. */
function continuesSpan(span: Span, location: Location): boolean {
  const first = span[0]!.location;
  const last = span.at(-1)!.location;
  return last.offset + last.length === location.offset && span.length < SCAN_BLOCKS && location.offset + location.length - first.offset <= SCAN_BYTES;
}

function tables(root: RootDatabase) {
  return {
    locations: root.openDB<Buffer, Buffer>({ name: 'locations', keyEncoding: 'binary', encoding: 'binary' }),
    byHash: root.openDB<Buffer, Buffer>({ name: 'byHash', keyEncoding: 'binary', encoding: 'binary' }),
    meta: root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }),
  };
}

/** The hash index's keys say it all. */
const EMPTY = Buffer.alloc(0);

const META_KEYS = ['format', 'difficulty', 'length', 'tip', 'logEnd'] as const;

/** The metadata; undefined when none was ever committed. Throws STORE_CORRUPT when it is there but malformed. */
function readMeta(dir: string, meta: Database<unknown, string>, transaction?: Transaction): Meta | undefined {
  const values = META_KEYS.map((key) => meta.get(key, transaction === undefined ? undefined : { transaction }));
  if (values.every((v) => v === undefined)) return undefined;
  const [format, difficulty, length, tip, logEnd = 0] = values;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!count(format) || !count(difficulty) || !count(length) || typeof tip !== 'string' || !count(logEnd)) throw corrupt(dir, 'its metadata is unreadable');
  if (format >= 2 && values[4] === undefined) throw corrupt(dir, 'its metadata does not record the block log\'s length');
  return { format, difficulty, length, tip, logEnd };
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
 * records the difficulty: the blocks' lines go to the log, then one
 * transaction points at them, so a crash leaves either no chain (and the
 * import runs again) or the whole import.
 */
async function create(root: RootDatabase, log: BlockLog, dir: string, difficulty: number, logger: Logger, quarantined: QuarantinedFile[]): Promise<number> {
  const loaded = await loadJbcDir(dir, difficulty, logger);
  quarantined.push(...loaded.quarantined);
  const { locations, byHash, meta } = tables(root);
  const written = log.write(loaded.blocks.map(encodeBlock));
  root.transactionSync(() => {
    for (const [i, block] of loaded.blocks.entries()) {
      locations.putSync(heightKey(block.index), encodeLocation(written.locations[i]!), { append: true });
      byHash.putSync(hashIndexKey(block.hash, block.index), EMPTY);
    }
    const tip = loaded.blocks.at(-1)?.hash ?? '';
    writeMeta(meta, { format: STORE_FORMAT, difficulty, length: loaded.blocks.length, tip, logEnd: written.end });
  });
  log.committed(written.end);
  if (loaded.blocks.length > 0 || loaded.quarantined.length > 0) {
    logger.info({ dir, imported: loaded.blocks.length, quarantined: loaded.quarantined.length }, 'jbc block files imported');
  }
  return loaded.blocks.length;
}

/**
 * Converts a version-1 database, which held the blocks' bytes itself and
 * indexed whole hashes: copies the blocks to the log in height order
 * (synced), then one transaction points each height at its line, rebuilds
 * the hash index from the old one, drops the old tables and records this
 * version. A crash before that transaction leaves version 1, and the copy
 * starts over.
 */
function upgradeFormat1(root: RootDatabase, log: BlockLog, dir: string, logger: Logger): void {
  const { locations, byHash, meta } = tables(root);
  const old = root.openDB<Buffer, Buffer>({ name: 'blocks', keyEncoding: 'binary', encoding: 'binary' });
  const oldHashes = root.openDB<Buffer, Buffer>({ name: 'hashes', keyEncoding: 'binary', encoding: 'binary' });
  const recorded = readMeta(dir, meta)!;
  // Where each height's line went, in typed arrays: a million blocks take 12 MB, not a million objects.
  const offsets = new Float64Array(recorded.length);
  const lengths = new Uint32Array(recorded.length);
  let count = 0;
  let lines: Buffer[] = [];
  let end = log.end;
  const flush = () => {
    const written = log.write(lines);
    for (const [i, location] of written.locations.entries()) {
      offsets[count - lines.length + i] = location.offset;
      lengths[count - lines.length + i] = location.length;
    }
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
  root.transactionSync(() => {
    for (let i = 0; i < count; i++) {
      locations.putSync(heightKey(BigInt(i)), encodeLocation({ offset: offsets[i]!, length: lengths[i]! }), { append: true });
    }
    for (const { key, value } of oldHashes.getRange()) byHash.putSync(hashIndexKey(key.toString('hex'), value.readBigUInt64BE()), EMPTY);
    old.dropSync();
    oldHashes.dropSync();
    writeMeta(meta, { ...recorded, format: STORE_FORMAT, logEnd: end });
  });
  log.committed(end);
  logger.info({ dir, blocks: count, from: recorded.format, to: STORE_FORMAT }, 'chain database converted to the current format');
}

function corrupt(dir: string, why: string): JbcError {
  return new JbcError(ErrorCode.STORE_CORRUPT, `the chain database of ${dir} is unusable: ${why}`, { dir });
}
