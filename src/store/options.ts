/** Options of the chain database, with their defaults in one place. */
import { defaultEntryLimits } from '../entries.js';
import { ErrorCode, JbcError } from '../errors.js';

export interface ChainDbOptions {
  /** The data directory; created when missing. Holds the database, its lock, and any jbc block files. */
  readonly dir: string;
  /**
   * Difficulty of the chain. Recorded when the directory's database is
   * created; opening it later with another one fails with
   * DIFFICULTY_MISMATCH and changes nothing. Undefined: the recorded one (an
   * error for a directory without a database).
   */
  readonly difficulty?: number;
  /**
   * The rule's target block time, ms (0: jbc's fixed difficulty), recorded
   * like the difficulty; another one fails with DIFFICULTY_MISMATCH.
   * Undefined: the recorded one, or 0 for a new directory.
   */
  readonly targetBlockTimeMs?: number;
  /** Keep the article's layout, one JSON file per block, beside the database, written after each commit. Default false. */
  readonly jbcFiles?: boolean;
  /** Decoded blocks kept in memory (most recently read), holding at most 8 Mi characters of data together. Default 1024. */
  readonly cacheBlocks?: number;
  /**
   * Hash index entries the database holds before they are written out to a
   * run file (see hash-index.ts): bounds the part of the index that is
   * memory-mapped, about 37 bytes an entry. Default 200,000.
   */
  readonly hashRunEntries?: number;
  /**
   * The data pool's rules, which entries coming back from an abandoned block
   * obey too. Default: those of a node started without options.
   */
  readonly pool?: PoolLimits;
}

/** The data pool's caps and its entry size limit. */
export interface PoolLimits {
  /** Most pending entries. */
  readonly maxEntries: number;
  /** Most UTF-8 bytes of pending entry data. */
  readonly maxBytes: number;
  /** Largest entry, in UTF-8 bytes. */
  readonly maxEntryBytes: number;
}

export const defaultPoolLimits: PoolLimits = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 32 * 1024 * 1024,
  maxEntryBytes: defaultEntryLimits.maxEntryBytes,
});

export const defaultChainDbOptions = {
  jbcFiles: false,
  cacheBlocks: 1024,
  hashRunEntries: 200_000,
} as const satisfies Partial<ChainDbOptions>;

export const MAX_DIFFICULTY = 64;

/** Throws BAD_OPTION naming the first invalid field. */
export function checkChainDbOptions(options: ChainDbOptions): void {
  if (typeof options.dir !== 'string' || options.dir === '') throw badOption('options.dir must be a non-empty path');
  const { difficulty, cacheBlocks, hashRunEntries, pool } = options;
  if (difficulty !== undefined && !(Number.isInteger(difficulty) && difficulty >= 0 && difficulty <= MAX_DIFFICULTY)) {
    throw badOption(`options.difficulty must be an integer from 0 to ${MAX_DIFFICULTY}`);
  }
  const { targetBlockTimeMs } = options;
  if (targetBlockTimeMs !== undefined && !(Number.isSafeInteger(targetBlockTimeMs) && targetBlockTimeMs >= 0)) {
    throw badOption('options.targetBlockTimeMs must be a non-negative integer');
  }
  if (cacheBlocks !== undefined && !(Number.isSafeInteger(cacheBlocks) && cacheBlocks >= 0)) {
    throw badOption('options.cacheBlocks must be a non-negative integer');
  }
  if (hashRunEntries !== undefined && !(Number.isSafeInteger(hashRunEntries) && hashRunEntries >= 1)) {
    throw badOption('options.hashRunEntries must be a positive integer');
  }
  if (pool !== undefined) {
    for (const name of ['maxEntries', 'maxBytes', 'maxEntryBytes'] as const) {
      if (!(Number.isSafeInteger(pool[name]) && pool[name] >= 0)) throw badOption(`options.pool.${name} must be a non-negative integer`);
    }
  }
}

function badOption(message: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, message);
}
