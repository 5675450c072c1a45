/**
 * The HTTP API as a Koa app. Routes are thin: parse the request,
 * call the node (`NodeApi`), serialise. Every failure goes through one error
 * middleware and the status table in http-errors.ts. Request bodies are read
 * here, raw and size-capped, checked against the JSON limits of what their
 * route takes (a block, a small object), and parsed losslessly so integers
 * beyond 2^53 in a posted block keep every digit.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import { BLOCK_JSON_LIMITS, blockToJson, isHash, parseBlock } from '../block.js';
import { isEntryId } from '../entries.js';
import { JsonLimitsScan, JsonNumber, formatUint, isCanonicalUint, isJsonObject, parseJsonBytes, type JsonLimits } from '../codec.js';
import { roundDifficulty } from '../chain/index.js';
import { targetDifficulty, targetHex, targetWork, workHex } from '../target.js';
import { ErrorCode, JbcError, errorFields, isOwnFault } from '../errors.js';
import { locateFork, MAX_LOCATOR_HASHES } from '../locator.js';
import type { Logger } from '../log.js';
import { ExplorerFiles, type ExplorerFilesOptions } from './explorer.js';
import { codeForStatus, errorResponse } from './http-errors.js';
import type { NodeApi } from './interface.js';
import type { NodeMetrics } from '../metrics/index.js';
import { MAX_BLOCKS_PER_PAGE, MAX_PAGE_BYTES } from '../pages.js';
import { PEER_HEADER } from '../peer/index.js';
import { normalizePeerUrl, tryNormalizePeerUrl } from '../peer/index.js';

export interface AppOptions {
  readonly maxBodyBytes: number;
  /** Time a request body has to arrive once reading it starts. */
  readonly bodyTimeoutMs: number;
  /** Bytes of request bodies held at once, all requests together. */
  readonly maxBodyBytesInFlight: number;
  readonly logger: Logger;
  /** Where the explorer page's files are. Default: the build output. */
  readonly explorer?: ExplorerFilesOptions;
  /** Where request counts and latencies go; none recorded when absent. */
  readonly metrics?: NodeMetrics | undefined;
  /** The bearer token the control routes take from anywhere; without one they answer loopback clients only. */
  readonly adminToken?: string | undefined;
}

/** A body of one small object: POST /data's `{"data": "…"}`, POST and DELETE /peers' `{"url": "…"}`. */
const SMALL_BODY_LIMITS: JsonLimits = { maxNumbers: 16, maxValues: 64, maxDepth: 4 };

/** Most entries one GET /data answer lists. */
const MAX_ENTRIES_PER_PAGE = 1000;

/** Blocks per chunk written while streaming /blockchain.json (a chunk is also cut at STREAM_CHUNK_BYTES). */
const STREAM_BATCH = 256;
const STREAM_CHUNK_BYTES = 1024 * 1024;

/** Bytes of request bodies being read right now, against their cap. */
interface BodyBudget {
  used: number;
  readonly max: number;
}

export function createApp(node: NodeApi, options: AppOptions): Koa {
  const app = new Koa();
  const budget: BodyBudget = { used: 0, max: options.maxBodyBytesInFlight };
  const { logger } = options;
  // Errors are answered and logged by our middleware; Koa's default handler would print them again.
  app.silent = true;

  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
      if (ctx.method === 'OPTIONS' && ctx.status === 200 && ctx.response.get('Allow') !== '') {
        // The router answers OPTIONS with 200 and an empty body, which is not JSON; nothing at all is.
        ctx.status = 204;
      } else if (ctx.body === undefined && ctx.status >= 400) {
        // A bare status from Koa or the router (no route: 404, wrong method: 405).
        const status = ctx.status;
        ctx.body = { error: { code: codeForStatus(status), message: `${ctx.method} ${ctx.path}: ${ctx.message}` } };
        ctx.status = status; // setting a body would otherwise turn it into 200
      }
    } catch (err) {
      const { status, body } = errorResponse(err);
      ctx.status = status;
      ctx.body = body;
      // The rest of a body that came too slowly, or that there was no room for, is not waited for: the connection goes.
      if (status === 408 || status === 503) ctx.set('Connection', 'close');
      const where = { method: ctx.method, path: ctx.path, status };
      // 503s (starting, busy, pool full, too many streams) are states the client is told about, and a 404 an
      // answer, not faults. The client's own mistakes, and a peer it named being down (502, 504), are one
      // line with the reason; only this node's own faults are worth a stack.
      if (status >= 500 && status !== 503 && isOwnFault(err)) logger.error({ ...where, err }, 'request failed');
      else if (status >= 500 && status !== 503) logger.info({ ...where, ...errorFields(err) }, 'request failed');
      else if (status === 403)
        logger.warn({ ...where, remote: ctx.req.socket.remoteAddress, code: body.error.code, reason: body.error.message }, 'request refused');
      else if (status >= 400 && status !== 404 && status !== 503)
        logger.info({ ...where, code: body.error.code, reason: body.error.message }, 'request refused');
    }
    const ms = performance.now() - started;
    logger.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms) }, 'request');
    if (options.metrics !== undefined) {
      // The route's pattern, not the path, so /blocks/7 and /blocks/8 count as one route.
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const labels = { route: typeof route === 'string' ? route : 'unmatched', method: ctx.method };
      options.metrics.httpRequests.inc({ ...labels, status: String(ctx.status) });
      options.metrics.httpDuration.observe(labels, ms / 1000);
    }
  });

  const router = new Router();

  router.get('/blockchain.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = Readable.from(streamBlocks(node.chainJson()));
  });

  router.get('/blocks', (ctx) => {
    const chain = node.chain();
    // With a locator, the page starts where the asker's chain leaves this one.
    const locator = queryLocator(ctx);
    if (locator !== undefined && ctx.query.from !== undefined) throw new JbcError(ErrorCode.BAD_REQUEST, 'give either from or locator, not both');
    const from = locator === undefined ? (queryUint(ctx, 'from') ?? 0n) : locateFork(chain, locator);
    const limit = Math.min(Number(queryUint(ctx, 'limit') ?? BigInt(MAX_BLOCKS_PER_PAGE)), MAX_BLOCKS_PER_PAGE);
    // Serialised here, inside the error middleware, and cut at a byte budget
    // (always one block at least): a page of a thousand 1 MiB blocks would
    // neither fit a peer's cap nor, past V8's string limit, serialise at all.
    const parts: string[] = [];
    let bytes = 2;
    for (const block of chain.range(from, limit)) {
      const json = JSON.stringify(blockToJson(block));
      const size = Buffer.byteLength(json) + 1;
      if (parts.length > 0 && bytes + size > MAX_PAGE_BYTES) break;
      parts.push(json);
      bytes += size;
    }
    ctx.type = 'application/json';
    ctx.body = `[${parts.join(',')}]`;
  });

  router.get('/blocks/hash/:hash', (ctx) => {
    const hash = ctx.params.hash ?? '';
    if (!isHash(hash)) throw new JbcError(ErrorCode.BAD_REQUEST, 'a block hash is 64 lowercase hex characters');
    ctx.body = blockToJson(found(node.chain().findByHash(hash), `no block with hash ${hash}`));
  });

  router.get('/blocks/:index', (ctx) => {
    ctx.body = blockToJson(found(node.chain().at(blockIndex(ctx.params.index)), `no block ${ctx.params.index}`));
  });

  router.get('/blocks/:index/target', (ctx) => {
    const index = blockIndex(ctx.params.index);
    const target = found(node.blockTarget(index), `no block ${index}`);
    ctx.body = {
      index: formatUint(index),
      target: targetHex(target),
      targetDifficulty: roundDifficulty(targetDifficulty(target)),
      work: workHex(targetWork(target)),
    };
  });

  router.get('/status', (ctx) => {
    ctx.body = node.status();
  });

  router.get('/hashrate', (ctx) => {
    ctx.body = node.hashrateHistory();
  });

  router.get('/stats', (ctx) => {
    ctx.body = node.chainStats();
  });

  router.get('/metrics', async (ctx) => {
    if (options.metrics === undefined) throw new JbcError(ErrorCode.NOT_FOUND, 'metrics are off on this node');
    ctx.type = options.metrics.contentType;
    ctx.body = await options.metrics.scrape();
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });

  router.get('/readyz', (ctx) => {
    const fault = node.storeFault();
    if (!node.ready()) {
      ctx.status = 503;
      ctx.body = { ready: false, reason: 'startup sync is running', sync: node.syncStatus() };
    } else if (fault !== null) {
      ctx.status = 503;
      ctx.body = { ready: false, reason: `the data directory refuses writes: ${fault.message}`, storeFault: fault };
    } else {
      ctx.body = { ready: true };
    }
  });

  router.get('/peers', (ctx) => {
    const verbose = ctx.query.verbose;
    ctx.body = verbose === '1' || verbose === 'true' ? { peers: node.peerStates() } : { peers: node.peers() };
  });

  router.delete('/peers', async (ctx) => {
    const url = typeof ctx.query.url === 'string' ? ctx.query.url : peerUrlFromBody(await readJsonBody(ctx, options, budget, SMALL_BODY_LIMITS));
    if (!node.removePeer(normalizePeerUrl(url))) throw new JbcError(ErrorCode.NOT_FOUND, `${url} is not a peer`);
    ctx.body = { removed: true, peers: node.peers() };
  });

  router.post('/peers', async (ctx) => {
    const result = await node.addPeer(peerUrlFromBody(await readJsonBody(ctx, options, budget, SMALL_BODY_LIMITS)));
    if (result === 'self') throw new JbcError(ErrorCode.BAD_REQUEST, 'that URL is this node');
    if (result === 'refused') throw new JbcError(ErrorCode.PEER_ADDRESS_REFUSED, 'peer URL refused');
    ctx.status = result === 'added' ? 201 : result === 'checking' ? 202 : 200;
    ctx.body =
      result === 'added'
        ? { added: true, peers: node.peers() }
        : result === 'checking'
          ? { added: false, reason: 'checking: the URL becomes a peer once it answers like a node', peers: node.peers() }
          : { added: false, reason: result, peers: node.peers() };
  });

  router.post('/data', async (ctx) => {
    const body = await readJsonBody(ctx, options, budget, SMALL_BODY_LIMITS);
    if (!isJsonObject(body) || !('data' in body)) throw new JbcError(ErrorCode.BAD_REQUEST, 'expected {"data": "<text>"}', { field: 'data' });
    const result = await node.submitData(body.data, tryNormalizePeerUrl(ctx.get(PEER_HEADER) || undefined));
    ctx.status = 202;
    ctx.body = { id: result.id, state: result.state, added: result.added };
  });

  router.get('/data', (ctx) => {
    const state = ctx.query.state ?? 'pending';
    if (state !== 'pending') throw new JbcError(ErrorCode.BAD_REQUEST, 'state must be "pending" (confirmed entries are in the chain: GET /data/:id)');
    const limit = Math.min(Number(queryUint(ctx, 'limit') ?? BigInt(MAX_ENTRIES_PER_PAGE)), MAX_ENTRIES_PER_PAGE);
    const after = ctx.query.after;
    if (after !== undefined && (typeof after !== 'string' || !isEntryId(after))) {
      throw new JbcError(ErrorCode.BAD_REQUEST, 'after must be an entry id (64 lowercase hex characters)', { field: 'after' });
    }
    ctx.body = node.pendingData(limit, after);
  });

  router.get('/data/:id', (ctx) => {
    const id = ctx.params.id ?? '';
    if (!isEntryId(id)) throw new JbcError(ErrorCode.BAD_REQUEST, 'an entry id is 64 lowercase hex characters (the SHA-256 of its data)');
    ctx.body = found(node.dataEntry(id), `no entry ${id}`);
  });

  // Control routes: they spend this node's CPU or stop its mining, so not every client may call them.
  const control = controlGuard(options.adminToken);

  router.post('/mine', control, async (ctx) => {
    const body = await readJsonBody(ctx, options, budget, SMALL_BODY_LIMITS);
    if (!isJsonObject(body) || !('blocks' in body)) throw new JbcError(ErrorCode.BAD_REQUEST, 'expected {"blocks": N}', { field: 'blocks' });
    const count = bodyInteger(body.blocks, 'blocks');
    // A client that hangs up is no longer waiting for blocks: the node stops mining them.
    const gone = new AbortController();
    const onClose = (): void => {
      if (!ctx.res.writableFinished) gone.abort();
    };
    ctx.res.once('close', onClose);
    try {
      const blocks = await node.mineBlocks(count, gone.signal);
      ctx.body = { blocks: blocks.map(blockToJson) };
    } finally {
      ctx.res.off('close', onClose);
    }
  });

  router.post('/mining', control, async (ctx) => {
    const body = await readJsonBody(ctx, options, budget, SMALL_BODY_LIMITS);
    if (!isJsonObject(body) || typeof body.enabled !== 'boolean' || Object.keys(body).some((key) => key !== 'enabled' && key !== 'workers')) {
      throw new JbcError(ErrorCode.BAD_REQUEST, 'expected {"enabled": true|false, "workers": N} (workers may be left out)', { field: 'enabled' });
    }
    const workers = body.workers === undefined ? undefined : bodyInteger(body.workers, 'workers');
    ctx.body = { mining: await node.setMining({ enabled: body.enabled, workers }) };
  });

  router.post('/mined', async (ctx) => {
    const block = parseBlock(await readJsonBody(ctx, options, budget, BLOCK_JSON_LIMITS));
    // Integers sent as JSON numbers grow by their quotes in the output form: a
    // block accepted here must fit the body limit of the peers it is relayed to.
    const outputBytes = Buffer.byteLength(JSON.stringify(blockToJson(block)));
    if (outputBytes > options.maxBodyBytes) {
      throw new JbcError(ErrorCode.PAYLOAD_TOO_LARGE, `the block's output form is ${outputBytes} bytes, more than the ${options.maxBodyBytes} a peer accepts`, {
        maxBytes: options.maxBodyBytes,
        outputBytes,
      });
    }
    const result = await node.receiveBlock(block, {
      url: tryNormalizePeerUrl(ctx.get(PEER_HEADER) || undefined),
      remoteAddress: ctx.req.socket.remoteAddress,
    });
    ctx.body = result.accepted ? { received: true, accepted: true } : { received: true, accepted: false, reason: result.reason };
  });

  const explorer = new ExplorerFiles(options.explorer);
  router.get('/', (ctx) => explorer.serve(ctx, 'index.html'));
  router.get('/explorer/:file', (ctx) => explorer.serve(ctx, ctx.params.file ?? ''));

  router.get('/events', (ctx) => {
    if (!node.serveEvents(ctx.req, ctx.res)) {
      throw new JbcError(ErrorCode.TOO_MANY_CLIENTS, 'too many event streams are open on this node; try again later');
    }
    // The stream writes to the response itself, for as long as the client stays.
    ctx.respond = false;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * The chain as one JSON array, a batch of blocks at a time, from one
 * consistent read of the database (so a reorg meanwhile never mixes two
 * chains into one answer), in bounded memory however long the chain.
 */
async function* streamBlocks(blocks: Iterable<string>): AsyncGenerator<string> {
  let chunk = '[';
  let count = 0;
  for (const json of blocks) {
    chunk += (chunk === '[' ? '' : ',') + json;
    if (++count === STREAM_BATCH || chunk.length >= STREAM_CHUNK_BYTES) {
      yield chunk;
      chunk = '';
      count = 0;
      // A reader on a fast link would otherwise keep this loop going for the
      // whole chain; other requests get their turn between chunks.
      await new Promise(setImmediate);
    }
  }
  yield `${chunk}]`;
}

/**
 * Lets a request through to a control route when it carries the admin
 * token, or, with no token set, when it comes from a loopback address;
 * FORBIDDEN otherwise. (Behind a proxy on this host every request looks
 * like loopback: set a token there.)
 */
function controlGuard(adminToken: string | undefined): (ctx: Context, next: () => Promise<unknown>) => Promise<unknown> {
  const expected = adminToken === undefined ? undefined : Buffer.from(adminToken);
  return (ctx, next) => {
    if (expected !== undefined) {
      const given = /^Bearer (\S+)$/i.exec(ctx.get('authorization'))?.[1];
      const bytes = given === undefined ? undefined : Buffer.from(given);
      if (bytes === undefined || bytes.length !== expected.length || !timingSafeEqual(bytes, expected)) {
        throw new JbcError(ErrorCode.FORBIDDEN, `${ctx.method} ${ctx.path} needs the node's admin token (Authorization: Bearer …)`);
      }
    } else if (!isLoopback(ctx.req.socket.remoteAddress)) {
      throw new JbcError(ErrorCode.FORBIDDEN, `${ctx.method} ${ctx.path} answers only clients on this machine (the node has no --admin-token)`);
    }
    return next();
  };
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/** A whole number in a request body, as a JSON number or a canonical decimal string (what fits a number exactly). */
function bodyInteger(value: unknown, field: string): number {
  const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value : undefined;
  if (text === undefined || !isCanonicalUint(text) || text.length > 15) {
    throw new JbcError(ErrorCode.BAD_REQUEST, `${field} must be a whole number`, { field });
  }
  return Number(text);
}

function peerUrlFromBody(body: unknown): string {
  if (!isJsonObject(body) || typeof body.url !== 'string') {
    throw new JbcError(ErrorCode.BAD_REQUEST, 'expected {"url": "http://host:port/"}');
  }
  return body.url;
}

function found<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new JbcError(ErrorCode.NOT_FOUND, message);
  return value;
}

/** `?locator=HASH,HASH,…`: hashes of the asker's chain, tip first (see locator.ts). */
function queryLocator(ctx: Context): string[] | undefined {
  const value = ctx.query.locator;
  if (value === undefined) return undefined;
  const hashes = typeof value === 'string' ? value.split(',') : [];
  if (hashes.length === 0 || hashes.length > MAX_LOCATOR_HASHES || !hashes.every(isHash)) {
    throw new JbcError(ErrorCode.BAD_REQUEST, `query parameter locator must be 1 to ${MAX_LOCATOR_HASHES} block hashes separated by commas`, {
      field: 'locator',
    });
  }
  return hashes;
}

function queryUint(ctx: Context, name: string): bigint | undefined {
  const value = ctx.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isCanonicalUint(value)) {
    throw new JbcError(ErrorCode.BAD_REQUEST, `query parameter ${name} must be a canonical non-negative integer`, { field: name });
  }
  return BigInt(value);
}

/**
 * The request body as parsed JSON: 415 unless the content type is JSON and
 * the body is not encoded (compressed), 413
 * past `maxBytes` (announced or actual), 400 when it holds more than
 * `limits` allow (checked before it is parsed) or does not parse.
 */
async function readJsonBody(ctx: Context, options: AppOptions, budget: BodyBudget, limits: JsonLimits): Promise<unknown> {
  const maxBytes = options.maxBodyBytes;
  const type = ctx.request.is('application/json', '+json');
  if (type === null) throw new JbcError(ErrorCode.BAD_REQUEST, 'a JSON request body is required');
  if (type === false) {
    throw new JbcError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `content type must be application/json, got ${ctx.get('content-type') || 'none'}`);
  }
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    // Decoding would need its own cap on the inflated size; peers never compress a block.
    throw new JbcError(
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `content encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; send the body uncompressed`,
    );
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
  return parseJsonBytes(await readRaw(ctx.req, maxBytes, options.bodyTimeoutMs, budget, new JsonLimitsScan('request body', limits)), 'request body', limits);
}

/**
 * Reads the body up to `maxBytes`. Past that it stops keeping data and
 * rejects; Node discards the rest of the upload once the 413 is sent, so the
 * client still reads the answer. A body not complete within `deadlineMs`
 * rejects with REQUEST_TIMEOUT (a client trickling bytes would otherwise hold
 * the connection and its buffers for as long as it likes). All bodies being
 * read share `budget`: a chunk that does not fit rejects with BUSY, so many
 * connections each sending most of a body cannot add up to gigabytes.
 * Each chunk goes through `scan` as it arrives, so a body past its JSON
 * limits is refused at the chunk that shows it, like one past `maxBytes`,
 * rather than held and copied whole first.
 */
function readRaw(req: IncomingMessage, maxBytes: number, deadlineMs: number, budget: BodyBudget, scan: JsonLimitsScan): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new JbcError(ErrorCode.REQUEST_TIMEOUT, `request body did not arrive within ${deadlineMs} ms`, { deadlineMs }));
    }, deadlineMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      budget.used -= size;
      size = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > maxBytes) {
        cleanup();
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      try {
        scan.push(chunk);
      } catch (err) {
        cleanup();
        req.resume();
        reject(err);
        return;
      }
      if (budget.used + chunk.length > budget.max) {
        cleanup();
        reject(new JbcError(ErrorCode.BUSY, 'too many request bodies are being received; try again later', { maxBytesInFlight: budget.max }));
      } else {
        size += chunk.length;
        budget.used += chunk.length;
        chunks.push(chunk);
      }
    };
    const onEnd = (): void => {
      const body = Buffer.concat(chunks);
      cleanup();
      resolve(body);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new JbcError(ErrorCode.BAD_REQUEST, `request body could not be read: ${err.message}`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function tooLarge(maxBytes: number): JbcError {
  return new JbcError(ErrorCode.PAYLOAD_TOO_LARGE, `request body is larger than ${maxBytes} bytes`, { maxBytes });
}

/** A `:index` route parameter as a block height; BAD_REQUEST unless it is a canonical non-negative integer. */
function blockIndex(text: string | undefined): bigint {
  const index = text ?? '';
  if (!isCanonicalUint(index)) {
    throw new JbcError(ErrorCode.BAD_REQUEST, `block index must be a canonical non-negative integer, got ${JSON.stringify(index.slice(0, 40))}`);
  }
  return BigInt(index);
}
