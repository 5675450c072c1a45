/**
 * The peer list and what the node knows of each peer: where it came from,
 * whether it answers, how long its chain was when it last answered, and when
 * it last helped. URLs are kept in normal form, one entry per peer however it
 * is named (see `peerKey`), and this node is never on the list.
 *
 * The list is capped. Command-line peers are never evicted. When the list is
 * full, a new peer takes the place of the least useful other peer: one that
 * keeps failing first, then the one that helped least recently (never-helpful
 * peers before helpful ones, oldest first). So a flood of URLs that answer but
 * never help churns among themselves and cannot push out a peer that helps.
 */
import { normalizePeerUrl, peerKey } from './peer-url.js';

/**
 * config: from --peers; announced: POST /peers; learned: from a peer's
 * /peers; sender: named a block of theirs that this node accepted.
 */
export type PeerSource = 'config' | 'announced' | 'learned' | 'sender';

export type AddPeerResult = 'added' | 'known' | 'self' | 'full' | 'refused';

/** What `GET /peers?verbose=1` shows for one peer. */
export interface PeerState {
  readonly url: string;
  readonly source: PeerSource;
  /** null until the peer was first asked. */
  readonly reachable: boolean | null;
  /** Last good answer (ms since the epoch), or null. */
  readonly lastSeen: number | null;
  /** The peer's tip index from its last /status, or null when unknown. */
  readonly height: number | null;
  /** Failed requests since its last good answer. */
  readonly failures: number;
  /** Last time the peer helped: it sent blocks this node adopted, or its tip was ours. */
  readonly lastUseful: number | null;
}

interface PeerEntry {
  url: string;
  source: PeerSource;
  reachable: boolean | null;
  lastSeen: number | null;
  height: number | null;
  failures: number;
  lastUseful: number | null;
  /** Order of arrival, for ties. */
  readonly seq: number;
}

export interface PeerSetOptions {
  readonly max: number;
  /** True for a URL that names this node. */
  readonly isSelf: (url: string) => boolean;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Why a URL may not be a peer (its address), or undefined. Default: every URL may. */
  readonly refusal?: (url: string) => string | undefined;
}

export class PeerSet {
  /** By peerKey; each entry keeps the URL the peer was first added under. */
  readonly #peers = new Map<string, PeerEntry>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #refusal: (url: string) => string | undefined;
  #isSelf: (url: string) => boolean;
  #seq = 0;
  /** URLs found to be this node (by node id), kept out for good. */
  readonly #self = new Set<string>();

  constructor(options: PeerSetOptions, configured: readonly string[] = []) {
    this.#max = options.max;
    this.#isSelf = options.isSelf;
    this.#now = options.now ?? Date.now;
    this.#refusal = options.refusal ?? (() => undefined);
    for (const url of configured) this.add(url, 'config');
  }

  /** Peer URLs in the order they were added. */
  list(): string[] {
    return [...this.#peers.values()].map((entry) => entry.url);
  }

  /** Every peer with its state, in the order they were added. */
  states(): PeerState[] {
    return [...this.#peers.values()].map(({ url, source, reachable, lastSeen, height, failures, lastUseful }) => ({
      url,
      source,
      reachable,
      lastSeen,
      height,
      failures,
      lastUseful,
    }));
  }

  /** The URL a peer is listed under, given any name of it; undefined when not listed. */
  resolve(url: string): string | undefined {
    return this.#peers.get(peerKey(url))?.url;
  }

  get size(): number {
    return this.#peers.size;
  }

  has(url: string): boolean {
    return this.#peers.has(peerKey(url));
  }

  /** Adds a peer (URL normalised; throws BAD_REQUEST for a bad URL). */
  add(input: string, source: PeerSource): AddPeerResult {
    const url = normalizePeerUrl(input);
    const key = peerKey(url);
    if (this.#self.has(key) || this.#isSelf(url)) return 'self';
    if (this.#peers.has(key)) return 'known';
    if (this.#refusal(url) !== undefined) return 'refused';
    if (source !== 'config' && this.#peers.size >= this.#max && !this.#evictOne()) return 'full';
    this.#peers.set(key, { url, source, reachable: null, lastSeen: null, height: null, failures: 0, lastUseful: null, seq: this.#seq++ });
    return 'added';
  }

  /** Removes a peer, command-line ones included (the operator asked); false when it was not listed. */
  remove(url: string): boolean {
    return this.#peers.delete(peerKey(url));
  }

  /** Marks `url` as this node under another name: removed now and refused from then on. */
  markSelf(url: string): void {
    this.#self.add(peerKey(url));
    this.#peers.delete(peerKey(url));
  }

  /** Re-checks every peer against a new notion of "self" (the port is known once listening). */
  setIsSelf(isSelf: (url: string) => boolean): void {
    this.#isSelf = isSelf;
    for (const [key, entry] of this.#peers) if (isSelf(entry.url)) this.#peers.delete(key);
  }

  /** Records a good answer (with the peer's chain length when it told); true when the peer had been failing. */
  markOk(url: string, length?: bigint): boolean {
    const entry = this.#peers.get(peerKey(url));
    if (entry === undefined) return false;
    const wasFailing = entry.failures > 0;
    entry.failures = 0;
    entry.reachable = true;
    entry.lastSeen = this.#now();
    if (length !== undefined) entry.height = Number(length) - 1;
    return wasFailing;
  }

  /** Records a failure; true on the first failure after a good run (worth a warning). */
  markFailed(url: string): boolean {
    const entry = this.#peers.get(peerKey(url));
    if (entry === undefined) return false;
    entry.failures += 1;
    entry.reachable = false;
    return entry.failures === 1;
  }

  /** Records that the peer helped (its blocks were adopted, or it agreed with this node's tip). */
  markUseful(url: string): void {
    const entry = this.#peers.get(peerKey(url));
    if (entry !== undefined) entry.lastUseful = this.#now();
  }

  #evictOne(): boolean {
    let worst: PeerEntry | undefined;
    for (const entry of this.#peers.values()) {
      if (entry.source === 'config') continue;
      if (worst === undefined || lessUseful(entry, worst)) worst = entry;
    }
    if (worst === undefined) return false;
    this.#peers.delete(peerKey(worst.url));
    return true;
  }
}

/** Consecutive failures after which a peer counts as failing (one lost request is not enough). */
export const FAILING_AFTER = 3;

/** True when `a` should be evicted before `b`. */
function lessUseful(a: PeerEntry, b: PeerEntry): boolean {
  const fa = a.failures >= FAILING_AFTER;
  const fb = b.failures >= FAILING_AFTER;
  if (fa !== fb) return fa;
  const ua = a.lastUseful ?? -1;
  const ub = b.lastUseful ?? -1;
  if (ua !== ub) return ua < ub;
  return a.seq < b.seq;
}
