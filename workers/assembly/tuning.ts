/**
 * Optimisation switches of the nonce-search kernels. The shipped kernels have
 * them all on; turning one off (edit, `npm run build:kernels`, run the bench)
 * measures what it is worth. The figures are in the README.
 */

/**
 * Per-position block functions: schedule words (and terms of words) that do
 * not depend on the nonce are computed once per window instead of once per
 * nonce, and K+W is pre-added for the constant words. They always skip the
 * constant rounds too. Off: one generic block function, entered at round 0 or
 * at the first nonce round (SKIP_CONSTANT_ROUNDS).
 */
export const PRECOMPUTE_SCHEDULE = true;

/**
 * With PRECOMPUTE_SCHEDULE off: run the rounds of the nonce block that only
 * see nonce-independent message words once per window, not once per nonce.
 */
export const SKIP_CONSTANT_ROUNDS = true;

/**
 * Trailing nonce digits treated as varying (2 to 5). Every 10^WINDOW_DIGITS
 * nonces the carry leaves the window and the constants are recomputed (about
 * two block compressions). At least 2: the SIMD lanes differ in the last two
 * digits; at most 5: the window must fit the two words the SIMD kernel
 * rebuilds per group.
 */
export const WINDOW_DIGITS: i32 = 3;
