/**
 * Mining options, their defaults in one place, and validation that names the
 * offending option.
 */
import { availableParallelism } from 'node:os';
import { ErrorCode, JbcError } from '../errors.js';
import { MAX_TARGET } from '../target.js';
import { ENGINE_NAMES, isEngineName, type EngineName } from './engine-loader.js';

export interface MinerOptions {
  /**
   * Worker threads in the Piscina pool. 0 mines in the calling thread (tests,
   * or a machine where worker threads are unwanted); that blocks the event
   * loop for one range at a time. Default: os.availableParallelism().
   */
  workers?: number;
  /** Hashing engine. Default: defaultEngineName() from engines.ts (the fastest this CPU supports). */
  engine?: EngineName;
  /**
   * Nonces per task. Small enough that a worker reports back often, large
   * enough that task overhead is noise. Default 2^20 (about 70 ms of SIMD
   * hashing): in the bench 2^18 lost about 3% to task overhead, 2^20 under 1%.
   */
  rangeSize?: number;
  /** Tasks kept in flight per worker, so a worker finishing a range starts the next without waiting for the coordinator. Default 2. */
  tasksPerWorker?: number;
  /** Window of the hash-rate figures, ms. Default 10 000. */
  rateWindowMs?: number;
  /** How long cancel() waits for workers to see the stop flag before it aborts their threads, ms. Default 5 000. */
  stopTimeoutMs?: number;
}

export interface ResolvedMinerOptions {
  readonly workers: number;
  /** undefined: ask defaultEngineName() when the coordinator is created. */
  readonly engine: EngineName | undefined;
  readonly rangeSize: number;
  readonly tasksPerWorker: number;
  readonly rateWindowMs: number;
  readonly stopTimeoutMs: number;
}

export const defaultMinerOptions: ResolvedMinerOptions = Object.freeze({
  workers: availableParallelism(),
  engine: undefined,
  rangeSize: 2 ** 20,
  tasksPerWorker: 2,
  rateWindowMs: 10_000,
  stopTimeoutMs: 5_000,
});

const MAX_WORKERS = 1024;
/** Engines take the count as a number; keep it a safe 32-bit value. */
const MAX_RANGE_SIZE = 2 ** 31;

export function resolveMinerOptions(options: MinerOptions = {}): ResolvedMinerOptions {
  const o = { ...defaultMinerOptions, ...definedOnly(options) };
  if (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > MAX_WORKERS) {
    throw badOption('workers', `must be a non-negative integer up to ${MAX_WORKERS} (0 mines in the calling thread)`);
  }
  if (o.engine !== undefined && !isEngineName(o.engine)) {
    throw badOption('engine', `must be one of ${ENGINE_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(o.rangeSize) || o.rangeSize < 1 || o.rangeSize > MAX_RANGE_SIZE) {
    throw badOption('rangeSize', `must be a positive integer up to 2^31`);
  }
  if (!Number.isInteger(o.tasksPerWorker) || o.tasksPerWorker < 1 || o.tasksPerWorker > 64) {
    throw badOption('tasksPerWorker', 'must be a positive integer up to 64');
  }
  if (!Number.isFinite(o.rateWindowMs) || o.rateWindowMs <= 0) {
    throw badOption('rateWindowMs', 'must be a positive number');
  }
  if (!Number.isFinite(o.stopTimeoutMs) || o.stopTimeoutMs <= 0) {
    throw badOption('stopTimeoutMs', 'must be a positive number');
  }
  return Object.freeze(o);
}

/** Throws BAD_OPTION unless `target` is a bigint a SHA-256 digest can be compared with: 0 to 2^256 - 1. */
export function checkTarget(target: bigint): void {
  if (typeof target !== 'bigint' || target < 0n || target > MAX_TARGET) {
    throw new JbcError(ErrorCode.BAD_OPTION, 'target must be a bigint from 0 to 2^256 - 1', { option: 'target' });
  }
}

function badOption(name: string, reason: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, `options.${name} ${reason}`, { option: name });
}

/** `{workers: undefined}` means the default, as if the key were absent. */
function definedOnly(options: MinerOptions): MinerOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as MinerOptions;
}
