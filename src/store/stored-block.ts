/**
 * A block read back from the log is checked before anyone sees it: the log
 * is a plain file that a disk, a copy or an editor can change under the
 * database, and a node that served or mined on a changed block would hand
 * its peers a chain they all refuse. The check is what a block's own fields
 * promise: its index is the height the database has it at, its hash is the
 * SHA-256 of its contents and has the chain's leading zeros, and it links to
 * the block below it. Any changed byte of a block breaks one of these.
 */
import { computeHash, type Block } from '../block.js';
import { formatUint } from '../codec.js';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import { meetsDifficulty } from '../hash.js';
import { decodeBlock } from './encoding.js';

/** What a stored block should be: where the database has it and what it must link to (undefined: not known to this read). */
export interface StoredPlace {
  readonly height: bigint;
  readonly difficulty: number;
  readonly parentHash: string | undefined;
}

/** Why a stored block was refused; undefined when it is sound. */
export function storedBlockProblem(block: Block, place: StoredPlace): string | undefined {
  if (block.index !== place.height) return `it says it is block ${formatUint(block.index)}`;
  if (computeHash(block, block.nonce) !== block.hash) return 'its hash does not match its contents';
  if (!meetsDifficulty(block.hash, place.difficulty)) return `its hash lacks ${place.difficulty} leading zeros`;
  if (place.parentHash !== undefined && block.prevHash !== place.parentHash) return `it does not link to block ${place.height - 1n}`;
  return undefined;
}

/**
 * The block in a stored line, checked. Throws STORE_CORRUPT naming the
 * height (`data.height`, decimal) when the line is not a readable block
 * or the block is not sound.
 */
export function readStoredBlock(line: Uint8Array, place: StoredPlace, dir: string): Block {
  let block: Block;
  try {
    block = decodeBlock(line, `block ${place.height} of ${dir}`);
  } catch (err) {
    throw damagedBlock(dir, place.height, 'it is not a readable block', err);
  }
  const problem = storedBlockProblem(block, place);
  if (problem !== undefined) throw damagedBlock(dir, place.height, problem);
  return block;
}

export function damagedBlock(dir: string, height: bigint, reason: string, cause?: unknown): JbcError {
  return new JbcError(
    ErrorCode.STORE_CORRUPT,
    `block ${height} of ${dir} is damaged: ${reason}`,
    { dir, height: formatUint(height), reason },
    cause === undefined ? undefined : { cause },
  );
}

/** The height of a damaged stored block that `err` reports; undefined for any other error. */
export function damagedHeight(err: unknown): bigint | undefined {
  if (!isJbcError(err, ErrorCode.STORE_CORRUPT)) return undefined;
  const height = err.data.height;
  return typeof height === 'string' ? BigInt(height) : undefined;
}
