/**
 * `npm run bench:hostile`: how long `GET /status` takes on a node while a
 * hostile peer answers its syncs with a huge body. Prints latency figures
 * (and the machine); it is a measurement, not a pass/fail test.
 *
 *   --mode zeros|empties|blocks   body: [0,0,…], [{},{},…], or copies of a real block (default: all three)
 *   --mib N                       body size (default 64)
 *   --seconds S                   measuring time per mode (default 10)
 *   --peer api|jbc                the peer speaks the jbc-ts API (/status, /blocks) or is a plain jbc
 *                                 node (/blockchain.json only) (default jbc)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { blockToJson, sealBlock } from '../src/block.js';
import { initHashing } from '../src/hash.js';
import { startNode } from '../src/node/index.js';
import { describeMachine } from './machine.js';
import { parseArgsOrExit } from './args.js';

type Mode = 'zeros' | 'empties' | 'blocks';

function hostileBody(mode: Mode, bytes: number): Buffer {
  const element =
    mode === 'zeros'
      ? '0'
      : mode === 'empties'
        ? '{}'
        : JSON.stringify(blockToJson(sealBlock({ index: 0n, prevHash: '', data: 'hostile', timestamp: 1n }, 0n)));
  const count = Math.max(1, Math.floor(bytes / (element.length + 1)));
  return Buffer.from(`[${Array.from({ length: count }, () => element).join(',')}]`);
}

/** The hostile peer runs in a worker thread, so that serving its body does not load the node's event loop. */
async function hostilePeer(mode: Mode, bytes: number, api: boolean): Promise<{ url: string; answers: () => Promise<number>; close(): Promise<void> }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, bytes, api } });
  const url = await new Promise<string>((resolve) => worker.once('message', resolve));
  return {
    url,
    answers: () =>
      new Promise<number>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('answers');
      }),
    close: async () => void (await worker.terminate()),
  };
}

async function serveHostile(body: Buffer, api: boolean): Promise<{ server: Server; url: string; answers: () => number }> {
  let answers = 0;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (api && path === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"height":999999,"length":1000000,"tip":null,"nodeId":"hostile"}');
    } else if ((api && path === '/blocks') || (!api && path === '/blockchain.json')) {
      answers++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, answers: () => answers };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(mode: Mode, mib: number, seconds: number, api: boolean): Promise<string> {
  const peer = await hostilePeer(mode, mib * 1024 * 1024, api);
  const dataDir = await mkdtemp(join(tmpdir(), 'jbc-bench-hostile-'));
  const node = await startNode({
    port: 0,
    mine: false,
    difficulty: 0,
    peers: [peer.url],
    dataDir,
    syncTimeoutMs: 0,
    syncIntervalMs: 1000,
    peerTimeoutMs: 30_000,
  });
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  try {
    while (performance.now() < end) {
      const started = performance.now();
      await (await fetch(`${node.url}status`)).json();
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const answers = await peer.answers();
  await peer.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  const ms = (value: number): string => value.toFixed(1).padStart(8);
  return `${mode.padEnd(8)} ${String(mib).padStart(5)} MiB ${api ? 'api' : 'jbc'}  ${String(answers).padStart(7)} ${String(sorted.length).padStart(8)} ${ms(percentile(sorted, 50))} ${ms(percentile(sorted, 99))} ${ms(sorted.at(-1) ?? 0)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgsOrExit('bench:hostile', {
    options: { mode: { type: 'string' }, mib: { type: 'string' }, seconds: { type: 'string' }, peer: { type: 'string' } },
  });
  const modes: Mode[] = values.mode === undefined ? ['zeros', 'empties', 'blocks'] : [values.mode as Mode];
  const mib = Number(values.mib ?? 64);
  const seconds = Number(values.seconds ?? 10);
  const api = values.peer === 'api';
  const machine = await describeMachine();
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage}\n`);
  process.stdout.write(`GET /status latency while a hostile peer answers every sync with a huge body (ms)\n`);
  process.stdout.write('body        size     peer  answers requests      p50      p99      max\n');
  for (const mode of modes) process.stdout.write(`${await measure(mode, mib, seconds, api)}\n`);
}

if (isMainThread) {
  await main();
} else {
  const { mode, bytes, api } = workerData as { mode: Mode; bytes: number; api: boolean };
  await initHashing();
  const peer = await serveHostile(hostileBody(mode, bytes), api);
  parentPort!.on('message', () => parentPort!.postMessage(peer.answers()));
  parentPort!.postMessage(peer.url);
}
