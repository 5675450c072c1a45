/**
 * The data pool: entries users submit (POST /data) wait here until a block
 * holding them joins the chain. The entries live in the chain's database, and
 * the database moves them between pending and confirmed in the same
 * transaction that adds or drops the blocks holding them, so after any crash,
 * fork or reorg an acknowledged entry is either in the best chain or pending,
 * never both and never neither, as far as the pool's caps allow (the store
 * applies the same rules to entries back from abandoned blocks). This module checks what is submitted, keeps
 * the pool within its caps, shares new entries with peers, and answers
 * queries.
 */
import { entriesForBlock, toEntry, type Entry, type EntryLimits } from '../entries.js';
import { ErrorCode, errorFields, isAborted, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EntryRecord, EntryStore, PendingEntry } from '../store/index.js';
import type { ChainView } from '../chain.js';
import { firstComeUpTo, Outbox } from '../network/index.js';
import type { PeerClient } from '../peer/index.js';
import { peerKey } from '../peer/index.js';
import type { PeerSet } from '../peer/index.js';

/** Pending entries read at a time while filling a block. */
const FOR_BLOCK_PAGE = 256;
/**
 * Entries that wait for a peer while its posts are in flight; past it, new
 * ones are not sent to that peer (they reach it in the block that confirms
 * them). Keeps a flood of submissions from piling up requests to a slow peer.
 */
export const ENTRIES_WAITING_PER_PEER = 256;
/** Entry posts one peer may have in flight at once (entries need no order: each is packed on its own). */
const ENTRY_POSTS_IN_FLIGHT = 2;

export interface DataPoolOptions extends EntryLimits {
  /** Most pending entries. */
  readonly maxEntries: number;
  /** Most bytes of pending entry data. */
  readonly maxBytes: number;
}

export interface DataPoolModules {
  readonly store: EntryStore;
  /** The chain now, for confirmations. */
  readonly chain: () => ChainView;
  readonly peers: PeerSet;
  readonly client: PeerClient;
  readonly logger: Logger;
  readonly now: () => number;
  /** Back-off after a failed post to a peer; it doubles with each failure in a row. */
  readonly backoffMs: number;
}

/** What GET /data/:id answers. */
export type EntryView =
  | { readonly id: string; readonly data: string; readonly state: 'pending'; readonly submittedAt: number }
  | {
      readonly id: string;
      readonly data: string;
      readonly state: 'confirmed';
      readonly block: { readonly index: string; readonly hash: string };
      readonly confirmations: number;
    };

export interface SubmitResult {
  readonly id: string;
  readonly state: 'pending' | 'confirmed';
  /** False when the pool or the chain already held the entry. */
  readonly added: boolean;
}

export class DataPool {
  readonly #options: DataPoolOptions;
  readonly #store: EntryStore;
  readonly #chain: () => ChainView;
  readonly #peers: PeerSet;
  readonly #client: PeerClient;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #outbox: Outbox<Entry, boolean>;

  constructor(options: DataPoolOptions, modules: DataPoolModules) {
    this.#options = options;
    this.#store = modules.store;
    this.#chain = modules.chain;
    this.#peers = modules.peers;
    this.#client = modules.client;
    this.#logger = modules.logger;
    this.#now = modules.now;
    this.#outbox = new Outbox<Entry, boolean>(
      { backoffMs: modules.backoffMs, enqueue: firstComeUpTo(ENTRIES_WAITING_PER_PEER), maxInFlight: ENTRY_POSTS_IN_FLIGHT, retries: 0 },
      {
        post: (peer, entry) => this.#client.postData(peer, entry.data),
        onSent: (peer, entry, accepted) => this.#logger.debug({ peer, id: entry.id, accepted }, 'data entry sent'),
        onFailed: (peer, entry, err) => {
          if (!isAborted(err)) this.#logger.debug({ peer, id: entry.id, ...errorFields(err) }, 'could not send data entry to peer');
        },
      },
    );
  }

  /**
   * Checks `data` and adds it to the pool; resolves once the entry is durable.
   * Throws BAD_REQUEST or PAYLOAD_TOO_LARGE for bad data, POOL_FULL when the
   * pool is at a cap (nothing is ever dropped to make room). A new entry is
   * passed on to every peer but `from`.
   */
  async submit(data: unknown, from: string | undefined): Promise<SubmitResult> {
    const entry = toEntry(data, this.#options);
    const known = this.#store.entry(entry.id);
    if (known !== undefined) return { id: entry.id, state: known.state, added: false };
    const bytes = Buffer.byteLength(entry.data, 'utf8');
    if (this.#store.pendingCount >= this.#options.maxEntries || this.#store.pendingBytes + bytes > this.#options.maxBytes) {
      throw new JbcError(
        ErrorCode.POOL_FULL,
        `the data pool is full (${this.#store.pendingCount} entries, ${this.#store.pendingBytes} bytes; at most ${this.#options.maxEntries} and ${this.#options.maxBytes}); try again after the next blocks`,
        { maxEntries: this.#options.maxEntries, maxBytes: this.#options.maxBytes },
      );
    }
    const outcome = await this.#store.addPending(entry, this.#now());
    if (outcome !== 'added') return { id: entry.id, state: outcome, added: false };
    this.#logger.debug({ id: entry.id, bytes, from }, 'data entry added');
    this.#relay(entry, from);
    return { id: entry.id, state: 'pending', added: true };
  }

  get(id: string): EntryView | undefined {
    const record = this.#store.entry(id);
    return record === undefined ? undefined : this.#view(id, record);
  }

  /** Pending entries, oldest first, after the one with id `after` when given. */
  pending(limit: number, after?: string): PendingEntry[] {
    return this.#store.pending(limit, after);
  }

  get size(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.#store.pendingCount, bytes: this.#store.pendingBytes };
  }

  /** The oldest pending entries that fit the next block this node mines. */
  forBlock(miner: string): Entry[] {
    return entriesForBlock(this.#oldestFirst(), miner, this.#options);
  }

  /** Pending entries a page at a time, read only as far as the caller goes. */
  *#oldestFirst(): Generator<Entry> {
    let after: string | undefined;
    for (;;) {
      const page = this.#store.pending(FOR_BLOCK_PAGE, after);
      if (page.length === 0) return;
      yield* page;
      after = page.at(-1)!.id;
    }
  }

  /** Waits for the posts to peers in flight. */
  close(): Promise<void> {
    return this.#outbox.close();
  }

  #view(id: string, record: EntryRecord): EntryView {
    if (record.state === 'pending') return { id, data: record.data, state: 'pending', submittedAt: record.submittedAt };
    const chain = this.#chain();
    const block = chain.at(record.index);
    return {
      id,
      data: record.data,
      state: 'confirmed',
      block: { index: record.index.toString(), hash: block?.hash ?? '' },
      confirmations: Number(chain.height - record.index) + 1,
    };
  }

  #relay(entry: Entry, from: string | undefined): void {
    const skip = from === undefined ? undefined : peerKey(from);
    const peers = this.#peers.list();
    this.#outbox.retain(peers);
    for (const peer of peers) if (peerKey(peer) !== skip) this.#outbox.send(peer, entry);
  }
}
