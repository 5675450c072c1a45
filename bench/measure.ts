/**
 * The bench's measurements, each through the real worker pool (or, for the
 * cost of chunked calls, the engine itself in this thread).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { BlockTemplate } from '../src/block.js';
import { headerPrefix } from '../src/block.js';
import { defaultChunkSize, loadEngine, MiningCoordinator, type EngineName } from '../src/mining/index.js';
import type { Engine } from '../src/mining/index.js';
import { zerosTarget } from '../src/target.js';

/** A target no search reaches (a digest of 0): the workers hash until cancelled. */
export const UNREACHABLE = 0n;

/** A block header of realistic size: a 64-hex parent and a short data payload. */
export function benchTemplate(serial = 0): BlockTemplate {
  return {
    index: 1000n + BigInt(serial),
    timestamp: 1_764_000_000n + BigInt(serial),
    data: '{"entries":[{"id":"3f1c0a","data":"bench payload for jbc-ts"}]}',
    prevHash: '0000012f3a9be4c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4',
  };
}

export function benchPrefix(): string {
  return headerPrefix(benchTemplate());
}

/** What the bench hashes, for the report: the header up to the nonce, and where the nonces start. */
export function benchHeader(): { readonly prefix: string; readonly prefixBytes: number; readonly nonces: string } {
  const prefix = benchPrefix();
  return { prefix, prefixBytes: new TextEncoder().encode(prefix).length, nonces: 'counting up from 0, appended as decimal digits' };
}

export interface RateMeasurement {
  readonly hashes: number;
  readonly seconds: number;
  readonly hashesPerSecond: number;
}

/**
 * Hashes an unreachable target for `seconds` through a pool of `workers`,
 * after a short warm-up so the WASM code has tiered up. Counts the hashes the
 * workers report, stopped ranges included.
 */
export async function measurePoolRate(engine: EngineName, workers: number, seconds: number, rangeSize?: number): Promise<RateMeasurement> {
  const miner = await MiningCoordinator.create({ engine, workers, rangeSize });
  try {
    await runFor(miner, Math.min(0.3, seconds / 3));
    const before = miner.stats().hashes;
    const elapsed = await runFor(miner, seconds);
    const hashes = miner.stats().hashes - before;
    return { hashes, seconds: elapsed, hashesPerSecond: hashes / elapsed };
  } finally {
    await miner.close();
  }
}

async function runFor(miner: MiningCoordinator, seconds: number): Promise<number> {
  const t0 = performance.now();
  const mining = miner.mine(benchTemplate(), UNREACHABLE);
  await sleep(seconds * 1000);
  await miner.cancel();
  const elapsed = (performance.now() - t0) / 1000;
  if ((await mining) !== null) throw new Error('the bench found a block whose hash is 0');
  return elapsed;
}

export interface Summary {
  readonly samples: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly maxMs: number;
}

export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  return { samples: sorted.length, medianMs: at(0.5), p90Ms: at(0.9), maxMs: round(sorted.at(-1) ?? NaN) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Time from cancel() to every worker idle, with the workers mid-range (the
 * default range takes longer than the pause before each cancel).
 */
export async function measureCancelLatency(engine: EngineName, workers: number, rounds: number): Promise<Summary & { engine: EngineName; workers: number }> {
  const miner = await MiningCoordinator.create({ engine, workers });
  try {
    await runFor(miner, 0.2);
    const latencies: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const mining = miner.mine(benchTemplate(i), UNREACHABLE);
      await sleep(20 + ((i * 37) % 60));
      const t0 = performance.now();
      await miner.cancel();
      latencies.push(performance.now() - t0);
      if ((await mining) !== null) throw new Error('the bench found a block whose hash is 0');
    }
    return { engine, workers, ...summarise(latencies) };
  } finally {
    await miner.close();
  }
}

/**
 * Time from a worker finding the nonce to mine() resolving with the sealed
 * block, over `rounds` blocks at a low difficulty; also the whole mine() time.
 */
export async function measureHandover(
  engine: EngineName,
  workers: number,
  rounds: number,
  difficulty: number,
): Promise<{ engine: EngineName; workers: number; difficulty: number; handover: Summary; mineMs: Summary }> {
  const miner = await MiningCoordinator.create({ engine, workers });
  try {
    const handovers: number[] = [];
    const mines: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const block = await miner.mine(benchTemplate(i), zerosTarget(difficulty));
      mines.push(performance.now() - t0);
      if (block === null) throw new Error('a bench search was cancelled');
      handovers.push(miner.stats().lastFoundToHandoverMs ?? NaN);
    }
    return { engine, workers, difficulty, handover: summarise(handovers), mineMs: summarise(mines) };
  } finally {
    await miner.close();
  }
}

export interface ChunkCost {
  readonly engine: EngineName;
  /** Nonces per kernel call on the chunked side (the stop flag is checked between calls). */
  readonly chunkSize: number;
  /** Nonces per timed run: the chunked side makes runSize / chunkSize calls, the other one. */
  readonly runSize: number;
  /** Interleaved pairs measured (one run each side). */
  readonly pairs: number;
  /** Median rate of each side, hashes per second. */
  readonly chunkedHps: number;
  readonly oneCallHps: number;
  /** Median over the pairs of (one call - chunked) / one call, in percent: positive = chunking costs. */
  readonly costPercent: number;
  /** The middle half of the per-pair costs (25th and 75th percentile): how far one pair can be off. */
  readonly spreadPercent: readonly [number, number];
}

/**
 * What the production search pays for being cancellable: the engine hashing
 * a range in chunks with the stop flag checked between them (what a worker
 * does), against the same engine hashing the same range in one kernel call
 * with no flag. Both sides run in this thread over the very same nonces, in
 * pairs whose order alternates, so load from other processes and any trend
 * in it falls on both sides alike; the spread of the per-pair figures shows
 * how much of the result is noise.
 */
export async function measureChunkCost(engine: EngineName, seconds: number, chunkSize = defaultChunkSize[engine]): Promise<ChunkCost> {
  const runSize = Math.max(CHUNK_COST_RUN, chunkSize);
  const chunked = await loadEngine(engine, { chunkSize });
  const oneCall = await loadEngine(engine, { chunkSize: runSize });
  const prefix = new TextEncoder().encode(benchPrefix());
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const rate = (side: Engine, start: bigint): number => {
    const t0 = performance.now();
    const result = side.search({ prefix, start, count: runSize, target: UNREACHABLE }, side === chunked ? stop : undefined);
    return (result.hashes * 1000) / (performance.now() - t0);
  };
  rate(chunked, 0n);
  rate(oneCall, 0n);
  const costs: number[] = [];
  const chunkedRates: number[] = [];
  const oneCallRates: number[] = [];
  const t0 = performance.now();
  for (let pair = 0; pair < MIN_PAIRS || performance.now() - t0 < seconds * 1000; pair++) {
    const start = BigInt(pair) * BigInt(runSize);
    let c: number;
    let o: number;
    if (pair % 2 === 0) {
      c = rate(chunked, start);
      o = rate(oneCall, start);
    } else {
      o = rate(oneCall, start);
      c = rate(chunked, start);
    }
    chunkedRates.push(c);
    oneCallRates.push(o);
    costs.push(((o - c) / o) * 100);
  }
  const pct = (x: number): number => Math.round(x * 100) / 100;
  return {
    engine,
    chunkSize,
    runSize,
    pairs: costs.length,
    chunkedHps: Math.round(quantile(chunkedRates, 0.5)),
    oneCallHps: Math.round(quantile(oneCallRates, 0.5)),
    costPercent: pct(quantile(costs, 0.5)),
    spreadPercent: [pct(quantile(costs, 0.25)), pct(quantile(costs, 0.75))],
  };
}

/** Fewest pairs a chunk-cost figure rests on, however short the time asked for. */
const MIN_PAIRS = 10;
/**
 * Nonces per timed run of the chunk cost: 8 default SIMD chunks, about 17 ms
 * on the reference machine. Short runs make many pairs, so the median shrugs
 * off the runs another process preempted.
 */
const CHUNK_COST_RUN = 2 ** 18;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}
