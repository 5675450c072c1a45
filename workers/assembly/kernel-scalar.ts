/**
 * Nonce-search kernel, one nonce at a time. Exports (shared with
 * kernel-simd.ts, so the two are interchangeable):
 *
 *   reserve(bytes): ptr   room for the header; write prefix + start digits at ptr
 *   setTarget(t0, ..., t7)  the 256-bit target as 8 words, t0 the most significant
 *   begin(prefixLen, digitCount)
 *   scan(count): i32
 *       tries the next `count` nonces (the first call starts at the start
 *       nonce, later calls continue where the last one stopped) and returns
 *       the offset of the first one whose hash, read as a big-endian number,
 *       is at most the target, or -1. After a hit the state is spent: call
 *       begin() again.
 */
import { OUT, TARGET, advance, hashCurrent, meets } from './search';

export { reserve, begin, setTarget } from './search';

export function scan(count: i32): i32 {
  const t0 = load<u32>(TARGET);
  for (let i = 0; i < count; i++) {
    hashCurrent();
    if (load<u32>(OUT) <= t0 && meets(OUT, 4)) return i;
    advance();
  }
  return -1;
}
