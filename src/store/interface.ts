/** The types the node and its tools depend on; implementations live beside this file. */
import type { Block } from '../block.js';
import type { JbcError } from '../errors.js';
import type { ChainView } from '../chain.js';
import type { EntryStore } from './entry-index.js';
import type { QuarantinedFile } from './jbc-files.js';
import type { ChainRule, TargetTrail } from '../retarget.js';

export type { ChainView };

/** The stored chain: synchronous reads, transactional writes. */
export interface ChainStore extends ChainView, EntryStore {
  /** The data directory, as given. */
  readonly dir: string;
  /** The chain's difficulty, as recorded in the directory. */
  readonly difficulty: number;
  /** The chain rule recorded in the directory: its difficulty and target block time. */
  readonly rule: ChainRule;
  /** The target block `index` met; undefined past the tip. */
  targetAt(index: bigint): bigint | undefined;
  /** The chain's cumulative work: the sum over its blocks of 2^256 / (target + 1). */
  readonly work: bigint;
  /** What a block at `height` (at most the length) must meet, from the blocks below it. */
  trailAt(height: bigint): TargetTrail;
  /**
   * One transaction: blocks at index >= forkPoint are dropped and `blocks`
   * (starting at index forkPoint, linked to block forkPoint - 1) take their
   * place. Resolves once durable. Checks linkage, not proof of work: verify
   * blocks from outside first. Throws NOT_EXTENDING_TIP when blocks[0] does
   * not fit, INVALID_CHAIN when the blocks do not link to each other.
   * `targets`, when given, are the blocks' targets as the caller checked
   * them by the store's rule; otherwise the store works them out (and
   * refuses a block that misses its target).
   */
  commit(forkPoint: bigint, blocks: readonly Block[], targets?: readonly bigint[]): Promise<void>;
  /** commit(length, [block], target && [target]). */
  append(block: Block, target?: bigint): Promise<void>;
  /**
   * Blocks from `from` (default 0) to the tip, in order, read from one
   * snapshot taken when iteration starts: later commits do not show, and
   * memory stays bounded however long the chain. Finish or break the loop:
   * an abandoned iterator holds its snapshot open.
   */
  iterate(from?: bigint): Iterable<Block>;
  /** `iterate`, with each block as its output-form JSON text (no decoding): for serving and exporting. */
  iterateJson(from?: bigint): Iterable<string>;
  /**
   * Every read checks the block it reads (its contents against its hash,
   * its index, its link to the block below) and throws STORE_CORRUPT with
   * `data.height` for a damaged one. `listener` hears of each, once per
   * height below any found before; returns a function that unsubscribes.
   */
  onDamage(listener: (damage: JbcError) => void): () => void;
  close(): Promise<void>;
}

/** What opening a data directory found and did. */
export interface OpenReport {
  /** Blocks imported from jbc block files (first open of a jbc directory); 0 otherwise. */
  readonly imported: number;
  /** Files moved to `<dir>/quarantine/`, with the reason. */
  readonly quarantined: readonly QuarantinedFile[];
  /** Block files rewritten because the jbc mirror lagged the database. */
  readonly mirrorRepaired: number;
  /** Set when a damaged block at or below the tip made opening cut the chain back below it. */
  readonly cutBack?: CutBack;
}

export interface CutBack {
  /** The lowest damaged height: the chain now has this many blocks. */
  readonly height: bigint;
  readonly reason: string;
  /** Blocks the chain had above the cut. */
  readonly abandoned: number;
}
