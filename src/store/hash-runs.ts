/**
 * The bulk of the hash index: sorted, immutable files of 16-byte records
 * (the hash's tag, then the height: the database's hash index keys), read
 * with pread. The database keeps only the newest entries; past a few
 * hundred thousand they are written out as one more run, and runs are
 * merged into one when there get to be too many.
 *
 * A sync writes the hash index at random, and every page of a memory-mapped
 * table it writes ends up resident: a whole-chain index in the database
 * grows a syncing node's memory by about 35 MB per million blocks. Runs read
 * with pread pass through the page cache instead, so that memory stays flat
 * at any height.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, JbcError } from '../errors.js';

/** Bytes of a record: the hash's tag (8) and the height (8, big-endian). */
export const RECORD_BYTES = 16;
/** Records of a run read in one go by a lookup (4 KiB). */
const BLOCK_RECORDS = 256;
/** Bytes of a block's first record kept in memory to find the block: the tag. */
const FENCE_BYTES = 8;

const RUN_FILE = /^hashes-(\d{6,})\.run$/;

export function runFileName(run: number): string {
  return `hashes-${String(run).padStart(6, '0')}.run`;
}

/** The run number of a run file's name; undefined for any other file. */
export function runOfFileName(name: string): number | undefined {
  const match = RUN_FILE.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** Records read back in order through a buffer, for merging. */
class RecordCursor {
  readonly #fd: number;
  readonly #count: number;
  #buffer: Buffer = Buffer.alloc(0);
  #next = 0;
  #bufferStart = 0;

  constructor(fd: number, count: number) {
    this.#fd = fd;
    this.#count = count;
  }

  /** The next record (a view valid until the following call), or undefined at the end. */
  peek(): Buffer | undefined {
    if (this.#next >= this.#count) return undefined;
    const at = (this.#next - this.#bufferStart) * RECORD_BYTES;
    if (at >= this.#buffer.length) {
      const records = Math.min(4096, this.#count - this.#next);
      this.#buffer = readExactly(this.#fd, this.#next * RECORD_BYTES, records * RECORD_BYTES);
      this.#bufferStart = this.#next;
      return this.#buffer.subarray(0, RECORD_BYTES);
    }
    return this.#buffer.subarray(at, at + RECORD_BYTES);
  }

  advance(): void {
    this.#next++;
  }
}

/** One run file, open for reading. */
export class Run {
  readonly number: number;
  readonly path: string;
  readonly count: number;
  readonly #fd: number;
  #fences: Buffer | undefined;

  private constructor(number: number, path: string, fd: number, count: number) {
    this.number = number;
    this.path = path;
    this.#fd = fd;
    this.count = count;
  }

  /**
   * Opens run `number` of `dir`. With `sum`, the checksum recorded when it
   * was written, the whole file is read and checked first: a run cut short
   * or with a flipped bit would otherwise answer "no such block" for blocks
   * the chain holds, without a word.
   */
  static open(dir: string, number: number, sum?: string): Run {
    const path = join(dir, runFileName(number));
    const fd = openSync(path, constants.O_RDONLY);
    try {
      const { size } = fstatSync(fd);
      if (size % RECORD_BYTES !== 0) {
        throw new JbcError(ErrorCode.STORE_CORRUPT, `${path} is ${size} bytes, not whole ${RECORD_BYTES}-byte records`, { path });
      }
      if (sum !== undefined && fileSum(fd, size) !== sum) {
        throw new JbcError(ErrorCode.STORE_CORRUPT, `${path} does not match the checksum recorded when it was written (damaged)`, { path });
      }
      return new Run(number, path, fd, size / RECORD_BYTES);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The records whose first bytes are `prefix`: a binary search of the fences, then one read of a block or two. */
  find(prefix: Buffer): Buffer[] {
    this.#fences ??= this.#readFences();
    const fences = this.#fences;
    // Blocks whose first record sorts before `prefix`; the first match is in the last of them or after.
    let low = 0;
    let high = fences.length / FENCE_BYTES;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (Buffer.compare(fences.subarray(mid * FENCE_BYTES, mid * FENCE_BYTES + prefix.length), prefix) < 0) low = mid + 1;
      else high = mid;
    }
    const found: Buffer[] = [];
    for (let block = Math.max(0, low - 1); block * BLOCK_RECORDS < this.count; block++) {
      const first = block * BLOCK_RECORDS;
      const bytes = readExactly(this.#fd, first * RECORD_BYTES, Math.min(BLOCK_RECORDS, this.count - first) * RECORD_BYTES);
      for (let at = 0; at < bytes.length; at += RECORD_BYTES) {
        const order = Buffer.compare(bytes.subarray(at, at + prefix.length), prefix);
        if (order > 0) return found;
        if (order === 0) found.push(bytes.subarray(at, at + RECORD_BYTES));
      }
    }
    return found;
  }

  cursor(): RecordCursor {
    return new RecordCursor(this.#fd, this.count);
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** The first bytes of every block's first record, read once: 8 bytes in memory per 256 records. */
  #readFences(): Buffer {
    const blocks = Math.ceil(this.count / BLOCK_RECORDS);
    const fences = Buffer.allocUnsafe(blocks * FENCE_BYTES);
    for (let block = 0; block < blocks; block++) {
      readExactly(this.#fd, block * BLOCK_RECORDS * RECORD_BYTES, FENCE_BYTES).copy(fences, block * FENCE_BYTES);
    }
    return fences;
  }
}

/** Records written between two turns given to the event loop, so a long merge does not freeze the node. */
const RECORDS_PER_TURN = 65_536;

/**
 * Writes `records`, which must come in ascending order, as the run file
 * `number` of `dir`, synced to disk. Returns how many were written and the
 * file's checksum, for `Run.open` to check.
 */
export async function writeRun(dir: string, number: number, records: Iterable<Buffer>): Promise<{ count: number; sum: string }> {
  const path = join(dir, runFileName(number));
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    const out = Buffer.allocUnsafe(4096 * RECORD_BYTES);
    let used = 0;
    let offset = 0;
    let count = 0;
    const hash = createHash(SUM_HASH);
    const flush = () => {
      hash.update(out.subarray(0, used));
      for (let done = 0; done < used; ) done += writeSync(fd, out, done, used - done, offset + done);
      offset += used;
      used = 0;
    };
    for (const record of records) {
      record.copy(out, used);
      used += RECORD_BYTES;
      count++;
      if (used === out.length) flush();
      if (count % RECORDS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    flush();
    fdatasyncSync(fd);
    return { count, sum: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** The records of `runs` merged into one ascending sequence, each distinct record once. */
export function* mergeRecords(runs: readonly Run[]): Generator<Buffer> {
  const cursors = runs.map((run) => run.cursor());
  let last: Buffer | undefined;
  for (;;) {
    let least: RecordCursor | undefined;
    let leastRecord: Buffer | undefined;
    for (const cursor of cursors) {
      const record = cursor.peek();
      if (record !== undefined && (leastRecord === undefined || Buffer.compare(record, leastRecord) < 0)) {
        least = cursor;
        leastRecord = record;
      }
    }
    if (least === undefined || leastRecord === undefined) return;
    if (last === undefined || !leastRecord.equals(last)) {
      last = Buffer.from(leastRecord);
      yield last;
    }
    least.advance();
  }
}

/** The checksum of a run file: SHA-256 (the file is read once per open, at disk speed, and nothing else is asked of it). */
const SUM_HASH = 'sha256';

function fileSum(fd: number, size: number): string {
  const hash = createHash(SUM_HASH);
  for (let at = 0; at < size; at += 1 << 20) hash.update(readExactly(fd, at, Math.min(1 << 20, size - at)));
  return hash.digest('hex');
}

function readExactly(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) throw new JbcError(ErrorCode.STORE_CORRUPT, `a hash index run ends at ${position + done}, before the record it was asked for`);
    done += n;
  }
  return bytes;
}
