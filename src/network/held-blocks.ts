/**
 * Blocks peers sent that are not on the chain (yet): side branches, whose
 * parent is on the chain or held here but which do not make the chain longer,
 * and orphans, whose parent is unknown. Two nodes that mine at one instant
 * each get the other's block as a side block; whichever branch grows first
 * is then adopted from what is held, with no download. An orphan waits here
 * while its ancestors are fetched, or until they arrive by themselves (posts
 * from several peers overtake each other).
 *
 * Bounded in blocks and in data characters, in total and per sender; the
 * oldest go first. Blocks far below the tip are dropped as the chain grows.
 */
import type { Block } from '../block.js';

export interface HeldBlocksOptions {
  /** Most blocks held. */
  readonly maxBlocks: number;
  /** Most characters of block data held, all blocks together. */
  readonly maxDataChars: number;
  /** Most blocks held from one sender. */
  readonly maxPerSender: number;
  /** Blocks more than this far below the tip are dropped (they cannot win a fork any more). */
  readonly maxDepth: number;
}

export const defaultHeldBlocksOptions: HeldBlocksOptions = {
  maxBlocks: 256,
  maxDataChars: 8 * 1024 * 1024,
  maxPerSender: 64,
  maxDepth: 64,
};

interface Held {
  readonly block: Block;
  readonly sender: string;
}

export class HeldBlocks {
  readonly #options: HeldBlocksOptions;
  /** By hash, oldest first (a Map keeps insertion order). */
  readonly #byHash = new Map<string, Held>();
  readonly #byParent = new Map<string, Set<string>>();
  readonly #perSender = new Map<string, number>();
  #dataChars = 0;

  constructor(options: HeldBlocksOptions = defaultHeldBlocksOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#byHash.size;
  }

  has(hash: string): boolean {
    return this.#byHash.has(hash);
  }

  /** Holds `block` (from `sender`), making room by dropping the oldest; false when it is held already (or alone too big). */
  add(block: Block, sender: string): boolean {
    if (this.#byHash.has(block.hash) || block.data.length > this.#options.maxDataChars) return false;
    const fromSender = this.#perSender.get(sender) ?? 0;
    if (fromSender >= this.#options.maxPerSender) this.#dropOldest((held) => held.sender === sender);
    while (this.#byHash.size > 0 && (this.#byHash.size >= this.#options.maxBlocks || this.#dataChars + block.data.length > this.#options.maxDataChars)) {
      this.#dropOldest(() => true);
    }
    this.#byHash.set(block.hash, { block, sender });
    let siblings = this.#byParent.get(block.prevHash);
    if (siblings === undefined) {
      siblings = new Set();
      this.#byParent.set(block.prevHash, siblings);
    }
    siblings.add(block.hash);
    this.#perSender.set(sender, (this.#perSender.get(sender) ?? 0) + 1);
    this.#dataChars += block.data.length;
    return true;
  }

  /** `block` and its held ancestors, oldest first: the first one's parent is not held. */
  branchTo(block: Block): Block[] {
    const branch = [block];
    for (let parent = this.#byHash.get(block.prevHash); parent !== undefined; parent = this.#byHash.get(parent.block.prevHash)) {
      branch.push(parent.block);
      // A cycle cannot happen with real hashes; the bound keeps a forged one from looping.
      if (branch.length > this.#byHash.size) break;
    }
    return branch.reverse();
  }

  /** The longest run of held blocks that follows the block with `hash`, oldest first (empty when none does). */
  longestAfter(hash: string): Block[] {
    let best: Block[] = [];
    // Depth-first over the held descendants; their number is bounded by maxBlocks.
    const stack: Array<{ hash: string; path: Block[] }> = [{ hash, path: [] }];
    while (stack.length > 0) {
      const { hash: at, path } = stack.pop()!;
      if (path.length > best.length) best = path;
      for (const child of this.#byParent.get(at) ?? []) {
        const held = this.#byHash.get(child);
        if (held !== undefined && path.length < this.#byHash.size) stack.push({ hash: child, path: [...path, held.block] });
      }
    }
    return best;
  }

  /** Stops holding the blocks with these hashes (they are on the chain now). */
  delete(hashes: Iterable<string>): void {
    for (const hash of hashes) {
      const held = this.#byHash.get(hash);
      if (held !== undefined) this.#remove(held);
    }
  }

  /** Drops blocks more than maxDepth below `height`. */
  prune(height: bigint): void {
    const floor = height - BigInt(this.#options.maxDepth);
    for (const held of [...this.#byHash.values()]) if (held.block.index < floor) this.#remove(held);
  }

  #dropOldest(which: (held: Held) => boolean): void {
    for (const held of this.#byHash.values()) {
      if (which(held)) {
        this.#remove(held);
        return;
      }
    }
  }

  #remove(held: Held): void {
    const { block, sender } = held;
    this.#byHash.delete(block.hash);
    const siblings = this.#byParent.get(block.prevHash);
    siblings?.delete(block.hash);
    if (siblings?.size === 0) this.#byParent.delete(block.prevHash);
    const count = (this.#perSender.get(sender) ?? 1) - 1;
    if (count === 0) this.#perSender.delete(sender);
    else this.#perSender.set(sender, count);
    this.#dataChars -= block.data.length;
  }
}
