/**
 * What `GET /metrics` shows, in the Prometheus text format (prom-client).
 * Counters and histograms are fed by the parts as things happen; gauges
 * (hash rate, height, peers) and the hash count are read from the parts
 * when scraped. One
 * registry per node, so several nodes in one process (tests) never mix.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The miner's figures the gauges read (the mining status holds these among others; declared here so the miner can report to the metrics without the metrics depending on it). */
export interface MiningFigures {
  readonly hashrate: number;
  readonly perWorker: readonly number[];
  readonly hashes: number;
}

/** What the peers gauge reads of each peer. */
export interface PeerFigures {
  readonly reachable: boolean | null;
}

/** Where the scrape-time gauges read from. */
export interface MetricsSources {
  readonly height: () => bigint;
  readonly mining: () => MiningFigures;
  readonly peers: () => readonly PeerFigures[];
  readonly pool: () => { readonly entries: number; readonly bytes: number } | undefined;
  /** The chain's figures (see chain/figures.ts); undefined until the chain is open. */
  readonly chain: () => ChainGauges | undefined;
}

/** What the chain gauges read. */
export interface ChainGauges {
  readonly targetDifficulty: number;
  readonly networkHashrate: number | null;
  readonly meanBlockTime: number | null;
  readonly targetBlockTime: number | null;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly blocksMined: Counter<never>;
  readonly blocksAccepted: Counter<never>;
  readonly blocksRejected: Counter<'reason'>;
  readonly syncDuration: Histogram<'outcome'>;
  readonly blocksDownloaded: Counter<never>;
  readonly blocksWritten: Counter<never>;
  readonly tipSwitch: Histogram<never>;
  readonly reorgDepth: Histogram<never>;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'jbc_' });
    new Gauge({
      name: 'jbc_hashrate_hashes_per_second',
      help: 'Hashes per second over the last 10 s, all workers',
      registers,
      collect() {
        this.set(sources.mining().hashrate);
      },
    });
    new Gauge({
      name: 'jbc_worker_hashrate_hashes_per_second',
      help: 'Hashes per second over the last 10 s, per worker thread',
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const [i, rate] of sources.mining().perWorker.entries()) this.set({ worker: String(i) }, rate);
      },
    });
    let hashesCounted = 0;
    new Counter({
      name: 'jbc_hashes_total',
      help: 'Hashes computed since the miner started',
      registers,
      // The miner keeps the running total; a scrape adds what was hashed since the last one.
      collect() {
        const hashes = sources.mining().hashes;
        if (hashes < hashesCounted) {
          this.reset();
          hashesCounted = 0;
        }
        this.inc(hashes - hashesCounted);
        hashesCounted = hashes;
      },
    });
    new Gauge({
      name: 'jbc_chain_height',
      help: 'Index of the tip (-1 for the empty chain)',
      registers,
      collect() {
        this.set(Number(sources.height()));
      },
    });
    const chainGauge = (name: string, help: string, read: (figures: ChainGauges) => number | null) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const figures = sources.chain();
          const value = figures === undefined ? null : read(figures);
          this.set(value ?? 0);
        },
      });
    chainGauge(
      'jbc_target_difficulty',
      "The next block's target as leading hex zeros with a fraction (log16 of 2^256 / (target + 1))",
      (f) => f.targetDifficulty,
    );
    chainGauge(
      'jbc_network_hashrate_hashes_per_second',
      "The network's hash rate by the work and timestamps of the last 100 blocks (0 until known)",
      (f) => f.networkHashrate,
    );
    chainGauge('jbc_mean_block_time_seconds', 'Mean seconds between the last 100 blocks, by their timestamps (0 until known)', (f) => f.meanBlockTime);
    chainGauge('jbc_target_block_time_seconds', "Seconds between blocks the chain rule aims at (0: jbc's fixed difficulty)", (f) => f.targetBlockTime);
    new Gauge({
      name: 'jbc_peers',
      help: 'Peers by state: reachable, unreachable, or not asked yet',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = { reachable: 0, unreachable: 0, unknown: 0 };
        for (const peer of sources.peers()) counts[peer.reachable === null ? 'unknown' : peer.reachable ? 'reachable' : 'unreachable']++;
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'jbc_pool_entries',
      help: 'Data entries pending in the pool',
      registers,
      collect() {
        this.set(sources.pool()?.entries ?? 0);
      },
    });
    this.blocksMined = new Counter({ name: 'jbc_blocks_mined_total', help: 'Blocks this node mined and stored', registers });
    this.blocksAccepted = new Counter({ name: 'jbc_blocks_accepted_total', help: "Peers' blocks that extended the tip", registers });
    this.blocksRejected = new Counter({
      name: 'jbc_blocks_rejected_total',
      help: "Peers' blocks not adopted, by reason (known, stale, ahead, invalid)",
      labelNames: ['reason'],
      registers,
    });
    this.syncDuration = new Histogram({
      name: 'jbc_sync_duration_seconds',
      help: 'Syncs from one peer, by outcome (adopted, not-longer, failed)',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120],
      registers,
    });
    this.blocksDownloaded = new Counter({
      name: 'jbc_sync_blocks_downloaded_total',
      help: 'Blocks downloaded by syncs and by fetches of missing ancestors',
      registers,
    });
    this.blocksWritten = new Counter({
      name: 'jbc_sync_blocks_written_total',
      help: 'Downloaded blocks that were new to the chain and written',
      registers,
    });
    this.tipSwitch = new Histogram({
      name: 'jbc_tip_switch_seconds',
      help: "From a peer's or a sync's new tip until the workers search on it",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers,
    });
    this.reorgDepth = new Histogram({
      name: 'jbc_reorg_depth_blocks',
      help: 'Reorgs, by the number of blocks of the old chain they replaced',
      buckets: [1, 2, 3, 4, 6, 8, 16, 64, 256],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'jbc_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'jbc_http_request_duration_seconds',
      help: 'HTTP request latency by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }

  /** The text a scrape gets. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
