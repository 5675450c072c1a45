import { getPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { distPath } from '../../../src/paths.js';
import { WORKER_NICE } from '../../../src/mining/worker-priority.js';

/** Runs lowerWorkerPriority in a real worker thread (the compiled module: workers do not go through vitest) and reports its nice value. */
function niceInWorker(): Promise<{ lowered: boolean; nice: number }> {
  const url = pathToFileURL(distPath('src', 'mining', 'worker-priority.js')).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { getPriority } = require('node:os');
    import(${JSON.stringify(url)}).then((m) => parentPort.postMessage({ lowered: m.lowerWorkerPriority(), nice: getPriority(0) }));
  `;
  const worker = new Worker(code, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (value: { lowered: boolean; nice: number }) => void worker.terminate().then(() => resolve(value)));
    worker.once('error', reject);
  });
}

describe('mining worker priority', () => {
  it.runIf(process.platform === 'linux')('a mining thread yields to the main thread: it is niced, the main thread is not', async () => {
    const before = getPriority(0);
    expect(await niceInWorker()).toEqual({ lowered: before < WORKER_NICE, nice: Math.max(before, WORKER_NICE) });
    expect(getPriority(0)).toBe(before);
  });
});
