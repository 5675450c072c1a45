#!/usr/bin/env node
/**
 * Builds the native mining engine (workers/native/search.c, a Node-API
 * addon) into dist/native/jbc-native.node with the system C compiler and the
 * headers of the Node.js that runs this script (its own include directory:
 * nothing is downloaded, and no node-gyp). Run by `npm install` (the
 * package's install script) and by scripts/build.mjs before every start.
 *
 * A machine without a compiler or without the headers still installs: the
 * build then writes why into dist/native/unavailable.txt, prints one line,
 * and exits 0; the node mines with WebAssembly and logs that reason. Like
 * the other build steps it is skipped while its stamp (the sources, the
 * compiler's version, the Node-API version) matches, failed builds included,
 * so a machine without a compiler does not retry on every start.
 *
 * Usage: node workers/native/build.mjs [--force]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, readStamp, writeStamp } from '../../scripts/stamp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const source = join(here, 'search.c');
const defaultOutDir = join(root, 'dist', 'native');

/** The directory holding node_api.h for the running Node, or undefined. */
export function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    // Official tarballs, distribution packages (/usr/bin/node -> /usr/include/node) and nvm all put it here.
    join(dirname(process.execPath), '..', 'include', 'node'),
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

function findCompiler(env) {
  const names = [env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  for (const name of names) {
    const probe = spawnSync(name, ['--version'], { encoding: 'utf8', env });
    if (probe.status === 0) return { name, version: (probe.stdout ?? '').split('\n')[0] };
  }
  return undefined;
}

/**
 * Builds the addon unless its stamp matches. Returns `{ built, ok, reason }`:
 * `built` when the compiler ran, `ok` when an addon is in place, `reason`
 * when it is not. `outDir` and `env` (where the compiler is looked for) are
 * for tests.
 */
export function buildNative({ force = false, onBuild = () => {}, outDir = defaultOutDir, env = process.env } = {}) {
  const addonPath = join(outDir, 'jbc-native.node');
  const unavailablePath = join(outDir, 'unavailable.txt');
  const stampPath = join(outDir, 'native.stamp');
  const compiler = findCompiler(env);
  const include = nodeIncludeDir();
  const hash = fingerprint(
    root,
    [source, fileURLToPath(import.meta.url)],
    [compiler?.version ?? 'no compiler', include ?? 'no headers', process.platform, process.arch, `napi ${process.versions.napi}`],
  );
  if (!force && readStamp(stampPath) === hash) {
    if (existsSync(addonPath)) return { built: false, ok: true };
    if (existsSync(unavailablePath)) return { built: false, ok: false, reason: readFileSync(unavailablePath, 'utf8').trim() };
  }
  onBuild();
  mkdirSync(outDir, { recursive: true });
  rmSync(unavailablePath, { force: true });
  const reason = compile(compiler, include, addonPath, env);
  if (reason === undefined) {
    writeStamp(stampPath, hash);
    return { built: true, ok: true };
  }
  rmSync(addonPath, { force: true });
  writeFileSync(unavailablePath, `${reason}\n`);
  writeStamp(stampPath, hash);
  return { built: true, ok: false, reason };
}

/** Compiles the addon; returns why it could not, or undefined. */
function compile(compiler, include, addonPath, env) {
  if (process.platform === 'win32') return 'the native engine is built with a Unix C compiler; not on Windows';
  if (compiler === undefined) return 'no C compiler (cc, gcc or clang) found';
  if (include === undefined) return `no Node.js headers (node_api.h) beside ${process.execPath}`;
  const partial = `${addonPath}.partial`;
  const args = ['-O3', '-std=gnu11', '-shared', '-fPIC', '-fvisibility=hidden', '-Wall', '-Wno-implicit-fallthrough', '-I', include, '-o', partial, source];
  // Node-API symbols are resolved from the node binary when the addon loads.
  if (process.platform === 'darwin') args.unshift('-undefined', 'dynamic_lookup');
  if (process.platform !== 'darwin') args.push('-lpthread');
  const result = spawnSync(compiler.name, args, { encoding: 'utf8', env });
  if (result.status !== 0) {
    rmSync(partial, { force: true });
    const first = (result.stderr ?? '').split('\n').find((line) => /error/i.test(line)) ?? `exit ${result.status ?? result.signal}`;
    return `${compiler.name} failed: ${first.trim()}`;
  }
  renameSync(partial, addonPath);
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = buildNative({ force: process.argv.includes('--force') });
  if (result.ok) {
    if (result.built) process.stderr.write(`jbc-ts: built the native mining engine (${join(defaultOutDir, 'jbc-native.node')})\n`);
  } else {
    // Never fail the install: the node falls back to WebAssembly and says so when it starts.
    process.stderr.write(`jbc-ts: native mining engine not built (${result.reason}); the node will mine with WebAssembly\n`);
  }
}
