/**
 * The LMDB file of a data directory, `chain.mdb`: how it is opened and
 * mapped, its tables and metadata, what a write of so many puts reserves,
 * and the errors for a file that is unusable. ChainDb (chain-db.ts) is
 * built on it.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { LOG_FILE } from './block-log.js';

/** The database file inside the data directory (LMDB keeps its reader table beside it, in `chain.mdb-lock`). */
export const DB_FILE = 'chain.mdb';
/**
 * The address space the database is mapped into: reserved, not allocated
 * (the file grows only as blocks are written). Left to grow on demand, lmdb
 * maps the file again each time it outgrows its map and keeps the earlier
 * maps, so every page read lands in memory several times over.
 */
export const MAP_SIZE = 2 ** 40;

/**
 * Version of the layout below; a database of a newer version is refused
 * rather than misread. Version 1 kept the blocks' bytes in the database
 * itself; it is converted when opened (`upgradeFormat1`).
 */
export const STORE_FORMAT = 2;

export interface Meta {
  readonly format: number;
  readonly difficulty: number;
  readonly length: number;
  /** Hash of the tip; '' for the empty chain. */
  readonly tip: string;
  /** Bytes of the block log that the chain points into (0 in version 1, which had no log). */
  readonly logEnd: number;
  /** The chain rule's target block time, ms; 0 (and absent, before it was recorded) for jbc's fixed difficulty. */
  readonly targetBlockTimeMs: number;
  /** With a target block time: the chain's cumulative work, hex; '' otherwise (the work is then its length times a block's). */
  readonly work: string;
}

/** Puts (and removes) of a block: its chunk, its hash index entry and its target's chunk. */
export const BLOCK_PUTS = 3;
export const BLOCK_BYTES = 96;
/** Puts of an entry moving between pending and confirmed: its record in each table, and its id. */
export const ENTRY_PUTS = 3;
/** Bytes of an entry's keys and values besides its data: its id as keys, a sequence number, a height, a time. */
export const ENTRY_BYTES = 192;

export function tables(root: RootDatabase) {
  return {
    chunks: root.openDB<Buffer, Buffer>({ name: 'chunks', keyEncoding: 'binary', encoding: 'binary' }),
    byHash: root.openDB<Buffer, Buffer>({ name: 'byHash', keyEncoding: 'binary', encoding: 'binary' }),
    meta: root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }),
    targets: root.openDB<Buffer, Buffer>({ name: 'targets', keyEncoding: 'binary', encoding: 'binary' }),
  };
}

export const META_KEYS = ['format', 'difficulty', 'length', 'tip', 'logEnd', 'targetBlockTimeMs', 'work'] as const;

/** The metadata; undefined when none was ever committed. Throws STORE_CORRUPT when it is there but malformed. */
export function readMeta(dir: string, meta: Database<unknown, string>, transaction?: Transaction): Meta | undefined {
  const values = META_KEYS.map((key) => meta.get(key, transaction === undefined ? undefined : { transaction }));
  if (values.every((v) => v === undefined)) return undefined;
  const [format, difficulty, length, tip, logEnd = 0, targetBlockTimeMs = 0, work = ''] = values;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!count(format) || !count(difficulty) || !count(length) || typeof tip !== 'string' || !count(logEnd)) throw corrupt(dir, 'its metadata is unreadable');
  if (!count(targetBlockTimeMs) || typeof work !== 'string' || !/^[0-9a-f]*$/.test(work)) throw corrupt(dir, 'its metadata is unreadable');
  if (targetBlockTimeMs > 0 && work === '' && length > 0) throw corrupt(dir, "its metadata does not record the chain's work");
  if (format >= 2 && values[4] === undefined) throw corrupt(dir, "its metadata does not record the block log's length");
  return { format, difficulty, length, tip, logEnd, targetBlockTimeMs, work };
}

export function writeMeta(meta: Database<unknown, string>, values: Meta): void {
  for (const key of META_KEYS) meta.putSync(key, values[key]);
}

/** LMDB's errors for a file that is not, or no longer, a sound database (as opposed to one it cannot reach: permissions, space). */
export const LMDB_DAMAGE = /MDB_INVALID|MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_VERSION_MISMATCH|MDB_BAD_TXN|MDB_BAD_VALSIZE/;

/** The recorded metadata, read through a read-only environment that writes nothing. */
export async function peekMeta(dir: string, path: string): Promise<Meta | undefined> {
  let root: RootDatabase;
  try {
    root = open({ path, noSubdir: true, readOnly: true, maxDbs: 16 });
  } catch (err) {
    if (LMDB_DAMAGE.test(describeError(err))) throw damaged(dir, path, describeError(err), err);
    throw new JbcError(ErrorCode.STORE_IO, `cannot open ${path}: ${describeError(err)}`, { path }, { cause: err });
  }
  try {
    return readMeta(dir, root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }));
  } catch (err) {
    if (err instanceof JbcError) throw err;
    if (LMDB_DAMAGE.test(describeError(err))) throw damaged(dir, path, describeError(err), err);
    // A database file whose first transaction never committed (a crash while it was created) holds no tables yet.
    return undefined;
  } finally {
    await root.close();
  }
}

/** The size of the file at `path`; undefined when there is none. */
export function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JbcError(ErrorCode.STORE_IO, `cannot read ${path}: ${describeError(err)}`, { path }, { cause: err });
  }
}

/** A database file that LMDB cannot (or must not) open: refused with the ways out, before anything is written. */
export function damaged(dir: string, path: string, why: string, cause?: unknown): JbcError {
  return new JbcError(
    ErrorCode.STORE_CORRUPT,
    `${path} is damaged (${why}); nothing was changed: restore it, or move it and ${LOG_FILE} out of ${dir} to start with an empty chain (and sync it again from peers)`,
    { dir, path },
    cause === undefined ? undefined : { cause },
  );
}

/** A failed write as STORE_IO, naming the file of `dir` it was to. */
export function writeError(dir: string, err: unknown, file: string): JbcError {
  return new JbcError(ErrorCode.STORE_IO, `cannot write to ${join(dir, file)}: ${describeError(err)}`, { dir }, { cause: err });
}

export const compactCopy = (path: string) => `${path}.compact`;

export function openRoot(path: string): RootDatabase {
  try {
    return open({ path, noSubdir: true, overlappingSync: false, maxDbs: 16, mapSize: MAP_SIZE });
  } catch (err) {
    throw new JbcError(ErrorCode.STORE_IO, `cannot open ${path}: ${describeError(err)}`, { path }, { cause: err });
  }
}

export function corrupt(dir: string, why: string): JbcError {
  return new JbcError(ErrorCode.STORE_CORRUPT, `the chain database of ${dir} is unusable: ${why}`, { dir });
}
