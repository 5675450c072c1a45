/**
 * The data pool's tables, in the chain database beside the blocks:
 *
 * - `pending`: entries waiting for a block, keyed by a sequence number, so
 *   iteration is oldest first; entries that come back from an abandoned block
 *   get numbers below every other, so they go into the next block first;
 * - `pendingIds`: entry id → its sequence number;
 * - `confirmed`: entry id → height of the first block of the chain holding it.
 *
 * The chain database calls `blockRemoved` and `blockAdded` inside the very
 * transaction that drops or adds a block, so an entry moves between pending
 * and confirmed atomically with the chain: whatever the crash, fork or
 * reorg, an entry the pool acknowledged is either in the chain or pending,
 * never both and never neither.
 */
import type { Database, RootDatabase, Transaction } from 'lmdb';
import type { Block } from '../block.js';
import { unpackBlockData, type Entry } from '../entries.js';
import { heightKey } from './encoding.js';

/** A pending entry as listed. */
export interface PendingEntry {
  readonly id: string;
  readonly data: string;
  /** When it was submitted (ms since the epoch); for an entry back from an abandoned block, when it came back. */
  readonly submittedAt: number;
}

export type EntryRecord =
  | { readonly state: 'pending'; readonly data: string; readonly submittedAt: number }
  | { readonly state: 'confirmed'; readonly data: string; readonly index: bigint };

/** What the data pool asks of the store; the chain database provides it. */
export interface EntryStore {
  readonly pendingCount: number;
  /** UTF-8 bytes of all pending entries' data. */
  readonly pendingBytes: number;
  /** Adds an entry unless the pool or the chain holds it; resolves once durable, with what it found. */
  addPending(entry: Entry, now: number): Promise<'added' | 'pending' | 'confirmed'>;
  /** Pending entries, oldest first, after the one with id `after` when given. */
  pending(limit: number, after?: string): PendingEntry[];
  entry(id: string): EntryRecord | undefined;
}

interface StoredPending {
  readonly id: string;
  readonly data: string;
  readonly at: number;
}

/** The first sequence number handed out; returned entries count down from it. */
const FIRST_SEQ = 0;

export class EntryIndex {
  readonly #pending: Database<StoredPending, number>;
  readonly #pendingIds: Database<number, string>;
  readonly #confirmed: Database<Buffer, string>;
  #count = 0;
  #bytes = 0;
  #low = FIRST_SEQ;
  #high = FIRST_SEQ;
  /** Changes made inside a transaction, applied to the counters once it committed. */
  #delta = { count: 0, bytes: 0, low: FIRST_SEQ, high: FIRST_SEQ };

  /** Opens (creates) the tables; before any read transaction, which could not see tables created after it began. */
  constructor(root: RootDatabase) {
    this.#pending = root.openDB<StoredPending, number>({ name: 'pending', encoding: 'msgpack' });
    this.#pendingIds = root.openDB<number, string>({ name: 'pendingIds', encoding: 'msgpack' });
    this.#confirmed = root.openDB<Buffer, string>({ name: 'confirmed', encoding: 'binary' });
  }

  /** Counts the pool as `view` sees it. */
  load(view: Transaction): void {
    // The pool is capped (thousands of entries), so counting it on open is cheap.
    for (const { key, value } of this.#pending.getRange({ transaction: view })) {
      this.#count++;
      this.#bytes += Buffer.byteLength(value.data, 'utf8');
      this.#low = Math.min(this.#low, key);
      this.#high = Math.max(this.#high, key);
    }
    this.#delta = { count: 0, bytes: 0, low: this.#low, high: this.#high };
  }

  get pendingCount(): number {
    return this.#count;
  }

  get pendingBytes(): number {
    return this.#bytes;
  }

  // ---- inside a write transaction ----

  /** Block `height`, holding `block`, leaves the chain: its entries are pending again (first in line). */
  blockRemoved(block: Block, height: bigint): void {
    const key = heightKey(height);
    for (const entry of unpackBlockData(block.data)) {
      const at = this.#confirmed.get(entry.id);
      if (at === undefined || !at.equals(key)) continue; // an earlier block of the chain holds it too
      this.#confirmed.removeSync(entry.id);
      this.#putPending(entry, --this.#delta.low, Date.now());
    }
  }

  /** `block` joins the chain at its height: its entries are confirmed there and leave the pool. */
  blockAdded(block: Block): void {
    for (const entry of unpackBlockData(block.data)) {
      if (this.#confirmed.get(entry.id) !== undefined) continue;
      this.#confirmed.putSync(entry.id, heightKey(block.index));
      const seq = this.#pendingIds.get(entry.id);
      if (seq === undefined) continue;
      this.#delta.count--;
      this.#delta.bytes -= Buffer.byteLength(entry.data, 'utf8');
      this.#pending.removeSync(seq);
      this.#pendingIds.removeSync(entry.id);
    }
  }

  /** Adds `entry` as the newest pending one, unless it is known; returns what it found. */
  add(entry: Entry, now: number): 'added' | 'pending' | 'confirmed' {
    if (this.#confirmed.get(entry.id) !== undefined) return 'confirmed';
    if (this.#pendingIds.get(entry.id) !== undefined) return 'pending';
    this.#putPending(entry, ++this.#delta.high, now);
    return 'added';
  }

  /** The transaction committed: its changes count. */
  committed(): void {
    this.#count += this.#delta.count;
    this.#bytes += this.#delta.bytes;
    this.#low = this.#delta.low;
    this.#high = this.#delta.high;
    this.#delta = { count: 0, bytes: 0, low: this.#low, high: this.#high };
  }

  /** The transaction failed: forget its changes. */
  abandoned(): void {
    this.#delta = { count: 0, bytes: 0, low: this.#low, high: this.#high };
  }

  // ---- reads, from a read transaction ----

  pending(view: Transaction, limit: number, after?: string): PendingEntry[] {
    const start = after === undefined ? undefined : this.#pendingIds.get(after, { transaction: view });
    const list: PendingEntry[] = [];
    for (const { key, value } of this.#pending.getRange({ transaction: view, start, limit: limit + 1 })) {
      if (key === start) continue;
      if (list.length === limit) break;
      list.push({ id: value.id, data: value.data, submittedAt: value.at });
    }
    return list;
  }

  /** The entry's record; `blockAt` reads a block of the chain (a confirmed entry's data is in its block). */
  entry(view: Transaction, id: string, blockAt: (height: bigint) => Block | undefined): EntryRecord | undefined {
    const seq = this.#pendingIds.get(id, { transaction: view });
    if (seq !== undefined) {
      const stored = this.#pending.get(seq, { transaction: view });
      if (stored !== undefined) return { state: 'pending', data: stored.data, submittedAt: stored.at };
    }
    const at = this.#confirmed.get(id, { transaction: view });
    if (at === undefined) return undefined;
    const index = at.readBigUInt64BE();
    const found = unpackBlockData(blockAt(index)?.data ?? '').find((entry) => entry.id === id);
    return found === undefined ? undefined : { state: 'confirmed', data: found.data, index };
  }

  #putPending(entry: Entry, seq: number, now: number): void {
    this.#pending.putSync(seq, { id: entry.id, data: entry.data, at: now });
    this.#pendingIds.putSync(entry.id, seq);
    this.#delta.count++;
    this.#delta.bytes += Buffer.byteLength(entry.data, 'utf8');
  }
}
