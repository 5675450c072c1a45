/**
 * A TCP proxy on loopback that holds every chunk for a fixed time before
 * passing it on, in both directions: a link with a one-way latency, without
 * root or `tc`. `npm run bench:net` puts one in front of each node.
 *
 * Every chunk read from one side is written to the other no earlier than
 * `delayMs` after it was read, in the order it was read; an end (half-close)
 * travels behind the data before it, delayed the same. A reset on either
 * side destroys both. Reading from a side pauses while more than
 * `maxQueuedBytes` of it wait to be written, so a fast sender cannot fill the
 * proxy's memory.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface DelayProxyOptions {
  /** Where connections go. */
  readonly targetPort: number;
  /** Default 127.0.0.1. */
  readonly targetHost?: string;
  /** One-way delay, each direction, in milliseconds. */
  readonly delayMs: number;
  /** Port to listen on (on 127.0.0.1). Default 0: a free one. */
  readonly port?: number;
  /** Bytes waiting in one direction above which that side stops being read. Default 4 MiB. */
  readonly maxQueuedBytes?: number;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
}

interface Pending {
  readonly due: number;
  /** null: the sender ended its side. */
  readonly chunk: Buffer | null;
}

export class DelayProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(options: DelayProxyOptions): Promise<DelayProxy> {
    if (!Number.isFinite(options.delayMs) || options.delayMs < 0) throw new RangeError('options.delayMs must be a non-negative number');
    const settings = {
      host: options.targetHost ?? '127.0.0.1',
      port: options.targetPort,
      delayMs: options.delayMs,
      maxQueuedBytes: options.maxQueuedBytes ?? 4 * 2 ** 20,
      now: options.now ?? (() => performance.now()),
    };
    let proxy!: DelayProxy;
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      const upstream = connect({ host: settings.host, port: settings.port, allowHalfOpen: true });
      proxy.#track(client);
      proxy.#track(upstream);
      const kill = (): void => {
        client.destroy();
        upstream.destroy();
      };
      // A side that closed after ending in order leaves the other to finish
      // delivering what is still delayed; one that was reset or destroyed takes the other along.
      const closed = (socket: Socket) => (hadError: boolean) => {
        if (hadError || !socket.readableEnded) kill();
      };
      client.on('error', kill).on('close', closed(client));
      upstream.on('error', kill).on('close', closed(upstream));
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      delayed(client, upstream, settings);
      delayed(upstream, client, settings);
      client.resume();
    });
    proxy = new DelayProxy(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Stops listening and drops every connection it carries. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}

/** Copies `from` to `to`, each chunk (and the end) no earlier than `delayMs` after it was read. */
function delayed(from: Socket, to: Socket, settings: { readonly delayMs: number; readonly maxQueuedBytes: number; readonly now: () => number }): void {
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    timer = undefined;
    if (to.destroyed) return;
    const now = settings.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        to.end();
        continue;
      }
      queuedBytes -= chunk.length;
      to.write(chunk);
    }
    if (queuedBytes <= settings.maxQueuedBytes && from.isPaused() && !from.destroyed) from.resume();
    // Timers count from the event loop's cached clock and may fire a little early: wait out the rest.
    if (queue.length > 0) timer = setTimeout(flush, Math.max(1, Math.ceil(queue[0]!.due - now)));
  };
  const push = (chunk: Buffer | null): void => {
    queue.push({ due: settings.now() + settings.delayMs, chunk });
    if (chunk !== null) {
      queuedBytes += chunk.length;
      if (queuedBytes > settings.maxQueuedBytes) from.pause();
    }
    timer ??= setTimeout(flush, Math.ceil(settings.delayMs));
  };

  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  to.on('close', () => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
