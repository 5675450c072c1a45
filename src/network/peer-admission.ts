/**
 * URLs posted to `POST /peers` become peers only once they answer like a
 * node (see PeerClient.probe): anyone can post a URL, and a list of URLs
 * that are not nodes would have this node sending them blocks and syncs
 * forever. The check is a request to a URL a stranger chose, so the address
 * rules come first, checks run at most MAX_PEER_CHECKS at a time, and one
 * URL posted many times is checked once.
 */
import { ErrorCode, JbcError, errorFields, isAborted } from '../errors.js';
import type { Logger } from '../log.js';
import { within } from '../wait.js';
import type { PeerAddressPolicy } from '../peer/index.js';
import type { PeerClient } from '../peer/index.js';
import { normalizePeerUrl, peerKey } from '../peer/index.js';
import type { AddPeerResult, PeerSet } from '../peer/index.js';

/** What adding a peer came to; 'checking' while it has not answered yet (it is added if it does). */
export type AddPeerAnswer = AddPeerResult | 'checking';

/** Posted URLs checked at once. */
export const MAX_PEER_CHECKS = 16;

export interface PeerAdmissionOptions {
  /** How long `add` waits for the check before it answers 'checking' (the check goes on). */
  readonly answerMs: number;
}

export interface PeerAdmissionModules {
  readonly peers: PeerSet;
  readonly client: PeerClient;
  readonly addressPolicy: PeerAddressPolicy;
  /** True for a URL that names this node. */
  readonly isSelf: (url: string) => boolean;
  /** This node's random id, to notice a URL that is this node under another name. */
  readonly nodeId: string;
  /** Asks for a sync from a peer (a new peer may be ahead). */
  readonly requestSync: (peer: string, reason: string) => void;
  readonly logger: Logger;
  /** Aborted at shutdown: ends the checks. */
  readonly signal: AbortSignal;
}

export class PeerAdmission {
  readonly #options: PeerAdmissionOptions;
  readonly #m: PeerAdmissionModules;
  /** Checks running, by peerKey. */
  readonly #checks = new Map<string, Promise<AddPeerAnswer>>();

  constructor(options: PeerAdmissionOptions, modules: PeerAdmissionModules) {
    this.#options = options;
    this.#m = modules;
  }

  /**
   * Adds `input` once it answers like a node; 'checking' when it has not
   * answered within answerMs (it is added if it does). Throws BAD_REQUEST for
   * a bad URL or this node's own, PEER_ADDRESS_REFUSED for a refused address,
   * BUSY while MAX_PEER_CHECKS checks run, and the peer error when the URL
   * does not answer like a node. A known peer is synced from again.
   */
  async add(input: string): Promise<AddPeerAnswer> {
    const url = normalizePeerUrl(input);
    if (this.#m.isSelf(url)) throw new JbcError(ErrorCode.BAD_REQUEST, 'that URL is this node');
    const refusal = this.#m.addressPolicy.urlRefusal(url);
    if (refusal !== undefined) throw new JbcError(ErrorCode.PEER_ADDRESS_REFUSED, `peer URL refused: ${refusal}`, { url });
    const known = this.#m.peers.resolve(url);
    if (known !== undefined) {
      // One that announces itself again may have moved on: its /status tells.
      this.#m.requestSync(known, 'peer announced again');
      return 'known';
    }
    const key = peerKey(url);
    let check = this.#checks.get(key);
    if (check === undefined) {
      if (this.#checks.size >= MAX_PEER_CHECKS) {
        throw new JbcError(ErrorCode.BUSY, `${this.#checks.size} posted peers are being checked already; try again later`);
      }
      check = this.#check(url);
      this.#checks.set(key, check);
      void check.then(
        () => this.#checks.delete(key),
        (err: unknown) => {
          this.#checks.delete(key);
          if (!isAborted(err)) this.#m.logger.info({ peer: url, ...errorFields(err) }, 'posted peer does not answer like a node; not added');
        },
      );
    }
    return (await within(check, this.#options.answerMs)) ?? 'checking';
  }

  async #check(url: string): Promise<AddPeerAnswer> {
    const probe = await this.#m.client.probe(url, this.#m.signal);
    if (probe.kind === 'jbc-ts' && probe.status.nodeId === this.#m.nodeId) {
      this.#m.peers.markSelf(url);
      throw new JbcError(ErrorCode.BAD_REQUEST, 'that URL is this node');
    }
    const result = this.#m.peers.add(url, 'announced');
    if (result === 'added') {
      this.#m.logger.info({ peer: url, kind: probe.kind }, 'peer added');
      this.#m.requestSync(url, 'new peer');
    }
    return result;
  }
}
