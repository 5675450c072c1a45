/**
 * The source tree's shape: each folder of src/ is a part whose index.ts is
 * what the others may import, and no chain of imports leads back to where
 * it started, between folders or between files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const SRC = join(packageRoot(), 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'(\.{1,2}\/[^']+)'/g;

/** Each source file (relative to src/) and the source files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
    graph.set(file, targets);
  }
  return graph;
}

/** A file's part: its folder under src/, or the file itself for the model and tools at the top. */
const partOf = (file: string): string => (file.includes('/') ? file.split('/')[0]! : file);

function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('the source tree', () => {
  const graph = importGraph();

  it('imports another folder only through its index.ts', () => {
    const deep: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (target.includes('/') && partOf(target) !== partOf(file) && !target.endsWith('/index.ts')) deep.push(`${file} -> ${target}`);
      }
    }
    expect(deep).toEqual([]);
  });

  it('has no import circle between files', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('has no import circle between its parts', () => {
    const parts = new Map<string, string[]>();
    for (const [file, targets] of graph) {
      const from = partOf(file);
      const list = parts.get(from) ?? [];
      for (const target of targets) if (partOf(target) !== from) list.push(partOf(target));
      parts.set(from, list);
    }
    expect(findCycle(parts)).toBeUndefined();
  });

  it('is read by these checks: a file that imports a deep path is seen', () => {
    expect(graph.get('node/node.ts')).toContain('api/index.ts');
  });
});
