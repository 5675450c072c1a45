/**
 * The bench's measurements, each through the real worker pool (or, for the
 * stop-check cost, the engine itself in this thread).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { BlockTemplate } from '../src/block.js';
import { headerPrefix } from '../src/block.js';
import { loadEngine, MiningCoordinator, type EngineName } from '../src/mining/index.js';

/** Difficulty no search reaches: the workers hash until cancelled. */
export const UNREACHABLE = 64;

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
export async function measurePoolRate(
  engine: EngineName,
  workers: number,
  seconds: number,
  rangeSize?: number,
): Promise<RateMeasurement> {
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
  if ((await mining) !== null) throw new Error('the bench found a block at difficulty 64');
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
      if ((await mining) !== null) throw new Error('the bench found a block at difficulty 64');
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
      const block = await miner.mine(benchTemplate(i), difficulty);
      mines.push(performance.now() - t0);
      if (block === null) throw new Error('a bench search was cancelled');
      handovers.push(miner.stats().lastFoundToHandoverMs ?? NaN);
    }
    return { engine, workers, difficulty, handover: summarise(handovers), mineMs: summarise(mines) };
  } finally {
    await miner.close();
  }
}

/**
 * What the stop checks cost: the engine in this thread over the same ranges,
 * once with a stop flag to poll and once without. An engine that polls either
 * way shows a ratio near 1; the figure is reported as measured.
 */
export async function measureStopCheckCost(
  engine: EngineName,
  seconds: number,
): Promise<{ engine: EngineName; withStopHps: number; withoutStopHps: number; costPercent: number }> {
  const kernel = await loadEngine(engine);
  const prefix = new TextEncoder().encode(benchPrefix());
  const stop = new Int32Array(new SharedArrayBuffer(4));
  // Several chunks per call, so the checks between chunks are part of what is timed.
  const count = 2 ** 20;
  const run = (withStop: boolean, budget: number): number => {
    let hashes = 0;
    let start = 0n;
    const t0 = performance.now();
    while (performance.now() - t0 < budget * 1000) {
      const request = { prefix, start, count, difficulty: UNREACHABLE };
      hashes += (withStop ? kernel.search(request, stop) : kernel.search(request)).hashes;
      start += BigInt(count);
    }
    return (hashes * 1000) / (performance.now() - t0);
  };
  run(true, 0.1);
  run(false, 0.1);
  // Interleaved halves, so a neighbour's load spike hits both sides alike.
  let withStop = 0;
  let withoutStop = 0;
  for (let i = 0; i < 4; i++) {
    withStop += run(true, seconds / 8);
    withoutStop += run(false, seconds / 8);
  }
  withStop /= 4;
  withoutStop /= 4;
  return {
    engine,
    withStopHps: Math.round(withStop),
    withoutStopHps: Math.round(withoutStop),
    costPercent: Math.round(((withoutStop - withStop) / withoutStop) * 1000) / 10,
  };
}
