/**
 * The chain: an ordered list of blocks linked by prev_hash, with constant-time
 * lookup by index and by hash, the chain validity rules and the
 * fork-choice rule. Pure: no I/O.
 */
import { checkBlock, blocksEqual, type Block } from './block.js';
import { formatUint } from './codec.js';
import { ErrorCode, JbcError } from './errors.js';
import { TargetTrail, type ChainRule } from './retarget.js';

/**
 * The read side of a chain: what the HTTP routes, the sync and the miner ask
 * of it. Reads are synchronous; the chain database provides it, and so do the
 * in-memory `Chain` and a view held at one length (`snapshotOf`).
 */
export interface ChainView {
  /** Number of blocks. */
  readonly length: number;
  /** Index of the tip; -1n for the empty chain. */
  readonly height: bigint;
  /** The last block, or undefined for the empty chain. */
  readonly tip: Block | undefined;
  at(index: bigint): Block | undefined;
  findByHash(hash: string): Block | undefined;
  /** Blocks `from` .. `from + limit - 1` that exist. */
  range(from: bigint, limit: number): Block[];
}

export class Chain implements Iterable<Block>, ChainView {
  readonly #blocks: Block[];
  readonly #byHash = new Map<string, Block>();

  /**
   * Holds `blocks` as given, with linkage checked (index and prev_hash) but
   * not proof of work; use `verifyChain` first for blocks from outside.
   */
  constructor(blocks: Iterable<Block> = []) {
    this.#blocks = [];
    for (const block of blocks) this.append(block);
  }

  get length(): number {
    return this.#blocks.length;
  }

  /** The last block, or undefined for the empty chain. */
  get tip(): Block | undefined {
    return this.#blocks.at(-1);
  }

  /** Index of the tip; -1n for the empty chain. */
  get height(): bigint {
    return BigInt(this.#blocks.length) - 1n;
  }

  at(index: bigint): Block | undefined {
    return index >= 0n && index < BigInt(this.#blocks.length) ? this.#blocks[Number(index)] : undefined;
  }

  findByHash(hash: string): Block | undefined {
    return this.#byHash.get(hash);
  }

  /** Blocks `from` .. `from + limit - 1` that exist. */
  range(from: bigint, limit: number): Block[] {
    if (from < 0n || from >= BigInt(this.#blocks.length) || limit <= 0) return [];
    const start = Number(from);
    return this.#blocks.slice(start, start + limit);
  }

  toArray(): readonly Block[] {
    return this.#blocks.slice();
  }

  [Symbol.iterator](): Iterator<Block> {
    return this.#blocks[Symbol.iterator]();
  }

  /** Same blocks in the same order. */
  equals(other: Chain): boolean {
    if (other.length !== this.length) return false;
    return this.#blocks.every((block, i) => blocksEqual(block, other.#blocks[i]!));
  }

  /** Chains order by length alone (at a fixed difficulty, length is work). */
  compareLength(other: Chain): number {
    return Math.sign(this.length - other.length);
  }

  /** True when `block` would be the next block: next index, linked to the tip. */
  extendsTip(block: Block): boolean {
    return extendsTip(this, block);
  }

  /** Appends a block that extends the tip; throws NOT_EXTENDING_TIP otherwise. */
  append(block: Block): void {
    if (!this.extendsTip(block)) {
      const tip = this.tip;
      throw new JbcError(
        ErrorCode.NOT_EXTENDING_TIP,
        tip === undefined
          ? `block ${block.index} cannot start a chain: the first block must have index 0 and an empty prev_hash`
          : `block ${block.index} does not extend tip ${tip.index} (${tip.hash.slice(0, 12)}…)`,
        { index: formatUint(block.index), tip: tip ? formatUint(tip.index) : null },
      );
    }
    this.#blocks.push(block);
    this.#byHash.set(block.hash, block);
  }

  /** The chain's first `length` blocks, as a new chain. */
  prefix(length: number): Chain {
    return new Chain(this.#blocks.slice(0, Math.max(0, length)));
  }
}

/**
 * `view` at the length it has now: blocks appended later do not show. Reads
 * below that length go to `view` itself, so after a reorg they see the new
 * chain's blocks; whoever acts on what it read must re-check against the
 * chain as it is then (the chain state's adopt does).
 */
export function snapshotOf(view: ChainView): ChainView {
  return new ChainSnapshot(view, view.length);
}

/** True when `block` would be the next block of `view`: next index, linked to the tip. */
export function extendsTip(view: ChainView, block: Block): boolean {
  const tip = view.tip;
  return tip === undefined ? block.index === 0n && block.prevHash === '' : block.index === tip.index + 1n && block.prevHash === tip.hash;
}

class ChainSnapshot implements ChainView {
  readonly #chain: ChainView;
  readonly length: number;

  constructor(chain: ChainView, length: number) {
    this.#chain = chain;
    this.length = length;
  }

  get height(): bigint {
    return BigInt(this.length) - 1n;
  }

  get tip(): Block | undefined {
    return this.at(this.height);
  }

  at(index: bigint): Block | undefined {
    return index < BigInt(this.length) ? this.#chain.at(index) : undefined;
  }

  findByHash(hash: string): Block | undefined {
    const block = this.#chain.findByHash(hash);
    return block !== undefined && block.index < BigInt(this.length) ? block : undefined;
  }

  range(from: bigint, limit: number): Block[] {
    const end = BigInt(this.length);
    if (from >= end) return [];
    return this.#chain.range(from, Math.min(limit, Number(end - from)));
  }
}

/**
 * Throws INVALID_CHAIN (with the offending index and the reason) unless
 * `blocks` continue `base` by the chain rules: consecutive indexes, each
 * prev_hash the previous hash, every block valid at `difficulty`. With no
 * base, the blocks must start a chain at index 0 with an empty prev_hash.
 */
export function verifySegment(base: Block | undefined, blocks: readonly Block[], difficulty: number): void {
  let prev = base;
  for (const block of blocks) {
    const where = { index: formatUint(block.index) };
    if (prev === undefined) {
      if (block.index !== 0n) throw chainError(`first block has index ${block.index}, not 0`, where, 'bad-index');
      if (block.prevHash !== '') throw chainError('block 0 must have an empty prev_hash', where, 'bad-link');
    } else {
      if (block.index !== prev.index + 1n) {
        throw chainError(`block ${block.index} follows block ${prev.index}`, where, 'bad-index');
      }
      if (block.prevHash !== prev.hash) {
        throw chainError(`block ${block.index} prev_hash is not the hash of block ${prev.index}`, where, 'bad-link');
      }
    }
    try {
      checkBlock(block, difficulty);
    } catch (err) {
      if (err instanceof JbcError && err.code === ErrorCode.INVALID_BLOCK) {
        throw new JbcError(ErrorCode.INVALID_CHAIN, err.message, { ...err.data, ...where }, { cause: err });
      }
      throw err;
    }
    prev = block;
  }
}

/** Throws INVALID_CHAIN unless `blocks` form a valid chain from block 0 (the empty list is valid). */
export function verifyChain(blocks: readonly Block[], difficulty: number): void {
  verifySegment(undefined, blocks, difficulty);
}

export function isValidChain(blocks: readonly Block[], difficulty: number): boolean {
  try {
    verifyChain(blocks, difficulty);
    return true;
  } catch (err) {
    if (err instanceof JbcError && err.code === ErrorCode.INVALID_CHAIN) return false;
    throw err;
  }
}

export interface PrefixResult {
  /** The longest run from block 0 that is a valid chain. */
  readonly valid: Block[];
  /** Why the block after the valid run was rejected, when there is one. */
  readonly rejected?: { readonly block: Block; readonly error: JbcError };
}

/** The longest prefix of `blocks` (already in index order) that is a valid chain by `rule`, timestamps checked without a clock. */
export function longestValidPrefix(blocks: readonly Block[], rule: ChainRule): PrefixResult {
  const valid: Block[] = [];
  const trail = TargetTrail.from(rule, [], 0n);
  for (const block of blocks) {
    try {
      verifySegment(valid.at(-1), [block], rule.difficulty);
      trail.push(block);
    } catch (err) {
      if (err instanceof JbcError && (err.code === ErrorCode.INVALID_CHAIN || err.code === ErrorCode.INVALID_BLOCK)) {
        return { valid, rejected: { block, error: err } };
      }
      throw err;
    }
    valid.push(block);
  }
  return { valid };
}

/**
 * Fork choice: adopt `candidate` only when it is strictly longer
 * than `current` and valid. Ties keep the chain the node has. Throws
 * INVALID_CHAIN for a longer candidate that is invalid, so callers can report
 * the peer; returns false for one that is not longer.
 */
export function shouldAdopt(current: ChainView, candidate: readonly Block[], difficulty: number): boolean {
  if (candidate.length <= current.length) return false;
  verifyChain(candidate, difficulty);
  return true;
}

function chainError(message: string, data: Record<string, unknown>, reason: string): JbcError {
  return new JbcError(ErrorCode.INVALID_CHAIN, message, { ...data, reason });
}
