#!/usr/bin/env node
/**
 * `npm run build:kernels`: generates the unrolled block functions, then
 * compiles the two kernels with asc into dist/workers/. Skipped when the
 * content stamp (dist/workers/kernels.stamp: a hash of every source here and
 * the compiler's version) matches, because `npm start` and `npm test` build
 * every time and -O3 takes seconds; the compiler is not even loaded then.
 * `--force` rebuilds regardless.
 *
 * Flags: -O3, no assertions, the stub runtime (the kernels allocate nothing:
 * all buffers are static or at __heap_base), and SIMD for the SIMD kernel.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, installedVersion, listFiles, readStamp, writeStamp } from '../../scripts/stamp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outDir = join(root, 'dist', 'workers');
const stampPath = join(outDir, 'kernels.stamp');

const KERNELS = [
  { source: 'kernel-scalar.ts', output: 'kernel-scalar.wasm', flags: [] },
  { source: 'kernel-simd.ts', output: 'kernel-simd.wasm', flags: ['--enable', 'simd'] },
];

/** The generator's output is derived from files that are hashed, so it is left out. */
function inputsHash() {
  const generated = join(here, 'generated');
  const files = listFiles(here, (path) => path !== generated);
  return fingerprint(root, files, [installedVersion(root, 'assemblyscript')]);
}

/**
 * Builds the kernels unless they are up to date; returns true when it
 * compiled. `onBuild` is called just before compiling.
 */
export async function buildKernels({ force = false, onBuild = () => {} } = {}) {
  const hash = inputsHash();
  const present = KERNELS.every(({ output }) => existsSync(join(outDir, output)));
  if (!force && present && readStamp(stampPath) === hash) return false;
  onBuild();
  const { writeGenerated } = await import('./generate.mjs');
  const { default: asc } = await import('assemblyscript/asc');
  writeGenerated();
  mkdirSync(outDir, { recursive: true });
  for (const { source, output, flags } of KERNELS) {
    const args = [join(here, source), '-O3', '--runtime', 'stub', '--noAssert', ...flags, '--outFile', join(outDir, output)];
    const { error, stderr } = await asc.main(args);
    if (error) {
      process.stderr.write(stderr.toString());
      throw new Error(`build:kernels: ${relative(root, join(here, source))}: ${error.message}`);
    }
  }
  writeStamp(stampPath, hash);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildKernels({ force: process.argv.includes('--force') }).catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
