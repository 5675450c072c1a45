/**
 * The node's HTTP server: the socket-level limits around the Koa app, and
 * binding the port (a port that cannot be had is a BAD_OPTION, so the CLI
 * exits 2 naming it).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Longest wait for a request's headers, and half the wait for a first request on a new connection. */
  readonly bodyTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive. */
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
  // Connections past the cap are closed as they arrive, so a flood cannot hold memory or starve clients already in.
  server.maxConnections = maxConnections;
  // A connection that never sends a request is not covered by the header timeout; without this, idle
  // sockets could hold every slot. Only until its first request: a long answer (a stream) is not cut,
  // and between requests Node's keep-alive timeout applies.
  server.on('connection', (socket) => socket.setTimeout(bodyTimeoutMs * 2, () => socket.destroy()));
  server.on('request', (req) => req.socket.setTimeout(0));
  server.on('drop', (info) => logger.debug({ remote: info?.remoteAddress }, 'connection refused: too many open'));
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
