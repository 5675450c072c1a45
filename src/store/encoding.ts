/**
 * How blocks are keyed and stored. Keys: heights as 8-byte big-endian
 * unsigned integers (so LMDB's byte order is height order), and the hash
 * index's keys below. A block is stored as the block file's exact bytes
 * (output form, one line), so the jbc mirror and the export copy them
 * unchanged and a block reads back exactly, big integers included.
 */
import { parseBlock, type Block } from '../block.js';
import { ErrorCode, JbcError } from '../errors.js';
import { serializeBlock } from './jbc-files.js';

const MAX_HEIGHT = 2n ** 64n - 1n;

export function heightKey(height: bigint): Buffer {
  if (height < 0n || height > MAX_HEIGHT) {
    throw new JbcError(ErrorCode.INVALID_CHAIN, `block index ${height} is beyond what the store holds (2^64 - 1)`, { index: String(height) });
  }
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(height);
  return key;
}

/** True when a height fits a key; larger indexes are never stored, so they are simply absent. */
export function isStorableHeight(height: bigint): boolean {
  return height >= 0n && height <= MAX_HEIGHT;
}

/**
 * Bytes of a block hash that key the hash index: its last ones, since proof
 * of work makes the first ones zeros. With the height after them a key is 16
 * bytes and needs no value, half the room of a whole hash pointing at a
 * height. Blocks whose hashes end alike (anyone can make two such blocks
 * with about 2^32 hashes) are told apart by reading them.
 */
export const HASH_TAG_BYTES = 8;

function hashTag(hash: string): Buffer {
  return Buffer.from(hash.slice(-2 * HASH_TAG_BYTES), 'hex');
}

/** The hash index's key for a block: the last bytes of its hash, then its height. */
export function hashIndexKey(hash: string, height: bigint): Buffer {
  return Buffer.concat([hashTag(hash), heightKey(height)]);
}

/** The keys (inclusive) of every block whose hash ends like `hash`. */
export function hashIndexRange(hash: string): { start: Buffer; end: Buffer } {
  const tag = hashTag(hash);
  return { start: Buffer.concat([tag, Buffer.alloc(8, 0)]), end: Buffer.concat([tag, Buffer.alloc(8, 0xff)]) };
}

/** The height a hash index key ends with. */
export function heightOfHashIndexKey(key: Buffer): bigint {
  return key.readBigUInt64BE(HASH_TAG_BYTES);
}

export function encodeBlock(block: Block): Buffer {
  return Buffer.from(serializeBlock(block), 'utf8');
}

/**
 * The stored bytes back to a block. Every value in them is a JSON string, so
 * plain JSON.parse loses nothing; parseBlock turns the integers into bigints.
 */
export function decodeBlock(bytes: Uint8Array, where: string): Block {
  try {
    return parseBlock(JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')));
  } catch (err) {
    throw new JbcError(ErrorCode.STORE_CORRUPT, `${where} does not hold a readable block`, { where }, { cause: err });
  }
}
