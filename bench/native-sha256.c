/*
 * Native yardstick for `npm run bench`: how many jbc header hashes per second
 * one core does with OpenSSL's SHA-256, using the same trick as the WASM
 * kernels (hash the 64-byte blocks of the prefix once, then per nonce only the
 * tail plus the nonce's decimal digits). Not a mining engine.
 *
 * usage: native-sha256 SECONDS PREFIX [START_NONCE]
 * prints: {"hashes":N,"seconds":S,"best":Z}   (Z = most leading zero hex digits seen)
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int leading_zero_hex(const unsigned char *md) {
  int n = 0;
  for (int i = 0; i < 32; i++) {
    if (md[i] == 0) { n += 2; continue; }
    if (md[i] < 16) n += 1;
    break;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SECONDS PREFIX [START_NONCE]\n", argv[0]);
    return 2;
  }
  const double seconds = atof(argv[1]);
  const char *prefix = argv[2];
  unsigned long long nonce = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
  const size_t plen = strlen(prefix);
  const size_t full = plen - plen % 64;

  SHA256_CTX mid;
  SHA256_Init(&mid);
  SHA256_Update(&mid, prefix, full);
  unsigned char tail[64 + 32];
  const size_t tlen = plen - full;
  memcpy(tail, prefix + full, tlen);

  unsigned long long hashes = 0;
  int best = 0;
  unsigned char md[SHA256_DIGEST_LENGTH];
  char digits[24];
  const double t0 = now_seconds();
  double elapsed = 0;
  for (;;) {
    for (int i = 0; i < 16384; i++, nonce++) {
      /* decimal digits of the nonce, most significant first */
      int n = 0;
      unsigned long long v = nonce;
      do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
      for (int k = 0; k < n; k++) tail[tlen + k] = (unsigned char)digits[n - 1 - k];
      SHA256_CTX c = mid;
      SHA256_Update(&c, tail, tlen + (size_t)n);
      SHA256_Final(md, &c);
      if (md[0] == 0) {
        int z = leading_zero_hex(md);
        if (z > best) best = z;
      }
    }
    hashes += 16384;
    elapsed = now_seconds() - t0;
    if (elapsed >= seconds) break;
  }
  printf("{\"hashes\":%llu,\"seconds\":%.6f,\"best\":%d}\n", hashes, elapsed, best);
  return 0;
}
