/**
 * A peer's whole chain (a plain jbc peer's /blockchain.json) kept in a
 * temporary file while it is checked and adopted, so memory stays flat
 * however long the chain: each block goes to the file as its output-form
 * JSON line the moment it is parsed, and only its place in the file stays in
 * memory (some 20 bytes a block). jbc lists its files in directory order, not
 * by index, so the blocks are read back by index from those places.
 *
 * The file lives in the data directory (not os.tmpdir(), which may be
 * memory), is named `sync-<random>.spool`, and is removed when the sync is
 * done with it; one left by a crash is removed at the next start.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { blockToJson, type Block, type BlockJson } from '../block.js';
import { ErrorCode, JbcError, describeError } from '../errors.js';

/** A peer's chain as downloaded, readable by index. */
export interface WholeChain {
  /** Blocks in the answer. */
  readonly length: number;
  /**
   * Orders the blocks by index. Throws PEER_BAD_RESPONSE when an index comes
   * twice, INVALID_CHAIN when one of 0 .. length - 1 is missing.
   */
  sort(): void;
  /**
   * Blocks `from` .. `from + count - 1` by index (after `sort`), fewer once
   * `maxBytes` of their text is read (always at least one).
   */
  read(from: number, count: number, maxBytes?: number): Block[];
  /** Removes the file. Safe to call more than once. */
  close(): Promise<void>;
}

const SPOOL_FILE = /^sync-[0-9a-f]+\.spool$/;
/** Block text gathered before one write to the file. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** What `read` gets at once when asked for no limit. */
const DEFAULT_READ_BYTES = 1024 * 1024;

/** Removes the spool files a crash left in `dir` (a node owns its data dir, so none is in use). */
export async function removeStaleSpools(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const stale = names.filter((name) => SPOOL_FILE.test(name));
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
  return stale.length;
}

export class ChainSpool implements WholeChain {
  readonly path: string;
  readonly #peer: string;
  #fd: number | undefined;
  /** Bytes in the file, and waiting in the buffer. */
  #written = 0;
  #buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  #buffered = 0;
  #count = 0;
  /** Per block, in the order it came: where its line starts, and its index (Infinity when too big to be one). */
  #offsets = new Float64Array(1024);
  #indexes = new Float64Array(1024);
  /** By index: 1 + the block's place in arrival order; set by sort(). */
  #order: Uint32Array | undefined;
  #readBuffer = Buffer.allocUnsafe(DEFAULT_READ_BYTES);

  private constructor(path: string, fd: number, peer: string) {
    this.path = path;
    this.#fd = fd;
    this.#peer = peer;
  }

  /** A new, empty spool file in `dir` for a chain from `peer`. Throws STORE_IO when it cannot be created. */
  static create(dir: string, peer: string): ChainSpool {
    const path = join(dir, `sync-${randomBytes(6).toString('hex')}.spool`);
    try {
      return new ChainSpool(path, openSync(path, 'wx+', 0o600), peer);
    } catch (err) {
      throw new JbcError(ErrorCode.STORE_IO, `cannot create ${path}: ${describeError(err)}`, { path }, { cause: err });
    }
  }

  get length(): number {
    return this.#count;
  }

  /** Appends a block (in whatever order the peer sent it). */
  add(block: Block): void {
    if (this.#order !== undefined) throw new JbcError(ErrorCode.INTERNAL, 'block added to a spool after it was sorted');
    const line = `${JSON.stringify(blockToJson(block))}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.#count === this.#offsets.length) {
      this.#offsets = grow(this.#offsets);
      this.#indexes = grow(this.#indexes);
    }
    this.#offsets[this.#count] = this.#written + this.#buffered;
    this.#indexes[this.#count] = block.index <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(block.index) : Infinity;
    this.#count++;
    if (this.#buffered + bytes > this.#buffer.length) this.#flush();
    if (bytes > this.#buffer.length) this.#write(Buffer.from(line));
    else this.#buffered += this.#buffer.write(line, this.#buffered);
  }

  sort(): void {
    if (this.#order !== undefined) return;
    this.#flush();
    const n = this.#count;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const index = this.#indexes[i]!;
      if (index >= n) continue;
      if (order[index] !== 0) {
        throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${this.#peer}: /blockchain.json holds block ${index} twice`, { peer: this.#peer, index });
      }
      order[index] = i + 1;
    }
    const missing = order.indexOf(0);
    if (missing >= 0) {
      throw new JbcError(ErrorCode.INVALID_CHAIN, `${this.#peer}: /blockchain.json has ${n} blocks but no block ${missing}`, {
        peer: this.#peer,
        index: String(missing),
        reason: 'bad-index',
      });
    }
    this.#order = order;
    this.#indexes = new Float64Array(0);
  }

  read(from: number, count: number, maxBytes = DEFAULT_READ_BYTES): Block[] {
    const order = this.#order;
    if (order === undefined) throw new JbcError(ErrorCode.INTERNAL, 'spool read before it was sorted');
    const end = Math.min(this.#count, from + count);
    const blocks: Block[] = [];
    let bytesRead = 0;
    let index = from;
    while (index < end && (blocks.length === 0 || bytesRead < maxBytes)) {
      // Blocks that came one after another are read with one call (a sorted answer reads as a whole).
      const first = order[index]! - 1;
      let last = first;
      let runEnd = index + 1;
      while (runEnd < end && order[runEnd] === last + 2 && this.#lineEnd(last + 1) - this.#offsets[first]! <= maxBytes - bytesRead) {
        last++;
        runEnd++;
      }
      const start = this.#offsets[first]!;
      const bytes = this.#lineEnd(last) - start;
      const text = this.#readAt(start, bytes);
      let at = 0;
      for (let i = first; i <= last; i++) {
        const length = this.#lineEnd(i) - this.#offsets[i]!;
        blocks.push(this.#decode(text.subarray(at, at + length), index + (i - first)));
        at += length;
      }
      bytesRead += bytes;
      index = runEnd;
    }
    return blocks;
  }

  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    this.#offsets = new Float64Array(0);
    this.#indexes = new Float64Array(0);
    this.#order = undefined;
    try {
      closeSync(fd);
    } finally {
      await rm(this.path, { force: true });
    }
  }

  /** Where the line of the block that came `i`-th ends. */
  #lineEnd(i: number): number {
    return i + 1 < this.#count ? this.#offsets[i + 1]! : this.#written;
  }

  #readAt(position: number, bytes: number): Buffer {
    if (this.#readBuffer.length < bytes) this.#readBuffer = Buffer.allocUnsafe(bytes);
    const buffer = this.#readBuffer.subarray(0, bytes);
    let done = 0;
    while (done < bytes) {
      const got = this.#io('read', () => readSync(this.#fd!, buffer, done, bytes - done, position + done));
      if (got === 0) throw new JbcError(ErrorCode.STORE_IO, `${this.path} ends before byte ${position + bytes}`, { path: this.path });
      done += got;
    }
    return buffer;
  }

  /**
   * A line this spool wrote itself from a parsed block: output form, every
   * field already checked, so JSON.parse reads it exactly and nothing needs
   * checking again but that the line is the one asked for.
   */
  #decode(line: Buffer, index: number): Block {
    const json = JSON.parse(line.toString('utf8')) as BlockJson;
    if (json.index !== String(index))
      throw new JbcError(ErrorCode.STORE_IO, `${this.path} holds block ${json.index} where ${index} belongs`, { path: this.path });
    return Object.freeze({
      index: BigInt(index),
      timestamp: BigInt(json.timestamp),
      data: json.data,
      prevHash: json.prev_hash,
      nonce: BigInt(json.nonce),
      hash: json.hash,
    });
  }

  #flush(): void {
    if (this.#buffered === 0) return;
    const bytes = this.#buffered;
    this.#buffered = 0;
    this.#write(this.#buffer.subarray(0, bytes));
  }

  #write(bytes: Buffer): void {
    let done = 0;
    while (done < bytes.length) {
      done += this.#io('write', () => writeSync(this.#fd!, bytes, done, bytes.length - done, this.#written + done));
    }
    this.#written += bytes.length;
  }

  #io<T>(what: string, action: () => T): T {
    if (this.#fd === undefined) throw new JbcError(ErrorCode.STORE_IO, `cannot ${what} ${this.path}: it is closed`, { path: this.path });
    try {
      return action();
    } catch (err) {
      throw new JbcError(ErrorCode.STORE_IO, `cannot ${what} ${this.path}: ${describeError(err)}`, { path: this.path }, { cause: err });
    }
  }
}

function grow(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
