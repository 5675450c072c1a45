/**
 * `npm run devnet -- [options]`: a local network of jbc-ts nodes as child
 * processes (options and the per-node command lines are in options.ts).
 *
 * The nodes start one after another, each once the previous one answers
 * HTTP, so each later node finds the earlier ones in its startup sync. They
 * run in their own process groups: a terminal's Ctrl-C reaches devnet alone,
 * and devnet sends each node exactly one SIGTERM (a node treats a second
 * signal as "exit at once"). If one node exits by itself (a taken port, a bad
 * option), devnet stops the others and exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.js';
import { colorWanted } from '../log.js';
import { distPath } from '../paths.js';
import { DEVNET_USAGE, parseDevnetArgs, planDevnet, type DevnetNode } from './options.js';

interface Running {
  readonly node: DevnetNode;
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
}

/** How often a starting node is asked whether it answers yet, and how long one ask may take. */
const POLL_MS = 50;
const POLL_TIMEOUT_MS = 1000;

let stdoutOpen = true;

function say(line: string): void {
  if (stdoutOpen) process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  process.stdout.on('error', () => {
    stdoutOpen = false; // the reader went away (| head): the nodes keep running, unlogged
  });
  let command: ReturnType<typeof parseDevnetArgs>;
  try {
    command = parseDevnetArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`devnet: ${err instanceof Error ? err.message : describeError(err)}\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(DEVNET_USAGE);
    return 0;
  }
  const plan = planDevnet(command.options, process.cwd());
  const env = { ...process.env };
  // The nodes write into a pipe; colour follows devnet's own terminal.
  if (colorWanted(process.stdout.isTTY === true, process.env)) env.FORCE_COLOR = '1';

  const running: Running[] = [];
  let stopping = false;
  let failed = false;
  let stopped!: () => void;
  const stopRequested = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    say(`[devnet] ${reason}: stopping ${running.length} node(s)`);
    for (const { child } of running) child.kill('SIGTERM');
    stopped();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  // Last resort, e.g. devnet itself crashing: never leave nodes behind.
  process.on('exit', () => {
    for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  for (const node of plan) {
    if (stopping) break;
    const child = spawn(process.execPath, [distPath('src', 'cli.js'), ...node.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      detached: true,
    });
    const prefix = `[${node.port}] `;
    createInterface({ input: child.stdout! }).on('line', (line) => say(prefix + line));
    createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`${prefix}${line}\n`));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    running.push({ node, child, exited });
    void exited.then((code) => {
      if (stopping) return;
      failed = true;
      stop(`node ${node.port} exited (${code})`);
    });
    await answers(node, exited);
  }
  if (!stopping) {
    say(`[devnet] ${plan.length} node(s) up: ${plan.map((n) => n.url).join(' ')}`);
    say('[devnet] Ctrl-C stops them all');
  }
  await stopRequested;
  const codes = await Promise.all(running.map((r) => r.exited));
  const unclean = running.flatMap((r, i) => (codes[i] === 0 ? [] : [`${r.node.port}: ${codes[i]}`]));
  if (unclean.length > 0) say(`[devnet] not every node stopped cleanly (${unclean.join(', ')})`);
  say('[devnet] all nodes stopped');
  return failed || unclean.length > 0 ? 1 : 0;
}

/** Resolves once the node answers /status, or when it exits (the caller hears of that separately). */
async function answers(node: DevnetNode, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    try {
      // Bounded: whatever holds a port may accept and never answer.
      const response = await fetch(`${node.url}status`, { signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
      await response.body?.cancel();
      return;
    } catch {
      await sleep(POLL_MS);
    }
  }
}

process.exitCode = await main();
