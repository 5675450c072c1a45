/**
 * Peers that are not jbc-ts nodes: a plain jbc node (only /blockchain.json
 * and /mined), a socket that never answers, a server that answers garbage,
 * and a scriptable server. Each records the requests it got.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Block } from '../../../src/block.js';
import { toJson } from './fixtures.js';

export interface FakePeer {
  readonly url: string;
  /** "METHOD /path" of every request received. */
  readonly requests: string[];
  /** Bodies of POST requests, as text. */
  readonly posted: Array<{ path: string; body: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An HTTP server on a free port that answers with `handler`. */
export async function fakeHttpPeer(handler: Handler): Promise<FakePeer> {
  const requests: string[] = [];
  const posted: FakePeer['posted'] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push(`${req.method} ${req.url}`);
      if (req.method === 'POST') posted.push({ path: req.url ?? '', body, headers: req.headers });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    posted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The Python jbc node of the article: /blockchain.json and /mined, 404 for
 * anything else. `answer` replaces the /blockchain.json text; `delayMs`
 * holds it back that long, as jbc does while it reads its block files.
 */
export function plainJbcPeer(blocks: readonly Block[], options: { answer?: string; delayMs?: number } = {}): Promise<FakePeer> {
  return fakeHttpPeer((req, res) => {
    if (req.method === 'GET' && req.url === '/blockchain.json') {
      const send = () => {
        if (res.destroyed) return;
        // Flask's json.dumps answer: text/html, blocks with string values.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(options.answer ?? JSON.stringify(toJson(blocks)));
      };
      if (options.delayMs === undefined) send();
      else setTimeout(send, options.delayMs);
    } else if (req.method === 'POST' && req.url === '/mined') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"received": true}');
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    }
  });
}

/**
 * Blocks as the Python jbc node writes them: its key order, json.dumps
 * spacing, in the order it lists its files (here: by hash, which is not by
 * index). One block file's text, or the /blockchain.json text.
 */
export function jbcBlockText(block: Block): string {
  const json = toJson([block])[0]!;
  return `{"nonce": "${json.nonce}", "index": "${json.index}", "hash": "${json.hash}", "timestamp": "${json.timestamp}", "prev_hash": "${json.prev_hash}", "data": ${JSON.stringify(json.data)}}`;
}

export function jbcChainText(blocks: readonly Block[]): string {
  return `[${[...blocks]
    .sort((a, b) => (a.hash < b.hash ? -1 : 1))
    .map(jbcBlockText)
    .join(', ')}]`;
}

/** Accepts connections and never says a word. */
export function hungPeer(): Promise<FakePeer> {
  return tcpPeer(() => {});
}

/** Answers every request with 200 and `body` under a JSON content type. */
export function garbagePeer(body: string | Buffer): Promise<FakePeer> {
  return fakeHttpPeer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
}

/** The page a GET /blocks asks for: from `from`, or past the first `locator` hash that `blocks` hold. */
function pageAsked(blocks: readonly Block[], url: URL): { from: number; limit: number } {
  const limit = Number(url.searchParams.get('limit') ?? 1000);
  const locator = url.searchParams.get('locator');
  if (locator === null) return { from: Number(url.searchParams.get('from') ?? 0), limit };
  for (const hash of locator.split(',')) {
    const at = blocks.findIndex((block) => block.hash === hash);
    if (at >= 0) return { from: at + 1, limit };
  }
  return { from: 0, limit };
}

/** Speaks the jbc-ts API (status, blocks, blockchain.json) for a fixed list of blocks, which may be forged. */
export function apiPeer(blocks: readonly Block[], status: Record<string, unknown> = {}): Promise<FakePeer> {
  return fakeHttpPeer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (value: unknown, code = 200) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === '/status') {
      json({ height: blocks.length - 1, length: blocks.length, tip: null, nodeId: 'fake', ...status });
    } else if (url.pathname === '/blocks') {
      const { from, limit } = pageAsked(blocks, url);
      json(toJson(blocks.slice(from, from + limit)));
    } else if (url.pathname === '/blockchain.json') {
      json(toJson(blocks));
    } else if (url.pathname === '/peers') {
      json({ peers: [] });
    } else {
      json({ error: { code: 'NOT_FOUND', message: 'no' } }, 404);
    }
  });
}

/** A TCP server that answers every connection with `reply` (not HTTP) and, unless `drip`, hangs up. */
export function rawPeer(reply: string, drip = false): Promise<FakePeer> {
  return tcpPeer((socket) => {
    if (!drip) {
      socket.end(reply);
      return;
    }
    // Headers that promise a body, then one byte every 100 ms, forever.
    socket.write(reply);
    const timer = setInterval(() => socket.write('['), 100);
    socket.on('close', () => clearInterval(timer));
  });
}

/** A TCP server on a free port; `onSocket` decides what, if anything, each connection is told. */
async function tcpPeer(onSocket: (socket: Socket) => void): Promise<FakePeer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    requests.push('connection');
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    posted: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A jbc-ts API peer over `blocks` (an array the test may grow) whose /blocks
 * answers for pages starting at `holdFrom` or later wait until `release()`.
 */
export async function gatedApiPeer(blocks: Block[], holdFrom: number): Promise<FakePeer & { release(): void; held(): number }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const peer = await fakeHttpPeer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (value: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === '/status') json({ height: blocks.length - 1, length: blocks.length, tip: null, nodeId: 'gated' });
    else if (url.pathname === '/peers') json({ peers: [] });
    else if (url.pathname === '/blocks') {
      const { from, limit } = pageAsked(blocks, url);
      const answer = () => json(toJson(blocks.slice(from, from + limit)));
      if (from < holdFrom) answer();
      else {
        held++;
        void gate.then(answer);
      }
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"NOT_FOUND","message":"no"}}');
    }
  });
  return { ...peer, release, held: () => held };
}

/**
 * One server that answers like an empty node under any path prefix, so
 * `http://127.0.0.1:<port>/<anything>/` names as many distinct peers as a
 * test wants: they answer, and never help.
 */
export function emptyNodePeer(): Promise<FakePeer> {
  return fakeHttpPeer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.writeHead(path.endsWith('/status') || path.endsWith('/peers') ? 200 : 404, { 'content-type': 'application/json' });
    if (path.endsWith('/status')) res.end('{"height":-1,"length":0,"tip":null,"nodeId":"empty"}');
    else if (path.endsWith('/peers')) res.end('{"peers":[]}');
    else res.end('{"error":{"code":"NOT_FOUND","message":"no"}}');
  });
}

/**
 * Answers /status and /peers like an empty node, and holds every POST /mined
 * unanswered until `release()` (after which it answers them, and later ones
 * at once): a peer that accepts blocks and never answers, until it does.
 */
export async function heldMinedPeer(): Promise<FakePeer & { release(): void; minedIndexes(): string[] }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const peer = await fakeHttpPeer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (body: string) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (path === '/status') json('{"height":-1,"length":0,"tip":null,"nodeId":"held"}');
    else if (path === '/peers') json('{"peers":[]}');
    else void gate.then(() => json('{"received":true,"accepted":false,"reason":"held"}'));
  });
  const minedIndexes = () => peer.posted.filter((p) => p.path === '/mined').map((p) => (JSON.parse(p.body) as { index: string }).index);
  return { ...peer, release, minedIndexes };
}
