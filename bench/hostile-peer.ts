/**
 * `npm run bench:hostile`: how a node holds up against hostile input. Prints
 * figures (and the machine); it is a measurement, not a pass/fail test.
 *
 * `--attack sync`: how long `GET /status` takes while a hostile peer answers
 * the node's syncs with a huge body. `--attack json`: number-heavy JSON where
 * the JSON limits guard the node, against an idle node (hostile-json.ts).
 * Default: both.
 *
 *   --attack sync|json|all        (default all)
 *   --seconds S                   measuring time per row (default 10)
 *   --mode zeros|empties|blocks   sync: body [0,0,…], [{},{},…], or copies of a real block (default: all three)
 *   --mib N                       sync: body size (default 64)
 *   --peer api|jbc                sync: the peer speaks the jbc-ts API (/status, /blocks) or is a plain jbc
 *                                 node (/blockchain.json only) (default jbc)
 *   --json-attack mined|data|status  json: one attack only (default: all three)
 *   --difficulty D                json: the mining node's difficulty (default 3)
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
import { describeMachine, loadNow, loadWarning } from './machine.js';
import { measureJsonAttacks } from './hostile-json.js';
import { parseHostileArgs, type HostileOptions, type SyncBody } from './hostile-options.js';
import { renderComparisons } from './hostile-report.js';
import { percentile } from './stats.js';
import { probeStatus } from './status-probe.js';

type Mode = SyncBody;

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
  let latencies: number[];
  try {
    latencies = await probeStatus(node.url, seconds);
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const answers = await peer.answers();
  await peer.close();
  const ms = (q: number): string => (percentile(latencies, q) ?? 0).toFixed(1).padStart(8);
  return `${mode.padEnd(8)} ${String(mib).padStart(5)} MiB ${api ? 'api' : 'jbc'}  ${String(answers).padStart(7)} ${String(latencies.length).padStart(8)} ${ms(0.5)} ${ms(0.99)} ${ms(1)}`;
}

function parseOrExit(argv: readonly string[]): HostileOptions {
  try {
    return parseHostileArgs(argv);
  } catch (err) {
    process.stderr.write(`bench:hostile: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const options = parseOrExit(process.argv.slice(2));
  const { seconds } = options;
  const machine = await describeMachine();
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage}\n`);
  if (options.attack !== 'json') {
    process.stdout.write(`GET /status latency while a hostile peer answers every sync with a huge body (ms)\n`);
    process.stdout.write('body        size     peer  answers requests      p50      p99      max\n');
    for (const mode of options.bodies) process.stdout.write(`${await measure(mode, options.mib, seconds, options.api)}\n`);
  }
  if (options.attack !== 'sync') {
    if (options.attack === 'all') process.stdout.write('\n');
    process.stdout.write(`number-heavy JSON against an idle node, ${seconds} s per row, mining at difficulty ${options.difficulty} with 1 worker\n`);
    const result = await measureJsonAttacks(options.targets, seconds, options.difficulty, (line) => void process.stderr.write(`bench:hostile: ${line}\n`));
    const warning = loadWarning(machine.cores, [machine.loadAverage, loadNow()]);
    process.stdout.write(renderComparisons(result.comparisons, warning !== undefined));
    for (const line of result.evidence) process.stdout.write(`  ${line}\n`);
    process.stdout.write(`load average ${loadNow()} at end\n`);
    if (warning !== undefined) process.stdout.write(`WARNING: ${warning}\n`);
  }
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
