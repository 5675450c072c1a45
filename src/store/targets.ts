/**
 * The target each block met, for a chain with a target block time: a
 * block's target follows from the targets and timestamps of the blocks
 * before it, so it is recorded when the block is, and a check or a reorg
 * deep in the chain reads it instead of recomputing the chain from block 0.
 * Kept like the log's chunks (chunks.ts): one value per 64 heights, the
 * targets of its heights back to back, 32 bytes each, big-endian.
 */
import type { Database, Transaction } from 'lmdb';
import { chunkKey, chunkOf, slotOf } from './chunks.js';

const TARGET_BYTES = 32;

export class TargetTable {
  readonly #table: Database<Buffer, Buffer>;

  constructor(table: Database<Buffer, Buffer>) {
    this.#table = table;
  }

  /** The target of the block at `height`; undefined when none is recorded. */
  at(height: bigint, transaction?: Transaction): bigint | undefined {
    const value = this.#table.get(chunkKey(chunkOf(height)), transaction === undefined ? undefined : { transaction });
    const at = slotOf(height) * TARGET_BYTES;
    if (value === undefined || value.length < at + TARGET_BYTES) return undefined;
    return BigInt(`0x${value.toString('hex', at, at + TARGET_BYTES)}`);
  }

  /**
   * Inside a write transaction: the targets of heights from `from` on
   * become `targets`, and those of heights past them up to `oldLength` are
   * removed.
   */
  replace(from: bigint, oldLength: bigint, targets: readonly bigint[]): void {
    const first = chunkOf(from);
    const kept = this.#table.get(chunkKey(first))?.subarray(0, slotOf(from) * TARGET_BYTES) ?? Buffer.alloc(0);
    let chunk = first;
    let parts: Buffer[] = [kept];
    const flush = () => {
      const value = Buffer.concat(parts);
      if (value.length > 0) this.#table.putSync(chunkKey(chunk), value);
      else this.#table.removeSync(chunkKey(chunk));
    };
    for (const [i, target] of targets.entries()) {
      const height = from + BigInt(i);
      if (chunkOf(height) !== chunk) {
        flush();
        chunk = chunkOf(height);
        parts = [];
      }
      parts.push(Buffer.from(target.toString(16).padStart(TARGET_BYTES * 2, '0'), 'hex'));
    }
    flush();
    const last = oldLength > 0n ? chunkOf(oldLength - 1n) : -1n;
    for (let gone = chunk + 1n; gone <= last; gone++) this.#table.removeSync(chunkKey(gone));
  }
}
