import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // e2e tests start real nodes and worker pools; on 2 cores running files
    // one at a time keeps them from starving each other's timers.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['verbose'],
  },
});
