/**
 * The peer list: configured peers (`--peers`) plus peers learned through
 * POST /peers, peers' /peers answers and block senders. URLs are kept in
 * normal form, one entry per peer however it is named (see `peerKey`), this
 * node is never on the list, and the list is capped: a
 * learned peer that keeps failing makes room for a new one, configured peers
 * are never dropped.
 */
import { normalizePeerUrl, peerKey } from './peer-url.js';

export type PeerSource = 'config' | 'api' | 'learned' | 'sender';

export type AddPeerResult = 'added' | 'known' | 'self' | 'full';

/** Consecutive failures after which a learned peer may be evicted for a new one. */
export const EVICTABLE_AFTER_FAILURES = 3;

interface PeerEntry {
  readonly url: string;
  readonly source: PeerSource;
  failures: number;
}

export interface PeerSetOptions {
  readonly max: number;
  /** True for a URL that names this node. */
  readonly isSelf: (url: string) => boolean;
}

export class PeerSet {
  /** By peerKey; each entry keeps the URL the peer was first added under. */
  readonly #peers = new Map<string, PeerEntry>();
  readonly #max: number;
  #isSelf: (url: string) => boolean;
  /** URLs found to be this node (by node id), kept out for good. */
  readonly #self = new Set<string>();

  constructor(options: PeerSetOptions, configured: readonly string[] = []) {
    this.#max = options.max;
    this.#isSelf = options.isSelf;
    for (const url of configured) this.add(url, 'config');
  }

  /** Peer URLs in the order they were added. */
  list(): string[] {
    return [...this.#peers.values()].map((entry) => entry.url);
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
    if (source !== 'config' && this.#peers.size >= this.#max && !this.#evictOne()) return 'full';
    this.#peers.set(key, { url, source, failures: 0 });
    return 'added';
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

  /** Records a good answer; true when the peer had been failing (it is back). */
  markOk(url: string): boolean {
    const entry = this.#peers.get(peerKey(url));
    if (entry === undefined) return false;
    const wasFailing = entry.failures > 0;
    entry.failures = 0;
    return wasFailing;
  }

  /** Records a failure; true on the first failure after a good run (worth a warning). */
  markFailed(url: string): boolean {
    const entry = this.#peers.get(peerKey(url));
    if (entry === undefined) return false;
    entry.failures += 1;
    return entry.failures === 1;
  }

  #evictOne(): boolean {
    let worst: PeerEntry | undefined;
    for (const entry of this.#peers.values()) {
      if (entry.source === 'config' || entry.failures < EVICTABLE_AFTER_FAILURES) continue;
      if (worst === undefined || entry.failures > worst.failures) worst = entry;
    }
    if (worst === undefined) return false;
    this.#peers.delete(peerKey(worst.url));
    return true;
  }
}
