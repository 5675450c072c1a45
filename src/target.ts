/**
 * Proof-of-work targets: a block hash, read as a 256-bit big-endian number,
 * meets a target when it is at most the target. jbc's rule of D leading zero
 * hex digits is the target 16^(64-D) - 1, so both rules are one comparison.
 * Pure: no I/O.
 */

/** 2^256: one more than the largest hash. */
export const HASH_SPACE = 1n << 256n;

/** The largest target: every hash meets it (difficulty 0). */
export const MAX_TARGET = HASH_SPACE - 1n;

/** The target of D leading '0' hex digits: the hashes below 16^(64-D). */
export function zerosTarget(difficulty: number): bigint {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > 64) {
    throw new RangeError(`difficulty must be an integer 0-64, got ${difficulty}`);
  }
  return (1n << BigInt(4 * (64 - difficulty))) - 1n;
}

/** A 64-hex block hash as the number it encodes. */
export function hashValue(hash: string): bigint {
  return BigInt(`0x${hash}`);
}

/** True when the 64-hex `hash` read as a number is at most `target`. */
export function meetsTarget(hash: string, target: bigint): boolean {
  return hashValue(hash) <= target;
}

/** The target as 64 lowercase hex digits, the form it takes in JSON. */
export function targetHex(target: bigint): string {
  return target.toString(16).padStart(64, '0');
}

/**
 * The expected number of hashes to meet `target`: 2^256 / (target + 1).
 * Chains compare by the sum of this over their blocks.
 */
export function targetWork(target: bigint): bigint {
  return HASH_SPACE / (target + 1n);
}

/**
 * The target as a difficulty in leading hex zeros with a fraction: log16 of
 * 2^256 / (target + 1). zerosTarget(D) gives exactly D.
 */
export function targetDifficulty(target: bigint): number {
  return log2(HASH_SPACE) / 4 - log2(target + 1n) / 4;
}

/** log2 of a positive bigint, to double precision. */
function log2(value: bigint): number {
  if (value <= 0n) throw new RangeError('log2 of a non-positive number');
  const bits = value.toString(2).length;
  if (bits <= 53) return Math.log2(Number(value));
  const shift = bits - 53;
  return Math.log2(Number(value >> BigInt(shift))) + shift;
}

/** The target as 8 big-endian 32-bit words, word 0 the most significant: what the kernels compare digests with. */
export function targetWords(target: bigint): Uint32Array {
  if (target < 0n || target > MAX_TARGET) throw new RangeError('a target is a 256-bit non-negative number');
  const words = new Uint32Array(8);
  for (let i = 7, t = target; i >= 0; i--, t >>= 32n) words[i] = Number(t & 0xffffffffn);
  return words;
}

/** The work of blocks that met `targets`: the sum of each one's. */
export function chainWork(targets: Iterable<bigint>): bigint {
  let work = 0n;
  for (const target of targets) work += targetWork(target);
  return work;
}

/** Work as lowercase hex without leading zeros ('0' for none): how /status and the metadata carry it. */
export function workHex(work: bigint): string {
  return work.toString(16);
}
