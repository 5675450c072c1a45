/**
 * The mining pool for real: Piscina threads running the compiled worker
 * (dist/workers/worker.js, so run `npm run build` first, as `npm test` does)
 * with the engine the node mines with.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkBlock, headerPrefix, type BlockTemplate } from '../../src/block.js';
import { ErrorCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { defaultEngineName, type EngineName } from '../../src/mining/engine-loader.js';
import { MiningCoordinator } from '../../src/mining/index.js';
import { PoolRunner, workerFile } from '../../src/mining/pool-runner.js';
import { newStopFlag, requestStop, type SearchTask } from '../../src/mining/task.js';
import { zerosTarget } from '../../src/target.js';

const template: BlockTemplate = {
  index: 12n,
  timestamp: 1_764_000_000n,
  data: 'e2e pool test',
  prevHash: '00000b5c0f0e8d2a7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a49382716f5e',
};
/** Ranges no engine finishes within a test: 2^30 nonces take minutes. */
const HUGE_RANGE = 2 ** 30;

let engine: EngineName;
const open: { close(): Promise<void> }[] = [];

async function coordinator(options: Parameters<typeof MiningCoordinator.create>[0]): Promise<MiningCoordinator> {
  const c = await MiningCoordinator.create({ engine, workers: 2, ...options });
  open.push(c);
  return c;
}

function independentSha256(t: BlockTemplate, nonce: bigint): string {
  return createHash('sha256')
    .update(headerPrefix(t) + nonce.toString(), 'utf8')
    .digest('hex');
}

/** Lets the workers pick up their ranges and hash for a moment before the test stops them. */
const letWorkersRun = (): Promise<void> => sleep(150);

beforeAll(async () => {
  if (!existsSync(workerFile())) throw new Error(`${workerFile()} is missing: run npm run build first`);
  engine = defaultEngineName();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('engine choice', () => {
  it('a runtime without WASM SIMD mines with the scalar kernel and says so in the log and the stats', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_obj: object, msg: string) => void warnings.push(msg) };
    const c = await MiningCoordinator.create({ workers: 1 }, { logger, simdSupported: false });
    open.push(c);
    expect(c.stats()).toMatchObject({ engine: 'wasm-scalar', simdSupported: false });
    expect(warnings).toEqual([expect.stringContaining('lacks WebAssembly SIMD')]);
    const block = await c.mine(template, zerosTarget(3));
    expect(block!.hash).toBe(independentSha256(template, block!.nonce));
  });

  it('a runtime with WASM SIMD mines with the SIMD kernel by default, without a warning', async () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_obj: object, msg: string) => void warnings.push(msg) };
    const c = await MiningCoordinator.create({ workers: 1 }, { logger, simdSupported: true });
    open.push(c);
    expect(c.stats()).toMatchObject({ engine: 'wasm-simd', simdSupported: true });
    expect(warnings).toEqual([]);
  });
});

describe('mining pool (2 workers)', () => {
  it('mines a block at difficulty 4 that an independent SHA-256 and checkBlock accept', async () => {
    const c = await coordinator({ rangeSize: 2 ** 14 });
    const block = await c.mine(template, zerosTarget(4));
    expect(block).not.toBeNull();
    expect(block).toMatchObject(template);
    expect(block!.hash).toBe(independentSha256(template, block!.nonce));
    expect(block!.hash.slice(0, 4)).toBe('0000');
    checkBlock(block!, 4);
    expect(c.stats()).toMatchObject({ engine, workers: 2, searching: false });
    expect(c.stats().lastFoundToHandoverMs).toBeGreaterThanOrEqual(0);
  });

  it('cancel() stops every worker mid-range, quickly; the search resolves null; mining again works at once', async () => {
    const c = await coordinator({ rangeSize: HUGE_RANGE, tasksPerWorker: 1 });
    const mining = c.mine(template, zerosTarget(64));
    await letWorkersRun();
    const t0 = performance.now();
    await c.cancel();
    const cancelMs = performance.now() - t0;
    expect(await mining).toBeNull();
    // Both workers reported part of a range they could not have finished: they saw the stop flag.
    const { perWorker, hashes, searching } = c.stats();
    expect(searching).toBe(false);
    expect(perWorker.filter((r) => r > 0)).toHaveLength(2);
    expect(hashes).toBeGreaterThan(0);
    expect(hashes).toBeLessThan(2 * HUGE_RANGE);
    expect(cancelMs).toBeLessThan(1000);

    const block = await c.mine(template, zerosTarget(3));
    checkBlock(block!, 3);
  });

  it('a new mine() cancels the running one, which resolves null', async () => {
    const c = await coordinator({ rangeSize: 2 ** 14 });
    const first = c.mine(template, zerosTarget(64));
    await letWorkersRun();
    const next = { ...template, index: 13n, data: 'the tip moved' };
    const second = c.mine(next, zerosTarget(3));
    expect(await first).toBeNull();
    const block = await second;
    expect(block).toMatchObject(next);
    expect(block!.hash).toBe(independentSha256(next, block!.nonce));
    checkBlock(block!, 3);
  });

  it('reports the hash rate per worker and in total after mining', async () => {
    const c = await coordinator({ rangeSize: 2 ** 14 });
    expect(c.stats()).toMatchObject({ hashrate: 0, perWorker: [0, 0], hashes: 0 });
    const mining = c.mine(template, zerosTarget(64));
    await letWorkersRun();
    await c.cancel();
    await mining;
    const stats = c.stats();
    expect(stats.perWorker).toHaveLength(2);
    for (const rate of stats.perWorker) expect(rate).toBeGreaterThan(0);
    expect(stats.hashrate).toBeCloseTo(stats.perWorker[0]! + stats.perWorker[1]!, 3);
    expect(stats.hashes).toBeGreaterThan(0);
  });

  it('close() while ranges run resolves the search null and refuses later searches', async () => {
    const c = await coordinator({ rangeSize: HUGE_RANGE });
    const mining = c.mine(template, zerosTarget(64));
    await letWorkersRun();
    await c.close();
    expect(await mining).toBeNull();
    await expect(c.mine(template, zerosTarget(1))).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
  });

  it('a worker thread that dies under a range rejects mine() with MINING_FAILED; the pool replaces it', async () => {
    const miner = await PoolRunner.create({ engine, workers: 2 }, silentLogger);
    const c = await MiningCoordinator.create({ rangeSize: HUGE_RANGE }, { runner: miner });
    open.push(c);
    const mining = c.mine(template, zerosTarget(64));
    await letWorkersRun();
    await miner.threads[0]!.terminate();
    await expect(mining).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
    await c.cancel();
    const block = await c.mine(template, zerosTarget(3));
    checkBlock(block!, 3);
  });
});

describe('Piscina aborts (v5.3.2)', () => {
  const search = (stop: SharedArrayBuffer, count = HUGE_RANGE, target = 0n): SearchTask => ({
    kind: 'search',
    engine,
    prefix: new TextEncoder().encode(headerPrefix(template)),
    start: 0n,
    count,
    target,
    stop,
  });

  it('aborting running and queued tasks rejects them all, and later tasks still run (piscina #805)', async () => {
    const miner = await PoolRunner.create({ engine, workers: 2 }, silentLogger);
    open.push(miner);
    const before = miner.threads.map((t) => t.threadId);
    const aborter = new AbortController();
    const stop = newStopFlag();
    // Two run, four wait in Piscina's queue.
    const tasks = Array.from({ length: 6 }, () => miner.search(search(stop), aborter.signal));
    await letWorkersRun();
    aborter.abort();
    const outcomes = await Promise.allSettled(tasks);
    expect(outcomes.map((o) => o.status)).toEqual(Array(6).fill('rejected'));
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toMatchObject({ name: 'AbortError' });

    const result = await miner.search(search(newStopFlag(), 2 ** 16, zerosTarget(1)), new AbortController().signal);
    expect(result.status).toBe('found');
    // The aborted running tasks took their threads with them.
    expect(miner.threads.map((t) => t.threadId)).not.toEqual(before);
  });

  it('the stop flag ends running ranges without killing threads', async () => {
    const miner = await PoolRunner.create({ engine, workers: 2 }, silentLogger);
    open.push(miner);
    const before = miner.threads.map((t) => t.threadId).sort();
    const stop = newStopFlag();
    const tasks = [0, 1].map(() => miner.search(search(stop), new AbortController().signal));
    await letWorkersRun();
    requestStop(stop);
    const results = await Promise.all(tasks);
    for (const r of results) {
      expect(r.status).toBe('stopped');
      expect(r.hashes).toBeGreaterThan(0);
      expect(r.hashes).toBeLessThan(HUGE_RANGE);
    }
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
    expect(miner.threads.map((t) => t.threadId).sort()).toEqual(before);
  });

  it('an engine that cannot load is MINING_FAILED when the pool starts', async () => {
    await expect(PoolRunner.create({ engine: 'no-such-engine' as EngineName, workers: 1 }, silentLogger)).rejects.toMatchObject({
      code: ErrorCode.MINING_FAILED,
    });
  });
});
