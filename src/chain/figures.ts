/**
 * What the chain says about the network that mines it: the target the next
 * block must meet (also as a difficulty), the chain's work, the hash rate
 * its recent blocks took and how far apart they came. Read from the chain
 * state when asked (/status, /metrics, the event stream).
 */
import { targetDifficulty, targetHex, targetWork, workHex } from '../target.js';
import { UNIX_SECONDS_LIMIT } from '../retarget.js';
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
  /** Mean seconds between the last MEAN_BLOCK_TIME_BLOCKS blocks (fewer on a shorter chain), by their timestamps; null below two blocks. */
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
    networkHashrate: recent === undefined || recent.seconds === 0n ? null : Number(recent.work / recent.seconds),
    meanBlockTime: recent === undefined ? null : Math.round((Number(recent.seconds) / recent.intervals) * 1000) / 1000,
  };
}

/** A difficulty to three decimals, as the API shows it. */
export function roundDifficulty(difficulty: number): number {
  return Math.round(difficulty * 1000) / 1000;
}

/**
 * The newest blocks' intervals: the seconds from the first's timestamp to
 * the tip's, and the work of the blocks mined in that time (a timestamp is
 * when mining of its block began, so the span times the blocks before the
 * tip). Undefined below two blocks, or for timestamps that are not Unix
 * seconds (jbc's date-time form does not subtract into seconds).
 */
function recentBlocks(chain: ChainState): { intervals: number; seconds: bigint; work: bigint } | undefined {
  const view = chain.view;
  const tip = view.tip;
  if (tip === undefined || tip.index === 0n) return undefined;
  const span = tip.index < BigInt(MEAN_BLOCK_TIME_BLOCKS) ? tip.index : BigInt(MEAN_BLOCK_TIME_BLOCKS);
  const first = view.at(tip.index - span)!;
  if (tip.timestamp >= UNIX_SECONDS_LIMIT || first.timestamp >= UNIX_SECONDS_LIMIT) return undefined;
  let work = 0n;
  for (let height = first.index; height < tip.index; height++) work += targetWork(chain.targetAt(height)!);
  const seconds = tip.timestamp > first.timestamp ? tip.timestamp - first.timestamp : 0n;
  return { intervals: Number(span), seconds, work };
}
