/**
 * Server-Sent Events: the node's changes pushed to browsers (the explorer
 * page) and to `curl -N`. One stream per client, written straight to the
 * HTTP response; the events are
 *
 *   tip       {height, hash, source}            after every tip change
 *   block     a block in output form            for each block that joined the chain
 *   hashrate  {at, total, perWorker, hashes}    every few seconds while mining
 *   peer      {peers: PeerState[]}              when the peer list or a peer's state changed
 *   sync      {syncing, sync: SyncStatus|null}  while a download runs, and once when it ends
 *
 * A new client first gets the current `tip`, `peer`, `sync` (and `hashrate`
 * when mining), so a page that (re)connects needs no other request to be up
 * to date. The timers behind `hashrate`, `peer` and `sync` run only while
 * someone listens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { blockToJson, type Block } from '../block.js';
import type { ChainView } from '../chain.js';
import { formatUint } from '../codec.js';
import type { Logger } from '../log.js';
import type { TipChange } from '../chain/index.js';
import type { MiningStatus } from '../mining/index.js';
import type { PeerState } from '../peer/index.js';
import type { SyncStatus } from '../sync/index.js';

export type EventName = 'tip' | 'block' | 'hashrate' | 'peer' | 'sync';

export interface EventStreamOptions {
  /** Most clients streaming at once; one more is refused (503). Default 32. */
  readonly maxClients?: number;
  /** Period of `hashrate` events while mining. Default 2000 ms. */
  readonly hashrateIntervalMs?: number;
  /** How often the peer list and sync progress are looked at; an event goes out only when they changed. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /**
   * Most `block` events for one tip change. A sync can add thousands of blocks
   * at once; clients get only the last ones (the `tip` event still says
   * where the chain is, and `/blocks` has the rest). Default 50.
   */
  readonly maxBlocksPerChange?: number;
  /** Period of a comment line that keeps idle streams open through proxies and finds dead clients. Default 15 000 ms. */
  readonly heartbeatMs?: number;
  /** A client that lets more than this many bytes pile up unread is dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * A client whose socket stays backed up (a write that did not drain) this
   * long is dropped. The kernel's socket buffers take megabytes before Node
   * sees any backlog, so at a few events a second the byte bound alone would
   * let a client that stopped reading hold its slot for hours; once the
   * kernel is full, a reader that still reads drains within moments.
   * Default 10 000 ms.
   */
  readonly drainTimeoutMs?: number;
  /** The reconnection delay sent to clients (`retry:`). Default 2000 ms. */
  readonly retryMs?: number;
}

export const defaultEventStreamOptions: Required<EventStreamOptions> = {
  maxClients: 32,
  hashrateIntervalMs: 2_000,
  pollIntervalMs: 1_000,
  maxBlocksPerChange: 50,
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  drainTimeoutMs: 10_000,
  retryMs: 2_000,
};

export interface EventStreamModules {
  readonly chain: { readonly view: ChainView; onTip(listener: (change: TipChange) => void): () => void };
  readonly mining: () => MiningStatus;
  readonly peers: () => readonly PeerState[];
  readonly sync: () => { readonly syncing: boolean; readonly sync: SyncStatus | null };
  readonly logger: Logger;
  /** Milliseconds since the epoch, stamped on `hashrate` events. Default Date.now. */
  readonly now?: () => number;
}

interface Client {
  readonly res: ServerResponse;
  /** Running while a write waits for the socket to drain. */
  stalled?: NodeJS.Timeout;
}

/** How far back the stream remembers the chain, to tell which blocks a tip change added after a reorg. */
const REMEMBERED_BLOCKS = 256;

export class EventStream {
  readonly #options: Required<EventStreamOptions>;
  readonly #modules: EventStreamModules;
  readonly #now: () => number;
  readonly #clients = new Set<Client>();
  readonly #unsubscribe: () => void;
  /** Hashes of the last blocks of the chain as of the last tip change, by index. */
  #recent = new Map<bigint, string>();
  #timers: NodeJS.Timeout[] = [];
  #lastPeers = '';
  #lastSync = '';
  #closed = false;

  constructor(options: EventStreamOptions, modules: EventStreamModules) {
    this.#options = { ...defaultEventStreamOptions, ...options };
    for (const [name, value] of Object.entries(this.#options)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`options.${name} must be a positive integer`);
    }
    this.#modules = modules;
    this.#now = modules.now ?? Date.now;
    this.#remember(modules.chain.view);
    this.#unsubscribe = modules.chain.onTip((change) => this.#onTip(change));
  }

  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Streams events on `res` until the client goes away or close() is called.
   * False (nothing written) when the stream is full or closed.
   */
  attach(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#closed || this.#clients.size >= this.#options.maxClients) return false;
    const client: Client = { res };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar would otherwise hold events back in a buffer.
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.#clients.add(client);
    res.on('close', () => this.#drop(client));
    res.on('drain', () => {
      clearTimeout(client.stalled);
      client.stalled = undefined;
    });
    res.on('error', (err) => this.#modules.logger.debug({ err }, 'event stream client error'));
    this.#write(client, `retry: ${this.#options.retryMs}\n\n`);
    for (const [event, data] of this.#snapshot()) this.#write(client, frame(event, data));
    if (this.#clients.size === 1) this.#startTimers();
    return true;
  }

  /** Ends every stream and stops listening to the chain. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#stopTimers();
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }

  #snapshot(): Array<[EventName, unknown]> {
    const events: Array<[EventName, unknown]> = [['tip', this.#tip(this.#modules.chain.view, null)]];
    const mining = this.#modules.mining();
    if ((mining.enabled || mining.requested > 0) && mining.workers > 0) events.push(['hashrate', this.#hashrate(mining)]);
    const peers = { peers: this.#modules.peers() };
    const sync = this.#modules.sync();
    events.push(['peer', peers], ['sync', sync]);
    if (this.#clients.size <= 1) {
      // The first client: what is current now is what later changes are compared with.
      this.#lastPeers = JSON.stringify(peers);
      this.#lastSync = JSON.stringify(sync);
    }
    return events;
  }

  #onTip(change: TipChange): void {
    const view = this.#modules.chain.view;
    const tip = view.tip;
    let added: readonly Block[];
    if (tip !== undefined && !this.#recent.has(tip.index) && this.#recent.get(tip.index - 1n) === tip.prevHash) {
      // One block on the remembered tip, the common case (a block every few ms when mining at a low difficulty).
      added = [tip];
      this.#recent.set(tip.index, tip.hash);
      this.#recent.delete(tip.index - BigInt(REMEMBERED_BLOCKS));
    } else {
      added = this.#clients.size > 0 ? this.#added(view) : [];
      this.#remember(view);
    }
    if (this.#clients.size === 0) return;
    for (const block of added) this.#broadcast('block', blockToJson(block));
    this.#broadcast('tip', this.#tip(view, change.source));
  }

  /**
   * The blocks the last tip change added: everything above the highest
   * remembered block the chain still holds (after a reorg that is the fork
   * point; when none is, a reorg deeper than memory, all of them), at most
   * the last `maxBlocksPerChange`.
   */
  #added(view: ChainView): Block[] {
    const height = view.height;
    let from = 0n;
    for (const [index, hash] of this.#recent) {
      if (index + 1n > from && view.at(index)?.hash === hash) from = index + 1n;
    }
    const first = maxBig(from, height + 1n - BigInt(this.#options.maxBlocksPerChange), 0n);
    return height < first ? [] : view.range(first, Number(height - first + 1n));
  }

  #remember(view: ChainView): void {
    const recent = new Map<bigint, string>();
    const first = maxBig(0n, view.height + 1n - BigInt(REMEMBERED_BLOCKS));
    for (const block of view.height < first ? [] : view.range(first, Number(view.height - first + 1n))) recent.set(block.index, block.hash);
    this.#recent = recent;
  }

  #tip(view: ChainView, source: TipChange['source'] | null): unknown {
    const tip = view.tip;
    return { height: tip === undefined ? '-1' : formatUint(tip.index), hash: tip?.hash ?? null, source };
  }

  #hashrate(mining: MiningStatus): unknown {
    return { at: this.#now(), total: mining.hashrate, perWorker: mining.perWorker, hashes: mining.hashes };
  }

  #startTimers(): void {
    const { hashrateIntervalMs, pollIntervalMs, heartbeatMs } = this.#options;
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(hashrateIntervalMs, () => {
      const mining = this.#modules.mining();
      if ((mining.enabled || mining.requested > 0) && mining.workers > 0) this.#broadcast('hashrate', this.#hashrate(mining));
    });
    every(pollIntervalMs, () => {
      const peers = JSON.stringify({ peers: this.#modules.peers() });
      if (peers !== this.#lastPeers) {
        this.#lastPeers = peers;
        this.#broadcastText(frameText('peer', peers));
      }
      const sync = JSON.stringify(this.#modules.sync());
      if (sync !== this.#lastSync) {
        this.#lastSync = sync;
        this.#broadcastText(frameText('sync', sync));
      }
    });
    every(heartbeatMs, () => this.#broadcastText(': keep-alive\n\n'));
  }

  #stopTimers(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }

  #drop(client: Client): void {
    clearTimeout(client.stalled);
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stopTimers();
  }

  #broadcast(event: EventName, data: unknown): void {
    this.#broadcastText(frame(event, data));
  }

  #broadcastText(text: string): void {
    for (const client of this.#clients) this.#write(client, text);
  }

  #write(client: Client, text: string): void {
    const { res } = client;
    if (res.writableLength > this.#options.maxBufferedBytes) {
      this.#tooSlow(client, 'backlog');
      return;
    }
    if (!res.write(text) && client.stalled === undefined) {
      const timer = setTimeout(() => this.#tooSlow(client, 'not drained'), this.#options.drainTimeoutMs);
      timer.unref();
      client.stalled = timer;
    }
  }

  #tooSlow(client: Client, reason: string): void {
    if (!this.#clients.has(client)) return;
    this.#modules.logger.info({ buffered: client.res.writableLength, reason }, 'event stream client too slow; dropped');
    client.res.destroy();
    this.#drop(client);
  }
}

/** One event; JSON text has no raw newlines, so the data fits one `data:` line. */
function frame(event: EventName, data: unknown): string {
  return frameText(event, JSON.stringify(data));
}

function frameText(event: EventName, json: string): string {
  return `event: ${event}\ndata: ${json}\n\n`;
}

function maxBig(...values: bigint[]): bigint {
  // biome-ignore lint/complexity/useMathMinMax: Math.max takes numbers, not bigints
  return values.reduce((a, b) => (b > a ? b : a));
}
