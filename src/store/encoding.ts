/**
 * How blocks sit in the database. Keys: heights as 8-byte big-endian
 * unsigned integers (so LMDB's byte order is height order) and hashes as
 * their 32 raw bytes. Values: the block file's exact bytes (output form, one
 * line), so the jbc mirror and the export copy them unchanged and a block
 * reads back exactly, big integers included.
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

export function hashKey(hash: string): Buffer {
  return Buffer.from(hash, 'hex');
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
