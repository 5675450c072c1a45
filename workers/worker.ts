/**
 * The Piscina worker entry: a plain task in, a plain result out. All logic
 * lives in src/mining/task.ts so tests can run it without a thread. The engine
 * (and its WASM module) is loaded once per thread, on the first task.
 */
import { threadId } from 'node:worker_threads';
import type { Engine } from '../src/mining/engine.js';
import { loadEngine, type EngineName } from '../src/mining/engine-loader.js';
import { runTask, type WorkerResult, type WorkerTask } from '../src/mining/task.js';
import { lowerWorkerPriority } from '../src/mining/worker-priority.js';

const engines = new Map<EngineName, Promise<Engine>>();

function engineFor(name: EngineName): Promise<Engine> {
  let engine = engines.get(name);
  if (engine === undefined) {
    // The first task of a thread: from here on it hashes, behind the main thread.
    if (engines.size === 0) lowerWorkerPriority();
    engine = loadEngine(name);
    // A failed load is not cached: the next task tries again.
    engine.catch(() => engines.delete(name));
    engines.set(name, engine);
  }
  return engine;
}

export default async function run(task: WorkerTask): Promise<WorkerResult> {
  return runTask(await engineFor(task.engine), task, threadId);
}
