/**
 * The node as wiring: it builds each part with its options, a child logger
 * labelled by module and the one shutdown signal, hands each the parts it
 * needs, answers the HTTP routes by asking the parts, and closes the parts in
 * reverse order of construction. In the order they are built:
 *
 *   metrics      GET /metrics, fed by the parts below
 *   HTTP server  the routes (http.ts, http-server.ts), listening before the data dir is opened
 *   chain state  the chain in its database, the one queue for changes, tip events
 *   events       Server-Sent Events (tip, block, hashrate, peer, sync) for the explorer page
 *   histories    the last minutes' hash rates and the recent reorgs (GET /hashrate, GET /stats)
 *   syncer       startup, catch-up and periodic sync from peers
 *   data pool    entries waiting for a block, shared with peers
 *   gossip       blocks from and to peers
 *   admission    posted peer URLs, added once they answer like a node
 *   mining loop  the miner on the tip
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Block } from '../block.js';
import { blocksSince, meanBlockTime } from '../block-times.js';
import type { ChainView } from '../chain.js';
import { ErrorCode, JbcError } from '../errors.js';
import { initHashing } from '../hash.js';
import { silentLogger, type Logger } from '../log.js';
import type { BlockMiner, EngineChoice, MiningChange } from '../mining/index.js';
import { packageVersion } from '../paths.js';
import type { PendingEntry } from '../store/index.js';
import { ChainState, MEAN_BLOCK_TIME_BLOCKS, chainFigures, describeTip, type StoreFault } from '../chain/index.js';
import { EventStream } from '../api/index.js';
import { DataPool, type EntryView, type SubmitResult } from '../pool/index.js';
import { Gossip } from '../network/index.js';
import { BlockActivity } from '../metrics/index.js';
import { NodeMetrics } from '../metrics/index.js';
import { HashrateHistory, ReorgLog, type HashrateHistoryView } from '../metrics/index.js';
import { createApp } from '../api/index.js';
import { listen } from '../api/index.js';
import type { MiningStatus } from '../mining/index.js';
import type { ChainStats, NodeApi, NodeStatus } from '../api/index.js';
import type { ReceiveResult, Sender } from '../network/index.js';
import type { NodeHandle, NodeModules } from './interface.js';
import type { AddPeerAnswer } from '../network/index.js';
import { MiningControl, idleMiningStatus } from '../mining/index.js';
import { addressPolicy, dataDirFor, resolveNodeConfig, type NodeConfig, type NodeOptions } from './options.js';
import type { PeerAddressPolicy } from '../peer/index.js';
import { PeerClient } from '../peer/index.js';
import { PeerAdmission } from '../network/index.js';
import { defaultSelfUrl, isSelfUrl } from '../peer/index.js';
import { PeerSet, type PeerState } from '../peer/index.js';
import { Syncer, type SyncStatus } from '../sync/index.js';

/** How often the node sums up the blocks it mined and accepted. */
const BLOCK_SUMMARY_INTERVAL_MS = 10_000;

/**
 * Starts a node: opens the data dir, binds the HTTP port, syncs from peers
 * (adopting the longest valid chain), then mines. Resolves once the startup
 * sync is done or its deadline passed; the handle's close() stops everything.
 */
export async function startNode(options: NodeOptions | NodeConfig = {}, modules: NodeModules = {}): Promise<NodeHandle> {
  const node = createNode(options, modules);
  try {
    await node.start();
  } catch (err) {
    await node.close();
    throw err;
  }
  return node.handle();
}

/** A node that is not started yet: lets the caller hook up close() (signals) before start(). */
export function createNode(options: NodeOptions | NodeConfig = {}, modules: NodeModules = {}): JbcNode {
  return new JbcNode(isConfig(options) ? options : resolveNodeConfig(options), modules);
}

function isConfig(options: NodeOptions | NodeConfig): options is NodeConfig {
  return Object.isFrozen(options) && 'defaultPeers' in options;
}

export class JbcNode implements NodeApi {
  readonly config: NodeConfig;
  readonly #logger: Logger;
  readonly #modules: NodeModules;
  readonly #nodeId = randomUUID();
  readonly #version = packageVersion();
  /** Aborted by close(): ends syncs, requests to peers and waits. */
  readonly #shutdown = new AbortController();
  readonly #addressPolicy: PeerAddressPolicy;
  readonly #peers: PeerSet;
  readonly #client: PeerClient;
  #chain: ChainState | undefined;
  #events: EventStream | undefined;
  #server: Server | undefined;
  #port = 0;
  #selfUrl: string | undefined;
  #syncer: Syncer | undefined;
  #gossip: Gossip | undefined;
  #admission: PeerAdmission | undefined;
  #mining: MiningControl | undefined;
  #pool: DataPool | undefined;
  readonly #metrics: NodeMetrics;
  #activity: BlockActivity | undefined;
  #hashrates: HashrateHistory | undefined;
  #reorgs: ReorgLog | undefined;
  #dataDir: string | undefined;
  #started: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(config: NodeConfig, modules: NodeModules) {
    this.config = config;
    this.#modules = modules;
    this.#logger = modules.logger ?? silentLogger;
    // This node's own URL is dropped from the list here (by --port) and again once the real port is known.
    this.#addressPolicy = addressPolicy(config.peerAllow);
    this.#peers = new PeerSet(
      {
        max: config.maxPeers,
        isSelf: (url) => this.#isSelf(url, config.port),
        now: modules.now,
        refusal: (url) => this.#addressPolicy.urlRefusal(url),
      },
      config.peers,
    );
    this.#client = new PeerClient({
      addressPolicy: this.#addressPolicy,
      timeoutMs: config.peerTimeoutMs,
      maxResponseBytes: config.maxPeerResponseBytes,
      chainTimeoutMs: config.chainTimeoutMs,
      maxChainBytes: config.maxPeerChainBytes,
      selfUrl: () => this.#selfUrl,
      userAgent: `jbc-ts/${this.#version}`,
    });
    this.#metrics = new NodeMetrics({
      height: () => this.#chain?.view.height ?? -1n,
      mining: () => this.#miningStatus(),
      peers: () => this.#peers.states(),
      pool: () => this.#pool?.size,
      chain: () => (this.#chain === undefined ? undefined : chainFigures(this.#chain)),
    });
  }

  /** Resolves once the node is ready, or early when close() is called meanwhile. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const { config } = this;
    const stopping = this.#shutdown.signal;
    await initHashing();
    // The port is bound first: a taken port fails before the data dir is
    // touched, and port 0 resolves (its data dir is named after the real
    // port). Until the chain is open the routes answer 503, and until the
    // sync is done /readyz says so.
    await this.#listen();
    if (stopping.aborted) return;
    this.#dataDir = dataDirFor(config, this.#port);
    this.#chain = await ChainState.open(
      {
        dataDir: this.#dataDir,
        difficulty: config.difficulty,
        targetBlockTimeMs: config.targetBlockTimeMs,
        jbcFiles: config.jbcFiles,
        pool: { maxEntries: config.maxPoolEntries, maxBytes: config.maxPoolBytes, maxEntryBytes: config.maxEntryBytes },
      },
      { logger: this.#child('chain') },
    );
    if (stopping.aborted) return;
    const chain = this.#chain;
    // Checked while the sync runs; the miner waits for it.
    const verified = chain.verify();
    verified.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    const reorgs = new ReorgLog({}, { height: chain.view.height, now: this.#modules.now });
    this.#reorgs = reorgs;
    this.#hashrates = new HashrateHistory({}, { mining: () => this.#miningStatus(), now: this.#modules.now });
    chain.onTip(({ tip, abandoned, source }) => {
      reorgs.observe(tip?.index ?? -1n, abandoned, source);
      if (abandoned > 0 && source !== 'repair') this.#metrics.reorgDepth.observe(abandoned);
      if (source === 'repair') this.#syncer?.request(this.#peers.list(), 'blocks above a damaged one');
    });
    const activity = new BlockActivity(
      { summaryIntervalMs: BLOCK_SUMMARY_INTERVAL_MS },
      { logger: this.#child('chain'), height: () => chain.view.height, metrics: this.#metrics },
    );
    this.#activity = activity;
    this.#events = new EventStream(
      { maxClients: config.maxEventClients, maxBufferedBytes: config.maxEventBufferedBytes, drainTimeoutMs: config.eventDrainTimeoutMs },
      {
        chain,
        mining: () => this.#miningStatus(),
        peers: () => this.#peers.states(),
        sync: () => ({ syncing: !this.ready(), sync: this.syncStatus() }),
        logger: this.#child('events'),
        now: this.#modules.now,
      },
    );

    this.#syncer = new Syncer(
      {
        difficulty: config.difficulty,
        pageSize: config.syncPageSize,
        batchSize: config.syncBatchSize,
        startupTimeoutMs: config.syncTimeoutMs,
        peerSyncTimeoutMs: config.peerSyncTimeoutMs,
        intervalMs: config.syncIntervalMs,
        progressLogIntervalMs: config.syncProgressLogIntervalMs,
        spoolDir: this.#dataDir,
      },
      {
        chain: this.#chain,
        peers: this.#peers,
        client: this.#client,
        nodeId: this.#nodeId,
        logger: this.#child('sync'),
        signal: stopping,
        metrics: this.#metrics,
      },
    );
    this.#pool = new DataPool(
      {
        maxEntries: config.maxPoolEntries,
        maxBytes: config.maxPoolBytes,
        maxEntryBytes: config.maxEntryBytes,
        maxBlockDataBytes: config.maxBlockDataBytes,
      },
      {
        store: this.#chain.entries,
        chain: () => chain.view,
        peers: this.#peers,
        client: this.#client,
        logger: this.#child('pool'),
        backoffMs: config.peerBackoffMs,
        now: this.#modules.now ?? Date.now,
      },
    );
    this.#gossip = new Gossip({
      chain: this.#chain,
      peers: this.#peers,
      client: this.#client,
      syncer: this.#syncer,
      logger: this.#child('gossip'),
      isSelf: (url) => this.#isSelf(url, this.#port),
      refusal: (url) => this.#addressPolicy.urlRefusal(url),
      backoffMs: config.peerBackoffMs,
      aheadSyncIntervalMs: config.aheadSyncIntervalMs,
      answerMs: config.minedAnswerMs,
      activity,
      metrics: this.#metrics,
      signal: stopping,
    });
    const syncer = this.#syncer;
    this.#admission = new PeerAdmission(
      { answerMs: PEER_CHECK_ANSWER_MS },
      {
        peers: this.#peers,
        client: this.#client,
        addressPolicy: this.#addressPolicy,
        isSelf: (url) => this.#isSelf(url, this.#port),
        nodeId: this.#nodeId,
        requestSync: (peer, reason) => syncer.request([peer], reason),
        logger: this.#child('peers'),
        signal: stopping,
      },
    );
    const pool = this.#pool;
    const create = this.#modules.createMiner ?? defaultCreateMiner;
    const miningLogger = this.#child('mining');
    this.#mining = new MiningControl(
      {
        enabled: config.mine,
        workers: config.workers,
        loop: {
          hashrateLogIntervalMs: config.hashrateLogIntervalMs,
          minerUrl: () => this.#selfUrl!,
          blockTimeMs: config.blockTimeMs,
        },
      },
      {
        createMiner: (workers) => create({ workers, engine: config.engine }, { logger: miningLogger }),
        chain: this.#chain,
        gossip: this.#gossip,
        entries: (minerUrl) => pool.forBlock(minerUrl),
        activity,
        logger: miningLogger,
        now: this.#modules.now ?? Date.now,
        metrics: this.#metrics,
      },
    );
    // The worker pool starts while the sync runs.
    this.#mining.prepare();

    this.#logger.info(
      {
        url: this.#selfUrl,
        dataDir: this.#dataDir,
        height: Number(this.#chain.view.height),
        difficulty: config.difficulty,
        peers: this.#peers.list(),
      },
      'node starting',
    );
    await this.#syncer.startup();
    if (stopping.aborted) return;
    this.#gossip.announce(this.#selfUrl!);

    await verified;
    if (stopping.aborted) return;
    await this.#mining.start();
    if (stopping.aborted) return;
    this.#logger.info({ url: this.#selfUrl, height: Number(this.#chain.view.height), mining: config.mine }, 'node ready');
  }

  handle(): NodeHandle {
    const chain = this.#requireChain();
    return {
      url: defaultSelfUrl(this.config.host, this.#port),
      port: this.#port,
      config: this.config,
      dataDir: this.#dataDir!,
      chain: () => chain.view,
      status: () => this.status(),
      onTip: (listener) => chain.onTip(listener),
      close: () => this.close(),
    };
  }

  // ---- NodeApi (what the routes call) ----

  chain(): ChainView {
    return this.#requireChain().view;
  }

  chainJson(): Iterable<string> {
    return this.#requireChain().blocksJson();
  }

  syncStatus(): SyncStatus | null {
    return this.#syncer?.status() ?? null;
  }

  storeFault(): StoreFault | null {
    return this.#chain?.fault ?? null;
  }

  ready(): boolean {
    return this.#syncer !== undefined && !this.#syncer.syncing;
  }

  status(): NodeStatus {
    const view = this.chain();
    return {
      height: Number(view.height),
      length: view.length,
      tip: describeTip(view),
      difficulty: this.config.difficulty,
      ...chainFigures(this.#requireChain()),
      peers: this.#peers.list(),
      mining: this.#miningStatus(),
      syncing: !this.ready(),
      sync: this.syncStatus(),
      storeFault: this.storeFault(),
      version: this.#version,
      nodeId: this.#nodeId,
      url: this.#selfUrl ?? '',
    };
  }

  blockTarget(index: bigint): bigint | undefined {
    return this.#requireChain().targetAt(index);
  }

  peers(): readonly string[] {
    return this.#peers.list();
  }

  peerStates(): readonly PeerState[] {
    return this.#peers.states();
  }

  addPeer(url: string): Promise<AddPeerAnswer> {
    if (this.#admission === undefined) throw new JbcError(ErrorCode.INTERNAL, 'peer posted before the node was wired');
    return this.#admission.add(url);
  }

  removePeer(url: string): boolean {
    const removed = this.#peers.remove(url);
    if (removed) this.#gossip?.forget(url);
    if (removed) this.#logger.info({ peer: url }, 'peer removed');
    return removed;
  }

  receiveBlock(block: Block, sender: Sender): Promise<ReceiveResult> {
    if (this.#gossip === undefined) throw new JbcError(ErrorCode.INTERNAL, 'block received before the node was wired');
    return this.#gossip.receive(block, sender);
  }

  serveEvents(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#events === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    return this.#events.attach(req, res);
  }

  submitData(data: unknown, from: string | undefined): Promise<SubmitResult> {
    return this.#requirePool().submit(data, from);
  }

  dataEntry(id: string): EntryView | undefined {
    return this.#requirePool().get(id);
  }

  hashrateHistory(): HashrateHistoryView {
    if (this.#hashrates === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    return this.#hashrates.view();
  }

  chainStats(): ChainStats {
    const view = this.chain();
    const reorgs = this.#reorgs;
    if (reorgs === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    const now = (this.#modules.now ?? Date.now)();
    const mean = meanBlockTime(view, MEAN_BLOCK_TIME_BLOCKS);
    const lastMinute = blocksSince(view, now);
    return {
      at: now,
      blockTime: mean === undefined ? null : { from: mean.from.toString(), to: mean.to.toString(), meanSeconds: mean.seconds },
      lastMinute: { blocks: lastMinute.blocks, from: lastMinute.from?.toString() ?? null, capped: lastMinute.capped },
      reorgs: reorgs.summary(),
      chain: chainFigures(this.#requireChain()),
    };
  }

  pendingData(limit: number, after?: string): { entries: PendingEntry[]; pool: { entries: number; bytes: number } } {
    const pool = this.#requirePool();
    return { entries: pool.pending(limit, after), pool: pool.size };
  }

  mineBlocks(count: number, signal: AbortSignal): Promise<Block[]> {
    return this.#requireMining().mine(count, signal);
  }

  setMining(change: MiningChange): Promise<MiningStatus> {
    return this.#requireMining().change(change);
  }

  #requireMining(): MiningControl {
    if (this.#mining === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    return this.#mining;
  }

  #requirePool(): DataPool {
    if (this.#pool === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    return this.#pool;
  }

  // ---- lifecycle ----

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#shutdown.abort();
    this.#client.close();
    // Open event streams would otherwise hold the HTTP server's close() up.
    this.#events?.close();
    await this.#started?.catch(() => {}); // start() sees the signal and returns early
    await this.#mining?.close();
    await this.#syncer?.close();
    await this.#gossip?.close();
    await this.#pool?.close();
    this.#activity?.close();
    this.#hashrates?.close();
    const server = this.#server;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await this.#chain?.close();
    this.#logger.info({ height: this.#chain === undefined ? null : Number(this.#chain.view.height) }, 'node stopped');
  }

  async #listen(): Promise<void> {
    const { host, port, maxBodyBytes, bodyTimeoutMs, maxBodyBytesInFlight, maxConnections } = this.config;
    const logger = this.#child('http');
    const app = createApp(this, { maxBodyBytes, bodyTimeoutMs, maxBodyBytesInFlight, logger, metrics: this.#metrics, adminToken: this.config.adminToken });
    const server = await listen(app.callback(), { host, port, bodyTimeoutMs, maxConnections }, logger);
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    this.#selfUrl = this.config.publicUrl ?? defaultSelfUrl(host, this.#port);
    this.#peers.setIsSelf((url) => this.#isSelf(url, this.#port));
  }

  #miningStatus(): MiningStatus {
    return this.#mining?.status() ?? idleMiningStatus(this.config.mine);
  }

  #isSelf(url: string, port: number): boolean {
    return isSelfUrl(url, { host: this.config.host, port, publicUrl: this.#selfUrl ?? this.config.publicUrl });
  }

  #child(module: string): Logger {
    return this.#logger.child({ module });
  }

  #requireChain(): ChainState {
    if (this.#chain === undefined) throw new JbcError(ErrorCode.NOT_READY, 'the node is still opening its data directory');
    return this.#chain;
  }
}

async function defaultCreateMiner(options: { workers: number; engine: EngineChoice }, modules: { logger: Logger }): Promise<BlockMiner> {
  const { MiningCoordinator } = await import('../mining/index.js');
  return MiningCoordinator.create({ workers: options.workers, engine: options.engine }, modules);
}

/** How long POST /peers waits for the posted URL to answer before it answers 202 (the check goes on). */
const PEER_CHECK_ANSWER_MS = 1000;
