#!/usr/bin/env node
/**
 * `npm run build:kernels`: generates the unrolled block functions, then
 * compiles the two kernels with asc into dist/workers/. A kernel whose .wasm
 * is newer than every source here (and than the installed compiler) is left
 * alone, because `npm start` and `npm test` build every time and -O3 takes
 * seconds. `--force` rebuilds regardless.
 *
 * Flags: -O3, no assertions, the stub runtime (the kernels allocate nothing:
 * all buffers are static or at __heap_base), and SIMD for the SIMD kernel.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { writeGenerated } from './generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outDir = join(root, 'dist', 'workers');
const force = process.argv.includes('--force');

const KERNELS = [
  { source: 'kernel-scalar.ts', output: 'kernel-scalar.wasm', flags: [] },
  { source: 'kernel-simd.ts', output: 'kernel-simd.wasm', flags: ['--enable', 'simd'] },
];

function newestInput() {
  let newest = statSync(join(root, 'node_modules', 'assemblyscript', 'package.json')).mtimeMs;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(here);
  return newest;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

writeGenerated();
mkdirSync(outDir, { recursive: true });
const inputs = newestInput();
for (const { source, output, flags } of KERNELS) {
  const target = join(outDir, output);
  if (!force && mtime(target) > inputs) continue;
  const args = [join(here, source), '-O3', '--runtime', 'stub', '--noAssert', ...flags, '--outFile', target];
  const { error, stderr } = await asc.main(args);
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build:kernels: ${relative(root, join(here, source))}: ${error.message}\n`);
    process.exit(1);
  }
}
