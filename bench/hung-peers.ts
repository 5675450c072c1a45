/**
 * `npm run bench:hung`: a mining node's block rate with peers that accept
 * connections and never answer, against the same node with no peers; and
 * how many sockets those peers hold and the node's memory. Prints figures
 * (and the machine); a measurement, not a pass/fail test.
 *
 *   --peers N        hung peers (default 32)
 *   --seconds S      mining time per run (default 10)
 *   --difficulty D   (default 4)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../src/node/index.js';
import { describeMachine } from './machine.js';
import { parseArgsOrExit } from './args.js';

interface HungPeer {
  readonly url: string;
  readonly open: () => number;
  readonly server: Server;
  readonly sockets: Set<Socket>;
}

async function hungPeer(): Promise<HungPeer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, open: () => sockets.size, server, sockets };
}

async function run(peers: number, seconds: number, difficulty: number): Promise<string> {
  const hung = await Promise.all(Array.from({ length: peers }, () => hungPeer()));
  const dataDir = await mkdtemp(join(tmpdir(), 'jbc-bench-hung-'));
  const node = await startNode({
    port: 0,
    mine: true,
    workers: 1,
    difficulty,
    peers: hung.map((p) => p.url),
    dataDir,
    syncTimeoutMs: 0,
    syncIntervalMs: 0,
    hashrateLogIntervalMs: 0,
  });
  let maxOpen = 0;
  let maxRss = 0;
  const sampler = setInterval(() => {
    maxOpen = Math.max(
      maxOpen,
      hung.reduce((sum, p) => sum + p.open(), 0),
    );
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 100);
  const start = node.chain().length;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const mined = node.chain().length - start;
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await node.close();
  for (const p of hung) {
    for (const socket of p.sockets) socket.destroy();
    await new Promise<void>((resolve) => p.server.close(() => resolve()));
  }
  await rm(dataDir, { recursive: true, force: true });
  return `${String(peers).padStart(5)} ${String(mined).padStart(8)} ${(mined / elapsed).toFixed(1).padStart(10)} ${String(maxOpen).padStart(12)} ${(maxRss / 2 ** 20).toFixed(0).padStart(8)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgsOrExit('bench:hung', { options: { peers: { type: 'string' }, seconds: { type: 'string' }, difficulty: { type: 'string' } } });
  const peers = Number(values.peers ?? 32);
  const seconds = Number(values.seconds ?? 10);
  const difficulty = Number(values.difficulty ?? 4);
  const machine = await describeMachine();
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage}\n`);
  process.stdout.write(`mining at difficulty ${difficulty}, 1 worker, ${seconds} s per row; peers accept connections and never answer\n`);
  process.stdout.write('peers   blocks  blocks/s  max sockets  max RSS MiB\n');
  for (const n of [0, peers]) process.stdout.write(`${await run(n, seconds, difficulty)}\n`);
}

await main();
