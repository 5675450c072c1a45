/**
 * Blocks between this node and its peers: a block a peer sends (decide,
 * relay once, or catch up from the sender when it is ahead), blocks this node
 * mined (broadcast, bounded per peer by the outbox), and telling peers this
 * node exists (announce). Posts run in the background; close() waits for them.
 */
import type { Block } from '../block.js';
import { verifySegment } from '../chain.js';
import { ErrorCode, JbcError, errorFields, isAborted, isJbcError } from '../errors.js';
import { wait, within } from '../wait.js';
import type { Logger } from '../log.js';
import type { BlockActivity } from '../metrics/index.js';
import type { ChainState } from '../chain/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import { HeldBlocks } from './held-blocks.js';
import { newestUpTo, Outbox } from './outbox.js';
import { PEER_HEADER, type MinedReply, type PeerClient } from '../peer/index.js';
import { peerKey } from '../peer/index.js';
import type { PeerSet } from '../peer/index.js';
import type { Syncer } from '../sync/index.js';
import type { AncestorOutcome } from '../sync/index.js';

/** Who sent a block: the X-Jbc-Peer URL when the sender named itself, and the socket's address. */
export interface Sender {
  readonly url: string | undefined;
  readonly remoteAddress: string | undefined;
}

export type ReceiveResult = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

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
  /** Aborted at shutdown: ends the waits before fetches. */
  readonly signal: AbortSignal;
}

/** Received blocks waiting for the chain's queue at once; more are turned away (a flood, not a network). */
const MAX_WAITING_BLOCKS = 256;

/** Senders remembered for the ahead-sync limit before old entries are dropped. */
const MAX_AHEAD_SENDERS = 1024;

/**
 * Blocks waiting for one peer while its post is in flight; past it the
 * oldest is dropped (the peer fetches what it lacks from the newest).
 */
export const BLOCKS_WAITING_PER_PEER = 64;

/** Times a block whose post failed is posted again before the next one, so a plain jbc peer's chain gets no hole. */
const BLOCK_POST_RETRIES = 3;

/**
 * How long an orphan waits for its parent before its ancestors are fetched:
 * posts from several peers overtake each other, and the parent is most
 * often a moment behind, on its way from another peer.
 */
const ORPHAN_GRACE_MS = 25;

/**
 * Fetches of ancestors started per second, all senders together. Each
 * orphan costs its sender a proof of work, but names of senders cost
 * nothing: past this, an orphan is held without a fetch.
 */
const MAX_FETCHES_PER_SECOND = 10;

/** Of a branch this node switched to, the newest blocks relayed (in order); a peer lacking more fetches them. */
const RELAYED_BRANCH_BLOCKS = 16;

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
  readonly #signal: AbortSignal;
  /** Hashes of received blocks waiting for the chain's queue. */
  readonly #waiting = new Set<string>();
  /**
   * One sync per sender per aheadSyncIntervalMs: a sender posting "ahead"
   * blocks in a loop would otherwise keep this node downloading from it (or,
   * unnamed, asking every peer) without end.
   */
  readonly #aheadSyncs: SenderCooldown;
  /** Peers' blocks that are not on the chain: side branches and orphans. */
  readonly #held = new HeldBlocks();
  /** Per sender, the newest orphan whose ancestors are being fetched (or are to be, once the running fetch ends). */
  readonly #fetching = new Map<string, Block>();
  /**
   * Senders whose orphans led to a fetch that gained nothing: no fetch from
   * them for aheadSyncIntervalMs, or one posting unconnectable blocks in a
   * loop would keep this node asking it.
   */
  readonly #uselessFetches: SenderCooldown;
  readonly #unsubscribe: () => void;
  /** Start times (performance.now()) of the fetches of ancestors in the last second. */
  #recentFetches: number[] = [];

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
    this.#signal = modules.signal;
    this.#aheadSyncs = new SenderCooldown(modules.aheadSyncIntervalMs);
    this.#uselessFetches = new SenderCooldown(modules.aheadSyncIntervalMs);
    // One post in flight per peer keeps blocks in order: a plain jbc node refuses a
    // second /mined while it handles one, and fills no gap later.
    this.#outbox = new Outbox<Block, MinedReply>(
      {
        backoffMs: modules.backoffMs,
        enqueue: newestUpTo(BLOCKS_WAITING_PER_PEER),
        maxInFlight: 1,
        retries: BLOCK_POST_RETRIES,
        retryable: (err) => !isRefusal(err),
      },
      {
        post: (peer, block) => this.#client.postMined(peer, block),
        onSent: (peer, block, reply) => {
          if (this.#peers.markOk(peer)) this.#logger.info({ peer }, 'peer is back');
          this.#logger.debug({ peer, index: Number(block.index), accepted: reply.accepted, reason: reply.reason }, 'block sent');
        },
        onFailed: (peer, block, err, willRetry) => {
          if (isAborted(err)) return;
          const first = this.#peers.markFailed(peer);
          const fields = { peer, index: Number(block.index), willRetry, ...errorFields(err) };
          if (first) this.#logger.warn(fields, 'could not send block to peer');
          else this.#logger.debug(fields, 'could not send block to peer');
        },
      },
    );
    // A new tip may be the parent a held branch waited for.
    this.#unsubscribe = this.#chain.onTip(({ tip }) => {
      if (tip === undefined) return;
      this.#held.prune(tip.index);
      if (this.#held.size > 0) this.#track(this.#connectHeld(tip));
    });
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
    if (this.#held.has(block.hash)) return { accepted: false, reason: `held: block ${block.index} is already held off the chain` };
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
        if (!isAborted(err)) this.#logger.warn({ index: Number(block.index), hash: block.hash, ...errorFields(err) }, 'queued block could not be processed');
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
    // A plain jbc peer's chain is downloaded again only when a block of its said it differs.
    if (decision.kind === 'ahead' || decision.kind === 'stale') {
      this.#syncer.noteActivity(this.#senderPeers({ url: senderUrl, remoteAddress: received.remoteAddress }));
    }
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
      case 'ahead':
        return this.#hold(block, decision.height, { url: senderUrl, remoteAddress: received.remoteAddress }, from);
    }
  }

  /**
   * A peer's block that is not the tip's child: held, and adopted with its
   * held ancestors when they make a longer branch that links to the chain.
   * A branch whose parent this node lacks is completed from its sender at
   * once (one request); a plain jbc sender, which cannot be asked for a
   * fork point, is synced from, at most once per aheadSyncIntervalMs.
   */
  async #hold(block: Block, height: bigint, sender: Sender, from: string | undefined): Promise<ReceiveResult> {
    const senderKey = sender.url ?? `address ${sender.remoteAddress ?? 'unknown'}`;
    this.#held.add(block, senderKey);
    const branch = this.#held.branchTo(block);
    const bottom = branch[0]!;
    const view = this.#chain.view;
    const parent = bottom.index === 0n ? undefined : view.at(bottom.index - 1n);
    const links = bottom.index === 0n ? bottom.prevHash === '' : parent?.hash === bottom.prevHash;
    if (links) {
      const longer = branch.concat(this.#held.longestAfter(block.hash));
      if (await this.#adoptHeld(parent, longer, sender.url)) return { accepted: true };
      return this.#notAdopted(block, from, `stale: the chain already has a different block ${block.index} (tip is ${height}); kept as a side branch`);
    }
    const behind = `ahead: block ${block.index} does not extend tip ${height}`;
    if (sender.url !== undefined && !this.#isSelf(sender.url)) {
      if (this.#uselessFetches.active(senderKey)) {
        return this.#notAdopted(block, from, `${behind}; held, and its ancestors were fetched from this sender less than ${this.#aheadSyncIntervalMs} ms ago`);
      }
      if (!this.#fetching.has(sender.url) && !this.#mayStartFetch()) {
        return this.#notAdopted(block, from, `${behind}; held, and ${MAX_FETCHES_PER_SECOND} fetches of ancestors started in the last second`);
      }
      this.#track(this.#fetchAncestors(sender.url, block));
      return this.#notAdopted(block, from, `${behind}; held while its ancestors are fetched from ${sender.url}`);
    }
    if (!this.#aheadSyncs.take(senderKey)) {
      return this.#notAdopted(block, from, `${behind}; a sync it asked for started less than ${this.#aheadSyncIntervalMs} ms ago`);
    }
    const peers = this.#senderPeers(sender);
    this.#syncer.request(peers, `block ${block.index} ahead of tip`);
    return this.#notAdopted(block, from, peers.length > 0 ? `${behind}; syncing from ${peers.join(', ')}` : `${behind}, and the sender is not known`);
  }

  /**
   * Makes `branch` (held blocks, linked onto `parent`) the chain from its
   * first block on when it has more work (at a fixed difficulty: is
   * longer); relays its newest blocks. False when it has not (now).
   */
  async #adoptHeld(parent: Block | undefined, branch: readonly Block[], except: string | undefined): Promise<boolean> {
    const forkPoint = Number(branch[0]!.index);
    if (forkPoint > this.#chain.view.length) return false;
    verifySegment(parent, branch, this.#chain.difficulty);
    if (!this.#chain.outworks(forkPoint, branch)) return false;
    const result = await this.#chain.adopt({ peer: except ?? 'held blocks', forkPoint, blocks: branch });
    if (!result.adopted) return false;
    this.#held.delete(branch.map((b) => b.hash));
    const fields = { height: Number(this.#chain.view.height), forkPoint: result.forkPoint, written: result.written, abandoned: result.abandoned, from: except };
    // A block-deep switch is routine at mining speed; deeper ones are news.
    if (result.abandoned > 1) this.#logger.info(fields, 'switched to a longer fork from held blocks');
    else this.#logger.debug(fields, result.abandoned > 0 ? 'switched to a longer fork from held blocks' : 'connected held blocks');
    this.#relay(branch.slice(result.forkPoint - forkPoint), except);
    return true;
  }

  /** After a tip change: the longest held run that follows the new tip, if any, joins the chain. */
  async #connectHeld(tip: Block): Promise<void> {
    const after = this.#held.longestAfter(tip.hash);
    if (after.length === 0) return;
    try {
      await this.#adoptHeld(tip, after, undefined);
    } catch (err) {
      if (!isAborted(err)) this.#logger.warn({ index: Number(after[0]!.index), ...errorFields(err) }, 'held blocks could not be connected');
    }
  }

  /** Fetches the ancestors of the newest orphan from `peer`, one fetch per sender at a time. */
  async #fetchAncestors(peer: string, orphan: Block): Promise<void> {
    const running = this.#fetching.has(peer);
    this.#fetching.set(peer, orphan);
    if (running) return;
    try {
      await wait(ORPHAN_GRACE_MS, this.#signal);
      while (!this.#signal.aborted) {
        const newest = this.#fetching.get(peer)!;
        const branch = this.#held.branchTo(newest);
        // Still without a parent on the chain? (it may have arrived meanwhile)
        if (this.#held.has(newest.hash) && this.#chain.view.findByHash(branch[0]!.prevHash) === undefined) {
          this.#afterFetch(peer, branch, await this.#syncer.fetchAncestors(peer, branch));
        }
        // A newer orphan came meanwhile: fetch again for it, unless this fetch gained nothing.
        if (this.#fetching.get(peer) === newest || this.#uselessFetches.active(peer)) break;
      }
    } finally {
      this.#fetching.delete(peer);
    }
  }

  /** What a fetch of ancestors leads to; a failed one (undefined, logged) counts as one that gained nothing. */
  #afterFetch(peer: string, branch: readonly Block[], outcome: AncestorOutcome | undefined): void {
    switch (outcome?.kind) {
      case 'adopted':
        this.#uselessFetches.end(peer);
        this.#held.delete(branch.map((b) => b.hash));
        this.#relay(outcome.blocks, peer);
        return;
      case 'short':
        // Further behind than one request covers: a sync pages the rest.
        if (this.#aheadSyncs.take(peer)) this.#syncer.request([peer], `block ${branch.at(-1)!.index} ahead of tip`);
        return;
      case 'not-longer':
      case undefined:
        this.#uselessFetches.start(peer);
        return;
    }
  }

  /** The newest blocks of a branch the chain switched to, in order, to every peer but `except`. */
  #relay(blocks: readonly Block[], except: string | undefined): void {
    for (const block of blocks.slice(-RELAYED_BRANCH_BLOCKS)) this.broadcast(block, except);
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
          (err: unknown) => this.#logger.debug({ peer, ...errorFields(err) }, 'could not announce to peer'),
        ),
      );
    }
  }

  /** Waits for the posts and fetches in flight (the client's shutdown ends them). */
  async close(): Promise<void> {
    this.#unsubscribe();
    await Promise.allSettled([...this.#inFlight, this.#outbox.close()]);
  }

  /** Counts a fetch of ancestors against the per-second bound; false when the bound is reached. */
  #mayStartFetch(): boolean {
    const now = performance.now();
    this.#recentFetches = this.#recentFetches.filter((at) => now - at < 1000);
    if (this.#recentFetches.length >= MAX_FETCHES_PER_SECOND) return false;
    this.#recentFetches.push(now);
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

/** Per sender, a time since its last mark during which it is held off; at most MAX_AHEAD_SENDERS remembered. */
class SenderCooldown {
  readonly #ms: number;
  /** When each sender was last marked (performance.now()). */
  readonly #since = new Map<string, number>();

  constructor(ms: number) {
    this.#ms = ms;
  }

  active(sender: string): boolean {
    const at = this.#since.get(sender);
    return at !== undefined && performance.now() - at < this.#ms;
  }

  start(sender: string): void {
    const now = performance.now();
    if (this.#since.size >= MAX_AHEAD_SENDERS) {
      for (const [key, at] of this.#since) if (now - at >= this.#ms) this.#since.delete(key);
    }
    this.#since.set(sender, now);
  }

  end(sender: string): void {
    this.#since.delete(sender);
  }

  /** Starts the cooldown unless it is active; false when it was. */
  take(sender: string): boolean {
    if (this.active(sender)) return false;
    this.start(sender);
    return true;
  }
}

/** An answer that refuses the block (HTTP 4xx): posting it again gets the same answer. */
function isRefusal(err: unknown): boolean {
  if (!isJbcError(err, ErrorCode.PEER_BAD_RESPONSE)) return false;
  const status = err.data.status;
  return typeof status === 'number' && status >= 400 && status < 500;
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
