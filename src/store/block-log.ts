/**
 * The blocks' bytes, in one append-only file beside the database,
 * `<dir>/blocks.log`: each block's output-form JSON line, one after another.
 * The database records where each height's line is (see chunks.ts).
 *
 * - Read with pread, not through a memory map: serving or syncing a chain of
 *   any length passes through the kernel's page cache without becoming this
 *   process's memory (every page a process reads through a map stays
 *   resident in it).
 * - Append-only: a line a commit has pointed at is never overwritten, so a
 *   read snapshot of the database always finds its blocks here. Lines of
 *   blocks that a reorg dropped stay in the file, unreferenced.
 * - Crash safety: a commit writes and syncs its lines past the committed end
 *   first, then commits the database transaction that points at them and
 *   records the new end. A crash in between leaves bytes past the recorded
 *   end, which opening cuts off.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, ErrorCode, JbcError } from '../errors.js';
import { fsyncDir } from './jbc-files.js';

export const LOG_FILE = 'blocks.log';

/** Where a block's line is in the log. */
export interface Location {
  readonly offset: number;
  readonly length: number;
}

export class BlockLog {
  readonly path: string;
  readonly #fd: number;
  /** Bytes that committed transactions point into; everything past it is unreferenced. */
  #end: number;
  /** Where the next write goes: the committed end plus what was written since. */
  #tail: number;

  private constructor(path: string, fd: number, end: number) {
    this.path = path;
    this.#fd = fd;
    this.#end = end;
    this.#tail = end;
  }

  /**
   * Opens (creating when missing) the log of `dir`, whose database records
   * `committedEnd` bytes of it. Bytes past that, left by a crash between a
   * log write and its commit, are cut off; a log shorter than that is
   * STORE_CORRUPT.
   */
  static async open(dir: string, committedEnd: number): Promise<BlockLog> {
    const path = join(dir, LOG_FILE);
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      const size = fstatSync(fd).size;
      if (size < committedEnd) {
        throw new JbcError(ErrorCode.STORE_CORRUPT, `${path} holds ${size} bytes but the chain database points into ${committedEnd}`, {
          path,
          size,
          committedEnd,
        });
      }
      if (size > committedEnd) {
        ftruncateSync(fd, committedEnd);
        fdatasyncSync(fd);
      }
      // A new file's directory entry is made durable, so the file outlives a power loss with the data that points into it.
      if (size === 0) await fsyncDir(dir);
      return new BlockLog(path, fd, committedEnd);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      if (err instanceof JbcError) throw err;
      throw new JbcError(ErrorCode.STORE_IO, `cannot open ${path}: ${describeError(err)}`, { path }, { cause: err });
    }
  }

  /** The committed end: the log's length as the database knows it. */
  get end(): number {
    return this.#end;
  }

  /**
   * Writes `lines` one after another past what was written so far and syncs
   * them to disk. Nothing points at them until `committed(end)`; after
   * `abandon()` the next write goes over them. Throws the file system's
   * error (and what was written since the last commit is abandoned).
   */
  write(lines: readonly Uint8Array[]): { locations: Location[]; end: number } {
    const locations: Location[] = [];
    let offset = this.#tail;
    for (const line of lines) {
      locations.push({ offset, length: line.byteLength });
      offset += line.byteLength;
    }
    const bytes = Buffer.concat(lines);
    try {
      for (let done = 0; done < bytes.length; ) {
        done += writeSync(this.#fd, bytes, done, bytes.length - done, this.#tail + done);
      }
      fdatasyncSync(this.#fd);
    } catch (err) {
      this.abandon();
      throw err;
    }
    this.#tail = offset;
    return { locations, end: offset };
  }

  /** Marks the bytes up to `end` as referenced by a committed transaction. */
  committed(end: number): void {
    this.#end = end;
    this.#tail = end;
  }

  /** Forgets what was written since the last commit: the transaction that was to point at it failed. */
  abandon(): void {
    this.#tail = this.#end;
  }

  /** `length` bytes from `offset`: one block's line, or the lines of consecutive blocks. */
  read(offset: number, length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.#fd, bytes, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw new JbcError(ErrorCode.STORE_IO, `cannot read ${this.path}: ${describeError(err)}`, { path: this.path }, { cause: err });
    }
    if (done < length) {
      throw new JbcError(ErrorCode.STORE_CORRUPT, `${this.path} ends at ${offset + done}, inside a block the chain database points to`, { path: this.path });
    }
    return bytes;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
