/**
 * `npm run bench:pool`: the data pool between two real nodes (separate
 * processes, loopback HTTP), both mining at the given difficulty with one
 * worker each:
 *
 * - intake: POST /data of `--entries` distinct entries, `--concurrency` at a
 *   time, each answered only once it is durable; entries per second;
 * - confirmation: `--samples` entries submitted to node A one at a time, each
 *   timed until node B reports it confirmed (mined by whichever node found
 *   the next block, then relayed).
 *
 *   npm run bench:pool
 *   npm run bench:pool -- --difficulty 5 --entries 2000 --concurrency 16 --samples 10
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { distPath } from '../src/paths.js';
import { freePort } from './free-port.js';
import { describeMachine, describeMachineLine, loadWarning } from './machine.js';
import { parseArgsOrExit } from './args.js';

async function json(url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until(check: () => Promise<boolean>, pollMs = 20): Promise<void> {
  while (!(await check().catch(() => false))) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

async function main(): Promise<number> {
  const { values } = parseArgsOrExit('bench:pool', {
    options: {
      difficulty: { type: 'string', default: '5' },
      entries: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '16' },
      samples: { type: 'string', default: '10' },
    },
  });
  const difficulty = Number(values.difficulty);
  const entries = Number(values.entries);
  const concurrency = Number(values.concurrency);
  const samples = Number(values.samples);
  const machine = await describeMachine();
  const warning = loadWarning(machine.cores, [machine.loadAverage]);
  if (warning !== undefined) process.stderr.write(`bench:pool: ${warning}\n`);

  const root = await mkdtemp(join(tmpdir(), 'jbc-pool-bench-'));
  const children: ChildProcess[] = [];
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    const [a, b] = [`http://127.0.0.1:${portA}/`, `http://127.0.0.1:${portB}/`];
    const start = (port: number, peer: string, dir: string) => {
      const child = spawn(
        process.execPath,
        [
          distPath('src', 'cli.js'),
          '--port',
          String(port),
          '--peers',
          peer,
          '--data-dir',
          dir,
          '--workers',
          '1',
          '--difficulty',
          String(difficulty),
          '--log-level',
          'warn',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      children.push(child);
    };
    start(portA, b, join(root, 'a'));
    start(portB, a, join(root, 'b'));
    for (const url of [a, b]) await until(async () => (await fetch(`${url}readyz`)).status === 200);

    process.stderr.write(`bench:pool: ${entries} entries into ${a}, ${concurrency} at a time\n`);
    let next = 0;
    const intakeStarted = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < entries) {
          const n = next++;
          const answer = await json(`${a}data`, { data: `bench entry ${n} ${root}` });
          if (answer.status !== 202) throw new Error(`POST /data answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        }
      }),
    );
    const intakeSeconds = (performance.now() - intakeStarted) / 1000;
    // Let the intake drain into blocks before timing single entries.
    await until(async () => ((await json(`${b}data`)).body.pool as { entries: number }).entries === 0, 100);

    process.stderr.write(`bench:pool: ${samples} entries, submission to ${a} → confirmed on ${b}\n`);
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      const { body } = await json(`${a}data`, { data: `timed entry ${i} ${root}` });
      await until(async () => (await json(`${b}data/${String(body.id)}`)).body.state === 'confirmed', 5);
      latencies.push(performance.now() - started);
    }
    latencies.sort((x, y) => x - y);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    const lines = [
      describeMachineLine(machine),
      ...(warning === undefined ? [] : [`WARNING: ${warning}`]),
      '',
      `| difficulty | POST /data, durable, ${concurrency} at a time | submission → confirmed on the other node (median, min–max of ${samples}) |`,
      '|---|---|---|',
      `| ${difficulty} | ${Math.round(entries / intakeSeconds).toLocaleString('en-US')} entries/s | ${Math.round(median)} ms (${Math.round(latencies[0]!)}–${Math.round(latencies.at(-1)!)} ms) |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
