/**
 * `npm run bench:node`: real nodes on a long chain, as a user runs them. For
 * each size it writes a valid difficulty-1 chain into a data dir, then:
 *
 * - start: spawns `node dist/src/cli.js` on that dir (no peers, no mining)
 *   and times spawn → `/readyz` 200, and reads the process's RSS;
 * - serve: downloads `/blockchain.json` in full while timing `/status` and
 *   `/blocks/:index` requests sent meanwhile, and reads the serving node's
 *   peak RSS;
 * - sync: starts a second, empty node with the first as its only peer and
 *   times it until it holds the whole chain, sampling its RSS (peak); then
 *   reads the serving node's peak again, which now covers serving the
 *   follower's pages too.
 *
 * Every figure comes from separate processes talking HTTP on loopback.
 *
 *   npm run bench:node                              # 100k blocks
 *   npm run bench:node -- --sizes 100000,1000000
 *   npm run bench:node -- --target-block-time 2     # both nodes on the target rule
 *   npm run -s bench:node -- --json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distPath } from '../src/paths.js';
import { openChainDb } from '../src/store/index.js';
import { generateChain, inBatches } from './chain-gen.js';
import { freePort } from './free-port.js';
import { describeMachine, describeMachineLine, loadWarning } from './machine.js';
import { parseArgsOrExit } from './args.js';

interface Row {
  readonly blocks: number;
  readonly startToReadyMs: number;
  readonly rssAfterStartMiB: number;
  readonly serveSeconds: number;
  readonly serveMiB: number;
  readonly statusMaxMsDuringServe: number;
  readonly blockMaxMsDuringServe: number;
  readonly servePeakRssMiB: number;
  /** Highest sampled RSS less the database's mapped file pages. */
  readonly servePeakAnonMiB: number;
  readonly syncSeconds: number;
  readonly syncBlocksPerSec: number;
  readonly followerPeakRssMiB: number;
  readonly followerPeakAnonMiB: number;
  /** The serving node's peak RSS over the whole run: the full download, then the follower's sync (pages from it). */
  readonly sourcePeakRssMiB: number;
}

const TARGETS = { readyMs: 2000, rssMiB: 250, queryMs: 50, sync100kSeconds: 15, sync1mSeconds: 180 };

/** The chain rule's target block time of both nodes, seconds (0: jbc's fixed difficulty); set by --target-block-time. */
let targetBlockTime = 0;

function startNode(args: string[]): ChildProcess {
  const rule = ['--difficulty', '1', '--target-block-time', String(targetBlockTime)];
  const child = spawn(process.execPath, [distPath('src', 'cli.js'), '--no-mine', ...rule, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/**
 * A process's memory in MiB: RSS, its peak (VmHWM), and RSS split into the
 * process's own memory (anon) and file pages mapped in (file: here, the
 * chain database's memory map, which is page cache the kernel can drop).
 */
function memory(pid: number): { rss: number; peak: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024, anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 };
}

/** GET `url`: status, body length, milliseconds; the body is read and dropped. */
function get(url: string): Promise<{ status: number; bytes: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let bytes = 0;
      const keep: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keep.length < 4) keep.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started, body: Buffer.concat(keep).toString('utf8') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Downloads `url` in a separate Node process; resolves with the bytes it read. */
function downloadElsewhere(url: string): Promise<number> {
  const script = `require('node:http').get(${JSON.stringify(url)}, (res) => { let n = 0; res.on('data', (c) => (n += c.length)); res.on('end', () => console.log(n)); })`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`download exited ${code}`)))),
  );
}

async function until<T>(check: () => Promise<T | undefined>, pollMs = 20): Promise<T> {
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function measure(size: number, progress: (line: string) => void): Promise<Row> {
  const root = await mkdtemp(join(tmpdir(), `jbc-node-bench-${size}-`));
  const children: ChildProcess[] = [];
  try {
    progress(`${size} blocks: generating the chain`);
    const dir = join(root, 'main');
    const db = await openChainDb({ dir, difficulty: 1, targetBlockTimeMs: targetBlockTime * 1000 });
    for (const batch of inBatches(generateChain(size, { secondsApart: Math.max(1, targetBlockTime) }), 10_000)) await db.commit(BigInt(db.length), batch);
    await db.close();

    progress(`${size} blocks: starting a node on it`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const started = performance.now();
    const main = startNode(['--port', String(port), '--peers', '', '--data-dir', dir]);
    children.push(main);
    await until(async () => ((await get(`${url}readyz`)).status === 200 ? true : undefined), 5);
    const startToReadyMs = performance.now() - started;
    const rssAfterStartMiB = memory(main.pid!).rss;

    progress(`${size} blocks: serving /blockchain.json while asking /status and /blocks/:index`);
    const serveStarted = performance.now();
    let serving = true;
    // The download runs in its own process, so this one's event loop times the queries alone.
    const download = downloadElsewhere(`${url}blockchain.json`).finally(() => (serving = false));
    let statusMax = 0;
    let blockMax = 0;
    let serveAnon = 0;
    while (serving) {
      serveAnon = Math.max(serveAnon, memory(main.pid!).anon);
      statusMax = Math.max(statusMax, (await get(`${url}status`)).ms);
      blockMax = Math.max(blockMax, (await get(`${url}blocks/${Math.floor(Math.random() * size)}`)).ms);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const served = await download;
    const serveSeconds = (performance.now() - serveStarted) / 1000;
    const servePeakRssMiB = memory(main.pid!).peak;

    progress(`${size} blocks: syncing a fresh follower from it`);
    const followerPort = await freePort();
    const followerUrl = `http://127.0.0.1:${followerPort}/`;
    const syncStarted = performance.now();
    const follower = startNode([
      '--port',
      String(followerPort),
      '--peers',
      url,
      '--data-dir',
      join(root, 'follower'),
      '--sync-timeout',
      '1',
      '--log-level',
      'info',
    ]);
    children.push(follower);
    let followerPeak = 0;
    let followerAnon = 0;
    await until(async () => {
      if (follower.pid !== undefined) {
        const m = memory(follower.pid);
        followerPeak = Math.max(followerPeak, m.peak);
        followerAnon = Math.max(followerAnon, m.anon);
      }
      const status = JSON.parse((await get(`${followerUrl}status`)).body) as { length?: number };
      return status.length === size ? true : undefined;
    }, 100);
    const syncSeconds = (performance.now() - syncStarted) / 1000;
    followerPeak = Math.max(followerPeak, memory(follower.pid!).peak);
    const sourcePeakRssMiB = memory(main.pid!).peak;

    return {
      blocks: size,
      startToReadyMs,
      rssAfterStartMiB,
      serveSeconds,
      serveMiB: served / 2 ** 20,
      statusMaxMsDuringServe: statusMax,
      blockMaxMsDuringServe: blockMax,
      servePeakRssMiB,
      servePeakAnonMiB: serveAnon,
      syncSeconds,
      syncBlocksPerSec: size / syncSeconds,
      followerPeakRssMiB: followerPeak,
      followerPeakAnonMiB: followerAnon,
      sourcePeakRssMiB,
    };
  } finally {
    await Promise.all(children.map(stop));
    await rm(root, { recursive: true, force: true });
  }
}

const fmt = (v: number, digits = 1): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits));

function verdicts(row: Row): string[] {
  const lines: string[] = [];
  const check = (what: string, ok: boolean, detail: string) => lines.push(`  ${ok ? 'ok          ' : 'BELOW TARGET'}  ${what}: ${detail}`);
  check('ready', row.startToReadyMs < TARGETS.readyMs, `${fmt(row.startToReadyMs)} ms (< ${TARGETS.readyMs})`);
  const peak = Math.max(row.rssAfterStartMiB, row.servePeakRssMiB, row.followerPeakRssMiB, row.sourcePeakRssMiB);
  check('RSS', peak < TARGETS.rssMiB, `peak ${fmt(peak)} MiB (< ${TARGETS.rssMiB})`);
  const query = Math.max(row.statusMaxMsDuringServe, row.blockMaxMsDuringServe);
  check('queries during a full serve', query < TARGETS.queryMs, `max ${fmt(query)} ms (< ${TARGETS.queryMs})`);
  if (row.blocks === 100_000) check('sync 100k', row.syncSeconds < TARGETS.sync100kSeconds, `${fmt(row.syncSeconds)} s (< ${TARGETS.sync100kSeconds})`);
  if (row.blocks === 1_000_000) check('sync 1M', row.syncSeconds < TARGETS.sync1mSeconds, `${fmt(row.syncSeconds)} s (< ${TARGETS.sync1mSeconds})`);
  return lines;
}

async function main(): Promise<number> {
  const { values } = parseArgsOrExit('bench:node', {
    options: { sizes: { type: 'string', default: '100000' }, 'target-block-time': { type: 'string', default: '0' }, json: { type: 'boolean', default: false } },
  });
  targetBlockTime = Number(values['target-block-time']);
  if (!Number.isInteger(targetBlockTime) || targetBlockTime < 0) {
    process.stderr.write('bench:node: --target-block-time takes whole seconds\n');
    return 2;
  }
  const sizes = values.sizes.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('bench:node: --sizes takes whole numbers of blocks, comma-separated\n');
    return 2;
  }
  const machine = await describeMachine();
  const warning = loadWarning(machine.cores, [machine.loadAverage]);
  if (warning !== undefined) process.stderr.write(`bench:node: ${warning}\n`);
  const rows: Row[] = [];
  for (const size of sizes) rows.push(await measure(size, (line) => process.stderr.write(`bench:node: ${line}\n`)));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ machine, targets: TARGETS, rows, loadWarning: warning ?? null })}\n`);
    return 0;
  }
  const out: string[] = [
    describeMachineLine(machine),
    targetBlockTime > 0 ? `both nodes on a ${targetBlockTime} s target block time` : "both nodes on jbc's fixed difficulty",
    '',
  ];
  if (warning !== undefined) out.push(`WARNING: ${warning}`, '');
  out.push(
    '| blocks | start → ready | RSS after start | serve /blockchain.json | /status, /blocks/:index max during serve | serving peak RSS (own) | fresh follower sync | follower peak RSS (own) | serving node peak RSS, sync included |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    out.push(
      `| ${r.blocks.toLocaleString('en-US')} | ${fmt(r.startToReadyMs)} ms | ${fmt(r.rssAfterStartMiB)} MiB | ${fmt(r.serveMiB)} MiB in ${fmt(r.serveSeconds)} s | ${fmt(r.statusMaxMsDuringServe)} ms, ${fmt(r.blockMaxMsDuringServe)} ms | ${fmt(r.servePeakRssMiB)} MiB (${fmt(r.servePeakAnonMiB)}) | ${fmt(r.syncSeconds)} s (${fmt(r.syncBlocksPerSec)} blocks/s) | ${fmt(r.followerPeakRssMiB)} MiB (${fmt(r.followerPeakAnonMiB)}) | ${fmt(r.sourcePeakRssMiB)} MiB |`,
    );
  }
  out.push('', "(own): RSS less file pages mapped in (the node binary and the chain database's index), which are page cache the kernel can drop.", '');
  for (const r of rows) out.push(`${r.blocks.toLocaleString('en-US')} blocks:`, ...verdicts(r));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

process.exitCode = await main();
