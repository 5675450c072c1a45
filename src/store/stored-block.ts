/**
 * A block read back from the log is checked before anyone sees it: the log
 * is a plain file that a disk, a copy or an editor can change under the
 * database, and a node that served or mined on a changed block would hand
 * its peers a chain they all refuse. The check is what a block's own fields
 * promise: its index is the height the database has it at, its hash is the
 * SHA-256 of its contents and has the chain's leading zeros, and it links to
 * the block below it. Any changed byte of a block breaks one of these.
 *
 * Checked from its parsed fields, a block costs a JSON parse and a header
 * built as a string, several times what serving its line costs. A line this
 * node wrote is nearly always in the one layout `serializeBlock` writes, and
 * then the header's bytes stand in the line as they are, so every line is
 * first checked on its bytes (`vouchedLine`). That check can only vouch for
 * a line: what it is not sure of goes to the full check, so every refusal,
 * and its error, is the full check's.
 */
import { isUtf8 } from 'node:buffer';
import { computeHash, type Block } from '../block.js';
import { MAX_INTEGER_DIGITS, formatUint } from '../codec.js';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import { meetsDifficulty, sha256Digest } from '../hash.js';
import { decodeBlock } from './encoding.js';

/** What a stored block should be: where the database has it and what it must link to (undefined: not known to this read). */
export interface StoredPlace {
  readonly height: bigint;
  readonly difficulty: number;
  /**
   * A block's hash ('' below block 0): a line that holds it as its
   * prev_hash needs no check of its own that the prev_hash is well formed.
   */
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
  const bytes = Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  const vouched = vouchedLine(bytes, place);
  if (vouched === undefined) return fullyCheckedBlock(bytes, place, dir);
  // The block a decode of the line gives, without the parse: each value's text stands unescaped in the line.
  return Object.freeze({
    index: place.height,
    timestamp: BigInt(bytes.toString('latin1', vouched.timestamp, vouched.timestampEnd)),
    data: bytes.toString('utf8', vouched.data, vouched.dataEnd),
    prevHash: place.parentHash ?? bytes.toString('latin1', vouched.prevHash, vouched.prevHashEnd),
    nonce: BigInt(bytes.toString('latin1', vouched.nonce, vouched.nonceEnd)),
    hash: vouched.hash,
  });
}

/**
 * The hash of the block in a stored line, checked as `readStoredBlock`
 * checks it, for readers that need a line's text and its hash but no
 * Block (serving the chain). Throws what `readStoredBlock` throws.
 */
export function storedLineHash(line: Buffer, place: StoredPlace, dir: string): string {
  return vouchedLine(line, place)?.hash ?? fullyCheckedBlock(line, place, dir).hash;
}

/** The check on the parsed block, which decides every line the byte check does not vouch for, and says what is wrong with it. */
function fullyCheckedBlock(line: Buffer, place: StoredPlace, dir: string): Block {
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

/** A line the byte check vouches for: its hash, and where the text of each other value runs (from its first byte to its closing quote). */
interface VouchedLine {
  readonly timestamp: number;
  readonly timestampEnd: number;
  readonly data: number;
  readonly dataEnd: number;
  readonly prevHash: number;
  readonly prevHashEnd: number;
  readonly nonce: number;
  readonly nonceEnd: number;
  readonly hash: string;
}

const HASH_CHARS = 64;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const asciiBytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const OPEN_INDEX = asciiBytes('{"index":"');
const TO_TIMESTAMP = asciiBytes('","timestamp":"');
const TO_DATA = asciiBytes('","data":"');
const TO_PREV_HASH = asciiBytes('","prev_hash":"');
const TO_NONCE = asciiBytes('","nonce":"');
const TO_HASH = asciiBytes('","hash":"');
const CLOSE = asciiBytes('"}\n');
/** Each half byte's lowercase hex digit, as a hash's text spells a digest. */
const HEX_DIGITS = asciiBytes('0123456789abcdef');

/**
 * The line when it is a sound block that this check can be sure of: exactly
 * the layout `serializeBlock` writes, its integers in canonical form (as the
 * header holds them), its data free of escapes (valid UTF-8 with no
 * backslash or control character, so its bytes are those of the string
 * JSON.parse gives), its index `place.height`, its prev_hash
 * `place.parentHash` when that is known, and its hash the SHA-256 of the
 * header's bytes with `place.difficulty` leading zeros. Undefined says
 * nothing of the block: the full check decides.
 */
function vouchedLine(line: Buffer, place: StoredPlace): VouchedLine | undefined {
  if (!hasAt(line, 0, OPEN_INDEX)) return undefined;
  const index = OPEN_INDEX.length;
  const indexEnd = textEnd(line, index, formatUint(place.height));
  if (indexEnd < 0 || !hasAt(line, indexEnd, TO_TIMESTAMP)) return undefined;
  const timestamp = indexEnd + TO_TIMESTAMP.length;
  const timestampEnd = canonicalUintEnd(line, timestamp);
  if (timestampEnd < 0 || !hasAt(line, timestampEnd, TO_DATA)) return undefined;
  const data = timestampEnd + TO_DATA.length;
  const dataEnd = plainStringEnd(line, data);
  if (dataEnd < 0 || !hasAt(line, dataEnd, TO_PREV_HASH)) return undefined;
  const prevHash = dataEnd + TO_PREV_HASH.length;
  const prevHashEnd = place.parentHash === undefined ? lowerHexEnd(line, prevHash) : textEnd(line, prevHash, place.parentHash);
  if (prevHashEnd < 0 || !hasAt(line, prevHashEnd, TO_NONCE)) return undefined;
  const nonce = prevHashEnd + TO_NONCE.length;
  const nonceEnd = canonicalUintEnd(line, nonce);
  if (nonceEnd < 0 || !hasAt(line, nonceEnd, TO_HASH)) return undefined;
  const hashAt = nonceEnd + TO_HASH.length;
  if (line.length !== hashAt + HASH_CHARS + CLOSE.length || !hasAt(line, hashAt + HASH_CHARS, CLOSE)) return undefined;
  const digest = sha256Digest(gather(line, [index, indexEnd, prevHash, prevHashEnd, data, dataEnd, timestamp, timestampEnd, nonce, nonceEnd]));
  for (let i = 0; i < digest.length; i++) {
    const byte = digest[i]!;
    if (line[hashAt + 2 * i] !== HEX_DIGITS[byte >> 4] || line[hashAt + 2 * i + 1] !== HEX_DIGITS[byte & 15]) return undefined;
  }
  const hash = line.toString('latin1', hashAt, hashAt + HASH_CHARS);
  if (!meetsDifficulty(hash, place.difficulty)) return undefined;
  return { timestamp, timestampEnd, data, dataEnd, prevHash, prevHashEnd, nonce, nonceEnd, hash };
}

function hasAt(line: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > line.length) return false;
  for (let i = 0; i < bytes.length; i++) if (line[at + i] !== bytes[i]) return false;
  return true;
}

/** Where `text` (ASCII) ends when `line` holds it at `at`, else -1. */
function textEnd(line: Uint8Array, at: number, text: string): number {
  if (at + text.length > line.length) return -1;
  for (let i = 0; i < text.length; i++) if (line[at + i] !== text.charCodeAt(i)) return -1;
  return at + text.length;
}

/**
 * Where the digits at `at` end when they are an integer's canonical form
 * (`isCanonicalUint`'s rule, on bytes), else -1. An integer with leading
 * zeros is read, but the header holds it without them.
 */
function canonicalUintEnd(line: Uint8Array, at: number): number {
  let end = at;
  while (end < line.length && line[end]! >= 0x30 && line[end]! <= 0x39) end++;
  if (end === at || end - at > MAX_INTEGER_DIGITS || (line[at] === 0x30 && end - at > 1)) return -1;
  return end;
}

/** Where the JSON string's text at `at` ends (its closing quote) when the text is its value's UTF-8, unescaped; else -1. */
function plainStringEnd(line: Uint8Array, at: number): number {
  let onlyAscii = true;
  for (let i = at; i < line.length; i++) {
    const c = line[i]!;
    if (c === QUOTE) return onlyAscii || isUtf8(line.subarray(at, i)) ? i : -1;
    if (c === BACKSLASH || c < 0x20) return -1;
    if (c >= 0x80) onlyAscii = false;
  }
  return -1;
}

/** Where a prev_hash's text at `at` ends when it is empty or 64 lowercase hex digits, else -1. */
function lowerHexEnd(line: Uint8Array, at: number): number {
  if (line[at] === QUOTE) return at;
  const end = at + HASH_CHARS;
  if (end > line.length) return -1;
  for (let i = at; i < end; i++) {
    const c = line[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return -1;
  }
  return end;
}

/** Room for the header of any usual block, reused so that a check allocates none. */
const headerRoom = new Uint8Array(4096);

/** The bytes of `line` in `spans` (start, end, start, end, …), one after another. */
function gather(line: Uint8Array, spans: readonly number[]): Uint8Array {
  let length = 0;
  for (let s = 0; s < spans.length; s += 2) length += spans[s + 1]! - spans[s]!;
  const into = length <= headerRoom.length ? headerRoom : new Uint8Array(length);
  let at = 0;
  for (let s = 0; s < spans.length; s += 2) for (let i = spans[s]!; i < spans[s + 1]!; i++) into[at++] = line[i]!;
  return into.subarray(0, length);
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
