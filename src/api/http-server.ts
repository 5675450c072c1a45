/**
 * The node's HTTP server: the socket-level limits around the Koa app, and
 * binding the port (a port that cannot be had is a BAD_OPTION, so the CLI
 * exits 2 naming it).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Longest wait for a request's headers, and half the wait for a first request on a new connection. */
  readonly bodyTimeoutMs: number;
  /**
   * Connections open at once. One more closes the connection idle the
   * longest (no request in progress) to make room, and is itself closed as it
   * arrives only when none is idle.
   */
  readonly maxConnections: number;
}

/** Creates the server around `app` and resolves once it listens. */
export async function listen(app: RequestListener, options: HttpServerOptions, logger: Logger): Promise<Server> {
  const { host, port, bodyTimeoutMs, maxConnections } = options;
  const server = createServer(
    {
      // Node's own limits are the backstop for requests no route reads (http.ts answers a slow body first, as JSON).
      headersTimeout: bodyTimeoutMs,
      requestTimeout: bodyTimeoutMs * 2,
      // Node checks those limits this often (30 s by default, far too coarse for them).
      connectionsCheckingInterval: Math.min(1000, bodyTimeoutMs),
    },
    app,
  );
  // A connection with no request in progress (a new one, or keep-alive between requests) costs the
  // server nothing to close and its client can reconnect, so at the cap such a connection makes room
  // for a newcomer: idle sockets, however many and however often they reconnect, cannot keep clients
  // out. Connections with a request in progress (event streams included) are never closed for room;
  // a flood of those is met by closing the newcomer, so it cannot hold memory or starve them.
  // Map order is the order connections last became idle, so the first idle one is the oldest.
  const connections = new Map<Socket, { inFlight: number }>();
  server.on('connection', (socket: Socket) => {
    if (connections.size >= maxConnections) {
      let evicted = false;
      for (const [other, state] of connections) {
        if (state.inFlight > 0) continue;
        logger.debug({ remote: other.remoteAddress }, 'idle connection closed to make room');
        connections.delete(other);
        other.destroy();
        evicted = true;
        break;
      }
      if (!evicted) {
        logger.debug({ remote: socket.remoteAddress }, 'connection refused: too many open');
        socket.destroy();
        return;
      }
    }
    connections.set(socket, { inFlight: 0 });
    socket.on('close', () => connections.delete(socket));
    // A connection that never sends a request is not covered by the header timeout; without this, idle
    // sockets could hold every slot below the cap. Only until its first request: a long answer (a stream)
    // is not cut, and between requests Node's keep-alive timeout applies.
    socket.setTimeout(bodyTimeoutMs * 2, () => socket.destroy());
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    socket.setTimeout(0);
    const state = connections.get(socket);
    if (state === undefined) return;
    state.inFlight++;
    let done = false;
    const finished = (): void => {
      if (done) return;
      done = true;
      state.inFlight--;
      if (state.inFlight === 0 && connections.has(socket)) {
        // Idle from now: to the back of the eviction order.
        connections.delete(socket);
        connections.set(socket, state);
      }
    };
    res.on('finish', finished);
    res.on('close', finished);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new JbcError(ErrorCode.BAD_OPTION, `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { option: 'port' }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  return server;
}
