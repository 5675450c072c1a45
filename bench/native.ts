/**
 * The yardstick rows, each a C program compiled on the fly with the system C
 * compiler and run as one process per worker:
 *
 * - `native-openssl`: bench/native-sha256.c, OpenSSL's SHA-256 with a
 *   midstate; skipped with a note when there are no OpenSSL headers.
 * - `c-<kernel>`: the native engine's own search (workers/native/search.c
 *   built as a plain program), with no Node.js, worker pool or chunked calls
 *   around it: what the engine would do if the node cost nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKER_NICE } from '../src/mining/worker-priority.js';
import { packageRoot } from '../src/paths.js';

export interface NativeBinary {
  readonly path: string;
  dispose(): void;
}

export type NativeBuild = { readonly ok: true; readonly binary: NativeBinary } | { readonly ok: false; readonly reason: string };

function findCompiler(): string | undefined {
  return ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
}

/** The native engine's search as a plain program (run as `path KERNEL SECONDS PREFIX START`). */
export function buildKernelSearch(): NativeBuild {
  const source = join(packageRoot(), 'workers', 'native', 'search.c');
  const compiler = findCompiler();
  if (compiler === undefined) return { ok: false, reason: 'no C compiler (cc) found' };
  const dir = mkdtempSync(join(tmpdir(), 'jbc-bench-'));
  const path = join(dir, 'search');
  const built = spawnSync(compiler, ['-O3', '-std=gnu11', '-DJBC_STANDALONE', '-o', path, source, '-lpthread'], { encoding: 'utf8' });
  if (built.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, reason: `cannot compile the C search: ${(built.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? `exit ${built.status}`}` };
  }
  return { ok: true, binary: { path, dispose: () => rmSync(dir, { recursive: true, force: true }) } };
}

export function buildNative(): NativeBuild {
  const source = join(packageRoot(), 'bench', 'native-sha256.c');
  const compiler = findCompiler();
  if (compiler === undefined) return { ok: false, reason: 'no C compiler (cc) found' };
  const dir = mkdtempSync(join(tmpdir(), 'jbc-bench-'));
  const path = join(dir, 'native-sha256');
  const built = spawnSync(compiler, ['-O2', '-Wno-deprecated-declarations', '-o', path, source, '-lcrypto'], { encoding: 'utf8' });
  if (built.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const detail = /openssl\/sha\.h/.test(built.stderr ?? '')
      ? 'OpenSSL headers (openssl/sha.h) not found; install libssl-dev'
      : ((built.stderr ?? '').split('\n').find((l) => l.trim() !== '') ?? `exit ${built.status}`);
    return { ok: false, reason: `cannot compile the native reference: ${detail}` };
  }
  return { ok: true, binary: { path, dispose: () => rmSync(dir, { recursive: true, force: true }) } };
}

export interface NativeRun {
  readonly hashes: number;
  readonly seconds: number;
}

/**
 * Runs `processes` copies at once (disjoint nonce ranges) for `seconds`; sums
 * their hashes. `lead` goes before the usual arguments (the kernel, for the C search).
 */
export async function runNative(binary: NativeBinary, prefix: string, processes: number, seconds: number, lead: readonly string[] = []): Promise<NativeRun> {
  const runs = await Promise.all(Array.from({ length: processes }, (_, i) => runOne(binary.path, [...lead, String(seconds), prefix, String(i * 2 ** 40)])));
  return {
    hashes: runs.reduce((sum, r) => sum + r.hashes, 0),
    seconds: Math.max(...runs.map((r) => r.seconds)),
  };
}

function runOne(path: string, args: string[]): Promise<NativeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // At the mining workers' niceness, so on a shared machine both meet the same competition.
    if (child.pid !== undefined && process.platform === 'linux') {
      try {
        setPriority(child.pid, WORKER_NICE);
      } catch {
        // Left at the bench's own priority; the figures are then a little kinder to the yardstick.
      }
    }
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`native reference exited ${code}: ${err.trim()}`));
      try {
        const parsed = JSON.parse(out) as { hashes: number; seconds: number };
        resolve({ hashes: parsed.hashes, seconds: parsed.seconds });
      } catch {
        reject(new Error(`native reference printed ${JSON.stringify(out.slice(0, 80))}`));
      }
    });
  });
}
