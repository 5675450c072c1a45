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
  if (hasher === undefined) throw new JbcError(ErrorCode.INTERNAL, 'sha256Hex called before initHashing() resolved');
  hasher.init();
  hasher.update(text);
  return hasher.digest('hex');
}

/** True when `hash` starts with `difficulty` '0' hex characters. */
export function meetsDifficulty(hash: string, difficulty: number): boolean {
  for (let i = 0; i < difficulty; i++) if (hash.charCodeAt(i) !== 48) return false;
  return hash.length >= difficulty;
}
