/**
 * Valid chains at a low difficulty, fast: node:crypto SHA-256 in a plain loop
 * (about 16 tries per block at difficulty 1). Used by the storage benches and
 * by the store's crash tests, which need tens of thousands of real blocks.
 */
import { createHash } from 'node:crypto';
import { blockHeader, type Block } from '../src/block.js';

export interface ChainGenOptions {
  /** Leading zero hex digits each hash needs. Default 1. */
  readonly difficulty?: number;
  /** The block the generated ones continue; default: start a chain at block 0. */
  readonly after?: Block;
  /** Put in every block's data, so two forks from one parent differ. Default 'bench'. */
  readonly tag?: string;
  /** Bytes of data per block; the default gives blocks of about 300 bytes in output form. Default 100. */
  readonly dataBytes?: number;
  /**
   * Seconds between consecutive timestamps. Default 1. A chain whose
   * timestamps are its target block time apart keeps the easiest target
   * under that rule, so it is as quick to make as a fixed-difficulty one.
   */
  readonly secondsApart?: number;
}

export const defaultChainGenOptions = { difficulty: 1, tag: 'bench', dataBytes: 100, secondsApart: 1 } as const;

/** `count` blocks, each linked to the one before, valid at the difficulty. Lazy: O(1) memory. */
export function* generateChain(count: number, options: ChainGenOptions = {}): Generator<Block> {
  const difficulty = options.difficulty ?? defaultChainGenOptions.difficulty;
  const tag = options.tag ?? defaultChainGenOptions.tag;
  const dataBytes = options.dataBytes ?? defaultChainGenOptions.dataBytes;
  const apart = BigInt(options.secondsApart ?? defaultChainGenOptions.secondsApart);
  const zeros = '0'.repeat(difficulty);
  let prev = options.after;
  for (let i = 0; i < count; i++) {
    const index = prev === undefined ? 0n : prev.index + 1n;
    const head = `${tag} block #${index} `;
    const template = {
      index,
      prevHash: prev?.hash ?? '',
      data: head + 'x'.repeat(Math.max(0, dataBytes - head.length)),
      timestamp: 1_700_000_000n + index * apart,
    };
    let block: Block | undefined;
    for (let nonce = 0n; block === undefined; nonce++) {
      const hash = createHash('sha256').update(blockHeader(template, nonce)).digest('hex');
      if (hash.startsWith(zeros)) block = Object.freeze({ ...template, nonce, hash });
    }
    yield block;
    prev = block;
  }
}

/** The generator's blocks in arrays of at most `size`, for batched commits. */
export function* inBatches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
