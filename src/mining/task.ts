/**
 * What crosses the thread boundary: the plain task a worker receives and the
 * plain result it returns, and the one function that runs a task against an
 * engine. The Piscina worker (workers/worker.ts) and the in-thread miner both
 * call `runTask`, so tests exercise the same logic without a thread.
 */
import { performance } from 'node:perf_hooks';
import type { Engine } from './engine.js';
import type { EngineName } from './engine-loader.js';

/** Search one nonce range. */
export interface SearchTask {
  readonly kind: 'search';
  readonly engine: EngineName;
  /** UTF-8 header bytes up to the nonce. */
  readonly prefix: Uint8Array;
  /** bigint survives structured clone, so nonces stay exact across threads. */
  readonly start: bigint;
  readonly count: number;
  /** A hit's digest, read as a big-endian number, is at most this. */
  readonly target: bigint;
  /** One Int32 per search: non-zero means stop. A fresh buffer per search, so a late task of an old search cannot run on into a new one. */
  readonly stop: SharedArrayBuffer;
}

/** Load the engine (the worker does that before any task) and report the thread. */
export interface WarmUpTask {
  readonly kind: 'warmup';
  readonly engine: EngineName;
}

export type WorkerTask = SearchTask | WarmUpTask;

export interface SearchTaskResult {
  readonly kind: 'search';
  readonly status: 'found' | 'exhausted' | 'stopped';
  /** The nonce when `found`, else null. */
  readonly nonce: bigint | null;
  /** Hashes actually computed, including the part of a stopped range. */
  readonly hashes: number;
  readonly elapsedMs: number;
  /** Wall-clock ms (performance.timeOrigin + now(), comparable across threads) when the search ended. */
  readonly finishedAt: number;
  readonly threadId: number;
}

export interface WarmUpResult {
  readonly kind: 'warmup';
  readonly threadId: number;
}

export type WorkerResult = SearchTaskResult | WarmUpResult;

export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function requestStop(stop: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(stop), 0, 1);
}

export function newStopFlag(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

export function runSearch(engine: Engine, task: SearchTask, threadId: number): SearchTaskResult {
  const t0 = performance.now();
  const stop = new Int32Array(task.stop);
  // A task queued behind a cancelled search starts here; checking first makes
  // it return at once instead of hashing its first chunk.
  const result =
    Atomics.load(stop, 0) !== 0
      ? ({ status: 'stopped', hashes: 0 } as const)
      : engine.search({ prefix: task.prefix, start: task.start, count: task.count, target: task.target }, stop);
  const elapsedMs = performance.now() - t0;
  return {
    kind: 'search',
    status: result.status,
    nonce: result.status === 'found' ? result.nonce : null,
    hashes: result.hashes,
    elapsedMs,
    finishedAt: wallClockMs(),
    threadId,
  };
}

/** The whole job of a worker once its engine is loaded. */
export function runTask(engine: Engine, task: WorkerTask, threadId: number): WorkerResult {
  return task.kind === 'search' ? runSearch(engine, task, threadId) : { kind: 'warmup', threadId };
}
