/**
 * When and from whom the node syncs: the startup rounds (bounded by one
 * deadline), catch-up when a block arrives ahead of the tip or a peer is
 * added, and the periodic sync. One sync per peer at a time; a request while
 * one runs makes it run once more afterwards (the peer may have moved on
 * since its /status was read). Each peer sync has its own deadline; what it
 * committed before the deadline stays, and a sync cut off while it was still
 * making progress is continued at once, so a long honest download goes on in
 * the background while a peer that stalls is let go.
 *
 * A plain jbc peer (no /status) can only answer with its whole chain, the
 * dearest request there is for both sides, so the periodic sync asks it only
 * when something says its chain changed (see `noteActivity`), and otherwise
 * every PLAIN_PEER_FALLBACK_INTERVALS-th time.
 *
 * The download itself is `syncFrom` (sync.ts); this module keeps the peer
 * list's health and progress figures and logs.
 */
import type { Block } from '../block.js';
import { ErrorCode, errorFields, isAborted, isJbcError } from '../errors.js';
import type { Logger } from '../log.js';
import { wait } from '../wait.js';
import type { ChainState } from '../chain/index.js';
import { removeStaleSpools } from '../peer/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import type { PeerClient } from '../peer/index.js';
import type { PeerSet } from '../peer/index.js';
import { DENSE_LOCATOR_BLOCKS } from '../locator.js';
import { fetchAncestors, syncFrom, type AncestorOutcome, type SyncOutcome, type SyncProgress, type SyncSource } from './sync.js';

export interface SyncerOptions {
  readonly difficulty: number;
  /** Blocks asked for per page. */
  readonly pageSize: number;
  /** Blocks committed per transaction while downloading. */
  readonly batchSize: number;
  /** How long startup waits for its sync before the node is ready anyway. */
  readonly startupTimeoutMs: number;
  /** Longest one sync from one peer may run before it is cut off. */
  readonly peerSyncTimeoutMs: number;
  /** Period of the background sync; 0 turns it off. */
  readonly intervalMs: number;
  /** How often a running download logs its progress. */
  readonly progressLogIntervalMs: number;
  /** Where a plain jbc peer's whole chain is spooled while it is checked (the data dir). */
  readonly spoolDir: string;
}

/**
 * A plain jbc peer with no sign of a change is still asked by every this
 * many periodic syncs (every 5 minutes at the default 30 s interval): it may
 * have blocks it never posted here (mined while this node was away, or
 * posted to another node only).
 */
export const PLAIN_PEER_FALLBACK_INTERVALS = 10;

/** What the periodic sync knows of a plain jbc peer since its chain was last asked for. */
interface PlainPeer {
  /** Periodic syncs that passed it over. */
  skipped: number;
  /** It posted a block that did not fit this node's chain. */
  changed: boolean;
}

export interface SyncerModules {
  readonly chain: ChainState;
  readonly peers: PeerSet;
  readonly client: PeerClient;
  /** This node's random id, to notice a "peer" that is this node. */
  readonly nodeId: string;
  readonly logger: Logger;
  /** Aborted at shutdown: ends every sync. */
  readonly signal: AbortSignal;
  readonly metrics?: NodeMetrics | undefined;
}

/** What `/status` shows of the biggest download running. */
export interface SyncStatus {
  readonly peer: string;
  readonly height: number;
  readonly target: number;
  readonly downloaded: number;
  readonly blocksPerSecond: number;
}

interface RunningSync {
  again: boolean;
  /** Set right after the state is made, before anyone can ask for it. */
  done: Promise<void>;
  progress: SyncProgress | undefined;
  startedAt: number;
}

export class Syncer {
  readonly #options: SyncerOptions;
  readonly #chain: ChainState;
  readonly #peers: PeerSet;
  readonly #client: PeerClient;
  readonly #nodeId: string;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;
  readonly #metrics: NodeMetrics | undefined;
  readonly #running = new Map<string, RunningSync>();
  readonly #plain = new Map<string, PlainPeer>();
  /** Peers whose being down (unreachable, timing out) was logged, until they answer again. */
  readonly #down = new Set<string>();
  #startupDone = false;
  #periodic: NodeJS.Timeout | undefined;
  readonly #progressTimer: NodeJS.Timeout;

  constructor(options: SyncerOptions, modules: SyncerModules) {
    this.#options = options;
    this.#chain = modules.chain;
    this.#peers = modules.peers;
    this.#client = modules.client;
    this.#nodeId = modules.nodeId;
    this.#logger = modules.logger;
    this.#signal = modules.signal;
    this.#metrics = modules.metrics;
    this.#progressTimer = setInterval(() => this.#logProgress(), options.progressLogIntervalMs);
    this.#progressTimer.unref();
  }

  /** True until the startup sync is done (or its deadline passed). */
  get syncing(): boolean {
    return !this.#startupDone;
  }

  /** The biggest download running now, or null. */
  status(): SyncStatus | null {
    let best: SyncStatus | null = null;
    for (const running of this.#running.values()) {
      const progress = running.progress;
      if (progress === undefined) continue;
      if (best === null || progress.target > best.target) best = { ...progress, blocksPerSecond: rate(running) };
    }
    return best;
  }

  /**
   * Asks every peer, adopts the longest valid chain, then asks the peers
   * learned from the first round (once). Resolves when that is done, or when
   * the startup deadline passes (the syncs go on in the background), or at
   * shutdown. Starts the periodic sync afterwards.
   */
  async startup(): Promise<void> {
    try {
      const stale = await removeStaleSpools(this.#options.spoolDir);
      if (stale > 0) this.#logger.info({ dir: this.#options.spoolDir, files: stale }, 'removed chain spool files left by an earlier run');
    } catch (err) {
      // Only disk space is at stake; the sync does not need them gone.
      this.#logger.warn({ dir: this.#options.spoolDir, err }, 'could not remove chain spool files left by an earlier run');
    }
    const rounds = this.#startupRounds().then(() => 'done' as const);
    const outcome = await Promise.race([rounds, wait(this.#options.startupTimeoutMs, this.#signal).then(() => 'deadline' as const)]);
    if (outcome === 'deadline' && !this.#signal.aborted) {
      this.#logger.warn(
        { timeoutMs: this.#options.startupTimeoutMs, height: Number(this.#chain.view.height), sync: this.status() },
        'startup sync deadline passed; the node is ready and keeps syncing in the background',
      );
    }
    this.#startupDone = true;
    if (this.#options.intervalMs > 0 && !this.#signal.aborted) {
      this.#periodic = setInterval(() => this.request(this.#periodicPeers(), 'periodic'), this.#options.intervalMs);
      this.#periodic.unref();
    }
  }

  /**
   * Says that each of `peers` posted a block that did not fit this node's
   * chain (ahead of its tip, or a different block at a height it has): its
   * chain changed, so the next periodic sync asks a plain jbc peer among
   * them again. A block that was accepted or known says nothing of the kind.
   * Peers with /status are asked by every periodic sync anyway.
   */
  noteActivity(peers: readonly string[]): void {
    for (const peer of peers) {
      const plain = this.#plain.get(peer);
      if (plain !== undefined) plain.changed = true;
    }
  }

  /** Syncs from `peers` in the background. */
  request(peers: readonly string[], reason: string): void {
    for (const peer of peers) void this.sync(peer, reason);
  }

  /** Syncs from one peer; resolves when this request is served (never rejects). */
  sync(peer: string, reason: string): Promise<void> {
    if (this.#signal.aborted) return Promise.resolve();
    const running = this.#running.get(peer);
    if (running !== undefined) {
      running.again = true;
      return running.done;
    }
    const state: RunningSync = { again: false, done: Promise.resolve(), progress: undefined, startedAt: performance.now() };
    const done = (async () => {
      try {
        do {
          state.again = false;
          state.progress = undefined;
          state.startedAt = performance.now();
          await this.#syncOnce(peer, reason, state);
        } while (state.again && !this.#signal.aborted);
      } finally {
        this.#running.delete(peer);
      }
    })();
    state.done = done;
    this.#running.set(peer, state);
    return done;
  }

  /**
   * Fetches the missing ancestors of `branch` (a peer's blocks that do not
   * link to the chain) from `peer`, its sender, in one request, and adopts
   * them with the branch when that makes the chain longer. Undefined when
   * the request failed (logged once).
   */
  async fetchAncestors(peer: string, branch: readonly Block[]): Promise<AncestorOutcome | undefined> {
    if (this.#signal.aborted) return undefined;
    const lengthBefore = this.#chain.view.length;
    // Room for the blocks up to the branch and a fork as deep as the locator's dense part.
    const gap = Math.max(0, Number(branch[0]!.index) - lengthBefore);
    const limit = Math.min(this.#options.pageSize, gap + DENSE_LOCATOR_BLOCKS);
    let outcome: AncestorOutcome;
    try {
      outcome = await fetchAncestors(this.#source(peer, this.#signal), this.#chain, branch, { difficulty: this.#options.difficulty, limit });
    } catch (err) {
      if (!this.#signal.aborted) this.#peerFailed(peer, err);
      return undefined;
    }
    this.#metrics?.blocksDownloaded.inc(outcome.downloaded);
    if (outcome.kind === 'adopted') {
      this.#metrics?.blocksWritten.inc(outcome.written);
      if (this.#peers.add(peer, 'sender') === 'added') this.#logger.info({ peer }, 'peer learned from a block sender');
      this.#peers.markUseful(peer);
      const fields = {
        peer,
        height: Number(this.#chain.view.height),
        previousHeight: lengthBefore - 1,
        forkPoint: outcome.forkPoint,
        downloaded: outcome.downloaded,
        written: outcome.written,
        abandoned: outcome.abandoned,
      };
      // A deep reorg is news; a gap filled or a block-deep switch is routine at mining speed.
      if (outcome.abandoned > 1) this.#logger.info(fields, 'switched to a longer fork from peer');
      else this.#logger.debug(fields, outcome.abandoned > 0 ? 'switched to a longer fork from peer' : 'fetched missing blocks from peer');
    } else {
      this.#logger.debug({ peer, kind: outcome.kind, downloaded: outcome.downloaded }, 'fetched ancestors did not make the chain longer');
    }
    return outcome;
  }

  /** Stops the periodic sync and waits for running syncs (the shutdown signal ends them). */
  async close(): Promise<void> {
    clearInterval(this.#periodic);
    clearInterval(this.#progressTimer);
    await Promise.all([...this.#running.values()].map((running) => running.done));
  }

  /** The peers a periodic sync asks: all but the plain jbc peers that have no reason to be asked yet. */
  #periodicPeers(): string[] {
    const peers = this.#peers.list();
    const listed = new Set(peers);
    for (const peer of this.#plain.keys()) if (!listed.has(peer)) this.#plain.delete(peer);
    return peers.filter((peer) => {
      const plain = this.#plain.get(peer);
      if (plain === undefined || plain.changed) return true;
      plain.skipped++;
      return plain.skipped >= PLAIN_PEER_FALLBACK_INTERVALS;
    });
  }

  async #startupRounds(): Promise<void> {
    const asked = new Set<string>();
    for (let round = 0; round < 2 && !this.#signal.aborted; round++) {
      const peers = this.#peers.list().filter((peer) => !asked.has(peer));
      if (peers.length === 0) break;
      for (const peer of peers) asked.add(peer);
      const [, learned] = await Promise.all([Promise.all(peers.map((peer) => this.sync(peer, 'startup'))), this.#learnPeers(peers)]);
      if (learned === 0) break;
    }
  }

  async #syncOnce(peer: string, reason: string, state: RunningSync): Promise<void> {
    const deadline = AbortSignal.timeout(this.#options.peerSyncTimeoutMs);
    const signal = AbortSignal.any([this.#signal, deadline]);
    const lengthBefore = this.#chain.view.length;
    const timer = this.#metrics?.syncDuration.startTimer();
    let outcome: SyncOutcome;
    try {
      outcome = await syncFrom(this.#source(peer, signal), this.#chain, {
        difficulty: this.#options.difficulty,
        pageSize: this.#options.pageSize,
        batchSize: this.#options.batchSize,
        onProgress: (progress) => {
          state.progress = progress;
        },
      });
    } catch (err) {
      timer?.({ outcome: 'failed' });
      if (this.#signal.aborted) return;
      if (isAborted(err) && deadline.aborted) {
        const gained = this.#chain.view.length - lengthBefore;
        this.#logger.warn(
          { peer, reason, timeoutMs: this.#options.peerSyncTimeoutMs, gained, height: Number(this.#chain.view.height) },
          gained > 0 ? 'peer sync deadline passed; continuing from where it got to' : 'peer sync deadline passed',
        );
        // Still gaining blocks: an honest long download, not a stall.
        if (gained > 0) state.again = true;
        return;
      }
      this.#peerFailed(peer, err);
      return;
    }
    timer?.({ outcome: outcome.kind });
    this.#metrics?.blocksDownloaded.inc(outcome.downloaded);
    if (outcome.kind === 'adopted') this.#metrics?.blocksWritten.inc(outcome.written);
    this.#report(outcome, reason, lengthBefore, state);
  }

  #report(outcome: SyncOutcome, reason: string, lengthBefore: number, state: RunningSync): void {
    const { peer } = outcome;
    if (outcome.kind === 'not-longer') {
      this.#logger.debug(
        { peer, peerLength: Number(outcome.peerLength), length: this.#chain.view.length, reason, downloaded: outcome.downloaded },
        'peer chain not longer',
      );
      if (outcome.status?.tipHash !== undefined && outcome.status.tipHash === this.#chain.view.tip?.hash) this.#peers.markUseful(peer);
      return;
    }
    // A sender that was not a peer (its block was ahead of the tip) has now proven itself.
    if (this.#peers.add(peer, 'sender') === 'added') this.#logger.info({ peer }, 'peer learned from a block sender');
    this.#peers.markUseful(peer);
    const seconds = (performance.now() - state.startedAt) / 1000;
    this.#logger.info(
      {
        peer,
        reason,
        via: outcome.via,
        height: outcome.length - 1,
        previousHeight: lengthBefore - 1,
        forkPoint: outcome.forkPoint,
        downloaded: outcome.downloaded,
        written: outcome.written,
        abandoned: outcome.abandoned,
        blocksPerSecond: seconds > 0 ? Math.round(outcome.downloaded / seconds) : null,
      },
      'adopted longer chain from peer',
    );
  }

  #logProgress(): void {
    for (const running of this.#running.values()) {
      const progress = running.progress;
      if (progress === undefined || progress.downloaded === 0) continue;
      const blocksPerSecond = rate(running);
      const left = progress.target - progress.height;
      this.#logger.info(
        {
          peer: progress.peer,
          height: progress.height,
          target: progress.target,
          blocksPerSecond,
          etaSeconds: blocksPerSecond > 0 ? Math.ceil(left / blocksPerSecond) : null,
        },
        `sync progress ${progress.height}/${progress.target}`,
      );
    }
  }

  /** Adds the peers that `peers` know; returns how many were new. */
  async #learnPeers(peers: readonly string[]): Promise<number> {
    let added = 0;
    await Promise.all(
      peers.map(async (peer) => {
        let urls: string[];
        try {
          urls = await this.#client.peers(peer, this.#signal);
        } catch (err) {
          // Plain jbc peers have no /peers; unreachable ones were reported by the sync.
          this.#logger.debug({ peer, ...errorFields(err) }, 'no peer list from peer');
          return;
        }
        for (const url of urls) {
          if (this.#peers.add(url, 'learned') === 'added') {
            added++;
            this.#logger.info({ peer: url, from: peer }, 'peer learned');
          }
        }
      }),
    );
    return added;
  }

  /** Logs a failed request to `peer`; one that was down already and still is only at debug. */
  #peerFailed(peer: string, err: unknown): void {
    const down = isJbcError(err, ErrorCode.PEER_UNREACHABLE) || isJbcError(err, ErrorCode.PEER_TIMEOUT);
    logPeerFailure(this.#logger, peer, err, down && this.#down.has(peer));
    if (down) this.#down.add(peer);
  }

  /** Download functions for one peer, keeping its health and noticing when it is this node. */
  #source(peer: string, signal: AbortSignal): SyncSource {
    const call = async <T>(fn: () => Promise<T>, length?: (value: T) => bigint | undefined): Promise<T> => {
      try {
        const value = await fn();
        this.#down.delete(peer);
        if (this.#peers.markOk(peer, length?.(value))) this.#logger.info({ peer }, 'peer is back');
        return value;
      } catch (err) {
        if (!isAborted(err)) this.#peers.markFailed(peer);
        throw err;
      }
    };
    // Halves the page size for the rest of this sync whenever an answer is over its cap
    // (a peer whose pages are not cut at a byte budget, with big blocks).
    let pageLimit = Number.MAX_SAFE_INTEGER;
    const pages = {
      blocks: async (from: bigint, limit: number): Promise<Block[]> => {
        for (;;) {
          const asked = Math.min(limit, pageLimit);
          try {
            return await this.#client.blocks(peer, from, asked, signal);
          } catch (err) {
            if (!isJbcError(err, ErrorCode.PEER_BAD_RESPONSE) || err.data.tooLarge !== true || asked === 1) throw err;
            pageLimit = Math.ceil(asked / 2);
            this.#logger.debug({ peer, from: Number(from), pageLimit }, 'page over its size cap; asking for fewer blocks');
          }
        }
      },
    };
    return {
      peer,
      status: () =>
        call(
          async () => {
            const status = await this.#client.status(peer, signal);
            if (status === undefined) {
              if (!this.#plain.has(peer)) this.#plain.set(peer, { skipped: 0, changed: false });
            } else this.#plain.delete(peer);
            if (status?.nodeId === this.#nodeId) {
              this.#peers.markSelf(peer);
              this.#logger.info({ peer }, 'peer is this node under another name; removed');
              return { length: 0n, tipHash: undefined, nodeId: status.nodeId, work: 0n };
            }
            return status;
          },
          (status) => status?.length,
        ),
      blocks: (from, limit) => call(() => pages.blocks(from, limit)),
      blocksAfter: (locator, limit) => call(() => this.#client.blocksAfter(peer, locator, limit, signal)),
      blockchain: () => {
        // Set before the download: a block posted while it runs counts for the next one.
        this.#plain.set(peer, { skipped: 0, changed: false });
        return call(() => this.#client.blockchain(peer, signal, this.#options.spoolDir));
      },
    };
  }
}

function rate(running: RunningSync): number {
  const seconds = (performance.now() - running.startedAt) / 1000;
  return seconds > 0 && running.progress !== undefined ? Math.round(running.progress.downloaded / seconds) : 0;
}

/** One log line per failed peer: a forged chain is a warning, an absent peer only worth info. */
export function logPeerFailure(logger: Logger, peer: string, err: unknown, repeated = false): void {
  const code = isJbcError(err) ? err.code : 'UNKNOWN';
  const fields = { peer, code, ...errorFields(err) };
  if (isAborted(err)) logger.debug(fields, 'peer request dropped');
  // A peer that stays down is reported when it goes down and when it is back ('peer is back'), not at every sync.
  else if (repeated && (code === ErrorCode.PEER_UNREACHABLE || code === ErrorCode.PEER_TIMEOUT)) logger.debug(fields, 'peer still down, skipped');
  else if (code === ErrorCode.PEER_UNREACHABLE) logger.info(fields, 'peer unreachable, skipped');
  else if (code === ErrorCode.PEER_TIMEOUT) logger.warn(fields, 'peer timed out, skipped');
  else if (code === ErrorCode.INVALID_CHAIN) logger.warn(fields, 'peer sent an invalid chain, skipped');
  else if (code === ErrorCode.PEER_BAD_RESPONSE) logger.warn(fields, 'peer sent a bad answer, skipped');
  else if (code === ErrorCode.PEER_ADDRESS_REFUSED) logger.warn(fields, 'peer address refused, skipped');
  // Not the peer's doing: this node's disk, or a bug.
  else logger.error(fields, 'sync failed');
}
