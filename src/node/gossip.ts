/**
 * Blocks between this node and its peers: a block a peer sends (decide,
 * relay once, or catch up from the sender when it is ahead), blocks this node
 * mined (broadcast, bounded per peer by the outbox), and telling peers this
 * node exists (announce). Posts run in the background; close() waits for them.
 */
import type { Block } from '../block.js';
import { ErrorCode, JbcError, isAborted, isJbcError } from '../errors.js';
import { within } from '../wait.js';
import type { Logger } from '../log.js';
import type { BlockActivity } from './block-activity.js';
import type { ChainState } from './chain-state.js';
import type { NodeMetrics } from './metrics.js';
import type { ReceiveResult, Sender } from './interface.js';
import { newestBlockWins, Outbox } from './outbox.js';
import { PEER_HEADER, type MinedReply, type PeerClient } from './peer-client.js';
import { peerKey } from './peer-url.js';
import type { PeerSet } from './peers.js';
import type { Syncer } from './syncer.js';

export interface GossipModules {
  readonly chain: ChainState;
  readonly peers: PeerSet;
  readonly client: PeerClient;
  readonly syncer: Syncer;
  readonly logger: Logger;
  /** True for a URL that names this node. */
  readonly isSelf: (url: string) => boolean;
  readonly activity: BlockActivity;
  readonly metrics: NodeMetrics | undefined;
  /** Why this node will not contact a URL (its address), or undefined. */
  readonly refusal: (url: string) => string | undefined;
  /** Back-off after a failed post to a peer (it doubles with each failure in a row). */
  readonly backoffMs: number;
  /** Least time between two syncs that blocks ahead of the tip from one sender start. */
  readonly aheadSyncIntervalMs: number;
  /** Longest a sender waits for the decision on its block before the answer is "queued". */
  readonly answerMs: number;
}

/** Received blocks waiting for the chain's queue at once; more are turned away (a flood, not a network). */
const MAX_WAITING_BLOCKS = 256;

/** Senders remembered for the ahead-sync limit before old entries are dropped. */
const MAX_AHEAD_SENDERS = 1024;

export class Gossip {
  readonly #chain: ChainState;
  readonly #peers: PeerSet;
  readonly #client: PeerClient;
  readonly #syncer: Syncer;
  readonly #logger: Logger;
  readonly #isSelf: (url: string) => boolean;
  readonly #activity: BlockActivity;
  readonly #metrics: NodeMetrics | undefined;
  readonly #refusal: (url: string) => string | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #outbox: Outbox<Block, MinedReply>;
  readonly #aheadSyncIntervalMs: number;
  readonly #answerMs: number;
  /** Hashes of received blocks waiting for the chain's queue. */
  readonly #waiting = new Set<string>();
  /** When each sender last made this node sync (performance.now()). */
  readonly #aheadSyncs = new Map<string, number>();

  constructor(modules: GossipModules) {
    this.#chain = modules.chain;
    this.#peers = modules.peers;
    this.#client = modules.client;
    this.#syncer = modules.syncer;
    this.#logger = modules.logger;
    this.#isSelf = modules.isSelf;
    this.#activity = modules.activity;
    this.#metrics = modules.metrics;
    this.#refusal = modules.refusal;
    this.#aheadSyncIntervalMs = modules.aheadSyncIntervalMs;
    this.#answerMs = modules.answerMs;
    this.#outbox = new Outbox<Block, MinedReply>(
      { backoffMs: modules.backoffMs, enqueue: newestBlockWins },
      {
        post: (peer, block) => this.#client.postMined(peer, block),
        onSent: (peer, block, reply) => {
          if (this.#peers.markOk(peer)) this.#logger.info({ peer }, 'peer is back');
          this.#logger.debug({ peer, index: Number(block.index), accepted: reply.accepted, reason: reply.reason }, 'block sent');
        },
        onFailed: (peer, block, err) => {
          if (isAborted(err)) return;
          const first = this.#peers.markFailed(peer);
          const fields = { peer, index: Number(block.index), err };
          if (first) this.#logger.warn(fields, 'could not send block to peer');
          else this.#logger.debug(fields, 'could not send block to peer');
        },
      },
    );
  }

  /**
   * A block from a peer (POST /mined). Throws INVALID_BLOCK when it lacks its
   * proof of work. A block that extends the tip is stored and relayed, and
   * its sender (when it named itself) becomes a peer; a block ahead of the
   * tip starts a sync from its sender.
   *
   * The decision waits its turn in the chain's queue, which a reorg may hold
   * for many seconds; a sender is not kept waiting that long. After
   * `answerMs` the answer is "queued" and the block is decided (stored,
   * relayed...) when its turn comes.
   */
  async receive(block: Block, received: Sender): Promise<ReceiveResult> {
    const refusal = received.url === undefined ? undefined : this.#refusal(received.url);
    if (refusal !== undefined) {
      // The header would make this node sync from, and relay to, an address it must not contact.
      throw new JbcError(ErrorCode.PEER_ADDRESS_REFUSED, `${PEER_HEADER} refused: ${refusal}`, { url: received.url });
    }
    if (this.#waiting.has(block.hash)) return { accepted: false, reason: `queued: block ${block.index} is already waiting its turn` };
    if (this.#waiting.size >= MAX_WAITING_BLOCKS) {
      return { accepted: false, reason: `busy: ${this.#waiting.size} blocks are waiting for the chain; this one was not queued` };
    }
    // Throws at once for a block without its proof of work (checked before the queue).
    const decided = this.#decide(block, received);
    this.#waiting.add(block.hash);
    const settled = decided.finally(() => this.#waiting.delete(block.hash));
    const answer = await within(settled, this.#answerMs);
    if (answer !== undefined) return answer;
    this.#track(
      settled.catch((err: unknown) => {
        if (!isAborted(err)) this.#logger.warn({ index: Number(block.index), hash: block.hash, err }, 'queued block could not be processed');
      }),
    );
    return { accepted: false, reason: `queued: the chain is busy (a sync or reorg is being written); block ${block.index} is processed when its turn comes` };
  }

  async #decide(block: Block, received: Sender): Promise<ReceiveResult> {
    let decision: Awaited<ReturnType<ChainState['receive']>>;
    try {
      decision = await this.#chain.receive(block);
    } catch (err) {
      if (isJbcError(err, ErrorCode.INVALID_BLOCK)) this.#metrics?.blocksRejected.inc({ reason: 'invalid' });
      throw err;
    }
    if (decision.kind !== 'accepted') this.#metrics?.blocksRejected.inc({ reason: decision.kind });
    // The sender under the name it is listed as (it may call itself 127.0.0.1 where the list says localhost).
    const senderUrl = received.url === undefined ? undefined : (this.#peers.resolve(received.url) ?? received.url);
    const from = senderUrl ?? received.remoteAddress;
    if (decision.kind === 'ahead' || decision.kind === 'stale') this.#syncer.noteActivity(this.#senderPeers({ url: senderUrl, remoteAddress: received.remoteAddress }));
    switch (decision.kind) {
      case 'accepted':
        this.#logger[this.#activity.accepted()]({ index: Number(block.index), hash: block.hash, from }, 'block accepted from peer');
        if (senderUrl !== undefined && !this.#isSelf(senderUrl)) {
          if (this.#peers.add(senderUrl, 'sender') === 'added') this.#logger.info({ peer: senderUrl }, 'peer learned from a block sender');
          this.#peers.markUseful(senderUrl);
        }
        this.broadcast(block, senderUrl);
        return { accepted: true };
      case 'known':
        return this.#notAdopted(block, from, `known: block ${block.index} is already in the chain`);
      case 'stale':
        return this.#notAdopted(block, from, `stale: the chain already has a different block ${block.index} (tip is ${decision.height})`);
      case 'ahead': {
        const behind = `ahead: block ${block.index} does not extend tip ${decision.height}`;
        const sender = senderUrl ?? `address ${received.remoteAddress ?? 'unknown'}`;
        if (!this.#mayTriggerSync(sender)) {
          return this.#notAdopted(block, from, `${behind}; a sync it asked for started less than ${this.#aheadSyncIntervalMs} ms ago`);
        }
        const peers = this.#senderPeers({ url: senderUrl, remoteAddress: received.remoteAddress });
        this.#syncer.request(peers, `block ${block.index} ahead of tip`);
        return this.#notAdopted(
          block,
          from,
          peers.length > 0 ? `${behind}; syncing from ${senderUrl ?? peers.join(', ')}` : `${behind}, and the sender is not known`,
        );
      }
    }
  }

  /** POSTs a block to every peer but `except`, in the background, bounded per peer (see outbox.ts). */
  broadcast(block: Block, except: string | undefined): void {
    const skip = except === undefined ? undefined : peerKey(except);
    const peers = this.#peers.list();
    this.#outbox.retain(peers);
    for (const peer of peers) {
      if (peerKey(peer) !== skip) this.#outbox.send(peer, block);
    }
  }

  /** Drops what waits for a peer that left the list. */
  forget(peer: string): void {
    this.#outbox.forget(peer);
  }

  /** Tells every peer this node's URL (POST /peers), in the background. */
  announce(selfUrl: string): void {
    for (const peer of this.#peers.list()) {
      this.#track(
        this.#client.announce(peer, selfUrl).then(
          () => this.#logger.debug({ peer }, 'announced to peer'),
          (err: unknown) => this.#logger.debug({ peer, err }, 'could not announce to peer'),
        ),
      );
    }
  }

  /** Waits for the posts in flight (the client's shutdown ends them). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight, this.#outbox.close()]);
  }

  /**
   * One sync per sender per aheadSyncIntervalMs: a sender posting "ahead"
   * blocks in a loop would otherwise keep this node downloading from it (or,
   * unnamed, asking every peer) without end.
   */
  #mayTriggerSync(sender: string): boolean {
    const now = performance.now();
    const last = this.#aheadSyncs.get(sender);
    if (last !== undefined && now - last < this.#aheadSyncIntervalMs) return false;
    if (this.#aheadSyncs.size >= MAX_AHEAD_SENDERS) {
      for (const [key, at] of this.#aheadSyncs) if (now - at >= this.#aheadSyncIntervalMs) this.#aheadSyncs.delete(key);
    }
    this.#aheadSyncs.set(sender, now);
    return true;
  }

  #notAdopted(block: Block, from: string | undefined, reason: string): ReceiveResult {
    this.#logger.debug({ index: Number(block.index), from, reason }, 'block not adopted');
    return { accepted: false, reason };
  }

  /**
   * The peers a block came from: the one named by X-Jbc-Peer; without it
   * (plain jbc senders), the known peers on the sender's address; failing
   * that, every known peer (each is asked for /status only).
   */
  #senderPeers(sender: Sender): string[] {
    if (sender.url !== undefined) return this.#isSelf(sender.url) ? [] : [sender.url];
    const all = this.#peers.list();
    const address = normalizeAddress(sender.remoteAddress);
    const onHost = all.filter((peer) => sameHost(new URL(peer).hostname, address));
    return onHost.length > 0 ? onHost : all;
  }

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
  }
}

function normalizeAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function sameHost(hostname: string, address: string | undefined): boolean {
  if (address === undefined) return false;
  if (LOOPBACK_NAMES.has(hostname) && LOOPBACK_NAMES.has(address)) return true;
  return hostname === address || hostname === `[${address}]`;
}
