/**
 * `bench:hostile --attack json`: number-heavy JSON sent where the JSON limits
 * guard the node (see JsonLimits in src/codec.ts), each attack against an
 * idle node measured the same way just before it:
 *
 * - `mined replies`: 10 peers answer each `POST /mined` (the node relaying
 *   the blocks it mines) with 1 MiB of `[1,1,…]`; the node mines at a low
 *   difficulty with 1 worker. Idle: the same node mining with no peers.
 * - `data bodies`: a client posts 1 MiB of `[1,1,…]` to `POST /data` 10
 *   times a second. Idle: the same node with no client.
 * - `status answers`: 30 peers answer `GET /status` with 1 MiB of
 *   `[1,1,…]`, and the node asks them every second (its periodic sync).
 *   Idle: the same node, syncing every second, with no peers.
 *
 * The node runs in this thread, so monitorEventLoopDelay sees its event
 * loop; the attackers run in worker threads (hostile-attacker.ts).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/log.js';
import { startNode } from '../src/node/index.js';
import { startAttacker, type AttackCounts, type Attacker } from './hostile-attacker.js';
import type { JsonTarget } from './hostile-options.js';
import { compare, runFigures, type Comparison, type Figure, type RunFigures } from './hostile-report.js';
import { probeStatus } from './status-probe.js';

const MIB = 1024 * 1024;
/** Before each measurement: the node's start-up (its first sync, the first blocks) is not what is measured. */
const WARMUP_MS = 1000;

export type JsonAttack = 'mined replies' | 'data bodies' | 'status answers';

interface AttackPlan {
  readonly target: JsonTarget;
  readonly name: JsonAttack;
  readonly mine: boolean;
  readonly syncIntervalMs: number;
  readonly figures: readonly Figure[];
  /** Peers that answer `path` with the body, or a client that posts it to `POST /data`. */
  readonly attacker: { readonly peers: number; readonly path: '/mined' | '/status' } | { readonly client: true };
}

const PLANS: readonly AttackPlan[] = [
  {
    target: 'mined',
    name: 'mined replies',
    mine: true,
    syncIntervalMs: 0,
    figures: ['statusP50Ms', 'statusP99Ms', 'blocksPerSecond'],
    attacker: { peers: 10, path: '/mined' },
  },
  { target: 'data', name: 'data bodies', mine: false, syncIntervalMs: 0, figures: ['statusP50Ms', 'statusP99Ms'], attacker: { client: true } },
  {
    target: 'status',
    name: 'status answers',
    mine: false,
    syncIntervalMs: 1000,
    figures: ['loopDelayMaxMs', 'statusMaxMs'],
    attacker: { peers: 30, path: '/status' },
  },
];

export interface JsonAttackResult {
  readonly comparisons: Comparison[];
  /** Per attack, a line saying what the attackers did and what the node logged: evidence that the attack happened. */
  readonly evidence: string[];
}

export async function measureJsonAttacks(
  targets: readonly JsonTarget[],
  seconds: number,
  difficulty: number,
  progress: (line: string) => void,
): Promise<JsonAttackResult> {
  const comparisons: Comparison[] = [];
  const evidence: string[] = [];
  for (const plan of PLANS.filter((p) => targets.includes(p.target))) {
    progress(`${plan.name}: idle node`);
    const idle = await run(plan, false, seconds, difficulty);
    progress(`${plan.name}: under attack`);
    const attacked = await run(plan, true, seconds, difficulty);
    comparisons.push(...compare(plan.name, plan.figures, idle.figures, attacked.figures));
    evidence.push(`${plan.name}: ${describeAttack(plan, attacked.counts)}; ${attacked.warnings} warnings logged (idle: ${idle.warnings})`);
  }
  return { comparisons, evidence };
}

function describeAttack(plan: AttackPlan, counts: AttackCounts | undefined): string {
  const how = plan.attacker;
  if (counts === undefined) return 'no attack';
  if ('client' in how) {
    const answers = Object.entries(counts.statuses).map(([status, n]) => `${n} x ${status}`);
    return `${counts.sent} bodies posted (${counts.skipped} skipped, ${MAX_IN_FLIGHT} in flight already), answers ${answers.join(', ') || 'none'}`;
  }
  return `${how.peers} peers served ${counts.sent} ${how.path} answers of 1 MiB`;
}

/** The client never holds more posts open than this: a node slower than the rate does not make it pile up. */
const MAX_IN_FLIGHT = 10;

async function run(
  plan: AttackPlan,
  attacked: boolean,
  seconds: number,
  difficulty: number,
): Promise<{ figures: RunFigures; counts: AttackCounts | undefined; warnings: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'jbc-bench-hostile-json-'));
  const logPath = join(dataDir, 'node.log');
  const log = createWriteStream(logPath);
  const how = plan.attacker;
  const deadline = seconds + WARMUP_MS / 1000 + 30;
  let attacker: Attacker | undefined;
  let counts: AttackCounts | undefined;
  let figures: RunFigures;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  try {
    if (attacked && 'peers' in how) attacker = await startAttacker({ kind: 'peers', count: how.peers, path: how.path, bytes: MIB, seconds: deadline });
    const node = await startNode(
      {
        port: 0,
        host: '127.0.0.1',
        mine: plan.mine,
        workers: 1,
        difficulty,
        peers: [...(attacker?.urls ?? [])],
        dataDir,
        syncTimeoutMs: 0,
        syncIntervalMs: plan.syncIntervalMs,
        hashrateLogIntervalMs: 0,
      },
      // A real node logs at info; what it costs to log the attack belongs to the figures.
      { logger: createLogger({ level: 'info', destination: log }) },
    );
    try {
      if (attacked && 'client' in how) {
        attacker = await startAttacker({ kind: 'client', url: `${node.url}data`, perSecond: 10, bytes: MIB, maxInFlight: MAX_IN_FLIGHT, seconds: deadline });
      }
      await sleep(WARMUP_MS);
      const startLength = node.chain().length;
      const started = performance.now();
      histogram.enable();
      const latencies = await probeStatus(node.url, seconds);
      histogram.disable();
      const mined = node.chain().length - startLength;
      const elapsed = (performance.now() - started) / 1000;
      figures = runFigures(latencies, histogram.max / 1e6, plan.mine ? mined / elapsed : null);
      counts = await attacker?.stop();
      attacker = undefined;
    } finally {
      await node.close();
    }
    await new Promise((resolve) => log.end(resolve));
    const warnings = (await readFile(logPath, 'utf8')).split('\n').filter((line) => line.startsWith('{"level":"warn"')).length;
    return { figures, counts, warnings };
  } finally {
    await attacker?.stop();
    log.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }
}
