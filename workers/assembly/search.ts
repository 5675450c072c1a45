/**
 * The search state both kernels share: the header in memory, the nonce's
 * decimal digits counted up in place, and everything that is constant while
 * only the last WINDOW_DIGITS digits change (the "window").
 *
 * The message is header = prefix + digits, padded as SHA-256 requires. Per
 * nonce only the blocks from the one holding the window ("block A") to the end
 * are hashed; there are at most two (A and, when the window or the padding
 * spills over, "block B"). Everything before block A is folded into a
 * chaining state once per window: the full prefix blocks once per search, the
 * blocks between them and block A (prefix tail and upper digits) every
 * 10^WINDOW_DIGITS nonces.
 *
 * The digits of the current nonce live in two places: the upper digits in the
 * plain message bytes (MSG), the window digits in WORDS, the big-endian word
 * copy of blocks A and B that the block functions read. advance() increments
 * WORDS in place; when the carry leaves the window it increments MSG
 * (growing the digit count on 99..9) and calls prepare() again.
 */
import { K, compressBytes, expand, rounds, ssig0, ssig1, IV } from './sha256';
import { PRECOMPUTE_SCHEDULE, SKIP_CONSTANT_ROUNDS, WINDOW_DIGITS } from './tuning';
import { blockConstant, blockFrom, blockVariant, block0 } from './generated/blocks-u32';

/** 72 words for schedules and compressions outside the hot loop. */
const SCRATCH: usize = memory.data(288, 16);
/** Chaining state after the prefix's full blocks (once per search). */
const PREFIX_STATE: usize = memory.data(32, 16);
/** Chaining state entering block A: the feed-forward base. */
export const STATE_A0: usize = memory.data(32, 16);
/** State after the rounds of block A that precede its first nonce word. */
export const STATE_AJ: usize = memory.data(32, 16);
/** Output of block A when block B follows. */
const OUT_A: usize = memory.data(32, 16);
/** The digest state of the current nonce: 8 words, word 0 first. */
export const OUT: usize = memory.data(32, 16);
/** Blocks A and B as big-endian words (byte i at i ^ 3). */
export const WORDS: usize = memory.data(128, 16);
/** Constants of block A and block B: KW[64] then PART[64]. */
export const TAB_A: usize = memory.data(512, 16);
export const TAB_B: usize = memory.data(512, 16);

/** No block B. */
export const B_NONE = 0;
/** Block B holds nonce digits: the window straddles the block boundary. */
export const B_VARIANT = 1;
/** Block B is padding only: its message is constant. */
export const B_CONSTANT = 2;

/** The header bytes; JS writes prefix and start digits here (see reserve). */
const MSG: usize = (__heap_base + 15) & ~(<usize>15);

export let prefixLen: i32 = 0;
export let digitCount: i32 = 0;
/** prefixLen + digitCount. */
export let msgLen: i32 = 0;
/** Absolute position of the first window digit. */
export let windowStart: i32 = 0;
/** Index of block A; its first byte is at blockA * 64. */
export let blockA: i32 = 0;
/** First nonce-dependent word of block A. */
export let firstWord: i32 = 0;
export let blockB: i32 = B_NONE;
/** Bumped by every prepare(), so the SIMD kernel knows to refresh its lane copies. */
export let generation: i32 = 0;
/** Byte offset in WORDS of the word holding the last digit, and the digit's bit position in it. */
export let onesWord: usize = 0;
export let onesShift: u32 = 0;
/** The same for the second-last digit (meaningful when digitCount >= 2). */
export let tensWord: usize = 0;
export let tensShift: u32 = 0;

/**
 * Makes room for `bytes` of header plus padding and digit growth. Returns
 * where to write the header, or 0 when memory cannot grow.
 */
export function reserve(bytes: i32): usize {
  const end = MSG + <usize>bytes + 256;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >>> 16)) < 0) return 0;
  }
  return MSG;
}

/**
 * Starts a search: MSG holds `prefixBytes` bytes of prefix followed by the
 * start nonce as `digits` ASCII digits, canonical (no leading zeros).
 */
export function begin(prefixBytes: i32, digits: i32): void {
  prefixLen = prefixBytes;
  digitCount = digits;
  memory.copy(PREFIX_STATE, IV, 32);
  const full = prefixBytes >> 6;
  for (let b = 0; b < full; b++) compressBytes(PREFIX_STATE, MSG + (<usize>b << 6), SCRATCH);
  prepare();
}

/** Lays out the padding for the current digit count and computes the window's constants. */
function prepare(): void {
  const length = prefixLen + digitCount;
  msgLen = length;
  const blocks = ((length + 8) >> 6) + 1;
  const end = <usize>blocks << 6;
  memory.fill(MSG + <usize>length, 0, end - <usize>length);
  store<u8>(MSG + <usize>length, 0x80);
  store<u64>(MSG + end - 8, bswap<u64>(<u64>length << 3));

  windowStart = length - min(digitCount, WINDOW_DIGITS);
  blockA = windowStart >> 6;
  memory.copy(STATE_A0, PREFIX_STATE, 32);
  for (let b = prefixLen >> 6; b < blockA; b++) compressBytes(STATE_A0, MSG + (<usize>b << 6), SCRATCH);

  // Blocks A and B at most: the window starts within WINDOW_DIGITS + 9 (< 64) bytes of the end.
  const base = MSG + (<usize>blockA << 6);
  const tail = (blocks - blockA) << 6;
  for (let i = 0; i < tail; i++) store<u8>(WORDS + <usize>(i ^ 3), load<u8>(base + <usize>i));

  const ones = length - 1 - (blockA << 6);
  onesWord = <usize>(ones & ~3);
  onesShift = <u32>(3 - (ones & 3)) << 3;
  // With one digit there is no tens digit (and ones may be byte 0): point it at the ones digit.
  const tens = digitCount >= 2 ? ones - 1 : ones;
  tensWord = <usize>(tens & ~3);
  tensShift = <u32>(3 - (tens & 3)) << 3;

  firstWord = (windowStart & 63) >> 2;
  prepareTable(TAB_A, WORDS, firstWord);
  memory.copy(STATE_AJ, STATE_A0, 32);
  rounds(STATE_AJ, SCRATCH, 0, firstWord);

  if (tail == 64) blockB = B_NONE;
  else if ((length - 1) >> 6 > blockA) {
    blockB = B_VARIANT;
    prepareTable(TAB_B, WORDS + 64, 0);
  } else {
    blockB = B_CONSTANT;
    prepareTable(TAB_B, WORDS + 64, -1);
  }
  generation++;
}

/**
 * Fills a block's table for block function `j` (the rule of dynamicWords()
 * in generate.mjs): KW[t] = K[t] + W[t] for every t, and PART[t] = the sum of
 * the terms of W[t] whose words do not depend on the nonce. `j` = -1: no word
 * depends on it. Leaves the block's schedule in SCRATCH.
 */
function prepareTable(tab: usize, words: usize, j: i32): void {
  memory.copy(SCRATCH, words, 64);
  expand(SCRATCH);
  let dyn: u64 = 0;
  if (j >= 0) dyn = (j < 15 ? <u64>3 : <u64>1) << j;
  for (let t = 16; t < 64; t++) {
    if (((dyn >> (t - 2)) | (dyn >> (t - 7)) | (dyn >> (t - 15)) | (dyn >> (t - 16))) & 1) dyn |= <u64>1 << t;
  }
  for (let t = 0; t < 64; t++) {
    const at = <usize>t << 2;
    store<u32>(tab + at, load<u32>(K + at) + load<u32>(SCRATCH + at));
    if (t < 16) continue;
    let part: u32 = 0;
    if (!((dyn >> (t - 2)) & 1)) part += ssig1(load<u32>(SCRATCH + at - 8));
    if (!((dyn >> (t - 7)) & 1)) part += load<u32>(SCRATCH + at - 28);
    if (!((dyn >> (t - 15)) & 1)) part += ssig0(load<u32>(SCRATCH + at - 60));
    if (!((dyn >> (t - 16)) & 1)) part += load<u32>(SCRATCH + at - 64);
    store<u32>(tab + 256 + at, part);
  }
}

/** Hashes the current nonce into OUT. */
export function hashCurrent(): void {
  const outA = blockB == B_NONE ? OUT : OUT_A;
  if (PRECOMPUTE_SCHEDULE) {
    blockVariant(firstWord, STATE_A0, STATE_AJ, WORDS, TAB_A, outA);
    if (blockB == B_VARIANT) block0(OUT_A, OUT_A, WORDS + 64, TAB_B, OUT);
    else if (blockB == B_CONSTANT) blockConstant(OUT_A, TAB_B, OUT);
  } else {
    if (SKIP_CONSTANT_ROUNDS) blockFrom(firstWord, STATE_A0, STATE_AJ, WORDS, outA);
    else blockFrom(0, STATE_A0, STATE_A0, WORDS, outA);
    if (blockB != B_NONE) blockFrom(0, OUT_A, OUT_A, WORDS + 64, OUT);
  }
}

/**
 * Moves to the next nonce: the last digit is bumped within its word (nine
 * nonces in ten), carries take the byte-wise path.
 */
export function advance(): void {
  const w = load<u32>(WORDS + onesWord);
  if (((w >>> onesShift) & 0xff) != 0x39) store<u32>(WORDS + onesWord, w + (<u32>1 << onesShift));
  else carry();
}

/** Moves four nonces on from a multiple of 4 with two or more digits. */
export function advance4(): void {
  const w = load<u32>(WORDS + onesWord);
  const ones = (w >>> onesShift) & 0xff;
  if (ones < 0x36) {
    store<u32>(WORDS + onesWord, w + (<u32>4 << onesShift));
  } else if (((load<u32>(WORDS + tensWord) >>> tensShift) & 0xff) != 0x39) {
    // x6 + 4 = (x+1)0, x8 + 4 = (x+1)2; the tens digit may share the word.
    store<u32>(WORDS + onesWord, w - (<u32>6 << onesShift));
    store<u32>(WORDS + tensWord, load<u32>(WORDS + tensWord) + (<u32>1 << tensShift));
  } else {
    advance(); advance(); advance(); advance();
  }
}

/** The last digit is 9: zero the trailing nines and bump the next digit, leaving the window if needed. */
function carry(): void {
  const base = blockA << 6;
  for (let p = msgLen - 1; p >= windowStart; p--) {
    const at = WORDS + <usize>((p - base) ^ 3);
    const c = load<u8>(at);
    if (c != 0x39) {
      store<u8>(at, c + 1);
      return;
    }
    store<u8>(at, 0x30);
  }
  carryOutOfWindow();
}

function carryOutOfWindow(): void {
  memory.fill(MSG + <usize>windowStart, 0x30, <usize>(msgLen - windowStart));
  let p = windowStart - 1;
  while (p >= prefixLen && load<u8>(MSG + <usize>p) == 0x39) {
    store<u8>(MSG + <usize>p, 0x30);
    p--;
  }
  if (p >= prefixLen) {
    store<u8>(MSG + <usize>p, load<u8>(MSG + <usize>p) + 1);
  } else {
    // 99..9 + 1 = 100..0: one digit more, so the padding and length move.
    reserve(msgLen + 1);
    store<u8>(MSG + <usize>prefixLen, 0x31);
    store<u8>(MSG + <usize>msgLen, 0x30);
    digitCount++;
  }
  prepare();
}

/** The target as 8 words, word 0 the most significant: a digest read as a big-endian number must be at most this. */
export const TARGET: usize = memory.data(32, 16);

/** Sets the target of the searches that follow (word 0 the most significant). */
export function setTarget(t0: u32, t1: u32, t2: u32, t3: u32, t4: u32, t5: u32, t6: u32, t7: u32): void {
  store<u32>(TARGET, t0, 0); store<u32>(TARGET, t1, 4); store<u32>(TARGET, t2, 8); store<u32>(TARGET, t3, 12);
  store<u32>(TARGET, t4, 16); store<u32>(TARGET, t5, 20); store<u32>(TARGET, t6, 24); store<u32>(TARGET, t7, 28);
}

/**
 * True when the digest whose 8 words start at `out`, `stride` bytes apart,
 * read as a big-endian number, is at most TARGET. Word 0 has usually decided
 * it already (the callers test it first); later words are read only on a tie.
 */
export function meets(out: usize, stride: usize): bool {
  for (let k = 0; k < 8; k++) {
    const w = load<u32>(out + <usize>k * stride);
    const t = load<u32>(TARGET + (<usize>k << 2));
    if (w != t) return w < t;
  }
  return true;
}
