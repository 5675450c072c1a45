/**
 * The block: parsing from jbc JSON (strings or numbers), the canonical output
 * form, the header and its hash, and validity at a difficulty. Pure: no I/O,
 * no clock, no logging.
 */
import { describeType, formatUint, isJsonObject, malformed, parseUint, type JsonLimits } from './codec.js';
import { ErrorCode, JbcError } from './errors.js';
import { meetsDifficulty, sha256Hex } from './hash.js';

/** The fields a miner chooses before the nonce. */
export interface BlockTemplate {
  readonly index: bigint;
  readonly timestamp: bigint;
  readonly data: string;
  readonly prevHash: string;
}

export interface Block extends BlockTemplate {
  readonly nonce: bigint;
  /** The hash the block claims; `checkBlock` compares it with the recomputed one. */
  readonly hash: string;
}

/** Output form on disk and on the wire: every value a string, jbc's key names. */
export interface BlockJson {
  readonly index: string;
  readonly timestamp: string;
  readonly data: string;
  readonly prev_hash: string;
  readonly nonce: string;
  readonly hash: string;
}

const HASH = /^[0-9a-f]{64}$/;

/** True for a 64-character lowercase hex string, the form of every block hash. */
export function isHash(value: string): boolean {
  return HASH.test(value);
}

/**
 * What the JSON text of one block may hold before it is parsed: its six
 * fields, and room to spare for extra keys (which are dropped). A block
 * needs three numbers; a MiB of them would cost a hundred times its parse.
 */
export const BLOCK_JSON_LIMITS: JsonLimits = { maxNumbers: 64, maxValues: 256, maxDepth: 4 };

/**
 * A block from parsed JSON. Integers may be strings or numbers of any size;
 * unknown keys are dropped. Throws MALFORMED_BLOCK or MALFORMED_FIELD naming
 * the field. Does not check the hash: see `checkBlock`.
 */
export function parseBlock(input: unknown): Block {
  if (!isJsonObject(input)) {
    throw new JbcError(ErrorCode.MALFORMED_BLOCK, `a block must be a JSON object, got ${describeType(input)}`);
  }
  for (const field of ['index', 'timestamp', 'data', 'prev_hash', 'nonce', 'hash']) {
    if (!Object.hasOwn(input, field)) {
      throw new JbcError(ErrorCode.MALFORMED_BLOCK, `block is missing field ${field}`, { field });
    }
  }
  const { data, prev_hash: prevHash, hash } = input;
  if (typeof data !== 'string') throw malformed('data', `must be a string, got ${describeType(data)}`);
  // A lone surrogate (a JSON escape such as \ud800) hashes as U+FFFD, so two
  // different blocks would share a hash, and no UTF-8 peer could encode it.
  if (!data.isWellFormed()) throw malformed('data', 'is not well-formed Unicode (it holds a lone surrogate)');
  if (typeof prevHash !== 'string' || (prevHash !== '' && !isHash(prevHash))) {
    throw malformed('prev_hash', 'must be 64 lowercase hex characters or empty');
  }
  if (typeof hash !== 'string' || !isHash(hash)) throw malformed('hash', 'must be 64 lowercase hex characters');
  return Object.freeze({
    index: parseUint(input.index, 'index'),
    timestamp: parseUint(input.timestamp, 'timestamp'),
    data,
    prevHash,
    nonce: parseUint(input.nonce, 'nonce'),
    hash,
  });
}

export function blockToJson(block: Block): BlockJson {
  return {
    index: formatUint(block.index),
    timestamp: formatUint(block.timestamp),
    data: block.data,
    prev_hash: block.prevHash,
    nonce: formatUint(block.nonce),
    hash: block.hash,
  };
}

/**
 * The header up to the nonce: index + prev_hash + data + timestamp. Miners
 * hash this prefix once and append each nonce's digits.
 */
export function headerPrefix(template: BlockTemplate): string {
  return formatUint(template.index) + template.prevHash + template.data + formatUint(template.timestamp);
}

/** The full header jbc hashes: the prefix followed by the nonce's decimal digits. */
export function blockHeader(template: BlockTemplate, nonce: bigint): string {
  return headerPrefix(template) + formatUint(nonce);
}

export function computeHash(template: BlockTemplate, nonce: bigint): string {
  return sha256Hex(blockHeader(template, nonce));
}

/** A complete block from a template and a nonce, hash computed. */
export function sealBlock(template: BlockTemplate, nonce: bigint): Block {
  return Object.freeze({ ...template, nonce, hash: computeHash(template, nonce) });
}

/**
 * Largest block this node takes, as output-form JSON bytes, from anyone (a
 * post, a peer's page, a plain jbc node's chain, a block file): what it
 * stores it can always serve to its own kind, whose answers are capped.
 */
export const MAX_BLOCK_BYTES = 1024 * 1024;

/** Bytes of the block's output-form JSON. */
export function blockJsonBytes(block: Block): number {
  return Buffer.byteLength(JSON.stringify(blockToJson(block)));
}

/**
 * Throws INVALID_BLOCK unless the block is at most MAX_BLOCK_BYTES, the
 * stored hash is the recomputed hash, and it starts with `difficulty` zeros.
 */
export function checkBlock(block: Block, difficulty: number): void {
  // A character takes at most 6 bytes in JSON (\uXXXX): most blocks need no count.
  if (block.data.length * 6 + 1024 > MAX_BLOCK_BYTES && blockJsonBytes(block) > MAX_BLOCK_BYTES) {
    throw new JbcError(ErrorCode.INVALID_BLOCK, `block ${block.index} is over ${MAX_BLOCK_BYTES} bytes`, {
      index: formatUint(block.index),
      reason: 'too-large',
      bytes: blockJsonBytes(block),
    });
  }
  const actual = computeHash(block, block.nonce);
  if (actual !== block.hash) {
    throw new JbcError(ErrorCode.INVALID_BLOCK, `block ${block.index} hash does not match its contents`, {
      index: formatUint(block.index),
      reason: 'hash-mismatch',
      claimed: block.hash,
      actual,
    });
  }
  if (!meetsDifficulty(block.hash, difficulty)) {
    throw new JbcError(ErrorCode.INVALID_BLOCK, `block ${block.index} hash lacks ${difficulty} leading zeros`, {
      index: formatUint(block.index),
      reason: 'insufficient-work',
      difficulty,
    });
  }
}

export function isValidBlock(block: Block, difficulty: number): boolean {
  try {
    checkBlock(block, difficulty);
    return true;
  } catch (err) {
    if (err instanceof JbcError && err.code === ErrorCode.INVALID_BLOCK) return false;
    throw err;
  }
}

export function blocksEqual(a: Block, b: Block): boolean {
  return a.index === b.index && a.timestamp === b.timestamp && a.data === b.data && a.prevHash === b.prevHash && a.nonce === b.nonce && a.hash === b.hash;
}
