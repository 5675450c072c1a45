/**
 * Content stamps for the build: a SHA-256 over the inputs of a build step,
 * stored beside its output. A step whose stamp matches is skipped, so
 * `npm start` on an unchanged checkout starts the node without loading the
 * TypeScript or AssemblyScript compilers. Contents, not mtimes: a `git
 * checkout` or a fresh clone touches every file without changing any.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Every file under `dir` (recursively) whose path passes `keep`, sorted. */
export function listFiles(dir, keep = () => true, recursive = true) {
  const found = [];
  const walk = (at) => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (recursive && keep(path, true)) walk(path);
      } else if (keep(path, false)) found.push(path);
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * One hash over the files' paths (relative to `root`) and contents, plus any
 * extra strings (compiler versions). A missing file hashes as missing.
 */
export function fingerprint(root, files, extra = []) {
  const hash = createHash('sha256');
  for (const text of extra) hash.update(`${text}\0`);
  for (const file of [...files].sort()) {
    hash.update(`${relative(root, file)}\0`);
    try {
      hash.update(readFileSync(file));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      hash.update('\0missing');
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

export function readStamp(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeStamp(path, value) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${value}\n`);
}

/** The `version` of an installed package, or 'none'. */
export function installedVersion(root, name) {
  try {
    return `${name}@${JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version}`;
  } catch {
    return `${name}@none`;
  }
}
