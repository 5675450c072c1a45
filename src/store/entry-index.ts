/**
 * The data pool's tables, in the chain database beside the blocks:
 *
 * - `pending`: entries waiting for a block, keyed by a sequence number, so
 *   iteration is oldest first; entries that come back from an abandoned block
 *   get numbers below every other, in the order the abandoned chain held
 *   them, so they go into the next block first and oldest first;
 * - `pendingIds`: entry id → its sequence number;
 * - `confirmed`: entry id → height of the first block of the chain holding it
 *   (8 bytes), then a byte that is 1 when the entry was pending here first,
 *   that is, acknowledged to whoever posted it (databases written before that
 *   byte existed have none: their entries count as seen in blocks only).
 *
 * The chain database calls `blockRemoved` and `blockAdded` inside the very
 * transaction that drops or adds a block, then `settle`, so an entry moves
 * between pending and confirmed atomically with the chain: whatever the
 * crash, fork or reorg, an entry the pool acknowledged is either in the chain
 * or pending, never both and never neither, as far as the pool's caps allow.
 *
 * Entries that come back from abandoned blocks obey the pool's rules, since a
 * peer's block can hold anything: one past the entry size limit is dropped,
 * and when the pool's caps cannot take them all, the acknowledged ones are
 * kept first, then the others, oldest first, and the rest dropped. Entries
 * already pending are never dropped to make room.
 */
import type { Database, RootDatabase, Transaction } from 'lmdb';
import type { Block } from '../block.js';
import { unpackBlockData, type Entry } from '../entries.js';
import { heightKey } from './encoding.js';
import { defaultPoolLimits, type PoolLimits } from './options.js';

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

/** What `settle` did with the entries of the abandoned blocks. */
export interface SettleReport {
  /** Entries pending again. */
  readonly repended: number;
  /** Ids of entries past the entry size limit, dropped. */
  readonly oversized: readonly string[];
  /** Entries dropped because the pool's caps could not take them. */
  readonly overCap: number;
}

const ACKNOWLEDGED = 1;
const SEEN = 0;

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
  readonly #limits: PoolLimits;
  /** Entries of the blocks dropped in this transaction, in chain order, until `settle` decides which are pending again. */
  readonly #returning = new Map<string, { readonly entry: Entry; readonly acknowledged: boolean }>();

  /** Opens (creates) the tables; before any read transaction, which could not see tables created after it began. */
  constructor(root: RootDatabase, limits: PoolLimits = defaultPoolLimits) {
    this.#limits = limits;
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

  /**
   * Block `height`, holding `block`, leaves the chain: its entries are no
   * longer confirmed, and wait for `settle`. Blocks are removed lowest first,
   * so the entries wait in chain order.
   */
  blockRemoved(block: Block, height: bigint): void {
    const key = heightKey(height);
    for (const entry of unpackBlockData(block.data)) {
      const at = this.#confirmed.get(entry.id);
      if (at === undefined || !at.subarray(0, key.length).equals(key)) continue; // an earlier block of the chain holds it too
      this.#confirmed.removeSync(entry.id);
      this.#returning.set(entry.id, { entry, acknowledged: at[key.length] === ACKNOWLEDGED });
    }
  }

  /** `block` joins the chain at its height: its entries are confirmed there and leave the pool. */
  blockAdded(block: Block): void {
    for (const entry of unpackBlockData(block.data)) {
      if (this.#confirmed.get(entry.id) !== undefined) continue;
      const seq = this.#pendingIds.get(entry.id);
      const acknowledged = seq !== undefined || this.#returning.get(entry.id)?.acknowledged === true;
      this.#returning.delete(entry.id);
      this.#confirmed.putSync(entry.id, Buffer.concat([heightKey(block.index), Buffer.of(acknowledged ? ACKNOWLEDGED : SEEN)]));
      if (seq === undefined) continue;
      this.#delta.count--;
      this.#delta.bytes -= Buffer.byteLength(entry.data, 'utf8');
      this.#pending.removeSync(seq);
      this.#pendingIds.removeSync(entry.id);
    }
  }

  /**
   * After the blocks of a commit were removed and added: the entries of the
   * removed blocks that the new chain does not hold are pending again, ahead
   * of every other (they were in a block before any pending entry was
   * packed), in chain order, within the pool's rules (see above).
   */
  settle(now: number): SettleReport {
    const oversized: string[] = [];
    const fit: Array<{ readonly entry: Entry; readonly acknowledged: boolean; readonly bytes: number }> = [];
    for (const back of this.#returning.values()) {
      const bytes = Buffer.byteLength(back.entry.data, 'utf8');
      if (bytes > this.#limits.maxEntryBytes) oversized.push(back.entry.id);
      else fit.push({ ...back, bytes });
    }
    this.#returning.clear();
    let count = this.#count + this.#delta.count;
    let bytes = this.#bytes + this.#delta.bytes;
    const kept = new Set<string>();
    for (const back of [...fit.filter((b) => b.acknowledged), ...fit.filter((b) => !b.acknowledged)]) {
      // The oldest are kept: past the first that does not fit, none is.
      if (count + 1 > this.#limits.maxEntries || bytes + back.bytes > this.#limits.maxBytes) break;
      count++;
      bytes += back.bytes;
      kept.add(back.entry.id);
    }
    let seq = this.#delta.low - kept.size;
    this.#delta.low = seq;
    for (const back of fit) if (kept.has(back.entry.id)) this.#putPending(back.entry, seq++, now);
    return { repended: kept.size, oversized, overCap: fit.length - kept.size };
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
    this.#returning.clear();
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
