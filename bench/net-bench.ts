/**
 * `npm run bench:net`: a network of real nodes mining at once on loopback,
 * and how well they agree. N node processes (each its own data dir, the
 * others as peers, JSON logs at debug level) mine for `--seconds`; with
 * `--latency MS` every node sits behind a delaying TCP proxy in this
 * process (delay-proxy.ts) and every peer URL and `--public-url` names the
 * proxies, so each request between nodes, and its answer, crosses one
 * delayed hop each way. The bench's own requests go to the nodes directly.
 *
 * Node 0 starts first and mines block 0; the others start together once it
 * has, and sync it. The measured window opens when every node is ready and
 * its event stream is open, and closes `--seconds` later. The nodes keep
 * mining for a settle period after it (they have no switch to stop mining),
 * then every node's chain is read and the longest is the final chain; then
 * each node gets one SIGTERM and the bench waits for it to exit.
 *
 * Figures, all over the window:
 * - blocks mined: `mined block #N` log lines (their `hash`); orphaned: those
 *   not in the final chain.
 * - reorgs: log lines whose `abandoned` field is above 0 (a node gave up
 *   that many blocks of its chain: a switch to a held branch, a fetch of
 *   ancestors, a sync); per node per minute, averaged, and the deepest.
 * - agreement at depth d: every second, each node's /status height; with h
 *   the lowest, do all nodes hold the same block at height h-d+1? Percent
 *   of samples that agree (samples where h-d+1 < 0 do not count).
 * - propagation: for each final-chain block mined in the window, from the
 *   first sign of it on its miner (its `block` event, or the log line) until
 *   the last node's `block` event for it, times taken here on arrival.
 * - blocks downloaded per block written: from each node's /metrics at the
 *   window's start and end: jbc_sync_blocks_downloaded_total per
 *   jbc_sync_blocks_written_total (syncs and fetches of ancestors), and per
 *   block written at all (that plus jbc_blocks_mined_total and
 *   jbc_blocks_accepted_total).
 * - tip-switch latency: `switchMs` of `search moved to new tip` debug lines:
 *   from a new tip until a worker began on a template on it.
 *
 * - mean block time: the window's length per final-chain block mined in it.
 *
 * With `--target-block-time S` every node runs the target rule, and the
 * window opens after `--warmup` seconds of mining (default 60 then), so the
 * target has followed the network's hash rate from its starting point.
 *
 *   npm run bench:net                                  # 4 nodes, 60 s, difficulty 5
 *   npm run bench:net -- --nodes 4 --target-block-time 2
 *   npm run bench:net -- --nodes 8 --latency 50 --seconds 30
 *   npm run -s bench:net -- --json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { readCommandLine } from '../src/command-line.js';
import { distPath } from '../src/paths.js';
import { integerOption, nonNegativeOption, positiveOption } from './args.js';
import { DelayProxy } from './delay-proxy.js';
import { freePort } from './free-port.js';
import { describeMachine, describeMachineLine, loadNow, loadWarning, type MachineInfo } from './machine.js';
import { percentile } from './stats.js';

export interface NetBenchOptions {
  /** Node processes, 2 .. 16. Default 4. */
  readonly nodes: number;
  /** Length of the measured window. Default 60. */
  readonly seconds: number;
  /** Default 5, the node's own default. */
  readonly difficulty: number;
  /** Mining worker threads per node. Default 1. */
  readonly workers: number;
  /** One-way delay on every link between nodes, in ms. Default 0: no proxies. */
  readonly latencyMs: number;
  /** The nodes' target block time, seconds; 0 (the default) for jbc's fixed difficulty. */
  readonly targetBlockTime: number;
  /** Seconds of mining before the window opens. Default 0, or 60 with a target block time. */
  readonly warmupSeconds: number;
  readonly json: boolean;
  readonly help: boolean;
}

export const defaultNetBenchOptions = { nodes: 4, seconds: 60, difficulty: 5, workers: 1, latencyMs: 0, targetBlockTime: 0, warmupWithTarget: 60 } as const;

export const NET_USAGE = `usage: npm run bench:net -- [options]

Starts N real nodes on loopback, all mining at once, for S seconds, and
reports blocks mined and orphaned, reorgs, how often the nodes agree on the
blocks near their tips, block propagation, sync downloads per block written
and tip-switch latency. Table on stdout (or JSON), progress on stderr.

  --nodes N        node processes, 2 to 16 (default ${defaultNetBenchOptions.nodes})
  --seconds S      measured mining time (default ${defaultNetBenchOptions.seconds}); a settle period and
                   start-up come on top
  --difficulty D   difficulty of every node (default ${defaultNetBenchOptions.difficulty})
  --workers W      mining worker threads per node (default ${defaultNetBenchOptions.workers})
  --latency MS     one-way delay on every link between nodes, through a delaying
                   TCP proxy in front of each node (default ${defaultNetBenchOptions.latencyMs}: no proxies)
  --target-block-time S
                   every node runs the target rule at S seconds a block (default 0:
                   jbc's fixed difficulty)
  --warmup S       seconds of mining before the window opens (default 0, or
                   ${defaultNetBenchOptions.warmupWithTarget} with a target block time)
  --json           print one JSON object instead of the table
  --help           print this and exit
`;

export function parseNetBenchArgs(argv: readonly string[]): NetBenchOptions {
  const { values } = readCommandLine({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      nodes: { type: 'string' },
      seconds: { type: 'string' },
      difficulty: { type: 'string' },
      workers: { type: 'string' },
      latency: { type: 'string' },
      'target-block-time': { type: 'string' },
      warmup: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const d = defaultNetBenchOptions;
  const targetBlockTime =
    values['target-block-time'] === undefined ? d.targetBlockTime : nonNegativeOption('--target-block-time', values['target-block-time'], 3600);
  return {
    targetBlockTime,
    warmupSeconds: values.warmup === undefined ? (targetBlockTime > 0 ? d.warmupWithTarget : 0) : nonNegativeOption('--warmup', values.warmup, 3600),
    nodes: values.nodes === undefined ? d.nodes : integerOption('--nodes', values.nodes, 2, 16),
    seconds: values.seconds === undefined ? d.seconds : positiveOption('--seconds', values.seconds, 3600),
    difficulty: values.difficulty === undefined ? d.difficulty : integerOption('--difficulty', values.difficulty, 1, 64),
    workers: values.workers === undefined ? d.workers : integerOption('--workers', values.workers, 1, 64),
    latencyMs: values.latency === undefined ? d.latencyMs : integerOption('--latency', values.latency, 0, 10_000),
    json: values.json,
    help: values.help,
  };
}

// ---------------------------------------------------------------------------
// Pure helpers: what a log line says, percentiles, agreement, propagation.

/** What the bench reads from one log line of a node; each field only when the line has it. */
export interface LogFacts {
  /** A `mined block #N` line. */
  readonly mined?: { readonly index: number; readonly hash: string };
  /** A line with `abandoned` above 0: a reorg that gave up that many blocks. */
  readonly abandoned?: number;
  /** A `search moved to new tip` line's `switchMs`. */
  readonly switchMs?: number;
}

/** Only lines carrying one of these are parsed at all: most of a debug log is requests. */
const INTERESTING = ['mined block #', '"abandoned"', 'search moved to new tip'];

export function readLogLine(line: string): LogFacts | undefined {
  if (!INTERESTING.some((s) => line.includes(s))) return undefined;
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object') return undefined;
    entry = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const facts: { -readonly [K in keyof LogFacts]: LogFacts[K] } = {};
  if (msg.startsWith('mined block #') && typeof entry.hash === 'string' && typeof entry.index === 'number') {
    facts.mined = { index: entry.index, hash: entry.hash };
  }
  if (typeof entry.abandoned === 'number' && entry.abandoned > 0) facts.abandoned = entry.abandoned;
  if (msg === 'search moved to new tip' && typeof entry.switchMs === 'number' && Number.isFinite(entry.switchMs)) facts.switchMs = entry.switchMs;
  return Object.keys(facts).length > 0 ? facts : undefined;
}

/** One agreement sample: the lowest tip height, and each node's block hashes by height near it. */
export interface AgreementSample {
  readonly low: number;
  readonly nodes: ReadonlyArray<ReadonlyMap<number, string>>;
}

/**
 * Whether every node holds the same block at height `low - depth + 1`; null
 * when that height is below 0. A node without a block there (it reorged
 * below it between the two reads) disagrees.
 */
export function agreesAt(sample: AgreementSample, depth: number): boolean | null {
  const height = sample.low - depth + 1;
  if (height < 0) return null;
  const first = sample.nodes[0]?.get(height);
  return first !== undefined && sample.nodes.every((blocks) => blocks.get(height) === first);
}

export interface Agreement {
  readonly depth: number;
  /** Samples that counted (the chain reached the height). */
  readonly samples: number;
  readonly agreed: number;
  readonly percent: number | null;
}

export function agreement(samples: readonly AgreementSample[], depth: number): Agreement {
  const verdicts = samples.map((s) => agreesAt(s, depth)).filter((v): v is boolean => v !== null);
  const agreed = verdicts.filter(Boolean).length;
  return { depth, samples: verdicts.length, agreed, percent: verdicts.length === 0 ? null : round((100 * agreed) / verdicts.length) };
}

/**
 * Propagation of each block in `chain` that has a start time in `minedAt`:
 * from then until the latest of the nodes' first sightings. A block one
 * node never showed is `missing`.
 */
export function propagation(
  chain: readonly string[],
  minedAt: ReadonlyMap<string, number>,
  seen: ReadonlyArray<ReadonlyMap<string, number>>,
): { readonly ms: number[]; readonly missing: number } {
  const ms: number[] = [];
  let missing = 0;
  for (const hash of chain) {
    const start = minedAt.get(hash);
    if (start === undefined) continue;
    const times = seen.map((node) => node.get(hash));
    if (times.some((t) => t === undefined)) {
      missing++;
      continue;
    }
    ms.push(Math.max(0, Math.max(...(times as number[])) - start));
  }
  return { ms, missing };
}

/** Height of the last block every chain (lists of hashes from block 0) holds alike; -1 when not even block 0. */
export function commonHeight(chains: ReadonlyArray<readonly string[]>): number {
  const shortest = Math.min(...chains.map((c) => c.length));
  let i = 0;
  while (i < shortest && chains.every((c) => c[i] === chains[0]![i])) i++;
  return i - 1;
}

/** The sum of every series of one metric in a Prometheus text exposition; 0 when absent. */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Server-Sent Events from text as it arrives, split anywhere. */
export class SseReader {
  #buffer = '';

  /** The complete events in what arrived so far. */
  push(text: string): Array<{ event: string; data: string }> {
    this.#buffer += text.replace(/\r\n?/g, '\n');
    const events: Array<{ event: string; data: string }> = [];
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) events.push({ event, data: data.join('\n') });
    }
    return events;
  }
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---------------------------------------------------------------------------
// The network.

/** How long nodes may take to come up, on a busy 2-core machine too. */
const START_DEADLINE_MS = 90_000;
/** After the window: mining goes on this long (plus 20 delays) before the chains are read. */
const SETTLE_MS = 5_000;
/** A node that has not exited this long after its SIGTERM is killed. */
const EXIT_DEADLINE_MS = 20_000;
const REQUEST_TIMEOUT_MS = 5_000;

interface Timed<T> {
  readonly at: number;
  readonly value: T;
}

interface RunningNode {
  readonly index: number;
  readonly port: number;
  /** The node itself, for the bench's own requests. */
  readonly url: string;
  /** What peers use: its proxy, or the node itself without latency. */
  readonly publicUrl: string;
  readonly dataDir: string;
  child?: ChildProcess;
  exited?: Promise<number | string>;
  exitStatus?: number | string;
  readonly mined: Array<Timed<{ index: number; hash: string }>>;
  readonly reorgs: Array<Timed<number>>;
  readonly switches: Array<Timed<number>>;
  /** Bench time of this node's first `block` event for each hash. */
  readonly seen: Map<string, number>;
  readonly stderrTail: string[];
  events?: AbortController;
}

/** Everything the bench started, so that any exit path can take it all down. */
class Resources {
  root: string | undefined;
  readonly nodes: RunningNode[] = [];
  readonly proxies: DelayProxy[] = [];

  /** Last resort (the process is exiting): kill what still runs and remove the temp dir, synchronously. */
  killNow(): void {
    for (const node of this.nodes) {
      if (node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    }
    if (this.root !== undefined) rmSync(this.root, { recursive: true, force: true });
  }
}

interface Window {
  readonly start: number;
  readonly end: number;
}

const inWindow = (w: Window) => (t: Timed<unknown>) => t.at >= w.start && t.at <= w.end;

async function request(url: string, signal: AbortSignal, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
  return fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
}

async function getJson<T>(url: string, signal: AbortSignal, timeoutMs?: number): Promise<T> {
  const res = await request(url, signal, timeoutMs);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: ${res.status}`);
  }
  return (await res.json()) as T;
}

async function getText(url: string, signal: AbortSignal): Promise<string> {
  const res = await request(url, signal);
  return res.text();
}

function spawnNode(node: RunningNode, peers: readonly string[], options: NetBenchOptions): void {
  const args = [
    distPath('src', 'cli.js'),
    '--port',
    String(node.port),
    '--host',
    '127.0.0.1',
    '--peers',
    peers.join(','),
    '--public-url',
    node.publicUrl,
    '--data-dir',
    node.dataDir,
    '--workers',
    String(options.workers),
    '--difficulty',
    String(options.difficulty),
    '--target-block-time',
    String(options.targetBlockTime),
    '--log-format',
    'json',
    // Per-block lines drop to debug above a block a second, and so does the tip-switch line.
    '--log-level',
    'debug',
  ];
  // Its own process group: a terminal's Ctrl-C reaches the bench alone, which sends each node one SIGTERM.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  node.child = child;
  node.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      node.exitStatus = code ?? signal ?? 'unknown';
      resolve(node.exitStatus);
    }),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const facts = readLogLine(line);
    if (facts === undefined) return;
    const at = performance.now();
    if (facts.mined !== undefined) node.mined.push({ at, value: facts.mined });
    if (facts.abandoned !== undefined) node.reorgs.push({ at, value: facts.abandoned });
    if (facts.switchMs !== undefined) node.switches.push({ at, value: facts.switchMs });
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    node.stderrTail.push(line);
    if (node.stderrTail.length > 20) node.stderrTail.shift();
  });
}

/** Resolves when `check` answers true; throws when the node exits or the deadline passes. */
async function until(node: RunningNode, what: string, check: () => Promise<boolean>, deadline: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    if (node.exitStatus !== undefined) {
      throw new Error(
        `node ${node.index} (port ${node.port}) exited (${node.exitStatus}) before ${what}${node.stderrTail.length > 0 ? `: ${node.stderrTail.join(' | ')}` : ''}`,
      );
    }
    if (performance.now() > deadline) throw new Error(`node ${node.index} (port ${node.port}) not ${what} after ${START_DEADLINE_MS / 1000} s`);
    if (await check().catch(() => false)) return;
    await sleep(100, undefined, { signal });
  }
}

/** Follows a node's event stream, noting when each block first shows; resolves once the first event came. */
async function follow(node: RunningNode, signal: AbortSignal): Promise<void> {
  const controller = new AbortController();
  node.events = controller;
  let opened!: () => void;
  const first = new Promise<void>((resolve) => (opened = resolve));
  const stream = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch(`${node.url}events`, { signal: controller.signal });
        if (!res.ok || res.body === null) throw new Error(`GET /events: ${res.status}`);
        const reader = new SseReader();
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          const at = performance.now();
          for (const { event, data } of reader.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
            opened();
            if (event !== 'block') continue;
            const hash = (JSON.parse(data) as { hash?: unknown }).hash;
            if (typeof hash === 'string' && !node.seen.has(hash)) node.seen.set(hash, at);
          }
        }
      } catch {
        // Reconnects below, unless the bench is done with it.
      }
      if (!controller.signal.aborted) await sleep(200).catch(() => {});
    }
  };
  void stream();
  const abort = (): void => controller.abort();
  signal.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`node ${node.index} (port ${node.port}) sent no event in ${START_DEADLINE_MS / 1000} s`)), START_DEADLINE_MS);
  });
  let stopped: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    stopped = () => reject(signal.reason);
    signal.addEventListener('abort', stopped, { once: true });
  });
  try {
    await Promise.race([first, late, aborted]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stopped!);
  }
}

interface Scrape {
  readonly downloaded: number;
  readonly written: number;
  readonly mined: number;
  readonly accepted: number;
}

async function scrape(node: RunningNode, signal: AbortSignal): Promise<Scrape> {
  const text = await getText(`${node.url}metrics`, signal);
  return {
    downloaded: metricValue(text, 'jbc_sync_blocks_downloaded_total'),
    written: metricValue(text, 'jbc_sync_blocks_written_total'),
    mined: metricValue(text, 'jbc_blocks_mined_total'),
    accepted: metricValue(text, 'jbc_blocks_accepted_total'),
  };
}

/** One agreement sample, or undefined when a node did not answer. */
async function sample(nodes: readonly RunningNode[], signal: AbortSignal): Promise<AgreementSample | undefined> {
  try {
    const heights = await Promise.all(nodes.map((n) => getJson<{ height: number }>(`${n.url}status`, signal).then((s) => s.height)));
    const low = Math.min(...heights);
    if (low < 0) return { low, nodes: nodes.map(() => new Map()) };
    const from = Math.max(0, low - 5);
    const pages = await Promise.all(
      nodes.map((n) => getJson<Array<{ index: string; hash: string }>>(`${n.url}blocks?from=${from}&limit=${low - from + 1}`, signal)),
    );
    return { low, nodes: pages.map((page) => new Map(page.map((b) => [Number(b.index), b.hash]))) };
  } catch (err) {
    if (signal.aborted) throw err;
    return undefined;
  }
}

async function stopNode(node: RunningNode): Promise<void> {
  node.events?.abort();
  const child = node.child;
  if (child === undefined || node.exited === undefined) return;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  await node.exited;
  clearTimeout(timer);
}

async function teardown(res: Resources): Promise<void> {
  await Promise.all(res.nodes.map(stopNode));
  await Promise.all(res.proxies.map((p) => p.close()));
  if (res.root !== undefined) await rm(res.root, { recursive: true, force: true });
  res.root = undefined;
}

// ---------------------------------------------------------------------------
// The report.

export interface NetReport {
  readonly machine: MachineInfo;
  readonly loadAverageAtEnd: number;
  readonly loadWarning: string | null;
  /** The options the run had, less the output switches. */
  readonly options: Omit<NetBenchOptions, 'json' | 'help'>;
  readonly windowSeconds: number;
  readonly settleSeconds: number;
  readonly blocks: {
    readonly mined: number;
    readonly orphaned: number;
    readonly orphanedPercent: number | null;
    /** Seconds of window per final-chain block mined in it. */
    readonly meanBlockTimeSeconds: number | null;
    readonly finalHeight: number;
    /** How many nodes held exactly the final chain when the chains were read. */
    readonly finalChainHeldBy: number;
    /** The highest block all nodes held alike when the chains were read (they were still mining). */
    readonly commonHeight: number;
  };
  readonly reorgs: { readonly perMinutePerNode: number; readonly perNode: readonly number[]; readonly deepest: number };
  readonly agreement: { readonly samples: number; readonly skipped: number; readonly depths: readonly Agreement[] };
  readonly propagationMs: { readonly blocks: number; readonly missing: number; readonly p50: number | null; readonly p99: number | null };
  readonly downloads: {
    readonly downloaded: number;
    readonly writtenBySync: number;
    readonly writtenAll: number;
    readonly downloadedPerSyncWritten: number | null;
    readonly downloadedPerWritten: number | null;
  };
  readonly tipSwitchMs: { readonly samples: number; readonly p50: number | null; readonly p99: number | null };
  readonly nodes: ReadonlyArray<{
    readonly port: number;
    readonly mined: number;
    readonly reorgs: number;
    readonly deepestReorg: number;
    readonly finalHeight: number;
    readonly exit: number | string | null;
  }>;
  readonly definitions: Readonly<Record<string, string>>;
}

export const DEFINITIONS = {
  window:
    'from when every node is ready and streaming events, for --seconds; the nodes keep mining through the settle period after it, then every chain is read and the longest is the final chain',
  orphaned: 'blocks mined in the window (mined block lines) that are not in the final chain',
  meanBlockTime: "the window's length per final-chain block mined in it (after --warmup, when given)",
  reorg: 'a log line with abandoned > 0: the node gave up that many blocks of its chain; per minute of window per node, averaged over nodes',
  agreement:
    'each second, h = the lowest /status height of all nodes; agreement at depth d: every node holds the same block at height h-d+1 (GET /blocks); percent of samples',
  propagation:
    "per final-chain block mined in the window: first sign on its miner (its block event or log line) to the last node's block event, timed in the bench on arrival",
  downloads:
    'jbc_sync_blocks_downloaded_total over the window, per jbc_sync_blocks_written_total (blocks syncs and fetches of ancestors wrote), and per block written at all (that plus jbc_blocks_mined_total and jbc_blocks_accepted_total)',
  tipSwitch: "switchMs of the nodes' search moved to new tip debug lines: a new tip accepted until the workers search on it",
} as const;

async function run(options: NetBenchOptions, res: Resources, signal: AbortSignal, progress: (line: string) => void): Promise<NetReport> {
  const machine = await describeMachine();
  res.root = await mkdtemp(join(tmpdir(), 'jbc-net-bench-'));
  for (let i = 0; i < options.nodes; i++) {
    const port = await freePort();
    let publicUrl = `http://127.0.0.1:${port}/`;
    if (options.latencyMs > 0) {
      const proxy = await DelayProxy.start({ targetPort: port, delayMs: options.latencyMs });
      res.proxies.push(proxy);
      publicUrl = proxy.url;
    }
    res.nodes.push({
      index: i,
      port,
      url: `http://127.0.0.1:${port}/`,
      publicUrl,
      dataDir: join(res.root, `node-${i}`),
      mined: [],
      reorgs: [],
      switches: [],
      seen: new Map(),
      stderrTail: [],
    });
  }
  const nodes = res.nodes;
  const peersOf = (node: RunningNode) => nodes.filter((n) => n !== node).map((n) => n.publicUrl);

  const deadline = performance.now() + START_DEADLINE_MS;
  progress(`starting node 0 (port ${nodes[0]!.port}) and waiting for its block 0`);
  spawnNode(nodes[0]!, peersOf(nodes[0]!), options);
  await until(
    nodes[0]!,
    'holding block 0',
    async () => (await getJson<{ height: number }>(`${nodes[0]!.url}status`, signal, 1000)).height >= 0,
    deadline,
    signal,
  );
  progress(`starting ${nodes.length - 1} more node(s)${options.latencyMs > 0 ? `, each behind a ${options.latencyMs} ms proxy` : ''}`);
  for (const node of nodes.slice(1)) spawnNode(node, peersOf(node), options);
  await Promise.all(
    nodes.map((node) =>
      until(
        node,
        'ready',
        async () => {
          const ready = await request(`${node.url}readyz`, signal, 1000);
          await ready.body?.cancel();
          return ready.status === 200;
        },
        deadline,
        signal,
      ),
    ),
  );
  await Promise.all(nodes.map((node) => follow(node, signal)));
  if (options.warmupSeconds > 0) {
    progress(`all ${nodes.length} nodes mining; warming up for ${options.warmupSeconds} s before measuring`);
    await sleep(options.warmupSeconds * 1000, undefined, { signal });
  }
  const before = await Promise.all(nodes.map((n) => scrape(n, signal)));

  const start = performance.now();
  const end = start + options.seconds * 1000;
  progress(`all ${nodes.length} nodes mining; measuring for ${options.seconds} s`);
  const samples: AgreementSample[] = [];
  let skipped = 0;
  for (let next = start; next < end; next += 1000) {
    if (performance.now() < next) await sleep(next - performance.now(), undefined, { signal });
    for (const node of nodes)
      if (node.exitStatus !== undefined)
        throw new Error(
          `node ${node.index} (port ${node.port}) exited (${node.exitStatus}) while mining${node.stderrTail.length > 0 ? `: ${node.stderrTail.join(' | ')}` : ''}`,
        );
    const s = await sample(nodes, signal);
    if (s === undefined) skipped++;
    else samples.push(s);
    if (performance.now() >= end) break;
  }
  if (performance.now() < end) await sleep(end - performance.now(), undefined, { signal });
  const windowEnd = performance.now();
  const after = await Promise.all(nodes.map((n) => scrape(n, signal)));

  const settleMs = SETTLE_MS + 20 * options.latencyMs;
  progress(`window closed; letting the nodes settle for ${settleMs / 1000} s, then reading every chain`);
  await sleep(settleMs, undefined, { signal });
  const chains = await Promise.all(
    nodes.map((n) => getJson<Array<{ hash: string }>>(`${n.url}blockchain.json`, signal, 30_000).then((blocks) => blocks.map((b) => b.hash))),
  );
  progress('stopping the nodes (SIGTERM)');
  await Promise.all(nodes.map(stopNode));

  const window: Window = { start, end: windowEnd };
  const within = inWindow(window);
  const longest = Math.max(...chains.map((c) => c.length));
  const final = chains.find((c) => c.length === longest)!;
  const finalSet = new Set(final);
  const finalChainHeldBy = chains.filter((c) => c.length === final.length && c.every((h, i) => h === final[i])).length;

  const mined = nodes.flatMap((n) => n.mined.filter(within).map((m) => ({ node: n, ...m })));
  const orphaned = mined.filter((m) => !finalSet.has(m.value.hash)).length;
  const kept = mined.length - orphaned;

  const minutes = (window.end - window.start) / 60_000;
  const reorgCounts = nodes.map((n) => n.reorgs.filter(within).length);
  const deepestOf = (n: RunningNode) => Math.max(0, ...n.reorgs.filter(within).map((r) => r.value));

  const minedAt = new Map<string, number>();
  for (const m of mined) {
    const shown = m.node.seen.get(m.value.hash);
    minedAt.set(m.value.hash, Math.min(m.at, shown ?? Infinity));
  }
  const prop = propagation(
    final,
    minedAt,
    nodes.map((n) => n.seen),
  );

  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const downloaded = sum(after.map((a, i) => a.downloaded - before[i]!.downloaded));
  const writtenBySync = sum(after.map((a, i) => a.written - before[i]!.written));
  const writtenAll = writtenBySync + sum(after.map((a, i) => a.mined - before[i]!.mined + a.accepted - before[i]!.accepted));
  const switches = nodes.flatMap((n) => n.switches.filter(within).map((s) => s.value));

  const loadAtEnd = loadNow();
  return {
    machine,
    loadAverageAtEnd: loadAtEnd,
    loadWarning: loadWarning(machine.cores, [machine.loadAverage, loadAtEnd]) ?? null,
    options: runOptions(options),
    windowSeconds: round((window.end - window.start) / 1000, 2),
    settleSeconds: settleMs / 1000,
    blocks: {
      mined: mined.length,
      orphaned,
      orphanedPercent: mined.length === 0 ? null : round((100 * orphaned) / mined.length),
      meanBlockTimeSeconds: kept === 0 ? null : round((window.end - window.start) / 1000 / kept, 3),
      finalHeight: final.length - 1,
      finalChainHeldBy,
      commonHeight: commonHeight(chains),
    },
    reorgs: {
      perMinutePerNode: round(sum(reorgCounts) / nodes.length / minutes, 2),
      perNode: reorgCounts.map((c) => round(c / minutes, 2)),
      deepest: Math.max(0, ...nodes.map(deepestOf)),
    },
    agreement: { samples: samples.length, skipped, depths: [1, 3, 6].map((d) => agreement(samples, d)) },
    propagationMs: { blocks: prop.ms.length, missing: prop.missing, p50: roundOrNull(percentile(prop.ms, 0.5)), p99: roundOrNull(percentile(prop.ms, 0.99)) },
    downloads: {
      downloaded,
      writtenBySync,
      writtenAll,
      downloadedPerSyncWritten: writtenBySync === 0 ? null : round(downloaded / writtenBySync, 2),
      downloadedPerWritten: writtenAll === 0 ? null : round(downloaded / writtenAll, 2),
    },
    tipSwitchMs: { samples: switches.length, p50: roundOrNull(percentile(switches, 0.5)), p99: roundOrNull(percentile(switches, 0.99)) },
    nodes: nodes.map((n, i) => ({
      port: n.port,
      mined: n.mined.filter(within).length,
      reorgs: reorgCounts[i]!,
      deepestReorg: deepestOf(n),
      finalHeight: chains[i]!.length - 1,
      exit: n.exitStatus ?? null,
    })),
    definitions: DEFINITIONS,
  };
}

/** The options a report records: all but the output switches. */
function runOptions({ json: _json, help: _help, ...rest }: NetBenchOptions): NetReport['options'] {
  return rest;
}

const roundOrNull = (v: number | null): number | null => (v === null ? null : round(v));
const ms = (v: number | null): string => (v === null ? 'n/a' : `${v} ms`);
const pct = (v: number | null): string => (v === null ? 'n/a' : `${v}%`);

export function renderNetTable(r: NetReport): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(
    `jbc-ts network bench: ${o.nodes} nodes, ${o.workers} worker(s) each, difficulty ${o.difficulty}, ` +
      (o.targetBlockTime > 0 ? `target block time ${o.targetBlockTime} s after ${o.warmupSeconds} s warm-up, ` : '') +
      `one-way latency ${o.latencyMs} ms${o.latencyMs === 0 ? ' (no proxies)' : ' per link'}, ${r.windowSeconds} s measured (+${r.settleSeconds} s settle)`,
  );
  lines.push(`machine: ${describeMachineLine(r.machine)}, ${r.loadAverageAtEnd} at end`);
  if (r.loadWarning !== null) lines.push(`WARNING: ${r.loadWarning}`);
  lines.push('');
  const rows: Array<[string, string]> = [];
  const b = r.blocks;
  rows.push(['blocks mined (all nodes)', String(b.mined)]);
  rows.push(['orphaned', `${b.orphaned} (${pct(b.orphanedPercent)})`]);
  rows.push(['mean block time', b.meanBlockTimeSeconds === null ? 'n/a' : `${b.meanBlockTimeSeconds} s`]);
  rows.push(['final chain', `height ${b.finalHeight}, held by ${b.finalChainHeldBy} of ${o.nodes} nodes when read; all alike up to height ${b.commonHeight}`]);
  rows.push(['reorgs per minute, per node', `${r.reorgs.perMinutePerNode} (each: ${r.reorgs.perNode.join(', ')})`]);
  rows.push(['deepest reorg', `${r.reorgs.deepest} block(s) abandoned`]);
  const a = r.agreement;
  rows.push([
    `agreement (${a.samples} samples${a.skipped > 0 ? `, ${a.skipped} skipped` : ''})`,
    a.depths.map((d) => `depth ${d.depth}: ${pct(d.percent)}`).join('   '),
  ]);
  const p = r.propagationMs;
  rows.push([
    'propagation to every node',
    `p50 ${ms(p.p50)}, p99 ${ms(p.p99)} (${p.blocks} blocks${p.missing > 0 ? `; ${p.missing} not shown by every node` : ''})`,
  ]);
  const d = r.downloads;
  rows.push([
    'blocks downloaded per block written',
    `${d.downloadedPerWritten ?? 'n/a'} (${d.downloaded} downloaded, ${d.writtenAll} written: mined, accepted, synced); of the synced alone ${d.downloadedPerSyncWritten ?? 'n/a'} (${d.writtenBySync} written)`,
  ]);
  const t = r.tipSwitchMs;
  rows.push([
    'tip-switch latency',
    t.samples === 0 ? 'n/a (no "search moved to new tip" lines)' : `p50 ${ms(t.p50)}, p99 ${ms(t.p99)} (${t.samples} tip changes)`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`${k.padEnd(width)}  ${v}`);
  lines.push('');
  lines.push('port   mined  reorgs  deepest  final height  exit');
  for (const n of r.nodes) {
    lines.push(
      `${String(n.port).padEnd(5)}  ${String(n.mined).padStart(5)}  ${String(n.reorgs).padStart(6)}  ${String(n.deepestReorg).padStart(7)}  ${String(n.finalHeight).padStart(12)}  ${n.exit ?? '-'}`,
    );
  }
  lines.push('');
  for (const [k, v] of Object.entries(r.definitions)) lines.push(`${k}: ${v}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let options: NetBenchOptions;
  try {
    options = parseNetBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:net: ${(err as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(NET_USAGE);
    return 0;
  }
  const res = new Resources();
  const controller = new AbortController();
  // Each node's event stream listens for the end for the whole run, and its start-up checks while waiting: more than the default 10.
  setMaxListeners(4 * options.nodes + 10, controller.signal);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      // A second Ctrl-C: no more waiting.
      res.killNow();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`bench:net: ${signal}: stopping the nodes\n`);
    controller.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.on('exit', () => res.killNow());
  const progress = (line: string): void => void process.stderr.write(`bench:net: ${line}\n`);
  try {
    const report = await run(options, res, controller.signal, progress);
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : renderNetTable(report));
    return 0;
  } catch (err) {
    process.stderr.write(`bench:net: ${interrupted ? 'interrupted' : `failed: ${err instanceof Error ? err.message : String(err)}`}\n`);
    return interrupted ? 130 : 1;
  } finally {
    await teardown(res);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
