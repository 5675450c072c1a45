/*
 * The native nonce-search kernels, loaded through Node-API by the `native`
 * engine (src/mining/native-engine.ts). The same search as the WebAssembly
 * kernels: header = prefix + decimal nonce, SHA-256, the first nonce whose
 * digest read as a big-endian 256-bit number is at most the target.
 *
 * How a search is laid out (the same tricks as workers/assembly/search.ts):
 *
 * - The nonce is kept as decimal ASCII digits of any length. Its last
 *   WINDOW_DIGITS digits are the "low" part, counted as an integer 0..9999;
 *   the digits above it change once per window of 10^4 nonces.
 * - Per window the header bytes before the low digits are fixed: every block
 *   before the one holding the first low digit ("block A") is compressed
 *   once (midstate), and so are the rounds of block A before its first
 *   nonce word (the constant rounds).
 * - Per batch of LANES consecutive nonces, the low digits of each lane are
 *   added into the one or two message words they touch, from a table of the
 *   digits of 0..9999 (the template holds '0' there, and '0' + d never
 *   carries into the next byte).
 * - The digest's word 0 is compared with the target's in all lanes at once;
 *   only lanes that pass get the exact eight-word comparison.
 *
 * Nonces below 10^4 (where the low part would need leading zeros) take a
 * plain one-at-a-time path.
 *
 * Kernels, chosen by the caller among those this CPU has (best first):
 * avx512 (16 lanes, rotate and ternary-logic instructions), sha-ni (the SHA
 * extensions, four nonces interleaved), avx2 (8 lanes), avx (4 lanes, AVX's
 * encoding), sse2 (4 lanes; every x86-64 has it). On other architectures:
 * generic-4, GCC vector extensions.
 *
 * JS interface (one search state per thread, kept as instance data):
 *   kernels(): string[]             the kernels this CPU can run, best first
 *   begin(kernel, prefix: Uint8Array, startDigits: string, target: Uint32Array(8))
 *   scan(count): number             offset of the first hit in the next
 *                                   `count` nonces, or -1; continues where
 *                                   the last call stopped
 */
#ifndef JBC_STANDALONE
#include <node_api.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* JBC_PORTABLE builds the portable kernel on x86 too, to check it where it would not otherwise run. */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(JBC_PORTABLE)
#define JBC_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define WINDOW_DIGITS 4
#define WINDOW 10000
/* Longest start nonce accepted, in digits: far beyond any chain's needs. */
#define MAX_DIGITS 200

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* The digits of 0..9999 as byte values 0-9, big-endian in a word: added to a word of "0000". */
static uint32_t DIGITS[WINDOW + 64];

enum { B_NONE, B_CONSTANT, B_VARIANT };

typedef struct {
  int kernel;
  uint32_t target[8];
  /* The header: prefix, then the nonce's digits, then room for padding. */
  uint8_t *msg;
  size_t cap;
  size_t prefix_len;
  size_t digits;
  /* Chaining state after the prefix's full blocks. */
  uint32_t prefix_state[8];
  /* The window (valid when digits > WINDOW_DIGITS): */
  uint32_t low;         /* the current nonce's low part, 0..9999 */
  uint32_t a0[8];       /* state entering block A: the feed-forward base */
  uint32_t aj[8];       /* state after block A's rounds before word `first` */
  uint32_t ap[8];       /* the same before the round pair holding word `first` (SHA-NI) */
  uint32_t words[32];   /* blocks A and B as big-endian words, low digits '0' */
  int first;            /* first word of block A the low digits touch */
  int shift;            /* 8 * (offset of the first low digit within its word) */
  int block_b;          /* B_NONE, B_CONSTANT or B_VARIANT */
} Search;

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t load_be(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Rounds [from, to) of one block, scalar, on `st` in place (no feed-forward); `w` is the 64-word schedule. */
static void rounds(uint32_t st[8], const uint32_t w[64], int from, int to) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (int t = from; t < to; t++) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + (g ^ (e & (f ^ g))) + K[t] + w[t];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  st[0] = a; st[1] = b; st[2] = c; st[3] = d; st[4] = e; st[5] = f; st[6] = g; st[7] = h;
}

static void expand(uint32_t w[64]) {
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
}

static void compress_words(uint32_t st[8], const uint32_t words[16]) {
  uint32_t w[64], s[8];
  memcpy(w, words, 64);
  expand(w);
  memcpy(s, st, 32);
  rounds(s, w, 0, 64);
  for (int i = 0; i < 8; i++) st[i] += s[i];
}

static void compress_bytes(uint32_t st[8], const uint8_t *block) {
  uint32_t words[16];
  for (int i = 0; i < 16; i++) words[i] = load_be(block + 4 * i);
  compress_words(st, words);
}

/* True when the digest `h` (word 0 most significant) is at most the target. */
static inline int meets(const uint32_t h[8], const uint32_t target[8]) {
  for (int k = 0; k < 8; k++)
    if (h[k] != target[k]) return h[k] < target[k];
  return 1;
}

/* Lays out the padding after the current digits; returns the number of 64-byte blocks. */
static size_t pad(Search *s) {
  size_t length = s->prefix_len + s->digits;
  size_t blocks = (length + 8) / 64 + 1;
  memset(s->msg + length, 0, blocks * 64 - length);
  s->msg[length] = 0x80;
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) s->msg[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  return blocks;
}

/* Hashes the current nonce (the digits in msg) on its own: the path below 10^4. */
static void hash_one(Search *s, uint32_t out[8]) {
  size_t blocks = pad(s);
  memcpy(out, s->prefix_state, 32);
  for (size_t b = s->prefix_len / 64; b < blocks; b++) compress_bytes(out, s->msg + 64 * b);
}

/* The digits in msg + 1, growing by a digit on 99..9. */
static void increment_digits(Search *s) {
  uint8_t *d = s->msg + s->prefix_len;
  size_t i = s->digits;
  while (i > 0 && d[i - 1] == '9') d[--i] = '0';
  if (i > 0) {
    d[i - 1]++;
  } else {
    d[0] = '1';
    d[s->digits] = '0';
    s->digits++;
  }
}

/* Computes the window's constants for the upper digits now in msg (digits > WINDOW_DIGITS). */
static void prepare_window(Search *s) {
  uint8_t *d = s->msg + s->prefix_len;
  uint8_t saved[WINDOW_DIGITS];
  memcpy(saved, d + s->digits - WINDOW_DIGITS, WINDOW_DIGITS);
  memset(d + s->digits - WINDOW_DIGITS, '0', WINDOW_DIGITS);
  size_t blocks = pad(s);
  size_t low_at = s->prefix_len + s->digits - WINDOW_DIGITS;
  size_t block_a = low_at / 64;
  memcpy(s->a0, s->prefix_state, 32);
  for (size_t b = s->prefix_len / 64; b < block_a; b++) compress_bytes(s->a0, s->msg + 64 * b);
  memset(s->words, 0, sizeof s->words);
  for (size_t i = 0; i < (blocks - block_a) * 16; i++) s->words[i] = load_be(s->msg + 64 * block_a + 4 * i);
  s->first = (int)((low_at - 64 * block_a) / 4);
  s->shift = (int)(8 * (low_at & 3));
  if (blocks - block_a == 1) s->block_b = B_NONE;
  else if (s->shift != 0 && s->first == 15) s->block_b = B_VARIANT;
  else s->block_b = B_CONSTANT;
  uint32_t w[64];
  memcpy(w, s->words, 64);
  memcpy(s->aj, s->a0, 32);
  rounds(s->aj, w, 0, s->first);
  /* sha256rnds2 does rounds two at a time, so SHA-NI enters at an even round. */
  memcpy(s->ap, s->a0, 32);
  rounds(s->ap, w, 0, s->first & ~1);
  memcpy(d + s->digits - WINDOW_DIGITS, saved, WINDOW_DIGITS);
}

/* Moves the upper digits on by one window (the low part wrapped to 0). */
static void next_window(Search *s) {
  uint8_t *d = s->msg + s->prefix_len;
  memset(d + s->digits - WINDOW_DIGITS, '9', WINDOW_DIGITS);
  increment_digits(s);
  s->low = 0;
  prepare_window(s);
}

/*
 * The kernels: hash LANES consecutive nonces of the window, low .. low +
 * LANES - 1 (within the window), and return the lanes whose digest's word 0
 * is at most the target's, as a bit mask; their full digests go to `out`
 * (8 words per lane, lane-major) only when asked for by the exact test.
 */
typedef uint32_t (*batch_fn)(const Search *s, uint32_t low, uint32_t out[][8]);

/*
 * The vector kernels share one body, written with GCC vector extensions and
 * compiled once per instruction set (the target attribute): the compiler
 * turns the shifts and ors into rotates and the bitwise trees into
 * ternary-logic instructions where the set has them.
 */
#define SIG_ROT(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define BSIG0(x) (SIG_ROT(x, 2) ^ SIG_ROT(x, 13) ^ SIG_ROT(x, 22))
#define BSIG1(x) (SIG_ROT(x, 6) ^ SIG_ROT(x, 11) ^ SIG_ROT(x, 25))
#define SSIG0(x) (SIG_ROT(x, 7) ^ SIG_ROT(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (SIG_ROT(x, 17) ^ SIG_ROT(x, 19) ^ ((x) >> 10))
#define CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))

#define VROUND(t, a, b, c, d, e, f, g, h)                                                   \
  do {                                                                                      \
    if ((t) >= 16) w[(t)&15] += SSIG1(w[((t)-2) & 15]) + w[((t)-7) & 15] + SSIG0(w[((t)-15) & 15]); \
    __typeof__(a) t1 = h + BSIG1(e) + CH(e, f, g) + K[t] + w[(t)&15];                                   \
    __typeof__(a) t2 = BSIG0(a) + MAJ(a, b, c);                                                         \
    d += t1;                                                                                \
    h = t1 + t2;                                                                            \
  } while (0)

#define VROUND8(t, A, B, C, D, E, F, G, H) \
  VROUND(t, A, B, C, D, E, F, G, H);       \
  VROUND(t + 1, H, A, B, C, D, E, F, G);   \
  VROUND(t + 2, G, H, A, B, C, D, E, F);   \
  VROUND(t + 3, F, G, H, A, B, C, D, E);   \
  VROUND(t + 4, E, F, G, H, A, B, C, D);   \
  VROUND(t + 5, D, E, F, G, H, A, B, C);   \
  VROUND(t + 6, C, D, E, F, G, H, A, B);   \
  VROUND(t + 7, B, C, D, E, F, G, H, A)

/* Duff-style entry at round j (0..15) of a fully unrolled compression. */
#define VCASE(t, a, b, c, d, e, f, g, h) \
  case t:                                \
    VROUND(t, a, b, c, d, e, f, g, h);

#define VCOMPRESS_FROM(j)                                                                                       \
  switch (j) {                                                                                                  \
    VCASE(0, A, B, C, D, E, F, G, H) VCASE(1, H, A, B, C, D, E, F, G) VCASE(2, G, H, A, B, C, D, E, F)           \
    VCASE(3, F, G, H, A, B, C, D, E) VCASE(4, E, F, G, H, A, B, C, D) VCASE(5, D, E, F, G, H, A, B, C)           \
    VCASE(6, C, D, E, F, G, H, A, B) VCASE(7, B, C, D, E, F, G, H, A) VCASE(8, A, B, C, D, E, F, G, H)           \
    VCASE(9, H, A, B, C, D, E, F, G) VCASE(10, G, H, A, B, C, D, E, F) VCASE(11, F, G, H, A, B, C, D, E)         \
    VCASE(12, E, F, G, H, A, B, C, D) VCASE(13, D, E, F, G, H, A, B, C) VCASE(14, C, D, E, F, G, H, A, B)        \
    VCASE(15, B, C, D, E, F, G, H, A)                                                                           \
  }                                                                                                             \
  VROUND8(16, A, B, C, D, E, F, G, H);                                                                          \
  VROUND8(24, A, B, C, D, E, F, G, H);                                                                          \
  VROUND8(32, A, B, C, D, E, F, G, H);                                                                          \
  VROUND8(40, A, B, C, D, E, F, G, H);                                                                          \
  VROUND8(48, A, B, C, D, E, F, G, H);                                                                          \
  VROUND8(56, A, B, C, D, E, F, G, H)

/*
 * One kernel body. V: the vector type; LANES; ATTR: the target attribute;
 * ANY_LE(x, t): bit mask of the lanes where x <= t (unsigned).
 */
#define DEFINE_VECTOR_KERNEL(NAME, V, LANES, ATTR, ANY_LE)                                                     \
  ATTR static uint32_t NAME(const Search *s, uint32_t low, uint32_t out[][8]) {                               \
    V A, B, C, D, E, F, G, H, w[16];                                                                          \
    V st[8];                                                                                                   \
    const int j = s->first;                                                                                    \
    for (int i = 0; i < 16; i++) w[i] = (V){0} + s->words[i];                                                 \
    V digits;                                                                                                  \
    memcpy(&digits, DIGITS + low, sizeof digits);                                                              \
    V spill = (V){0};                                                                                          \
    if (s->shift == 0) {                                                                                       \
      w[j] += digits;                                                                                          \
    } else {                                                                                                   \
      w[j] += digits >> s->shift;                                                                              \
      spill = digits << (32 - s->shift);                                                                       \
      if (j < 15) w[j + 1] += spill;                                                                           \
    }                                                                                                          \
    /* Round t calls variable v what the state calls word (v + t) mod 8: enter round j so. */                 \
    A = (V){0} + s->aj[j & 7]; B = (V){0} + s->aj[(j + 1) & 7]; C = (V){0} + s->aj[(j + 2) & 7];               \
    D = (V){0} + s->aj[(j + 3) & 7]; E = (V){0} + s->aj[(j + 4) & 7]; F = (V){0} + s->aj[(j + 5) & 7];         \
    G = (V){0} + s->aj[(j + 6) & 7]; H = (V){0} + s->aj[(j + 7) & 7];                                           \
    VCOMPRESS_FROM(j);                                                                                         \
    st[0] = A + s->a0[0]; st[1] = B + s->a0[1]; st[2] = C + s->a0[2]; st[3] = D + s->a0[3];                    \
    st[4] = E + s->a0[4]; st[5] = F + s->a0[5]; st[6] = G + s->a0[6]; st[7] = H + s->a0[7];                    \
    if (s->block_b != B_NONE) {                                                                                \
      for (int i = 0; i < 16; i++) w[i] = (V){0} + s->words[16 + i];                                          \
      if (s->block_b == B_VARIANT) w[0] += spill;                                                              \
      A = st[0]; B = st[1]; C = st[2]; D = st[3]; E = st[4]; F = st[5]; G = st[6]; H = st[7];                  \
      VCOMPRESS_FROM(0);                                                                                       \
      st[0] += A; st[1] += B; st[2] += C; st[3] += D; st[4] += E; st[5] += F; st[6] += G; st[7] += H;          \
    }                                                                                                          \
    uint32_t hits = ANY_LE(st[0], (V){0} + s->target[0]);                                                      \
    if (hits != 0) {                                                                                           \
      for (int l = 0; l < LANES; l++)                                                                          \
        for (int k = 0; k < 8; k++) out[l][k] = st[k][l];                                                      \
    }                                                                                                          \
    return hits;                                                                                               \
  }

#ifdef JBC_X86
typedef uint32_t v16u __attribute__((vector_size(64), aligned(64)));
typedef uint32_t v8u __attribute__((vector_size(32), aligned(32)));
typedef uint32_t v4u __attribute__((vector_size(16), aligned(16)));

#define AVX512_ATTR __attribute__((target("avx512f,avx512vl")))
#define AVX2_ATTR __attribute__((target("avx2")))
#define AVX_ATTR __attribute__((target("avx")))
#define SSE2_ATTR

AVX512_ATTR static inline uint32_t any_le_16(v16u x, v16u t) { return _mm512_cmple_epu32_mask((__m512i)x, (__m512i)t); }
AVX2_ATTR static inline uint32_t any_le_8(v8u x, v8u t) {
  __m256i le = _mm256_cmpeq_epi32(_mm256_min_epu32((__m256i)x, (__m256i)t), (__m256i)x);
  return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(le));
}
/* SSE2 has no unsigned compare: flip the sign bits and compare signed. */
static inline uint32_t any_le_4(v4u x, v4u t) {
  const __m128i flip = _mm_set1_epi32((int)0x80000000u);
  __m128i gt = _mm_cmpgt_epi32(_mm_xor_si128((__m128i)x, flip), _mm_xor_si128((__m128i)t, flip));
  return (uint32_t)(~_mm_movemask_ps(_mm_castsi128_ps(gt))) & 0xf;
}

DEFINE_VECTOR_KERNEL(batch_avx512, v16u, 16, AVX512_ATTR, any_le_16)
DEFINE_VECTOR_KERNEL(batch_avx2, v8u, 8, AVX2_ATTR, any_le_8)
/*
 * The 4-lane kernel twice: with AVX's three-operand encoding (a CPU with AVX
 * but not AVX2), and in plain SSE2, whose two-operand instructions need a
 * copy before every shift: about 30% slower on the AMD EPYC.
 */
DEFINE_VECTOR_KERNEL(batch_avx, v4u, 4, AVX_ATTR, any_le_4)
DEFINE_VECTOR_KERNEL(batch_sse2, v4u, 4, SSE2_ATTR, any_le_4)

/*
 * SHA-NI: sha256rnds2 does two rounds on a state held as ABEF/CDGH. Four
 * nonces go through each step side by side, so their instructions fill each
 * other's latency (four did 40-50% more than two on the AMD EPYC; the
 * registers just suffice). Like the vector kernels, block A skips its
 * constant rounds, but from an even round, since rounds come in pairs: a
 * nonce word at an odd round starts the pair before it.
 */
#define SHANI_ATTR __attribute__((target("sha,sse4.1")))
#define SHANI_STREAMS 4
/* Nonces per batch: one pass of the streams. */
#define SHANI_LANES SHANI_STREAMS

/*
 * One block in every stream, entered at round `from` (even, at most 14: the
 * caller has run the rounds before it, whose message words are the same in
 * every stream), fed forward with base_abef/base_cdgh, the state that entered
 * the block. The schedule still needs all 16 words, so they are all loaded.
 * sha256rnds2 takes CDGH, ABEF and W + K of two rounds in its low half, and
 * returns the new ABEF; the old ABEF is the new CDGH.
 */
SHANI_ATTR static inline void shani_compress(__m128i abef[SHANI_STREAMS], __m128i cdgh[SHANI_STREAMS], const __m128i base_abef[SHANI_STREAMS],
                                             const __m128i base_cdgh[SHANI_STREAMS], const uint32_t words[SHANI_STREAMS][16], int from) {
  __m128i m[SHANI_STREAMS][4];
  for (int n = 0; n < SHANI_STREAMS; n++)
    for (int q = 0; q < 4; q++) m[n][q] = _mm_loadu_si128((const __m128i *)(words[n] + 4 * q));
  int q = from / 4;
  if (from & 2) {
    /* Entered mid-quad: only its second pair of rounds. */
    const __m128i k = _mm_loadu_si128((const __m128i *)(K + 4 * q));
    for (int n = 0; n < SHANI_STREAMS; n++) {
      __m128i next = _mm_sha256rnds2_epu32(cdgh[n], abef[n], _mm_shuffle_epi32(_mm_add_epi32(m[n][q], k), 0x0e));
      cdgh[n] = abef[n];
      abef[n] = next;
    }
    q++;
  }
  for (; q < 4; q++) {
    const __m128i k = _mm_loadu_si128((const __m128i *)(K + 4 * q));
    for (int n = 0; n < SHANI_STREAMS; n++) {
      __m128i wk = _mm_add_epi32(m[n][q], k);
      cdgh[n] = _mm_sha256rnds2_epu32(cdgh[n], abef[n], wk);
      abef[n] = _mm_sha256rnds2_epu32(abef[n], cdgh[n], _mm_shuffle_epi32(wk, 0x0e));
    }
  }
  /* Unrolled, the schedule's ring of four vectors is indexed with constants (about 1% faster on the AMD EPYC). */
#pragma GCC unroll 12
  for (q = 4; q < 16; q++) {
    const __m128i k = _mm_loadu_si128((const __m128i *)(K + 4 * q));
    for (int n = 0; n < SHANI_STREAMS; n++) {
      __m128i *mq = &m[n][q & 3];
      /* W[t..t+3] from the four vectors before: msg1 adds sigma0, the alignr adds W[t-7], msg2 adds sigma1. */
      __m128i prev = m[n][(q - 1) & 3];
      __m128i x = _mm_sha256msg1_epu32(*mq, m[n][(q - 3) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(prev, m[n][(q - 2) & 3], 4));
      *mq = _mm_sha256msg2_epu32(x, prev);
      __m128i wk = _mm_add_epi32(*mq, k);
      cdgh[n] = _mm_sha256rnds2_epu32(cdgh[n], abef[n], wk);
      abef[n] = _mm_sha256rnds2_epu32(abef[n], cdgh[n], _mm_shuffle_epi32(wk, 0x0e));
    }
  }
  for (int n = 0; n < SHANI_STREAMS; n++) {
    abef[n] = _mm_add_epi32(abef[n], base_abef[n]);
    cdgh[n] = _mm_add_epi32(cdgh[n], base_cdgh[n]);
  }
}

/* ABEF/CDGH from and to plain a..h order. */
SHANI_ATTR static inline void shani_pack(const uint32_t st[8], __m128i *abef, __m128i *cdgh) {
  *abef = _mm_set_epi32((int)st[0], (int)st[1], (int)st[4], (int)st[5]);
  *cdgh = _mm_set_epi32((int)st[2], (int)st[3], (int)st[6], (int)st[7]);
}
SHANI_ATTR static inline void shani_unpack(__m128i abef, __m128i cdgh, uint32_t st[8]) {
  uint32_t x[4], y[4];
  _mm_storeu_si128((__m128i *)x, abef);
  _mm_storeu_si128((__m128i *)y, cdgh);
  st[0] = x[3]; st[1] = x[2]; st[4] = x[1]; st[5] = x[0];
  st[2] = y[3]; st[3] = y[2]; st[6] = y[1]; st[7] = y[0];
}

SHANI_ATTR static uint32_t batch_shani(const Search *s, uint32_t low, uint32_t out[][8]) {
  uint32_t hits = 0;
  /* Block A starts after its constant rounds (ap) and feeds forward the state that entered it (a0). */
  const int from = s->first & ~1;
  __m128i abef0, cdgh0, abefp, cdghp;
  shani_pack(s->a0, &abef0, &cdgh0);
  shani_pack(s->ap, &abefp, &cdghp);
  for (int base = 0; base < SHANI_LANES; base += SHANI_STREAMS) {
    uint32_t words[SHANI_STREAMS][16], spill[SHANI_STREAMS];
    __m128i abef[SHANI_STREAMS], cdgh[SHANI_STREAMS], base_abef[SHANI_STREAMS], base_cdgh[SHANI_STREAMS];
    for (int n = 0; n < SHANI_STREAMS; n++) {
      uint32_t digits = DIGITS[low + base + n];
      memcpy(words[n], s->words, 64);
      if (s->shift == 0) {
        words[n][s->first] += digits;
        spill[n] = 0;
      } else {
        words[n][s->first] += digits >> s->shift;
        spill[n] = digits << (32 - s->shift);
        if (s->first < 15) words[n][s->first + 1] += spill[n];
      }
      abef[n] = abefp;
      cdgh[n] = cdghp;
      base_abef[n] = abef0;
      base_cdgh[n] = cdgh0;
    }
    shani_compress(abef, cdgh, base_abef, base_cdgh, (const uint32_t(*)[16])words, from);
    if (s->block_b != B_NONE) {
      for (int n = 0; n < SHANI_STREAMS; n++) {
        memcpy(words[n], s->words + 16, 64);
        if (s->block_b == B_VARIANT) words[n][0] += spill[n];
        base_abef[n] = abef[n];
        base_cdgh[n] = cdgh[n];
      }
      shani_compress(abef, cdgh, base_abef, base_cdgh, (const uint32_t(*)[16])words, 0);
    }
    for (int n = 0; n < SHANI_STREAMS; n++) {
      uint32_t st[8];
      shani_unpack(abef[n], cdgh[n], st);
      memcpy(out[base + n], st, 32);
      if (st[0] <= s->target[0]) hits |= 1u << (base + n);
    }
  }
  return hits;
}

#else /* not x86 */
typedef uint32_t v4u __attribute__((vector_size(16), aligned(16)));
static inline uint32_t any_le_4(v4u x, v4u t) {
  uint32_t m = 0;
  for (int l = 0; l < 4; l++) m |= (uint32_t)(x[l] <= t[l]) << l;
  return m;
}
DEFINE_VECTOR_KERNEL(batch_generic, v4u, 4, , any_le_4)
#endif

typedef struct {
  const char *name;
  int lanes;
  batch_fn batch;
} Kernel;

#ifdef JBC_X86
enum { K_AVX512, K_SHANI, K_AVX2, K_AVX, K_SSE2, KERNEL_COUNT };
static const Kernel KERNELS[KERNEL_COUNT] = {
    {"avx512", 16, batch_avx512},
    {"sha-ni", SHANI_LANES, batch_shani},
    {"avx2", 8, batch_avx2},
    {"avx", 4, batch_avx},
    {"sse2", 4, batch_sse2},
};

static int xcr0_has(uint64_t bits) {
  uint32_t eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (((uint64_t)edx << 32 | eax) & bits) == bits;
}

/* Whether this CPU (and the OS, which must save the wider registers) can run kernel k. */
static int kernel_supported(int k) {
  uint32_t a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return k == K_SSE2;
  int osxsave = (c >> 27) & 1, sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
  uint32_t c1 = c;
  uint32_t b7 = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) b7 = b;
  switch (k) {
    case K_AVX512:
      /* avx512f (bit 16) and avx512vl (bit 31); the OS saves XMM, YMM, opmask and ZMM state. */
      return osxsave && ((b7 >> 16) & 1) && ((b7 >> 31) & 1) && xcr0_has(0xe6);
    case K_SHANI:
      return ((b7 >> 29) & 1) && sse41 && ssse3;
    case K_AVX2:
      return osxsave && ((b7 >> 5) & 1) && xcr0_has(0x6);
    case K_AVX:
      return osxsave && ((c1 >> 28) & 1) && xcr0_has(0x6);
    default:
      return 1;
  }
}
#else
enum { K_GENERIC, KERNEL_COUNT };
static const Kernel KERNELS[KERNEL_COUNT] = {{"generic-4", 4, batch_generic}};
static int kernel_supported(int k) { return k == K_GENERIC; }
#endif

/* ---- the search ------------------------------------------------------ */

/* Offset of the first hit among the next `count` nonces, or -1; the state moves on by `count` either way. */
static int64_t scan(Search *s, int64_t count) {
  const Kernel *kernel = &KERNELS[s->kernel];
  const int lanes = kernel->lanes;
  uint32_t out[16][8];
  int64_t done = 0;
  while (done < count) {
    if (s->digits <= WINDOW_DIGITS) {
      uint32_t h[8];
      hash_one(s, h);
      increment_digits(s);
      if (meets(h, s->target)) return done;
      done++;
      if (s->digits > WINDOW_DIGITS) {
        /* 10^4 reached: the window path takes over. */
        s->low = 0;
        prepare_window(s);
      }
      continue;
    }
    /* The batch holding the current nonce, aligned in the window (lanes divide 10^4). */
    uint32_t base = s->low - s->low % (uint32_t)lanes;
    uint32_t skip = s->low - base;
    int64_t want = count - done;
    uint32_t take = (uint32_t)lanes - skip;
    if ((int64_t)take > want) take = (uint32_t)want;
    uint32_t hits = kernel->batch(s, base, out);
    hits &= ((1u << take) - 1u) << skip;
    while (hits != 0) {
      int lane = __builtin_ctz(hits);
      if (meets(out[lane], s->target)) {
        /* Leave the state past the hit, as a spent search. */
        s->low = base + (uint32_t)lane + 1;
        if (s->low == WINDOW) next_window(s);
        return done + (lane - (int64_t)skip);
      }
      hits &= hits - 1;
    }
    done += take;
    s->low += take;
    if (s->low == WINDOW) next_window(s);
  }
  return -1;
}

/* Starts a search; returns why it cannot, or NULL. */
static const char *search_begin(Search *s, int kernel, const uint8_t *prefix, size_t length, const char *digits, size_t digit_count, const uint32_t target[8]) {
  if (digit_count == 0 || digit_count > MAX_DIGITS) return "startDigits must be 1 to 200 decimal digits";
  for (size_t i = 0; i < digit_count; i++)
    if (digits[i] < '0' || digits[i] > '9') return "startDigits must be decimal digits";
  /* Prefix, digits (which may grow by one per power of ten, far beyond any range), padding. */
  size_t need = length + MAX_DIGITS + 2 * 64 + 64;
  if (need > s->cap) {
    uint8_t *msg = realloc(s->msg, need);
    if (msg == NULL) return "out of memory";
    s->msg = msg;
    s->cap = need;
  }
  s->kernel = kernel;
  memcpy(s->target, target, 32);
  memcpy(s->msg, prefix, length);
  memcpy(s->msg + length, digits, digit_count);
  s->prefix_len = length;
  s->digits = digit_count;
  memcpy(s->prefix_state, IV, 32);
  for (size_t b = 0; b < length / 64; b++) compress_bytes(s->prefix_state, s->msg + 64 * b);
  if (s->digits > WINDOW_DIGITS) {
    uint32_t low = 0;
    for (size_t i = s->digits - WINDOW_DIGITS; i < s->digits; i++) low = low * 10 + (uint32_t)(s->msg[length + i] - '0');
    s->low = low;
    prepare_window(s);
  }
  return NULL;
}

static int kernel_named(const char *name) {
  for (int k = 0; k < KERNEL_COUNT; k++)
    if (strcmp(name, KERNELS[k].name) == 0 && kernel_supported(k)) return k;
  return -1;
}

static void fill_digits(void) {
  for (uint32_t v = 0; v < WINDOW + 64; v++) {
    uint32_t x = v % WINDOW;
    DIGITS[v] = (x / 1000) << 24 | (x / 100 % 10) << 16 | (x / 10 % 10) << 8 | (x % 10);
  }
}

#ifdef JBC_STANDALONE
/*
 * The same search as a plain program, for the bench's yardstick: what the
 * kernel does with no Node.js, thread pool or chunked calls around it.
 * usage: search KERNEL SECONDS PREFIX [START_NONCE]; prints {"hashes":N,"seconds":S}.
 */
#include <stdio.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s KERNEL SECONDS PREFIX [START_NONCE]\n", argv[0]);
    return 2;
  }
  fill_digits();
  int kernel = kernel_named(argv[1]);
  if (kernel < 0) {
    fprintf(stderr, "kernel %s not available on this CPU\n", argv[1]);
    return 2;
  }
  const double seconds = atof(argv[2]);
  const char *start = argc > 4 ? argv[4] : "0";
  static Search s;
  const uint32_t unreachable[8] = {0};
  const char *error = search_begin(&s, kernel, (const uint8_t *)argv[3], strlen(argv[3]), start, strlen(start), unreachable);
  if (error != NULL) {
    fprintf(stderr, "%s\n", error);
    return 2;
  }
  unsigned long long hashes = 0;
  const double t0 = now_seconds();
  double elapsed = 0;
  do {
    if (scan(&s, 1 << 20) >= 0) return 1;
    hashes += 1 << 20;
    elapsed = now_seconds() - t0;
  } while (elapsed < seconds);
  printf("{\"hashes\":%llu,\"seconds\":%.6f}\n", hashes, elapsed);
  return 0;
}
#else

/* ---- Node-API -------------------------------------------------------- */

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, "native: " #call); \
      return NULL;                                    \
    }                                                 \
  } while (0)

static void free_search(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Search *s = data;
  free(s->msg);
  free(s);
}

static napi_value js_kernels(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value list;
  CHECK(napi_create_array(env, &list));
  uint32_t n = 0;
  for (int k = 0; k < KERNEL_COUNT; k++) {
    if (!kernel_supported(k)) continue;
    napi_value name;
    CHECK(napi_create_string_utf8(env, KERNELS[k].name, NAPI_AUTO_LENGTH, &name));
    CHECK(napi_set_element(env, list, n++, name));
  }
  return list;
}

static napi_value js_begin(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Search *s;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_instance_data(env, (void **)&s));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "begin(kernel, prefix, startDigits, target) takes 4 arguments");
    return NULL;
  }
  char name[32];
  size_t name_len;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len));
  int kernel = kernel_named(name);
  if (kernel < 0) {
    napi_throw_range_error(env, NULL, "kernel not available on this CPU");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "prefix must be a Uint8Array");
    return NULL;
  }
  char digits[MAX_DIGITS + 2];
  size_t digit_count;
  CHECK(napi_get_value_string_utf8(env, argv[2], digits, sizeof digits, &digit_count));
  napi_typedarray_type ttype;
  size_t tlength;
  void *tdata;
  CHECK(napi_get_typedarray_info(env, argv[3], &ttype, &tlength, &tdata, NULL, NULL));
  if (ttype != napi_uint32_array || tlength != 8) {
    napi_throw_type_error(env, NULL, "target must be a Uint32Array of 8 words");
    return NULL;
  }
  const char *error = search_begin(s, kernel, data, length, digits, digit_count, tdata);
  if (error != NULL) {
    napi_throw_range_error(env, NULL, error);
    return NULL;
  }
  return NULL;
}

static napi_value js_scan(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Search *s;
  int64_t count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_instance_data(env, (void **)&s));
  if (s->msg == NULL) {
    napi_throw_error(env, NULL, "scan() before begin()");
    return NULL;
  }
  CHECK(napi_get_value_int64(env, argv[0], &count));
  napi_value result;
  CHECK(napi_create_int64(env, count > 0 ? scan(s, count) : -1, &result));
  return result;
}

/* Every worker thread loads the module (its own instance data); the table is shared and filled once. */
static pthread_once_t digits_once = PTHREAD_ONCE_INIT;

NAPI_MODULE_INIT() {
  pthread_once(&digits_once, fill_digits);
  Search *s = calloc(1, sizeof(Search));
  if (s == NULL || napi_set_instance_data(env, s, free_search, NULL) != napi_ok) {
    free(s);
    napi_throw_error(env, NULL, "native: cannot allocate the search state");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"kernels", NULL, js_kernels, NULL, NULL, NULL, napi_default, NULL},
      {"begin", NULL, js_begin, NULL, NULL, NULL, napi_default, NULL},
      {"scan", NULL, js_scan, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
#endif
