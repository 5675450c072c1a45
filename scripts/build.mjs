#!/usr/bin/env node
/**
 * `npm run build`, and the check every `npm start`, `npm test`, `npm run
 * bench` and `npx jbc-ts` run first: compiles what changed into dist/ and
 * nothing else.
 *
 * - TypeScript: skipped when the stamp dist/typescript.stamp (a hash of the
 *   files tsconfig.json includes, tsconfig.json itself, package-lock.json and
 *   the compiler's version) matches; otherwise `tsc -p tsconfig.json`, which
 *   is incremental (dist/tsconfig.tsbuildinfo), so even then only changed
 *   files are re-emitted.
 * - WebAssembly kernels: workers/assembly/build.mjs, with its own stamp.
 * - The explorer page: explorer/build.mjs, with its own stamp.
 * - The native mining engine: workers/native/build.mjs, with its own stamp
 *   (normally built already by `npm install`); where it cannot be built the
 *   build goes on, and the node mines with WebAssembly.
 *
 * Loading tsc alone costs seconds on a busy machine; hashing ~70 files costs
 * milliseconds, which is why the stamp is checked before tsc is started.
 *
 * Usage: node scripts/build.mjs [--force] [--quiet]
 *   --force   rebuild everything
 *   --quiet   no "building" line on stderr (errors are still printed)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildExplorer } from '../explorer/build.mjs';
import { buildKernels } from '../workers/assembly/build.mjs';
import { buildNative } from '../workers/native/build.mjs';
import { fingerprint, installedVersion, listFiles, readStamp, writeStamp } from './stamp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsconfigPath = join(root, 'tsconfig.json');
const stampPath = join(root, 'dist', 'typescript.stamp');

/**
 * The files tsconfig.json's `include` names. Only the two pattern forms the
 * project uses are understood (`dir/*.ts`, `dir/**\/*.ts`); another form
 * throws, so a new pattern cannot silently leave files out of the stamp.
 */
function typescriptInputs() {
  const { include } = JSON.parse(readFileSync(tsconfigPath, 'utf8'));
  const files = [];
  for (const pattern of include) {
    const match = /^(.+?)\/(\*\*\/)?\*\.ts$/.exec(pattern);
    if (match === null) throw new Error(`scripts/build.mjs: cannot read tsconfig include pattern ${JSON.stringify(pattern)}`);
    const [, dir, deep] = match;
    files.push(...listFiles(join(root, dir), (path, isDir) => isDir || path.endsWith('.ts'), deep !== undefined));
  }
  return [...files, tsconfigPath, join(root, 'package-lock.json')];
}

/** Compiles the TypeScript unless the stamp matches; returns true when tsc ran. */
function buildTypescript({ force, announce }) {
  const hash = fingerprint(root, typescriptInputs(), [installedVersion(root, 'typescript')]);
  if (!force && readStamp(stampPath) === hash && existsSync(join(root, 'dist', 'src', 'cli.js'))) return false;
  announce();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // tsc -p has no --force (only tsc --build does): without its build info an incremental build compiles everything.
  if (force) rmSync(join(root, 'dist', 'tsconfig.tsbuildinfo'), { force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', tsconfigPath], {
    cwd: root,
    // tsc reports errors on stdout; stdout is the node's log stream, so they go to stderr.
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) throw new Error(`TypeScript build failed (tsc exit ${result.status ?? result.signal})`);
  writeStamp(stampPath, hash);
  return true;
}

/**
 * Brings dist/ up to date. Prints one line on stderr before building (unless
 * quiet), so a slow first start is never silent; throws when a step fails.
 */
export async function build({ force = false, quiet = false } = {}) {
  let announced = false;
  const announce = () => {
    if (!quiet && !announced) process.stderr.write('jbc-ts: building dist/ (first run, or the sources changed)...\n');
    announced = true;
  };
  const compiled = buildTypescript({ force, announce });
  const page = buildExplorer({ force, onBuild: announce });
  const native = buildNative({ force, onBuild: announce }).built;
  return (await buildKernels({ force, onBuild: announce })) || compiled || page || native;
}

/**
 * What the commands in bin/ do: build if needed, then import `entry` (a path
 * under dist/) in this same process, so signals sent to this process reach
 * the program itself rather than a wrapper.
 */
export async function runBuilt(name, entry) {
  try {
    await build();
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  await import(pathToFileURL(join(root, 'dist', entry)).href);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--force' && a !== '--quiet');
  if (unknown.length > 0) {
    process.stderr.write(`build: unknown argument ${JSON.stringify(unknown[0])} (known: --force, --quiet)\n`);
    process.exit(2);
  }
  build({ force: args.includes('--force'), quiet: args.includes('--quiet') }).catch((err) => {
    process.stderr.write(`jbc-ts: ${err.message}\n`);
    process.exit(1);
  });
}
