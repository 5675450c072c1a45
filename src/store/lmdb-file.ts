/**
 * A cheap look at an LMDB data file before lmdb maps it. LMDB trusts its
 * file: a truncated one faults (SIGBUS) on the first page read past its end,
 * and random bytes send it through wild page numbers (SIGSEGV), killing the
 * process without a word. What can be checked without walking the tree is
 * checked here, so such a file is a STORE_CORRUPT naming it instead.
 *
 * The layout is the one of the LMDB that lmdb-js builds (its
 * `dependencies/lmdb`, data version 2; checked against a file it wrote):
 * the first two pages are meta pages, each a 24-byte page header (page
 * number, txnid, pad, flags, lower, upper) followed by the meta record:
 * magic (u32), version (u32), fixed address (8), map size (8), then two
 * 48-byte tree records, free space first, whose roots are their last 8
 * bytes; the page size is the first field of the free-space record of page
 * 0, and the txnid that committed the meta follows the two records and the
 * last page number. All little-endian (x64 and arm64).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { describeError, ErrorCode, JbcError } from '../errors.js';

const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
const META = 24;
const PAGE_SIZE_AT = META + 24;
const DB_RECORD = 48;
const ROOT_IN_RECORD = 40;
const LAST_PAGE_AT = PAGE_SIZE_AT + 2 * DB_RECORD;
const TXNID_AT = LAST_PAGE_AT + 8;
const META_BYTES = TXNID_AT + 8;
/** A tree with no pages has this root. */
const NO_PAGE = 2n ** 64n - 1n;

/**
 * Why `path` is not an LMDB data file, or undefined when it looks like one: at least
 * the two meta pages, both with LMDB's magic and
 * data version, and the trees of the meta that LMDB would pick (the newer)
 * rooted inside the pages it says it uses, all of them in the file. Throws STORE_IO when the file cannot be read.
 * It does not prove the file sound; it rules out
 * what would fault before lmdb could report anything.
 */
export function lmdbFileProblem(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const first = readAt(fd, 0, META_BYTES);
    if (first === undefined) return `it holds ${size} bytes, less than a meta page`;
    const pageSize = first.readUInt32LE(PAGE_SIZE_AT);
    if (first.readUInt32LE(META) !== MAGIC || pageSize < 512 || pageSize > 0x10000 || (pageSize & (pageSize - 1)) !== 0) {
      return 'its first page is not an LMDB meta page';
    }
    if (size < 2 * pageSize) return `its ${size} bytes are fewer than two ${pageSize}-byte pages (truncated?)`;
    const second = readAt(fd, pageSize, META_BYTES);
    if (second === undefined || second.readUInt32LE(META) !== MAGIC) return 'its second page is not an LMDB meta page';
    for (const meta of [first, second]) {
      if ((meta.readUInt32LE(META + 4) & 0xffff) !== DATA_VERSION) return `its data version is ${meta.readUInt32LE(META + 4) & 0xffff}, not ${DATA_VERSION}`;
    }
    const newer = second.readBigUInt64LE(TXNID_AT) > first.readBigUInt64LE(TXNID_AT) ? second : first;
    // Past the pages the newest commit uses the file may end anywhere: a kill while room was reserved (Headroom) cuts it inside a page.
    const pages = BigInt(Math.floor(size / pageSize));
    const used = newer.readBigUInt64LE(LAST_PAGE_AT) + 1n;
    if (used > pages) return `its newest commit uses ${used} pages of ${pageSize} bytes but it holds ${size} bytes (truncated?)`;
    for (const tree of [0, 1]) {
      const root = newer.readBigUInt64LE(PAGE_SIZE_AT + tree * DB_RECORD + ROOT_IN_RECORD);
      if (root !== NO_PAGE && (root < 2n || root >= used)) return `its newest commit points to page ${root} of ${used} (truncated?)`;
    }
    return undefined;
  } catch (err) {
    throw new JbcError(ErrorCode.STORE_IO, `cannot read ${path}: ${describeError(err)}`, { path }, { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `length` bytes at `offset`, or undefined when the file ends before them. */
function readAt(fd: number, offset: number, length: number): Buffer | undefined {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, offset + done);
    if (n === 0) return undefined;
    done += n;
  }
  return bytes;
}

/** Zeros written at a time while reserving room. */
const ZEROS = Buffer.alloc(1024 * 1024);
/** Room every write transaction gets, for the pages any commit rewrites: branch pages, the free-page list, the metadata. */
const ROOM_BASE = 1024 * 1024;

/**
 * Space kept written (zeros) past the last page an LMDB file uses, so that
 * LMDB's own page writes never find the disk full. lmdb-js (3.5.6, the
 * newest) formats the error of a page write that fails into a 100-byte heap
 * buffer (mdb_page_flush: "Attempting to write page at position …", with
 * iovec lengths that are uninitialised stack when fewer than three pages
 * were being written), and a message longer than that corrupts the heap:
 * the process aborts a little later in malloc() or free(). So before each
 * write transaction the file is extended to hold what the transaction may
 * need past its last page, and a full disk fails here, as a STORE_IO, with
 * nothing written. Overwriting bytes a file already holds takes no new
 * space on ext4, xfs or tmpfs; on a copy-on-write file system (btrfs, zfs)
 * LMDB's write can still fail.
 */
export class Headroom {
  readonly path: string;
  readonly pageSize: number;
  readonly #fd: number;

  private constructor(path: string, fd: number, pageSize: number) {
    this.path = path;
    this.#fd = fd;
    this.pageSize = pageSize;
  }

  /** Opens the LMDB file at `path` (which lmdb has opened and written its meta pages to). Throws STORE_IO when it cannot. */
  static open(path: string): Headroom {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r+');
      const first = readAt(fd, 0, META_BYTES);
      if (first === undefined) throw new Error('it is shorter than a meta page');
      return new Headroom(path, fd, first.readUInt32LE(PAGE_SIZE_AT));
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw new JbcError(ErrorCode.STORE_IO, `cannot open ${path}: ${describeError(err)}`, { path }, { cause: err });
    }
  }

  /**
   * Between write transactions: makes the file hold, past the last page its
   * newest commit uses, what a transaction of `puts` puts and removes
   * writing `bytes` of keys and values may take. LMDB cannot say beforehand,
   * so this errs high: the base, then twice the bytes and a page a put (one
   * put may copy a leaf and split it), but never more than a copy of every
   * page the file uses plus twice the bytes (a transaction copies a page
   * once at most). Throws STORE_IO when the disk has no room; what could be
   * written stays, cut to whole pages.
   */
  reserve(puts: number, bytes: number): void {
    try {
      const metas = [0, this.pageSize].map((at) => readAt(this.#fd, at, META_BYTES)!);
      const newer = metas[1]!.readBigUInt64LE(TXNID_AT) > metas[0]!.readBigUInt64LE(TXNID_AT) ? metas[1]! : metas[0]!;
      const used = (Number(newer.readBigUInt64LE(LAST_PAGE_AT)) + 1) * this.pageSize;
      const room = ROOM_BASE + 2 * bytes + Math.min(2 * puts * this.pageSize, used);
      const want = used + Math.ceil(room / this.pageSize) * this.pageSize;
      let size = fstatSync(this.#fd).size;
      try {
        while (size < want) size += writeSync(this.#fd, ZEROS, 0, Math.min(ZEROS.length, want - size), size);
      } catch (err) {
        // A partial page at the end would make the file look truncated when it is opened again.
        ftruncateSync(this.#fd, size - (size % this.pageSize));
        throw err;
      }
    } catch (err) {
      throw new JbcError(ErrorCode.STORE_IO, `cannot write to ${this.path}: ${describeError(err)}`, { path: this.path }, { cause: err });
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}
