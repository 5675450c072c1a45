/**
 * Where each height's line is in the block log, kept per chunk of 64
 * heights rather than per height. A chunk's value lists runs: lines that lie
 * back to back in the log, as (offset, bytes, count). A chain written by
 * appends and syncs is one run per chunk, 14 bytes for 64 blocks; a reorg
 * can leave a chunk two runs (the lines before the fork point, and those
 * written after it). Line boundaries are the newlines that end each line.
 *
 * The whole database is mapped into the process, and a node that serves or
 * syncs its chain touches all of it, so its size per block is memory: an
 * entry per height took 30 bytes a block, a chunk takes under one.
 */
import { ErrorCode, JbcError } from '../errors.js';
import type { Location } from './block-log.js';

export const CHUNK_HEIGHTS = 64;
const CHUNK = BigInt(CHUNK_HEIGHTS);
const RUN_BYTES = 14;

/** Lines that lie back to back in the log. */
export interface Run {
  readonly offset: number;
  readonly bytes: number;
  readonly count: number;
}

/** A chunk's key: its number, 8 bytes big-endian (so LMDB's byte order is height order). */
export function chunkKey(chunk: bigint): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(chunk);
  return key;
}

export function chunkOf(height: bigint): bigint {
  return height / CHUNK;
}

/** The first height of a chunk. */
export function chunkStart(chunk: bigint): bigint {
  return chunk * CHUNK;
}

/** A height's place within its chunk. */
export function slotOf(height: bigint): number {
  return Number(height % CHUNK);
}

/** Lines a chunk's runs hold. */
export function lineCount(runs: readonly Run[]): number {
  return runs.reduce((sum, run) => sum + run.count, 0);
}

export function encodeRuns(runs: readonly Run[]): Buffer {
  const bytes = Buffer.allocUnsafe(runs.length * RUN_BYTES);
  runs.forEach((run, i) => {
    const at = i * RUN_BYTES;
    bytes.writeUInt32BE(Math.floor(run.offset / 2 ** 32), at);
    bytes.writeUInt32BE(run.offset % 2 ** 32, at + 4);
    bytes.writeUInt32BE(run.bytes, at + 8);
    bytes.writeUInt16BE(run.count, at + 12);
  });
  return bytes;
}

export function decodeRuns(value: Uint8Array): Run[] {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.length === 0 || bytes.length % RUN_BYTES !== 0) {
    throw new JbcError(ErrorCode.STORE_CORRUPT, `a chunk of block locations is ${bytes.length} bytes, not a multiple of ${RUN_BYTES}`);
  }
  const runs: Run[] = [];
  for (let at = 0; at < bytes.length; at += RUN_BYTES) {
    runs.push({ offset: bytes.readUInt32BE(at) * 2 ** 32 + bytes.readUInt32BE(at + 4), bytes: bytes.readUInt32BE(at + 8), count: bytes.readUInt16BE(at + 12) });
  }
  return runs;
}

/** The run holding a chunk's `slot`-th line, and the line's place in that run; undefined past the chunk's lines. */
export function findSlot(runs: readonly Run[], slot: number): { run: Run; line: number } | undefined {
  let line = slot;
  for (const run of runs) {
    if (line < run.count) return { run, line };
    line -= run.count;
  }
  return undefined;
}

/**
 * The runs of the chunks that lines for consecutive heights from `from`
 * fill, given the runs the chunk of `from` already holds (its lines before
 * `from`): each touched chunk once, in order, with all its runs.
 */
export function* fillChunks(from: bigint, head: readonly Run[], lines: readonly Location[]): Generator<{ chunk: bigint; runs: Run[] }> {
  let chunk = chunkOf(from);
  let runs = [...head];
  let used = slotOf(from);
  for (const line of lines) {
    if (used === CHUNK_HEIGHTS) {
      yield { chunk, runs };
      chunk++;
      runs = [];
      used = 0;
    }
    const last = runs.at(-1);
    if (last !== undefined && last.offset + last.bytes === line.offset) {
      runs[runs.length - 1] = { offset: last.offset, bytes: last.bytes + line.length, count: last.count + 1 };
    } else {
      runs.push({ offset: line.offset, bytes: line.length, count: 1 });
    }
    used++;
  }
  if (runs.length > 0) yield { chunk, runs };
}

/**
 * The `count` lines of a run's bytes (newlines included). Where the bytes
 * are not that many lines (a newline lost or added), the lines from there on
 * come out wrong or empty: each is checked when read (stored-block.ts), so
 * the first of them is reported damaged at its height.
 */
export function splitLines(bytes: Buffer, count: number): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (lines.length < count) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    lines.push(bytes.subarray(start, end + 1));
    start = end + 1;
  }
  while (lines.length < count) lines.push(Buffer.alloc(0));
  return lines;
}
