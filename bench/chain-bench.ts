/**
 * `npm run bench:chain`: the chain database at 10k / 100k / 1M blocks. For
 * each size it writes a valid difficulty-1 chain into a fresh ChainDb in
 * batches, then measures, in a fresh process so that RSS is the store's own:
 * open time (to length and tip), RSS after open, a full ordered scan
 * (decoded blocks, and output-form JSON as /blockchain.json streams it),
 * random 100-block pages, random
 * reads by hash, and appends of one block per durable transaction.
 *
 *   npm run bench:chain                                 # 10k blocks
 *   npm run bench:chain -- --sizes 10000,100000,1000000
 *   npm run -s bench:chain -- --json
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openChainDb } from '../src/store/index.js';
import { generateChain, inBatches } from './chain-gen.js';
import { describeMachine } from './machine.js';
import { parseArgsOrExit } from './args.js';

interface Probe {
  readonly openMs: number;
  readonly rssMiB: number;
  readonly scanBlocksPerSec: number;
  readonly serveMiBPerSec: number;
  readonly serveBlocksPerSec: number;
  readonly pageReadsPerSec: number;
  readonly hashReadsPerSec: number;
  readonly appendsPerSec: number;
}

interface Row extends Probe {
  readonly blocks: number;
  readonly buildBlocksPerSec: number;
  readonly diskMiB: number;
}

const PAGE = 100;
const PAGES = 2000;
const HASH_READS = 20000;
const APPENDS = 300;

/** Runs in the child process: opens the store at `dir` and measures it. */
async function probe(dir: string): Promise<Probe> {
  let t = performance.now();
  const db = await openChainDb({ dir });
  const tip = db.tip;
  const openMs = performance.now() - t;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;

  t = performance.now();
  let blocks = 0;
  for (const block of db.iterate()) if (block.index >= 0n) blocks++;
  const scanSeconds = (performance.now() - t) / 1000;

  // What GET /blockchain.json streams: every block's output form, comma-separated.
  t = performance.now();
  let bytes = 0;
  for (const text of db.iterateJson()) bytes += text.length + 1;
  const serveSeconds = (performance.now() - t) / 1000;

  const length = db.length;
  t = performance.now();
  for (let i = 0; i < PAGES; i++) db.range(BigInt(Math.floor(Math.random() * length)), PAGE);
  const pageReadsPerSec = PAGES / ((performance.now() - t) / 1000);

  const hashes: string[] = [];
  for (let i = 0; i < HASH_READS; i++) hashes.push(db.at(BigInt(Math.floor(Math.random() * length)))!.hash);
  t = performance.now();
  for (const hash of hashes) if (db.findByHash(hash) === undefined) throw new Error(`hash ${hash} not found`);
  const hashReadsPerSec = HASH_READS / ((performance.now() - t) / 1000);

  const next = [...generateChain(APPENDS, { after: tip, tag: 'append' })];
  t = performance.now();
  for (const block of next) await db.append(block);
  const appendsPerSec = APPENDS / ((performance.now() - t) / 1000);
  // Leaves the chain as it was, so sizes measured later are unaffected.
  await db.commit(BigInt(length), []);
  await db.close();
  return {
    openMs,
    rssMiB,
    scanBlocksPerSec: blocks / scanSeconds,
    serveMiBPerSec: bytes / 2 ** 20 / serveSeconds,
    serveBlocksPerSec: blocks / serveSeconds,
    pageReadsPerSec,
    hashReadsPerSec,
    appendsPerSec,
  };
}

async function measure(size: number, progress: (line: string) => void): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), `jbc-chain-bench-${size}-`));
  try {
    progress(`${size} blocks: generating and writing in batches of 10000`);
    const db = await openChainDb({ dir, difficulty: 1 });
    const t = performance.now();
    for (const batch of inBatches(generateChain(size), 10_000)) await db.commit(BigInt(db.length), batch);
    const buildBlocksPerSec = size / ((performance.now() - t) / 1000);
    await db.close();
    progress(`${size} blocks: measuring in a fresh process`);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--probe', dir], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`probe failed: ${child.stderr}`);
    const diskMiB = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
    return { blocks: size, buildBlocksPerSec, diskMiB, ...(JSON.parse(child.stdout) as Probe) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const fmt = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

async function main(): Promise<number> {
  const { values } = parseArgsOrExit('bench:chain', {
    options: { sizes: { type: 'string', default: '10000' }, json: { type: 'boolean', default: false }, probe: { type: 'string' } },
  });
  if (values.probe !== undefined) {
    process.stdout.write(JSON.stringify(await probe(values.probe)));
    return 0;
  }
  const sizes = values.sizes.split(',').map(Number);
  if (!sizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
    process.stderr.write(`bench:chain: --sizes must be positive integers separated by commas, got "${values.sizes}"\n`);
    return 2;
  }
  const progress = (line: string): void => void process.stderr.write(`bench:chain: ${line}\n`);
  const machine = await describeMachine();
  const rows: Row[] = [];
  for (const size of sizes) rows.push(await measure(size, progress));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ machine, rows }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.date}, load ${machine.loadAverage}\n\n`,
  );
  const columns: [string, (r: Row) => string][] = [
    ['blocks', (r) => fmt(r.blocks)],
    ['open ms', (r) => fmt(r.openMs)],
    ['RSS after open MiB', (r) => fmt(r.rssMiB)],
    ['scan, decoded blocks/s', (r) => fmt(r.scanBlocksPerSec)],
    ['serve as JSON, blocks/s', (r) => fmt(r.serveBlocksPerSec)],
    ['serve MiB/s', (r) => fmt(r.serveMiBPerSec)],
    [`random ${PAGE}-block pages/s`, (r) => fmt(r.pageReadsPerSec)],
    ['by hash/s', (r) => fmt(r.hashReadsPerSec)],
    ['appends/s (1 per txn)', (r) => fmt(r.appendsPerSec)],
    ['build blocks/s (batches of 10k)', (r) => fmt(r.buildBlocksPerSec)],
    ['disk MiB', (r) => fmt(r.diskMiB)],
  ];
  process.stdout.write(`| ${columns.map(([name]) => name).join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n`);
  for (const row of rows) process.stdout.write(`| ${columns.map(([, value]) => value(row)).join(' | ')} |\n`);
  return 0;
}

process.exitCode = await main();
