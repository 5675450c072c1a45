/**
 * Nonce-search kernel, four nonces per pass, one per i32x4 lane. Same exports
 * as kernel-scalar.ts.
 *
 * A pass takes four consecutive nonces starting at a multiple of 4 with at
 * least two digits: they then share every digit but the last two (100 is a
 * multiple of 4, so the four never straddle a change of the hundreds digit or
 * of the digit count). Nonces before the first such group, after the last
 * one, and below 10 go through the scalar path. The constants are those of
 * the scalar path, splatted to all lanes when the window changes.
 */
import {
  B_CONSTANT, B_NONE, B_VARIANT, OUT, STATE_A0, STATE_AJ, TAB_A, TAB_B, WORDS,
  TARGET, advance, advance4, blockA, blockB, digitCount, firstWord, generation, hashCurrent, meets,
  onesShift, onesWord, tensShift, tensWord, windowStart,
} from './search';
import { PRECOMPUTE_SCHEDULE, SKIP_CONSTANT_ROUNDS } from './tuning';
import { blockConstant, blockFrom, blockVariant, block0 } from './generated/blocks-v128';

export { reserve, begin, setTarget } from './search';

// Lane copies of the scalar state: slot = 16 bytes, lane l at +4l.
const WORDS_V: usize = memory.data(512, 16);
const TAB_AV: usize = memory.data(2048, 16);
const TAB_BV: usize = memory.data(2048, 16);
const STATE_A0V: usize = memory.data(128, 16);
const STATE_AJV: usize = memory.data(128, 16);
const OUT_AV: usize = memory.data(128, 16);
const OUT_V: usize = memory.data(128, 16);

/**
 * Per-lane additions to the (at most two) window words: lane l holds nonce
 * current + l, so its last digit is ones + l; with ones = 8 lanes 2 and 3
 * wrap to 0 and 1 and carry into the tens digit. [wrap][slot] -> v128.
 */
const LANE_DELTA: usize = memory.data(64, 16);
let windowWord: usize = 0;
let windowWords: i32 = 0;
let lanesGeneration: i32 = -1;

function splat(dst: usize, src: usize, words: i32): void {
  for (let i = 0; i < words; i++) v128.store(dst + (<usize>i << 4), i32x4.splat(load<i32>(src + (<usize>i << 2))));
}

function prepareLanes(): void {
  splat(TAB_AV, TAB_A, 128);
  if (blockB != B_NONE) splat(TAB_BV, TAB_B, 128);
  splat(STATE_A0V, STATE_A0, 8);
  splat(STATE_AJV, STATE_AJ, 8);
  splat(WORDS_V, WORDS, 32);
  windowWord = <usize>((windowStart - (blockA << 6)) & ~3);
  windowWords = <i32>((onesWord - windowWord) >> 2) + 1;
  memory.fill(LANE_DELTA, 0, 64);
  for (let wrap = 0; wrap < 2; wrap++) {
    for (let lane = 0; lane < 4; lane++) {
      let ones = lane;
      let tens = 0;
      if (wrap && lane >= 2) {
        ones -= 10;
        tens = 1;
      }
      const row = LANE_DELTA + (<usize>wrap << 5) + (<usize>lane << 2);
      const o = row + ((onesWord - windowWord) << 2);
      store<u32>(o, load<u32>(o) + (<u32>ones << onesShift));
      const t = row + ((tensWord - windowWord) << 2);
      store<u32>(t, load<u32>(t) + (<u32>tens << tensShift));
    }
  }
  lanesGeneration = generation;
}

/** Hashes the nonces current .. current + 3 into OUT_V (current is a multiple of 4, >= 10). */
function hashGroup(): void {
  if (lanesGeneration != generation) prepareLanes();
  const wrap = <usize>(((load<u32>(WORDS + onesWord) >>> onesShift) & 0xff) == 0x38);
  const delta = LANE_DELTA + (wrap << 5);
  for (let s = 0; s < windowWords; s++) {
    const at = windowWord + (<usize>s << 2);
    v128.store(WORDS_V + (at << 2), i32x4.add(i32x4.splat(load<i32>(WORDS + at)), v128.load(delta + (<usize>s << 4))));
  }
  const outA = blockB == B_NONE ? OUT_V : OUT_AV;
  if (PRECOMPUTE_SCHEDULE) {
    blockVariant(firstWord, STATE_A0V, STATE_AJV, WORDS_V, TAB_AV, outA);
    if (blockB == B_VARIANT) block0(OUT_AV, OUT_AV, WORDS_V + 256, TAB_BV, OUT_V);
    else if (blockB == B_CONSTANT) blockConstant(OUT_AV, TAB_BV, OUT_V);
  } else {
    if (SKIP_CONSTANT_ROUNDS) blockFrom(firstWord, STATE_A0V, STATE_AJV, WORDS_V, outA);
    else blockFrom(0, STATE_A0V, STATE_A0V, WORDS_V, outA);
    if (blockB != B_NONE) blockFrom(0, OUT_AV, OUT_AV, WORDS_V + 256, OUT_V);
  }
}

/** The current nonce is a multiple of 4 with two or more digits. */
@inline function groupAligned(): bool {
  const ones = (load<u32>(WORDS + onesWord) >>> onesShift) & 0xff;
  const tens = (load<u32>(WORDS + tensWord) >>> tensShift) & 0xff;
  // 100 = 0 (mod 4), so n mod 4 = (10 * tens + ones) mod 4 = (2 * tens + ones) mod 4; '0' = 48 = 0 (mod 4).
  return digitCount >= 2 && (((tens << 1) + ones) & 3) == 0;
}

export function scan(count: i32): i32 {
  const t0 = load<u32>(TARGET);
  const t0v = i32x4.splat(t0);
  let i = 0;
  while (i < count) {
    if (count - i >= 4 && groupAligned()) {
      hashGroup();
      // Word 0 at most the target's word 0 is rare for any target worth mining; only then do the lanes get the exact test.
      if (v128.any_true(i32x4.le_u(v128.load(OUT_V), t0v))) {
        for (let l = 0; l < 4; l++) if (meets(OUT_V + <usize>(l << 2), 16)) return i + l;
      }
      advance4();
      i += 4;
    } else {
      hashCurrent();
      if (load<u32>(OUT) <= t0 && meets(OUT, 4)) return i;
      advance();
      i++;
    }
  }
  return -1;
}
