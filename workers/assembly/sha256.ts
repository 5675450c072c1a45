/**
 * Scalar SHA-256 pieces used outside the hot loop: the constants, the message
 * schedule and a round loop. The per-nonce work uses the unrolled functions in
 * generated/ instead.
 *
 * Message words are kept big-endian-as-u32: byte i of a block is stored at
 * address (i ^ 3), so `load<u32>(p + 4k)` yields word k with no byte swap and
 * a single digit byte can be rewritten in place.
 */

export const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export const IV: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

@inline export function bsig0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline export function bsig1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline export function ssig0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline export function ssig1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }

@inline function word(p: usize, t: i32): u32 { return load<u32>(p + (<usize>t << 2)); }

/** Fills words 16..63 of the schedule at `w` from its first 16 words. */
export function expand(w: usize): void {
  for (let t = 16; t < 64; t++) {
    store<u32>(w + (<usize>t << 2), ssig1(word(w, t - 2)) + word(w, t - 7) + ssig0(word(w, t - 15)) + word(w, t - 16));
  }
}

/** Runs rounds [from, to) over the schedule `w` on the 8-word state at `st`, in place, without feed-forward. */
export function rounds(st: usize, w: usize, from: i32, to: i32): void {
  let a = load<u32>(st, 0), b = load<u32>(st, 4), c = load<u32>(st, 8), d = load<u32>(st, 12);
  let e = load<u32>(st, 16), f = load<u32>(st, 20), g = load<u32>(st, 24), h = load<u32>(st, 28);
  for (let t = from; t < to; t++) {
    const t1 = h + bsig1(e) + (g ^ (e & (f ^ g))) + word(K, t) + word(w, t);
    const t2 = bsig0(a) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(st, a, 0); store<u32>(st, b, 4); store<u32>(st, c, 8); store<u32>(st, d, 12);
  store<u32>(st, e, 16); store<u32>(st, f, 20); store<u32>(st, g, 24); store<u32>(st, h, 28);
}

/**
 * Compresses the 64 bytes at `bytes` (plain byte order) into the chaining
 * state at `st`. `scratch` is 72 words.
 */
export function compressBytes(st: usize, bytes: usize, scratch: usize): void {
  for (let k: usize = 0; k < 16; k++) store<u32>(scratch + (k << 2), bswap<u32>(load<u32>(bytes + (k << 2))));
  expand(scratch);
  const work = scratch + 256;
  memory.copy(work, st, 32);
  rounds(work, scratch, 0, 64);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(st + i, load<u32>(st + i) + load<u32>(work + i));
}
