/**
 * The node: the chain and its store, the peers, the HTTP server and the
 * mining loop, wired together. Every change to the chain (own block, peer
 * block, adopted sync) goes through one queue (`Mutex`), is durable in the
 * store before it is served or sent anywhere, and cancels the running
 * search so mining restarts on the new tip.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { checkBlock, type Block, type BlockTemplate } from '../block.js';
import { Chain } from '../chain.js';
import { formatUint } from '../codec.js';
import { ErrorCode, JbcError, describeError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { packageRoot } from '../paths.js';
import { BlockStore } from '../store.js';
import { createApp } from './http.js';
import type { MiningStatus, NodeApi, NodeHandle, NodeMiner, NodeModules, NodeStatus, ReceiveResult, Sender, TipChange } from './interface.js';
import { Mutex } from './lock.js';
import { resolveNodeConfig, type NodeConfig, type NodeOptions } from './options.js';
import { PeerClient } from './peer-client.js';
import { defaultSelfUrl, isSelfUrl, peerKey, tryNormalizePeerUrl } from './peer-url.js';
import { PeerSet, type AddPeerResult } from './peers.js';
import { bestCandidate, type SyncOutcome, type SyncSource } from './sync.js';

/**
 * The data of the blocks this node mines, until the data pool (SPEC §6) fills
 * them: the article's "I block #n", plus the miner's URL so that two nodes
 * mining the same height in the same second do not search the same header.
 */
export function blockData(index: bigint, miner: string): string {
  return `jbc-ts block #${formatUint(index)} mined by ${miner}`;
}

/** Wait after the miner failed before trying again, doubling up to the maximum. */
const MINER_RETRY_MS = { first: 1_000, max: 30_000 };

type Candidate = Extract<SyncOutcome, { kind: 'candidate' }>;

/**
 * Starts a node: opens the data dir, binds the HTTP port, syncs from peers
 * (adopting the longest valid chain), then mines. Resolves once the startup
 * sync is done; the handle's close() stops everything.
 */
export async function startNode(options: NodeOptions | NodeConfig = {}, modules: NodeModules = {}): Promise<NodeHandle> {
  const config = isConfig(options) ? options : resolveNodeConfig(options);
  const node = new JbcNode(config, modules);
  try {
    await node.start();
  } catch (err) {
    await node.close();
    throw err;
  }
  return node.handle();
}

function isConfig(options: NodeOptions | NodeConfig): options is NodeConfig {
  return Object.isFrozen(options) && 'defaultPeers' in options;
}

class JbcNode implements NodeApi {
  readonly #config: NodeConfig;
  readonly #logger: Logger;
  readonly #modules: NodeModules;
  readonly #now: () => number;
  readonly #nodeId = randomUUID();
  readonly #lock = new Mutex();
  readonly #events = new EventEmitter();
  readonly #peers: PeerSet;
  readonly #client: PeerClient;
  #version = '0.0.0';
  #store: BlockStore | undefined;
  #chain = new Chain();
  #server: Server | undefined;
  #port = 0;
  #selfUrl: string | undefined;
  #miner: NodeMiner | undefined;
  #miningLoop: Promise<void> | undefined;
  #hashrateTimer: NodeJS.Timeout | undefined;
  #minerPending: Promise<NodeMiner> | undefined;
  /** Aborted by close(): ends waits (miner retry back-off). */
  readonly #closeSignal = new AbortController();
  /** Per peer: the sync running now, and whether another was asked for meanwhile. */
  readonly #syncs = new Map<string, { again: boolean }>();
  /** Broadcasts, announcements and background syncs, awaited by close(). */
  readonly #background = new Set<Promise<unknown>>();
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(config: NodeConfig, modules: NodeModules) {
    this.#config = config;
    this.#modules = modules;
    this.#logger = modules.logger ?? silentLogger;
    this.#now = modules.now ?? Date.now;
    this.#events.setMaxListeners(0);
    // This node's own URL is dropped from the list here (by --port) and again once the real port is known.
    this.#peers = new PeerSet({ max: config.maxPeers, isSelf: (url) => this.#isSelf(url, config.port) }, config.peers);
    this.#client = new PeerClient({
      timeoutMs: config.peerTimeoutMs,
      maxResponseBytes: config.maxPeerResponseBytes,
      selfUrl: () => this.#selfUrl,
      userAgent: 'jbc-ts',
    });
  }

  async start(): Promise<void> {
    const { config } = this;
    this.#version = readVersion();
    const opened = await BlockStore.open({ dir: config.dataDir, difficulty: config.difficulty }, { logger: this.#logger });
    this.#store = opened.store;
    this.#chain = opened.chain;

    // The port is bound before the sync so that a port conflict fails at once
    // and port 0 resolves; until the sync is done the node answers from its
    // local chain.
    await this.#listen();
    // The worker pool starts while the sync runs.
    const miner = config.mine ? this.#createMiner() : undefined;
    this.#minerPending = miner;
    miner?.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled

    this.#logger.info(
      { url: this.#selfUrl, dataDir: config.dataDir, height: Number(this.#chain.height), difficulty: config.difficulty, peers: this.#peers.list() },
      'node starting',
    );
    await this.#startupSync();
    if (this.#closing) return; // close() was called during the sync; it cleans up the miner
    for (const peer of this.#peers.list()) this.#track(this.#announce(peer));

    if (miner !== undefined) {
      this.#miner = await miner;
      if (this.#closing) return;
      this.#miningLoop = this.#mineLoop();
      if (config.hashrateLogIntervalMs > 0) {
        this.#hashrateTimer = setInterval(() => this.#logHashrate(), config.hashrateLogIntervalMs);
        this.#hashrateTimer.unref();
      }
    }
    this.#logger.info({ url: this.#selfUrl, height: Number(this.#chain.height), mining: config.mine }, 'node ready');
  }

  get config(): NodeConfig {
    return this.#config;
  }

  handle(): NodeHandle {
    return {
      url: this.#localUrl(),
      port: this.#port,
      config: this.#config,
      dataDir: this.#config.dataDir,
      chain: () => this.#chain,
      status: () => this.status(),
      onTip: (listener) => {
        this.#events.on('tip', listener);
        return () => this.#events.off('tip', listener);
      },
      close: () => this.close(),
    };
  }

  // ---- NodeApi (what the routes call) ----

  chain(): Chain {
    return this.#chain;
  }

  peers(): readonly string[] {
    return this.#peers.list();
  }

  status(): NodeStatus {
    const tip = this.#chain.tip;
    return {
      height: Number(this.#chain.height),
      length: this.#chain.length,
      tip: tip === undefined ? null : { index: formatUint(tip.index), hash: tip.hash },
      difficulty: this.#config.difficulty,
      peers: this.#peers.list(),
      mining: this.#miningStatus(),
      version: this.#version,
      nodeId: this.#nodeId,
      url: this.#selfUrl ?? '',
    };
  }

  addPeer(url: string): AddPeerResult {
    const result = this.#peers.add(url, 'api');
    if (result === 'added') {
      const peer = this.#peers.resolve(url) ?? tryNormalizePeerUrl(url)!;
      this.#logger.info({ peer }, 'peer added');
      // A node that announces itself may be ahead of us; its /status tells.
      this.#requestSync([peer], 'new peer');
    }
    return result;
  }

  /**
   * A block from a peer (POST /mined). Throws INVALID_BLOCK when it lacks
   * its proof of work. Stores and relays a block that extends the tip; a
   * block ahead of the tip starts a sync from its sender.
   */
  async receiveBlock(block: Block, received: Sender): Promise<ReceiveResult> {
    await checkBlock(block, this.#config.difficulty);
    if (received.url !== undefined && this.#peers.add(received.url, 'sender') === 'added') {
      this.#logger.info({ peer: received.url }, 'peer learned from a block sender');
    }
    // The sender under the name it is listed as (it may call itself 127.0.0.1 where the list says localhost).
    const sender: Sender = { ...received, url: received.url && (this.#peers.resolve(received.url) ?? received.url) };
    const result = await this.#lock.run(async (): Promise<ReceiveResult | 'ahead'> => {
      const chain = this.#chain;
      if (chain.extendsTip(block)) {
        await this.#persistAndAppend(block);
        this.#tipChanged('peer');
        return { accepted: true };
      }
      const ours = chain.at(block.index);
      if (ours?.hash === block.hash) return { accepted: false, reason: `known: block ${block.index} is already in the chain` };
      if (ours !== undefined) {
        return { accepted: false, reason: `stale: the chain already has a different block ${block.index} (tip is ${chain.height})` };
      }
      return 'ahead';
    });
    if (result === 'ahead') {
      const peers = this.#senderPeers(sender);
      this.#requestSync(peers, `block ${block.index} ahead of tip`);
      const tip = this.#chain.height;
      return {
        accepted: false,
        reason:
          peers.length > 0
            ? `ahead: block ${block.index} does not extend tip ${tip}; syncing from ${sender.url ?? peers.join(', ')}`
            : `ahead: block ${block.index} does not extend tip ${tip}, and the sender is not known`,
      };
    }
    if (result.accepted) {
      this.#logger.info({ index: Number(block.index), hash: block.hash, from: sender.url ?? sender.remoteAddress }, 'block accepted from peer');
      this.#broadcast(block, sender.url);
    } else {
      this.#logger.debug({ index: Number(block.index), from: sender.url ?? sender.remoteAddress, reason: result.reason }, 'block not adopted');
    }
    return result;
  }

  // ---- lifecycle ----

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    this.#closeSignal.abort();
    clearInterval(this.#hashrateTimer);
    this.#client.close();
    const miner = this.#miner ?? (await this.#minerPending?.catch(() => undefined));
    if (miner !== undefined) {
      await miner.cancel().catch((err: unknown) => this.#logger.warn({ err: describeError(err) }, 'miner cancel failed'));
      await this.#miningLoop;
      await miner.close().catch((err: unknown) => this.#logger.warn({ err: describeError(err) }, 'miner close failed'));
    }
    const server = this.#server;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await Promise.allSettled([...this.#background]);
    await this.#lock.idle();
    this.#logger.info({ height: Number(this.#chain.height) }, 'node stopped');
  }

  async #listen(): Promise<void> {
    const app = createApp(this, { maxBodyBytes: this.#config.maxBodyBytes, logger: this.#logger });
    const server = createServer(app.callback());
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new JbcError(ErrorCode.BAD_OPTION, `cannot listen on ${this.#config.host}:${this.#config.port}: ${err.code ?? err.message}`, {
            option: 'port',
          }),
        );
      };
      server.once('error', onError);
      server.listen(this.#config.port, this.#config.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.#logger.error({ err: describeError(err) }, 'HTTP server error'));
    this.#port = (server.address() as AddressInfo).port;
    this.#selfUrl = this.#config.publicUrl ?? defaultSelfUrl(this.#config.host, this.#port);
    this.#peers.setIsSelf((url) => this.#isSelf(url, this.#port));
  }

  /** The URL a local client reaches the server at (the actual port). */
  #localUrl(): string {
    return defaultSelfUrl(this.#config.host, this.#port);
  }

  #isSelf(url: string, port: number): boolean {
    return isSelfUrl(url, { host: this.#config.host, port, publicUrl: this.#selfUrl ?? this.#config.publicUrl });
  }

  async #createMiner(): Promise<NodeMiner> {
    const create = this.#modules.createMiner ?? defaultCreateMiner;
    return create({ workers: this.#config.workers }, { logger: this.#logger.child({ module: 'mining' }) });
  }

  // ---- sync ----

  /**
   * Asks every peer, adopts the longest valid chain, then asks the peers
   * learned from the first round (once), so startup takes at most two peer
   * timeouts however the peers behave.
   */
  async #startupSync(): Promise<void> {
    const asked = new Set<string>();
    for (let round = 0; round < 2; round++) {
      const peers = this.#peers.list().filter((peer) => !asked.has(peer));
      if (peers.length === 0) break;
      for (const peer of peers) asked.add(peer);
      const [, learned] = await Promise.all([this.#syncRound(peers, 'startup'), this.#learnPeers(peers)]);
      if (learned === 0) break;
    }
  }

  /** Syncs from `peers` in parallel and adopts the best candidate; never throws for a peer's fault. */
  async #syncRound(peers: readonly string[], reason: string): Promise<void> {
    const local = this.#chain;
    const { best, results } = await bestCandidate(
      local,
      peers.map((peer) => this.#source(peer)),
      { difficulty: this.#config.difficulty, pageSize: this.#config.syncPageSize },
      this.#logger,
    );
    for (const { peer, outcome } of results) {
      if (outcome?.kind === 'not-longer') {
        this.#logger.debug({ peer, peerLength: Number(outcome.peerLength), length: local.length, reason }, 'peer chain not longer');
      }
    }
    if (best !== undefined) await this.#adopt(best, reason);
  }

  /** Adds the peers that `peers` know; returns how many were new. */
  async #learnPeers(peers: readonly string[]): Promise<number> {
    let added = 0;
    await Promise.all(
      peers.map(async (peer) => {
        let urls: string[];
        try {
          urls = await this.#client.peers(peer);
        } catch (err) {
          // Plain jbc peers have no /peers; unreachable ones were reported by the sync.
          this.#logger.debug({ peer, err: describeError(err) }, 'no peer list from peer');
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

  /**
   * Syncs from `peers` in the background. One sync per peer at a time; a
   * request while one runs makes it run once more afterwards (the peer may
   * have moved on since its /status was read).
   */
  #requestSync(peers: readonly string[], reason: string): void {
    if (this.#closing) return;
    for (const peer of peers) {
      const running = this.#syncs.get(peer);
      if (running !== undefined) {
        running.again = true;
        continue;
      }
      const state = { again: false };
      this.#syncs.set(peer, state);
      this.#track(
        (async () => {
          try {
            do {
              state.again = false;
              await this.#syncRound([peer], reason);
            } while (state.again && !this.#closing);
          } finally {
            this.#syncs.delete(peer);
          }
        })(),
      );
    }
  }

  /** Makes `candidate` the chain if it is still strictly longer: durable first, then served. */
  async #adopt(candidate: Candidate, reason: string): Promise<boolean> {
    return this.#lock.run(async () => {
      const current = this.#chain;
      if (candidate.blocks.length <= current.length) {
        this.#logger.debug({ peer: candidate.peer, length: candidate.blocks.length }, 'candidate no longer longer');
        return false;
      }
      const chain = new Chain(candidate.blocks);
      await this.#requireStore().replace(candidate.blocks);
      this.#chain = chain;
      this.#logger.info(
        {
          peer: candidate.peer,
          reason,
          via: candidate.via,
          height: Number(chain.height),
          previousHeight: Number(current.height),
          forkPoint: candidate.forkPoint,
          downloaded: candidate.downloaded,
          abandoned: current.length - candidate.forkPoint,
        },
        'adopted longer chain from peer',
      );
      this.#tipChanged('sync');
      return true;
    });
  }

  /** Download functions for one peer, keeping its health and noticing when it is this node. */
  #source(peer: string): SyncSource {
    const call = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        const value = await fn();
        if (this.#peers.markOk(peer)) this.#logger.info({ peer }, 'peer is back');
        return value;
      } catch (err) {
        this.#peers.markFailed(peer);
        throw err;
      }
    };
    return {
      peer,
      status: () =>
        call(async () => {
          const status = await this.#client.status(peer);
          if (status?.nodeId === this.#nodeId) {
            this.#peers.markSelf(peer);
            this.#logger.info({ peer }, 'peer is this node under another name; removed');
            return { length: 0n, tipHash: undefined, nodeId: status.nodeId };
          }
          return status;
        }),
      blocks: (from, limit) => call(() => this.#client.blocks(peer, from, limit)),
      blockchain: () => call(() => this.#client.blockchain(peer)),
    };
  }

  /**
   * The peers a block came from: the one named by X-Jbc-Peer; without it
   * (plain jbc senders), the known peers on the sender's address; failing
   * that, every known peer (each is asked for /status only).
   */
  #senderPeers(sender: Sender): string[] {
    if (sender.url !== undefined) return this.#isSelf(sender.url, this.#port) ? [] : [sender.url];
    const all = this.#peers.list();
    const address = normalizeAddress(sender.remoteAddress);
    const onHost = all.filter((peer) => sameHost(new URL(peer).hostname, address));
    return onHost.length > 0 ? onHost : all;
  }

  // ---- mining ----

  async #mineLoop(): Promise<void> {
    const miner = this.#miner!;
    let retryMs = MINER_RETRY_MS.first;
    while (!this.#closing) {
      const template = this.#template();
      let block: Block | null;
      try {
        block = await miner.mine(template, this.#config.difficulty);
        retryMs = MINER_RETRY_MS.first;
      } catch (err) {
        if (this.#closing) break;
        this.#logger.error({ err: describeError(err), retryInMs: retryMs }, 'mining failed');
        await delay(retryMs, this.#closeSignal.signal);
        retryMs = Math.min(retryMs * 2, MINER_RETRY_MS.max);
        continue;
      }
      if (block === null || this.#closing) continue;
      await this.#acceptOwn(block).catch((err: unknown) =>
        this.#logger.error({ err: describeError(err), index: Number(block.index) }, 'could not store own block'),
      );
    }
  }

  #template(): BlockTemplate {
    const tip = this.#chain.tip;
    const index = tip === undefined ? 0n : tip.index + 1n;
    return {
      index,
      prevHash: tip?.hash ?? '',
      data: blockData(index, this.#selfUrl ?? this.#localUrl()),
      timestamp: BigInt(Math.floor(this.#now() / 1000)),
    };
  }

  async #acceptOwn(block: Block): Promise<void> {
    const stored = await this.#lock.run(async () => {
      if (!this.#chain.extendsTip(block)) return false;
      await this.#persistAndAppend(block);
      this.#tipChanged('mined');
      return true;
    });
    if (!stored) {
      this.#logger.debug({ index: Number(block.index) }, 'own block no longer extends the tip; dropped');
      return;
    }
    this.#logger.info({ index: Number(block.index), hash: block.hash, nonce: formatUint(block.nonce) }, `mined block #${block.index}`);
    this.#broadcast(block, undefined);
  }

  #logHashrate(): void {
    const miner = this.#miner;
    if (miner === undefined) return;
    const stats = miner.stats();
    const perWorker = stats.perWorker.map((rate, i) => `w${i} ${formatRate(rate)}`).join(', ');
    this.#logger.info(
      { hashrate: Math.round(stats.hashrate), perWorker: stats.perWorker.map(Math.round), engine: stats.engine, hashes: stats.hashes },
      `hashrate ${formatRate(stats.hashrate)} total (${perWorker})`,
    );
  }

  #miningStatus(): MiningStatus {
    const miner = this.#miner;
    if (miner === undefined) {
      return { enabled: this.#config.mine, workers: 0, hashrate: 0, perWorker: [], engine: null, simd: null, simdSupported: null, hashes: 0 };
    }
    const stats = miner.stats();
    return {
      enabled: true,
      workers: stats.workers,
      hashrate: Math.round(stats.hashrate),
      perWorker: stats.perWorker.map(Math.round),
      engine: stats.engine,
      simd: stats.engine === 'wasm-simd',
      simdSupported: stats.simdSupported,
      hashes: stats.hashes,
    };
  }

  // ---- chain mutation helpers (called inside the lock) ----

  async #persistAndAppend(block: Block): Promise<void> {
    await this.#requireStore().append(block);
    this.#chain.append(block);
  }

  #tipChanged(source: TipChange['source']): void {
    // Our own block: that search already ended. Otherwise stop the search on the old tip.
    if (source !== 'mined' && this.#miner !== undefined) {
      void this.#miner.cancel().catch((err: unknown) => this.#logger.warn({ err: describeError(err) }, 'miner cancel failed'));
    }
    const change: TipChange = { tip: this.#chain.tip, source };
    this.#events.emit('tip', change);
  }

  #requireStore(): BlockStore {
    if (this.#store === undefined) throw new JbcError(ErrorCode.INTERNAL, 'store used before it was opened');
    return this.#store;
  }

  // ---- peers out ----

  /** POSTs a block to every peer but `except`, in the background. */
  #broadcast(block: Block, except: string | undefined): void {
    const skip = except === undefined ? undefined : peerKey(except);
    for (const peer of this.#peers.list()) {
      if (peerKey(peer) === skip) continue;
      this.#track(
        this.#client.postMined(peer, block).then(
          (reply) => {
            if (this.#peers.markOk(peer)) this.#logger.info({ peer }, 'peer is back');
            this.#logger.debug({ peer, index: Number(block.index), accepted: reply.accepted, reason: reply.reason }, 'block sent');
          },
          (err: unknown) => {
            if (err instanceof JbcError && err.data.shutdown === true) return;
            const first = this.#peers.markFailed(peer);
            const fields = { peer, index: Number(block.index), err: describeError(err) };
            if (first) this.#logger.warn(fields, 'could not send block to peer');
            else this.#logger.debug(fields, 'could not send block to peer');
          },
        ),
      );
    }
  }

  async #announce(peer: string): Promise<void> {
    const self = this.#selfUrl;
    if (self === undefined) return;
    try {
      await this.#client.announce(peer, self);
      this.#logger.debug({ peer }, 'announced to peer');
    } catch (err) {
      this.#logger.debug({ peer, err: describeError(err) }, 'could not announce to peer');
    }
  }

  #track(promise: Promise<unknown>): void {
    // Peer faults are logged where they happen; what arrives here is this node's own (e.g. its disk).
    const tracked = promise.catch((err: unknown) => this.#logger.error({ err: describeError(err) }, 'background task failed'));
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }
}

async function defaultCreateMiner(options: { workers: number }, modules: { logger: Logger }): Promise<NodeMiner> {
  const { MiningCoordinator } = await import('../mining/index.js');
  return MiningCoordinator.create({ workers: options.workers }, modules);
}

function readVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `1.23 MH/s` style, like CPU miners print. */
export function formatRate(hashesPerSecond: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s'];
  let value = hashesPerSecond;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 2)} ${units[unit]}`;
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

/** Resolves after `ms`, or at once when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
