/**
 * SHA-256 of block headers with hash-wasm. Creating the WASM hasher is the
 * only asynchronous step, so it happens once (`initHashing`, awaited at
 * startup); after that `sha256Hex` is synchronous, which keeps block and
 * chain validation synchronous too. One instance serves every caller on this
 * thread: its init/update/digest run to completion without yielding.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { ErrorCode, JbcError } from './errors.js';

let hasher: IHasher | undefined;
let creating: Promise<IHasher> | undefined;

/** Loads the hasher; resolves at once when it is already loaded. */
export async function initHashing(): Promise<void> {
  if (hasher !== undefined) return;
  creating ??= createSHA256();
  hasher = await creating;
}

/** Lowercase hex SHA-256 of the UTF-8 encoding of `text`. Needs `initHashing()` first. */
export function sha256Hex(text: string): string {
  const ready = loadedHasher();
  ready.init();
  ready.update(text);
  return ready.digest('hex');
}

/**
 * The 32-byte SHA-256 digest of `bytes`, in a fresh array. For text already
 * at hand as UTF-8 (a header gathered from a stored line), which would
 * otherwise be decoded to a string only for the hasher to encode it back;
 * and the digest's bytes compare with a hash's hex without a string either.
 * Needs `initHashing()` first.
 */
export function sha256Digest(bytes: Uint8Array): Uint8Array {
  const ready = loadedHasher();
  ready.init();
  ready.update(bytes);
  return ready.digest('binary');
}

function loadedHasher(): IHasher {
  if (hasher === undefined) throw new JbcError(ErrorCode.INTERNAL, 'SHA-256 used before initHashing() resolved');
  return hasher;
}

/** True when `hash` starts with `difficulty` '0' hex characters. */
export function meetsDifficulty(hash: string, difficulty: number): boolean {
  for (let i = 0; i < difficulty; i++) if (hash.charCodeAt(i) !== 48) return false;
  return hash.length >= difficulty;
}
