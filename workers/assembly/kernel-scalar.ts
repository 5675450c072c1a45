/**
 * Nonce-search kernel, one nonce at a time. Exports (shared with
 * kernel-simd.ts, so the two are interchangeable):
 *
 *   reserve(bytes): ptr   room for the header; write prefix + start digits at ptr
 *   begin(prefixLen, digitCount)
 *   scan(count, difficulty): i32
 *       tries the next `count` nonces (the first call starts at the start
 *       nonce, later calls continue where the last one stopped) and returns
 *       the offset of the first one whose hash has `difficulty` leading zero
 *       nibbles, or -1. After a hit the state is spent: call begin() again.
 */
import { OUT, advance, firstWordMask, hashCurrent, meets } from './search';

export { reserve, begin } from './search';

export function scan(count: i32, difficulty: i32): i32 {
  const mask = firstWordMask(difficulty);
  for (let i = 0; i < count; i++) {
    hashCurrent();
    if ((load<u32>(OUT) & mask) == 0 && meets(OUT, 4, difficulty)) return i;
    advance();
  }
  return -1;
}
