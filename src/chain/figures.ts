/**
 * What the chain says about the network that mines it: the target the next
 * block must meet (also as a difficulty), the chain's work, the hash rate
 * its recent blocks took and how far apart they came. Read from the chain
 * state when asked (/status, /metrics, the event stream).
 */
import { targetDifficulty, targetHex, targetWork, workHex } from '../target.js';
import { meanBlockTime } from '../block-times.js';
import type { ChainState } from './chain-state.js';

/** Blocks whose intervals the mean block time is taken over. */
export const MEAN_BLOCK_TIME_BLOCKS = 100;

export interface ChainFigures {
  /** Seconds between blocks the rule aims at; null for jbc's fixed difficulty. */
  readonly targetBlockTime: number | null;
  /** The target the next block must meet, 64 hex digits. */
  readonly target: string;
  /** That target as leading hex zeros with a fraction: log16(2^256 / (target + 1)). */
  readonly targetDifficulty: number;
  /** The chain's cumulative work, hex. */
  readonly work: string;
  /** Hashes a second the last MEAN_BLOCK_TIME_BLOCKS blocks took, by their work and timestamps; null below two blocks or with no time between them. */
  readonly networkHashrate: number | null;
  /** Mean seconds between the last MEAN_BLOCK_TIME_BLOCKS blocks (fewer on a shorter chain), by their timestamps; null below two blocks or for timestamps in no known form. */
  readonly meanBlockTime: number | null;
}

export function chainFigures(chain: ChainState): ChainFigures {
  const target = chain.nextTrail().target;
  const recent = recentBlocks(chain);
  return {
    targetBlockTime: chain.rule.targetBlockTimeMs > 0 ? chain.rule.targetBlockTimeMs / 1000 : null,
    target: targetHex(target),
    targetDifficulty: roundDifficulty(targetDifficulty(target)),
    work: workHex(chain.work),
    networkHashrate: recent?.hashrate ?? null,
    meanBlockTime: recent === undefined ? null : Math.round(recent.meanSeconds * 1000) / 1000,
  };
}

/** A difficulty to three decimals, as the API shows it. */
export function roundDifficulty(difficulty: number): number {
  return Math.round(difficulty * 1000) / 1000;
}

/**
 * The last MEAN_BLOCK_TIME_BLOCKS blocks: the mean time between them (as
 * `GET /stats` gives it), and the hash rate their work took in that time (a
 * timestamp is when mining of its block began, so the span times every block
 * of it but the tip). Undefined below two blocks, or for timestamps in no
 * known form.
 */
function recentBlocks(chain: ChainState): { meanSeconds: number; hashrate: number | null } | undefined {
  const mean = meanBlockTime(chain.view, MEAN_BLOCK_TIME_BLOCKS);
  if (mean === undefined) return undefined;
  let work = 0n;
  for (let height = mean.from; height < mean.to; height++) work += targetWork(chain.targetAt(height)!);
  const seconds = mean.seconds * Number(mean.to - mean.from);
  return { meanSeconds: mean.seconds, hashrate: seconds > 0 ? Math.round(Number(work) / seconds) : null };
}
