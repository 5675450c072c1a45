/**
 * Builds the explorer page into dist/explorer/: the browser TypeScript with
 * its own tsconfig (DOM types, no Node), then the static files beside the
 * scripts. Skipped when the stamp (a hash of everything under explorer/ and
 * the compiler's version) matches, like the rest of scripts/build.mjs.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, installedVersion, listFiles, readStamp, writeStamp } from '../scripts/stamp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, 'dist', 'explorer');
const stampPath = join(out, 'explorer.stamp');

/** Builds unless up to date; returns true when it built. `onBuild` runs first when it does. */
export function buildExplorer({ force = false, onBuild = () => {} } = {}) {
  const hash = fingerprint(root, listFiles(here), [installedVersion(root, 'typescript')]);
  if (!force && readStamp(stampPath) === hash && existsSync(join(out, 'index.html'))) return false;
  onBuild();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`explorer build failed (tsc exit ${result.status ?? result.signal})`);
  mkdirSync(out, { recursive: true });
  for (const file of ['index.html', 'style.css']) copyFileSync(join(here, file), join(out, file));
  writeStamp(stampPath, hash);
  return true;
}
