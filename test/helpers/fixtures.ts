/** Test fixtures: the seed article's blocks, and small chains mined on the spot at a low difficulty. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { blockHeader, parseBlock, sealBlock, type Block, type BlockTemplate } from '../../src/block.js';
import type { ChainView } from '../../src/chain.js';
import { TargetTrail, type ChainRule } from '../../src/retarget.js';

export const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

interface SeedFile {
  difficulty: number;
  chain: unknown[];
  competing_block_three: unknown;
  invalid: { why: string; block: unknown }[];
}

export const seedRaw: SeedFile = JSON.parse(readFileSync(fixturePath('seed-blocks.json'), 'utf8')) as SeedFile;

export const seed = {
  difficulty: seedRaw.difficulty,
  chain: seedRaw.chain.map((b) => parseBlock(b)),
  competingBlockThree: parseBlock(seedRaw.competing_block_three),
  invalid: seedRaw.invalid.map(({ why, block }) => ({ why, block: parseBlock(block) })),
};

/**
 * Mines a block by brute force with node:crypto, independently of the
 * project's engines, so model and store tests do not depend on them.
 */
export function mineBlock(template: BlockTemplate, difficulty: number): Block {
  const zeros = '0'.repeat(difficulty);
  for (let nonce = 0n; ; nonce++) {
    const hash = createHash('sha256').update(blockHeader(template, nonce)).digest('hex');
    if (hash.startsWith(zeros)) return Object.freeze({ ...template, nonce, hash });
  }
}

/** Mines a block whose hash, read as a number, is at most `target` (node:crypto, as mineBlock). */
export function mineAtTarget(template: BlockTemplate, target: bigint): Block {
  for (let nonce = 0n; ; nonce++) {
    const hash = createHash('sha256').update(blockHeader(template, nonce)).digest('hex');
    if (BigInt(`0x${hash}`) <= target) return Object.freeze({ ...template, nonce, hash });
  }
}

/** Mines a block whose hash is above `target` but still has `difficulty` leading zeros. */
export function mineAboveTarget(template: BlockTemplate, target: bigint, difficulty: number): Block {
  const zeros = '0'.repeat(difficulty);
  for (let nonce = 0n; ; nonce++) {
    const hash = createHash('sha256').update(blockHeader(template, nonce)).digest('hex');
    if (hash.startsWith(zeros) && BigInt(`0x${hash}`) > target) return Object.freeze({ ...template, nonce, hash });
  }
}

/**
 * Blocks mined at their targets on `trail` (which they extend), each
 * `gaps[i]` seconds after the one before, the first after `from`: with a
 * target block time, blocks close together get harder targets, blocks far
 * apart easier ones.
 */
export function mineOnTrail(trail: TargetTrail, parent: Block | undefined, from: bigint, gaps: readonly number[], tag: string): Block[] {
  const blocks: Block[] = [];
  let timestamp = from;
  let prev = parent;
  for (const gap of gaps) {
    timestamp += BigInt(gap);
    const template = { index: prev === undefined ? 0n : prev.index + 1n, prevHash: prev?.hash ?? '', data: `${tag} ${blocks.length}`, timestamp };
    prev = mineAtTarget(template, trail.target);
    trail.push(prev);
    blocks.push(prev);
  }
  return blocks;
}

/**
 * A chain on a target rule that forks after 10 blocks a second apart: `heavy`
 * (2 blocks a second apart) has more work than `light` (3 blocks 12 s
 * apart). Timestamps end in the past, so any node's clock takes them.
 */
export function workFork(rule: ChainRule): { trail: TargetTrail; prefix: Block[]; heavy: Block[]; light: Block[] } {
  const start = BigInt(Math.floor(Date.now() / 1000)) - 1000n;
  const trail = TargetTrail.from(rule, [], 0n);
  const prefix = mineOnTrail(trail, undefined, start, Array(10).fill(1), 'prefix');
  const last = prefix.at(-1)!;
  const heavy = mineOnTrail(trail.clone(), last, last.timestamp, [1, 1], 'heavy');
  const light = mineOnTrail(trail.clone(), last, last.timestamp, [12, 12, 12], 'light');
  return { trail, prefix, heavy, light };
}

/** A valid chain of `length` blocks at `difficulty`, continuing `after` when given. */
export function mineChain(length: number, difficulty: number, options: { after?: Block; tag?: string } = {}): Block[] {
  const blocks: Block[] = [];
  let prev = options.after;
  for (let i = 0; i < length; i++) {
    const index = prev === undefined ? 0n : prev.index + 1n;
    const block = mineBlock(
      { index, prevHash: prev?.hash ?? '', data: `${options.tag ?? 'test'} block #${index}`, timestamp: 1_700_000_000n + index },
      difficulty,
    );
    blocks.push(block);
    prev = block;
  }
  return blocks;
}

/** Every block of a chain view, in order. */
export function blocksOf(view: ChainView): Block[] {
  return view.range(0n, view.length);
}

/** The hashes of a chain view's blocks, in order: two views hold the same chain when these are equal. */
export function hashesOf(view: ChainView | readonly Block[]): string[] {
  return ('range' in view ? blocksOf(view) : view).map((block) => block.hash);
}

/** A chain valid at difficulty 0 (any hash passes), so quick to make at any length. */
export function easyChain(length: number): Block[] {
  const blocks: Block[] = [];
  for (let i = 0n; i < BigInt(length); i++) {
    blocks.push(sealBlock({ index: i, prevHash: blocks.at(-1)?.hash ?? '', data: `easy ${i}`, timestamp: 1_700_000_000n + i }, i));
  }
  return blocks;
}

const LMDB_PAGE = 4096;

/** Pages of a database file up to its last page holding anything but zeros; past it the file holds room kept for the next writes. */
function pagesInUse(bytes: Buffer): number {
  let pages = Math.floor(bytes.length / LMDB_PAGE);
  while (pages > 0 && bytes.subarray((pages - 1) * LMDB_PAGE, pages * LMDB_PAGE).every((byte) => byte === 0)) pages--;
  return pages;
}

/** A database file cut to half the pages it uses (cutting only the room past them is no damage). */
export function halfThePagesInUse(bytes: Buffer): Buffer {
  return bytes.subarray(0, Math.floor(pagesInUse(bytes) / 2) * LMDB_PAGE);
}

/** A database file cut 100 bytes into a page it uses. */
export function insideAPageInUse(bytes: Buffer): Buffer {
  return bytes.subarray(0, Math.floor(pagesInUse(bytes) / 2) * LMDB_PAGE + 100);
}

/** A database file cut 100 bytes into the room past the pages it uses, as a kill while that room is written leaves it. */
export function insideTheRoomPastItsPages(bytes: Buffer): Buffer {
  const end = (pagesInUse(bytes) + 1) * LMDB_PAGE + 100;
  if (end >= bytes.length) throw new Error(`a database file of ${bytes.length} bytes keeps no room past its pages`);
  return bytes.subarray(0, end);
}
