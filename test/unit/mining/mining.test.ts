import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkBlock, headerPrefix, type BlockTemplate } from '../../../src/block.js';
import { ErrorCode, isJbcError } from '../../../src/errors.js';
import type { Engine, SearchRequest } from '../../../src/mining/engine.js';
import { defaultMinerOptions, MiningCoordinator, resolveMinerOptions } from '../../../src/mining/index.js';
import { checkTarget } from '../../../src/mining/options.js';
import { RangeQueue } from '../../../src/mining/ranges.js';
import { RateMeter } from '../../../src/mining/rate.js';
import type { SearchRunner } from '../../../src/mining/interface.js';
import { newStopFlag, requestStop, runSearch, runTask, wallClockMs, type SearchTask, type SearchTaskResult } from '../../../src/mining/task.js';
import type { Logger } from '../../../src/log.js';
import { zerosTarget } from '../../../src/target.js';

const template: BlockTemplate = { index: 7n, timestamp: 1_700_000_000n, data: 'unit', prevHash: 'ab'.repeat(32) };

function expectBadOption(fn: () => unknown, option: string): void {
  try {
    fn();
  } catch (err) {
    expect(isJbcError(err, ErrorCode.BAD_OPTION)).toBe(true);
    expect((err as Error).message).toContain(`options.${option} `);
    return;
  }
  expect.fail(`expected BAD_OPTION for ${option}`);
}

describe('range queue', () => {
  it('hands out adjacent, non-overlapping ranges of the configured size', () => {
    const q = new RangeQueue(1000);
    expect(q.next()).toEqual({ start: 0n, count: 1000 });
    expect(q.next()).toEqual({ start: 1000n, count: 1000 });
    expect(q.next()).toEqual({ start: 2000n, count: 1000 });
    expect(q.frontier).toBe(3000n);
  });

  it('keeps counting past 2^64: the nonce space never runs out', () => {
    const q = new RangeQueue(2 ** 18, 2n ** 64n - 1n);
    expect(q.next().start).toBe(2n ** 64n - 1n);
    expect(q.next().start).toBe(2n ** 64n - 1n + 2n ** 18n);
  });
});

describe('rate meter', () => {
  it('reports the rate of one thread from the hashes it did', () => {
    const m = new RateMeter(10_000);
    m.record({ at: 1000, threadId: 1, hashes: 500, elapsedMs: 1000 });
    m.record({ at: 2000, threadId: 1, hashes: 500, elapsedMs: 1000 });
    const r = m.rates(2000);
    expect(r.total).toBeCloseTo(500);
    expect(r.perThread).toEqual([{ threadId: 1, hashrate: expect.closeTo(500, 6) }]);
    expect(m.totalHashes).toBe(1000);
  });

  it('splits the rate per worker thread, and the parts add up to the total', () => {
    const m = new RateMeter(10_000);
    m.record({ at: 1000, threadId: 3, hashes: 1000, elapsedMs: 1000 });
    m.record({ at: 1000, threadId: 2, hashes: 3000, elapsedMs: 1000 });
    const r = m.rates(1000);
    expect(r.perThread.map((t) => t.threadId)).toEqual([2, 3]);
    expect(r.perThread.map((t) => t.hashrate)).toEqual([expect.closeTo(3000, 6), expect.closeTo(1000, 6)]);
    expect(r.total).toBeCloseTo(4000);
  });

  it('counts only the part of a sample inside the window', () => {
    const m = new RateMeter(1000);
    // 2000 hashes over [0, 2000]: half of it falls in the window [1000, 2000].
    m.record({ at: 2000, threadId: 1, hashes: 2000, elapsedMs: 2000 });
    expect(m.rates(2000).total).toBeCloseTo(1000);
  });

  it('decays to zero once mining stops for a whole window', () => {
    const m = new RateMeter(1000);
    m.record({ at: 1000, threadId: 1, hashes: 1000, elapsedMs: 1000 });
    expect(m.rates(1000).total).toBeCloseTo(1000);
    expect(m.rates(1500).total).toBeCloseTo(500);
    expect(m.rates(2001)).toEqual({ total: 0, perThread: [] });
    expect(m.totalHashes).toBe(1000);
  });

  it('is zero before any work', () => {
    expect(new RateMeter(1000).rates(5).total).toBe(0);
  });
});

describe('miner options', () => {
  it('has documented defaults: one worker per core, 2^20-nonce ranges', () => {
    expect(defaultMinerOptions.rangeSize).toBe(2 ** 20);
    expect(defaultMinerOptions.workers).toBeGreaterThanOrEqual(1);
    expect(resolveMinerOptions({})).toEqual(defaultMinerOptions);
    expect(resolveMinerOptions({ workers: undefined }).workers).toBe(defaultMinerOptions.workers);
  });

  it('rejects bad values with BAD_OPTION naming the option', () => {
    expectBadOption(() => resolveMinerOptions({ workers: -1 }), 'workers');
    expectBadOption(() => resolveMinerOptions({ workers: 1.5 }), 'workers');
    expectBadOption(() => resolveMinerOptions({ engine: 'md5' as never }), 'engine');
    expectBadOption(() => resolveMinerOptions({ rangeSize: 0 }), 'rangeSize');
    expectBadOption(() => resolveMinerOptions({ rangeSize: 2 ** 40 }), 'rangeSize');
    expectBadOption(() => resolveMinerOptions({ tasksPerWorker: 0 }), 'tasksPerWorker');
    expectBadOption(() => resolveMinerOptions({ rateWindowMs: Number.NaN }), 'rateWindowMs');
    expectBadOption(() => resolveMinerOptions({ stopTimeoutMs: -5 }), 'stopTimeoutMs');
  });

  it('accepts targets 0 .. 2^256 - 1 only', () => {
    expect(() => checkTarget(0n)).not.toThrow();
    expect(() => checkTarget(2n ** 256n - 1n)).not.toThrow();
    for (const t of [-1n, 2n ** 256n, 5 as unknown as bigint]) expect(() => checkTarget(t)).toThrow(/target/);
  });
});

/** An engine that records its calls and answers from a script. */
function scriptedEngine(answer: (r: SearchRequest) => ReturnType<Engine['search']>): Engine & { calls: SearchRequest[] } {
  const calls: SearchRequest[] = [];
  return {
    name: 'scripted',
    calls,
    search: (r) => {
      calls.push(r);
      return answer(r);
    },
  };
}

function searchTask(stop = newStopFlag()): SearchTask {
  return { kind: 'search', engine: 'node-crypto', prefix: new Uint8Array([49]), start: 10n, count: 5, target: zerosTarget(1), stop };
}

describe('worker task', () => {
  it('passes the range to the engine and reports a found nonce with its thread and hashes', () => {
    const engine = scriptedEngine((r) => ({ status: 'found', nonce: r.start + 2n, hashes: 3 }));
    const result = runSearch(engine, searchTask(), 42);
    expect(engine.calls).toEqual([{ prefix: new Uint8Array([49]), start: 10n, count: 5, target: zerosTarget(1) }]);
    expect(result).toMatchObject({ kind: 'search', status: 'found', nonce: 12n, hashes: 3, threadId: 42 });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it('a range of an already-stopped search returns stopped without hashing', () => {
    const engine = scriptedEngine(() => ({ status: 'exhausted', hashes: 5 }));
    const stop = newStopFlag();
    requestStop(stop);
    expect(runSearch(engine, searchTask(stop), 1)).toMatchObject({ status: 'stopped', hashes: 0, nonce: null });
    expect(engine.calls).toHaveLength(0);
  });

  it('a warm-up task reports the thread it ran on', () => {
    expect(
      runTask(
        scriptedEngine(() => ({ status: 'exhausted', hashes: 0 })),
        { kind: 'warmup', engine: 'node-crypto' },
        9,
      ),
    ).toEqual({
      kind: 'warmup',
      threadId: 9,
    });
  });
});

describe('in-thread miner (workers: 0)', () => {
  it('mines a block whose hash an independent SHA-256 accepts', async () => {
    const miner = await MiningCoordinator.create({ workers: 0, engine: 'node-crypto', rangeSize: 4096 });
    try {
      const block = await miner.mine(template, zerosTarget(2));
      expect(block).not.toBeNull();
      const header = headerPrefix(template) + block!.nonce.toString();
      expect(block!.hash).toBe(createHash('sha256').update(header, 'utf8').digest('hex'));
      expect(block!.hash.startsWith('00')).toBe(true);
      checkBlock(block!, 2);
      expect(miner.stats()).toMatchObject({ engine: 'node-crypto', workers: 0, searching: false });
      expect(miner.stats().hashes).toBeGreaterThan(0);
    } finally {
      await miner.close();
    }
  });
});

/** A miner whose ranges the test answers by hand. */
class ScriptedRunner implements SearchRunner {
  readonly engine = 'node-crypto' as const;
  readonly workers = 2;
  readonly parallelism = 2;
  readonly tasks: {
    task: SearchTask;
    signal: AbortSignal;
    resolve: (r: SearchTaskResult) => void;
    reject: (err: unknown) => void;
    settled: boolean;
  }[] = [];
  closed = false;
  #waiting: { count: number; wake: () => void }[] = [];

  search(task: SearchTask, signal: AbortSignal): Promise<SearchTaskResult> {
    return new Promise((resolve, reject) => {
      const entry = {
        task,
        signal,
        settled: false,
        resolve: (r: SearchTaskResult) => {
          entry.settled = true;
          resolve(r);
        },
        reject: (err: unknown) => {
          entry.settled = true;
          reject(err);
        },
      };
      // Like Piscina: an abort rejects the task (and would kill its thread).
      signal.addEventListener('abort', () => entry.reject(signal.reason));
      this.tasks.push(entry);
      this.#waiting = this.#waiting.filter((w) => {
        if (this.tasks.length < w.count) return true;
        w.wake();
        return false;
      });
    });
  }

  /** Resolves once `count` tasks have been handed out in all. */
  tasksHandedOut(count: number): Promise<void> {
    if (this.tasks.length >= count) return Promise.resolve();
    return new Promise((wake) => this.#waiting.push({ count, wake }));
  }

  answer(i: number, status: SearchTaskResult['status'], hashes: number, nonce: bigint | null = null): void {
    const t = this.tasks[i]!;
    t.resolve({ kind: 'search', status, nonce, hashes, elapsedMs: 10, finishedAt: wallClockMs(), threadId: 1 + (i % 2) });
  }

  /** Answers every range still running as a worker seeing the stop flag would. */
  stopAll(): void {
    for (const [i, t] of this.tasks.entries()) if (!t.settled) this.answer(i, 'stopped', 1);
  }

  fail(i: number, err: Error): void {
    this.tasks[i]!.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function recordingLogger(): Logger & { lines: { level: string; msg: string; fields: Readonly<Record<string, unknown>> }[] } {
  const lines: { level: string; msg: string; fields: Readonly<Record<string, unknown>> }[] = [];
  const at = (level: string) => (fields: Readonly<Record<string, unknown>>, msg: string) => void lines.push({ level, msg, fields });
  const logger = { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger };
  return logger;
}

function nonceMeeting(t: BlockTemplate, difficulty: number, meets: boolean): bigint {
  for (let n = 0n; ; n++) {
    const hash = createHash('sha256')
      .update(headerPrefix(t) + n.toString())
      .digest('hex');
    if (hash.startsWith('0'.repeat(difficulty)) === meets) return n;
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('mining coordinator (scripted miner)', () => {
  it('keeps workers x tasksPerWorker adjacent ranges in flight and replaces each finished one', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({ rangeSize: 100, tasksPerWorker: 2 }, { runner: miner });
    void c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    expect(miner.tasks.map((t) => t.task.start)).toEqual([0n, 100n, 200n, 300n]);
    expect(miner.tasks.every((t) => t.task.count === 100 && t.task.target === zerosTarget(1))).toBe(true);
    expect(new TextDecoder().decode(miner.tasks[0]!.task.prefix)).toBe(headerPrefix(template));
    miner.answer(1, 'exhausted', 100);
    await miner.tasksHandedOut(5);
    expect(miner.tasks[4]!.task.start).toBe(400n);
    await settle();
    expect(miner.tasks).toHaveLength(5);
    expect(c.stats().hashes).toBe(100);
    const closing = c.close();
    miner.stopAll();
    await closing;
    expect(miner.closed).toBe(true);
  });

  it('the first nonce found wins: mine() resolves the sealed block and every other range is told to stop', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({ rangeSize: 1000 }, { runner: miner });
    const mining = c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    const nonce = nonceMeeting(template, 1, true);
    miner.answer(0, 'found', Number(nonce) + 1, nonce);
    const block = await mining;
    expect(block).toMatchObject({ ...template, nonce });
    checkBlock(block!, 1);
    expect(Atomics.load(new Int32Array(miner.tasks[3]!.task.stop), 0)).toBe(1);
    expect(c.stats().lastFoundToHandoverMs).toBeGreaterThanOrEqual(0);
    for (const i of [1, 2, 3]) miner.answer(i, 'stopped', 5);
    await c.close();
  });

  it('cancel() resolves null for the search, and only once every range has answered', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({}, { runner: miner });
    const mining = c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    let cancelled = false;
    const cancelling = c.cancel().then(() => (cancelled = true));
    expect(await mining).toBeNull();
    expect(miner.tasks.every((t) => Atomics.load(new Int32Array(t.task.stop), 0) === 1)).toBe(true);
    for (const i of [0, 1, 2]) miner.answer(i, 'stopped', 7);
    await settle();
    expect(cancelled).toBe(false);
    miner.answer(3, 'stopped', 7);
    await cancelling;
    expect(c.stats()).toMatchObject({ hashes: 28, searching: false });
    await c.close();
  });

  it('each search gets a fresh stop flag, so a late range of an old search cannot stop a new one', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({}, { runner: miner });
    const first = c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    const second = c.mine({ ...template, index: 8n }, zerosTarget(1));
    expect(await first).toBeNull();
    for (const i of [0, 1, 2, 3]) miner.answer(i, 'stopped', 1);
    await miner.tasksHandedOut(8);
    const [oldStop, newStop] = [miner.tasks[0]!.task.stop, miner.tasks[4]!.task.stop];
    expect(newStop).not.toBe(oldStop);
    expect(Atomics.load(new Int32Array(newStop), 0)).toBe(0);
    expect(miner.tasks[4]!.task.start).toBe(0n);
    const cancelling = c.cancel();
    miner.stopAll();
    await cancelling;
    expect(await second).toBeNull();
  });

  it('a new mine() hands its ranges out at once, without waiting for the stopped search to answer, and says when a worker began on it', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({}, { runner: miner });
    void c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    const started: number[] = [];
    const second = c.mine({ ...template, index: 8n }, zerosTarget(1), (at) => started.push(at));
    // The old ranges have not answered yet; the new ones queue behind them.
    expect(miner.tasks).toHaveLength(8);
    expect(miner.tasks.slice(4).every((t) => t.task.prefix !== miner.tasks[0]!.task.prefix)).toBe(true);
    miner.answer(4, 'exhausted', 10);
    await settle();
    // The scripted range took 10 ms and finished now.
    expect(started).toHaveLength(1);
    expect(started[0]).toBeLessThanOrEqual(wallClockMs() - 10);
    miner.answer(5, 'exhausted', 10);
    await settle();
    expect(started).toHaveLength(1);
    const cancelling = c.cancel();
    miner.stopAll();
    await cancelling;
    expect(await second).toBeNull();
  });

  it('a range that fails rejects mine() with MINING_FAILED, logged once', async () => {
    const miner = new ScriptedRunner();
    const logger = recordingLogger();
    const c = await MiningCoordinator.create({}, { runner: miner, logger });
    const mining = c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    // What Piscina does when a worker thread dies under a task.
    miner.fail(2, new Error('worker exited with code: 1'));
    await expect(mining).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED, message: /worker exited/ });
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    // `err` is the error itself in every log line of the node: pino writes it as one object with message, code, stack and cause.
    const err = errors[0]!.fields.err;
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: ErrorCode.MINING_FAILED, message: expect.stringMatching(/worker exited/), cause: expect.any(Error) });
    for (const i of [0, 1, 3]) miner.answer(i, 'stopped', 1);
    await c.close();
  });

  it('a reported nonce whose hash lacks the work is MINING_FAILED, not a block', async () => {
    const miner = new ScriptedRunner();
    const c = await MiningCoordinator.create({}, { runner: miner });
    const mining = c.mine(template, zerosTarget(3));
    await miner.tasksHandedOut(4);
    miner.answer(0, 'found', 1, nonceMeeting(template, 3, false));
    await expect(mining).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
    for (const i of [1, 2, 3]) miner.answer(i, 'stopped', 1);
    await c.close();
  });

  it('a worker that ignores the stop flag has its task aborted after stopTimeoutMs', async () => {
    const miner = new ScriptedRunner();
    const logger = recordingLogger();
    const c = await MiningCoordinator.create({ stopTimeoutMs: 30 }, { runner: miner, logger });
    const mining = c.mine(template, zerosTarget(1));
    await miner.tasksHandedOut(4);
    for (const i of [0, 1, 2]) miner.answer(i, 'stopped', 1);
    await c.cancel();
    expect(await mining).toBeNull();
    expect(miner.tasks[3]!.signal.aborted).toBe(true);
    expect(miner.tasks[0]!.signal.aborted).toBe(true);
    expect(logger.lines.some((l) => l.level === 'warn' && /did not stop/.test(l.msg))).toBe(true);
    await c.close();
  });

  it('mine() rejects a target outside 0 .. 2^256 - 1, and mine() after close() is refused', async () => {
    const c = await MiningCoordinator.create({}, { runner: new ScriptedRunner() });
    await expect(c.mine(template, -1n)).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
    await expect(c.mine(template, 2n ** 256n)).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
    await c.close();
    await expect(c.mine(template, zerosTarget(1))).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
  });
});
