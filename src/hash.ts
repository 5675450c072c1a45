/**
 * SHA-256 of block headers with hash-wasm. The WASM hasher is created on
 * first use (not at import) and reused; its init/update/digest calls are
 * synchronous, so one instance serves every caller on this thread.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

let hasher: Promise<IHasher> | undefined;

/** Lowercase hex SHA-256 of the UTF-8 encoding of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  hasher ??= createSHA256();
  const h = await hasher;
  h.init();
  h.update(text);
  return h.digest('hex');
}

/** True when `hash` starts with `difficulty` '0' hex characters. */
export function meetsDifficulty(hash: string, difficulty: number): boolean {
  for (let i = 0; i < difficulty; i++) if (hash.charCodeAt(i) !== 48) return false;
  return hash.length >= difficulty;
}
