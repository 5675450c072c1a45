/**
 * The chain rule: which target each block must meet and which timestamps it
 * may carry. jbc's rule is a fixed number of leading zeros. With a target
 * block time, each block's target follows from the blocks before it, so the
 * block rate stays put whatever hash rate the network has. Pure: no I/O; the
 * clock is an argument.
 */
import type { Block } from './block.js';
import { formatUint } from './codec.js';
import { ErrorCode, JbcError } from './errors.js';
import { HASH_SPACE, hashValue, targetHex, targetWork, zerosTarget } from './target.js';

export interface ChainRule {
  /** Leading '0' hex digits every block needs: jbc's rule, and the easiest target a retargeted block may have. */
  readonly difficulty: number;
  /** Milliseconds between blocks that the target aims at; 0 keeps jbc's fixed difficulty. */
  readonly targetBlockTimeMs: number;
}

/** Blocks whose intervals set the next target. */
export const RETARGET_WINDOW = 60;
/** An interval counts for at most this many target block times, so a gap (or a timestamp far ahead) moves the target one bounded step. */
export const MAX_INTERVAL_FACTOR = 6n;
/** A block's target is within this factor of its parent's, either way. */
export const MAX_STEP_FACTOR = 2n;
/** A timestamp must be later than the median of this many blocks before it. */
export const MEDIAN_SPAN = 11;
/** A timestamp may be at most this far ahead of the checking node's clock. */
export const MAX_FUTURE_SECONDS = 15n;
/**
 * A miner stamps its own blocks at most this far ahead of its clock: a
 * third of what peers accept, so a peer whose clock is a few seconds behind
 * still takes them.
 */
export const MAX_OWN_AHEAD_SECONDS = 5n;
/** Unix seconds below this (the year 5138): larger values are milliseconds, or jbc's 20-digit date-times. */
const UNIX_SECONDS_LIMIT = 100_000_000_000n;

/** jbc's rule: every block needs `difficulty` leading zeros, whenever it came. */
export function fixedRule(difficulty: number): ChainRule {
  return { difficulty, targetBlockTimeMs: 0 };
}

/** True when the rule retargets (a target block time is set). */
export function retargets(rule: ChainRule): boolean {
  return rule.targetBlockTimeMs > 0;
}

/** The easiest target the rule allows: `difficulty` leading zeros. */
export function baseTarget(rule: ChainRule): bigint {
  return zerosTarget(rule.difficulty);
}

/** What the rule needs of an ancestor: its timestamp and the target it met. */
export interface Stamp {
  readonly timestamp: bigint;
  readonly target: bigint;
}

/**
 * The last blocks of a branch and what follows from them: the target of the
 * next block, the median of the recent timestamps, the work and time of the
 * window. Built from a branch's newest blocks (`TargetTrail.from`), then
 * extended block by block (`push`) at constant cost, so checking or
 * recording a million blocks never reaches back to block 0.
 */
export class TargetTrail {
  readonly rule: ChainRule;
  /** Height of the next block. */
  #height: bigint;
  /** The newest blocks, oldest first, with their targets' work: up to RETARGET_WINDOW + 1 of them. */
  readonly #recent: Array<Stamp & { readonly work: bigint; readonly seconds: number }> = [];
  /** Sum of the clamped intervals between the blocks of #recent, ms. */
  #span = 0n;
  /** Sum of the work of #recent but the newest: the blocks whose mining those intervals timed. */
  #work = 0n;
  readonly #base: bigint;

  private constructor(rule: ChainRule, height: bigint) {
    this.rule = rule;
    this.#height = height;
    this.#base = baseTarget(rule);
  }

  /**
   * The trail after `recent`, the newest blocks of a branch (oldest first,
   * the last one the tip), which end at height `nextHeight - 1`. More than
   * RETARGET_WINDOW + 1 of them are not needed; fewer only near block 0.
   */
  static from(rule: ChainRule, recent: readonly Stamp[], nextHeight: bigint): TargetTrail {
    const trail = new TargetTrail(rule, nextHeight - BigInt(recent.length));
    for (const stamp of recent.slice(-(RETARGET_WINDOW + 1))) trail.#add(stamp);
    trail.#height = nextHeight;
    return trail;
  }

  /** How many of the newest blocks `from` wants. */
  static get depth(): number {
    return Math.max(RETARGET_WINDOW + 1, MEDIAN_SPAN);
  }

  /** Height of the next block. */
  get height(): bigint {
    return this.#height;
  }

  /** The target the next block must meet. */
  get target(): bigint {
    if (!retargets(this.rule) || this.#height <= 1n || this.#recent.length < 2) return this.#base;
    const parent = this.#recent.at(-1)!.target;
    const interval = BigInt(this.rule.targetBlockTimeMs);
    // The window's hash rate (work / span) times the interval is the work a block should take.
    let target = (HASH_SPACE * this.#span) / (interval * this.#work) - 1n;
    const hardest = parent / MAX_STEP_FACTOR;
    const easiest = parent * MAX_STEP_FACTOR;
    if (target < hardest) target = hardest;
    if (target > easiest) target = easiest;
    if (target > this.#base) target = this.#base;
    return target < 1n ? 1n : target;
  }

  /** The median timestamp of the last MEDIAN_SPAN blocks; undefined before block 0. */
  get medianTime(): bigint | undefined {
    const recent = this.#recent.slice(-MEDIAN_SPAN);
    if (recent.length === 0) return undefined;
    // Unix seconds are exact as doubles; eleven of them sort fastest by insertion.
    const stamps: number[] = [];
    for (const { seconds } of recent) {
      let at = stamps.length;
      while (at > 0 && stamps[at - 1]! > seconds) at--;
      stamps.splice(at, 0, seconds);
    }
    return BigInt(stamps[Math.floor(stamps.length / 2)]!);
  }

  /**
   * Throws INVALID_BLOCK unless `block`, the next block of the branch, meets
   * the next target and (when the rule retargets) carries a timestamp the
   * rule allows at `nowSeconds`; then extends the trail with it and returns
   * the target it met. `nowSeconds` undefined skips the clock (blocks read
   * back from the node's own store).
   */
  push(block: Block, nowSeconds?: bigint): bigint {
    const target = this.target;
    if (retargets(this.rule)) checkTimestamp(block, this.medianTime, nowSeconds);
    if (hashValue(block.hash) > target) {
      throw new JbcError(ErrorCode.INVALID_BLOCK, `block ${block.index} hash is above its target ${targetHex(target)}`, {
        index: formatUint(block.index),
        reason: 'above-target',
        target: targetHex(target),
      });
    }
    this.#add({ timestamp: block.timestamp, target });
    this.#height++;
    return target;
  }

  /** A copy that can be extended without changing this one. */
  clone(): TargetTrail {
    const copy = new TargetTrail(this.rule, this.#height);
    copy.#recent.push(...this.#recent);
    copy.#span = this.#span;
    copy.#work = this.#work;
    return copy;
  }

  #add(stamp: Stamp): void {
    // Under jbc's rule nothing here is asked for: the trail stays empty.
    if (!retargets(this.rule)) return;
    const previous = this.#recent.at(-1);
    if (previous !== undefined) {
      this.#span += this.#interval(previous, stamp);
      this.#work += previous.work;
    }
    this.#recent.push({ timestamp: stamp.timestamp, target: stamp.target, work: targetWork(stamp.target), seconds: Number(stamp.timestamp) });
    if (this.#recent.length > RETARGET_WINDOW + 1) {
      const [dropped, next] = this.#recent;
      this.#span -= this.#interval(dropped!, next!);
      this.#work -= dropped!.work;
      this.#recent.shift();
    }
  }

  /** The time between two blocks' timestamps, ms, held to 0 .. MAX_INTERVAL_FACTOR target block times. */
  #interval(from: Stamp, to: Stamp): bigint {
    const ms = (to.timestamp - from.timestamp) * 1000n;
    const most = MAX_INTERVAL_FACTOR * BigInt(this.rule.targetBlockTimeMs);
    return ms < 0n ? 0n : ms > most ? most : ms;
  }
}

/**
 * Throws INVALID_BLOCK unless the block's timestamp is Unix seconds, later
 * than `medianTime` (the median of the blocks before it), and at most
 * MAX_FUTURE_SECONDS past `nowSeconds` (when given).
 */
function checkTimestamp(block: Block, medianTime: bigint | undefined, nowSeconds: bigint | undefined): void {
  const { timestamp } = block;
  const fail = (reason: string, message: string) =>
    new JbcError(ErrorCode.INVALID_BLOCK, `block ${block.index} ${message}`, { index: formatUint(block.index), reason, timestamp: formatUint(timestamp) });
  if (timestamp >= UNIX_SECONDS_LIMIT) {
    const digits = formatUint(timestamp).length;
    const looks = digits === 20 ? "jbc's date-time form (YYYYmmddHHMMSSffffff)" : digits === 13 ? 'milliseconds' : 'not Unix seconds';
    throw fail('timestamp-format', `timestamp ${timestamp} is ${looks}; a chain with a target block time takes Unix seconds`);
  }
  if (medianTime !== undefined && timestamp <= medianTime) {
    throw fail('timestamp-too-old', `timestamp ${timestamp} is not later than ${medianTime}, the median of the ${MEDIAN_SPAN} blocks before it`);
  }
  if (nowSeconds !== undefined && timestamp > nowSeconds + MAX_FUTURE_SECONDS) {
    throw fail('timestamp-too-new', `timestamp ${timestamp} is more than ${MAX_FUTURE_SECONDS} s ahead of this node's clock (${nowSeconds})`);
  }
}

/** The timestamp for a block mined now on top of `trail`: now, or just past the median when the clock is behind it. */
export function miningTimestamp(trail: TargetTrail, nowSeconds: bigint): bigint {
  const median = retargets(trail.rule) ? trail.medianTime : undefined;
  return median !== undefined && nowSeconds <= median ? median + 1n : nowSeconds;
}

/**
 * The clock (Unix seconds) a miner must have reached before it stamps a
 * block on `trail`: the median rule puts the block at least a second past
 * the median of the 11 before it, and while blocks come faster than a
 * second apart (the first blocks of a chain, before the target has caught
 * up with the hash rate) that runs ahead of the clock. Past
 * MAX_OWN_AHEAD_SECONDS the miner waits instead, or its peers would refuse
 * the block. 0n when any clock will do.
 */
export function earliestMiningSecond(trail: TargetTrail): bigint {
  const median = retargets(trail.rule) ? trail.medianTime : undefined;
  return median === undefined ? 0n : median + 1n - MAX_OWN_AHEAD_SECONDS;
}

/** Unix seconds now. */
export function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}
