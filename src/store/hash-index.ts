/**
 * The index from block hash to height. Keys are the last 8 bytes of a hash
 * (proof of work makes the first ones zeros) and the height; every hit is a
 * candidate that the store confirms by reading the block, so two blocks whose
 * hashes end alike (about 2^32 hashes of work to make) only cost a second
 * read.
 *
 * The newest entries are a table of the database, `byHash`, written inside
 * each commit's own transaction. Once it holds `runEntries`, they are
 * written out as a sorted run file (hash-runs.ts) and the table is emptied,
 * in one transaction that also records the run; runs are merged into one
 * once there are more than `MAX_RUNS`. A crash leaves at worst a run file
 * no transaction recorded, which opening deletes. Entries of blocks that a
 * reorg dropped are removed from the table; in a run they stay, and the
 * store's check of each candidate skips them.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import { hashIndexKey, hashIndexRange, heightOfHashIndexKey, HASH_TAG_BYTES } from './encoding.js';
import { mergeRecords, Run, runOfFileName, writeRun } from './hash-runs.js';
import { fsyncDir } from './jbc-files.js';

/** Runs kept before they are merged into one. */
export const MAX_RUNS = 8;

const RUNS_KEY = 'hashRuns';
/** Each run's checksum, by run number; runs written before checksums were recorded have none and are not checked. */
const SUMS_KEY = 'hashRunSums';
/** The hash index keys say it all. */
const EMPTY = Buffer.alloc(0);

export interface HashIndexTables {
  readonly root: RootDatabase;
  readonly table: Database<Buffer, Buffer>;
  readonly meta: Database<unknown, string>;
  /** Called before each write transaction of the index's own (the chain database keeps room past the file's end: see Headroom). */
  readonly reserve: () => void;
}

export class HashIndex {
  readonly #dir: string;
  readonly #tables: HashIndexTables;
  readonly #logger: Logger;
  readonly #runEntries: number;
  #runs: Run[];
  #nextRun: number;

  private constructor(dir: string, tables: HashIndexTables, logger: Logger, runEntries: number, runs: Run[], nextRun: number) {
    this.#dir = dir;
    this.#tables = tables;
    this.#logger = logger;
    this.#runEntries = runEntries;
    this.#runs = runs;
    this.#nextRun = nextRun;
  }

  /**
   * Opens the runs the database records and deletes run files it does not
   * (left by a crash). `runEntries`: entries the table holds before they
   * are written out as a run.
   */
  static open(dir: string, tables: HashIndexTables, logger: Logger, runEntries: number): HashIndex {
    const recorded = recordedRuns(tables.meta);
    let nextRun = Math.max(0, ...recorded.map((n) => n + 1));
    for (const name of readdirSync(dir)) {
      const run = runOfFileName(name);
      if (run === undefined || recorded.includes(run)) continue;
      rmSync(join(dir, name), { force: true });
      nextRun = Math.max(nextRun, run + 1);
    }
    const sums = recordedSums(tables.meta);
    const runs: Run[] = [];
    try {
      for (const run of recorded) runs.push(Run.open(dir, run, sums[run]));
    } catch (err) {
      for (const run of runs) run.close();
      throw new JbcError(
        ErrorCode.STORE_CORRUPT,
        `the hash index of ${dir} is unusable: ${err instanceof Error ? err.message : String(err)}; restore the file, or move the data directory's files away and sync the chain again`,
        { dir },
        { cause: err },
      );
    }
    return new HashIndex(dir, tables, logger, runEntries, runs, nextRun);
  }

  /** Inside a write transaction. */
  add(hash: string, height: bigint): void {
    putEntry(this.#tables.table, hash, height);
  }

  /** Inside a write transaction: drops the entry from the table (an entry already in a run stays there). */
  remove(hash: string, height: bigint): void {
    this.#tables.table.removeSync(hashIndexKey(hash, height));
  }

  /** Heights of the blocks whose hash may be `hash`, from the table as `transaction` sees it and from the runs. */
  heights(hash: string, transaction: Transaction): bigint[] {
    const range = hashIndexRange(hash);
    const heights = [...this.#tables.table.getKeys({ ...range, inclusiveEnd: true, transaction })].map(heightOfHashIndexKey);
    const tag = range.start.subarray(0, HASH_TAG_BYTES);
    for (const run of this.#runs) heights.push(...run.find(tag).map(heightOfHashIndexKey));
    return heights;
  }

  /** Entries in the database's table (not yet in a run). */
  get recent(): number {
    return (this.#tables.table.getStats() as { entryCount: number }).entryCount;
  }

  get runs(): number {
    return this.#runs.length;
  }

  /**
   * Between commits (never alongside one): writes the table out as a run
   * once it holds `runEntries`, and merges the runs once
   * there are more than `MAX_RUNS`. Returns whether the database changed,
   * so the caller renews its read view.
   */
  async maintain(): Promise<boolean> {
    let changed = false;
    if (this.recent >= this.#runEntries) {
      const run = this.#nextRun++;
      const { root, table, meta } = this.#tables;
      const snapshot = root.useReadTransaction();
      let count: number;
      let sum: string;
      try {
        ({ count, sum } = await writeRun(this.#dir, run, table.getKeys({ transaction: snapshot })));
      } finally {
        snapshot.done();
      }
      await fsyncDir(this.#dir);
      this.#tables.reserve();
      root.transactionSync(() => {
        table.clearSync();
        meta.putSync(RUNS_KEY, [...this.#runs.map((r) => r.number), run]);
        meta.putSync(SUMS_KEY, { ...recordedSums(meta), [run]: sum });
      });
      this.#runs = [...this.#runs, Run.open(this.#dir, run)];
      this.#logger.debug({ run, entries: count }, 'hash index entries written out as a run');
      changed = true;
    }
    if (this.#runs.length > MAX_RUNS) {
      const run = this.#nextRun++;
      const { count, sum } = await writeRun(this.#dir, run, mergeRecords(this.#runs));
      await fsyncDir(this.#dir);
      this.#tables.reserve();
      this.#tables.root.transactionSync(() => {
        this.#tables.meta.putSync(RUNS_KEY, [run]);
        this.#tables.meta.putSync(SUMS_KEY, { [run]: sum });
      });
      const merged = this.#runs;
      this.#runs = [Run.open(this.#dir, run)];
      for (const old of merged) {
        old.close();
        rmSync(old.path, { force: true });
      }
      this.#logger.debug({ run, entries: count, merged: merged.length }, 'hash index runs merged');
      changed = true;
    }
    return changed;
  }

  close(): void {
    for (const run of this.#runs) run.close();
  }
}

/** Adds a block to the database's table, inside a write transaction (also for the store's import and conversion). */
export function putEntry(table: Database<Buffer, Buffer>, hash: string, height: bigint): void {
  table.putSync(hashIndexKey(hash, height), EMPTY);
}

function recordedSums(meta: Database<unknown, string>): Readonly<Record<number, string>> {
  const value = meta.get(SUMS_KEY);
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || !Object.values(value).every((sum) => typeof sum === 'string')) {
    throw new JbcError(ErrorCode.STORE_CORRUPT, `the chain database's checksums of hash index runs are unreadable`);
  }
  return value as Record<number, string>;
}

function recordedRuns(meta: Database<unknown, string>): number[] {
  const value = meta.get(RUNS_KEY);
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new JbcError(ErrorCode.STORE_CORRUPT, `the chain database's list of hash index runs is unreadable`);
  }
  return value as number[];
}
