/**
 * Test fixtures as blocks: the chains in test/fixtures/chains-d2.json (valid
 * at difficulty 2), the article's seed chain, and ways to write them into a
 * data directory the way jbc does.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockToJson, parseBlock, type Block, type BlockJson } from '../../../src/block.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export interface ChainFixtures {
  readonly difficulty: number;
  /** 12 blocks. */
  readonly main: readonly Block[];
  /** 14 blocks; blocks 0-4 are main's. */
  readonly fork: readonly Block[];
  /** Extends main: index 12, 20-digit timestamp, nonce beyond 2^64. */
  readonly bigint: Block;
  /** The article's four blocks (valid at 5, so at 2 as well); a chain unrelated to main from block 0. */
  readonly seed: readonly Block[];
}

let cached: Promise<ChainFixtures> | undefined;

export function loadFixtures(): Promise<ChainFixtures> {
  cached ??= (async () => {
    const chains = JSON.parse(await readFile(join(FIXTURES, 'chains-d2.json'), 'utf8')) as {
      difficulty: number;
      main: unknown[];
      fork: unknown[];
      bigint: unknown;
    };
    const seed = JSON.parse(await readFile(join(FIXTURES, 'seed-blocks.json'), 'utf8')) as { chain: unknown[] };
    return {
      difficulty: chains.difficulty,
      main: chains.main.map(parseBlock),
      fork: chains.fork.map(parseBlock),
      bigint: parseBlock(chains.bigint),
      seed: seed.chain.map(parseBlock),
    };
  })();
  return cached;
}

/** A block with one field changed and the old hash kept: fails validation. */
export function tampered(block: Block, change: Partial<Block>): Block {
  return Object.freeze({ ...block, ...change });
}

export function toJson(blocks: readonly Block[]): BlockJson[] {
  return blocks.map(blockToJson);
}

/** A fresh temporary directory; remove it with `removeDir`. */
export function tempDir(prefix = 'jbc-node-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes blocks into `dir` as jbc does: `000042.json`, output form. */
export async function writeDataDir(dir: string, blocks: readonly Block[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const block of blocks) {
    await writeFile(join(dir, `${String(block.index).padStart(6, '0')}.json`), JSON.stringify(blockToJson(block)));
  }
}
