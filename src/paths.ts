/**
 * Where the compiled artefacts live. Worker threads and WASM kernels are
 * always loaded from the build output (`dist/`), whether the caller is the
 * compiled node or a vitest test running the TypeScript sources, so tests
 * exercise the very files production runs. The package's own version is
 * read from the same package.json. The package root is found by
 * walking up from this module to the package.json named jbc-ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, JbcError } from './errors.js';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'jbc-ts') {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new JbcError(ErrorCode.INTERNAL, 'cannot find the jbc-ts package root');
    dir = parent;
  }
}

/** The `version` field of the package.json (what `--version` and `/status` report). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

/** A path inside the build output, e.g. distPath('workers', 'worker.js'). */
export function distPath(...parts: string[]): string {
  return join(packageRoot(), 'dist', ...parts);
}
