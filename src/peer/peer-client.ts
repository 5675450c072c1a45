/**
 * HTTP to peers, with got. Every request has a time limit covering the whole
 * answer and a cap on the answer's size, and no retries (the sync decides
 * what to do next). A whole chain (/blockchain.json) is the exception: a jbc
 * node builds it before it sends a byte, so it has a longer limit for its
 * start, then may pause only briefly while it flows, and is streamed to a
 * spool file (chain-spool.ts) under a cap of its own. got's errors stop
 * here: callers see JbcError PEER_TIMEOUT, PEER_UNREACHABLE or
 * PEER_BAD_RESPONSE, with the peer URL in `data.peer`. Answers are parsed
 * losslessly (parseJsonBytes), within the limits of what each kind of
 * answer holds (an answer past them is a bad response, and is not parsed),
 * and validated before they leave this module; answers whose content is not
 * used are not parsed at all.
 */
import { setMaxListeners } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import got, { CancelError, HTTPError, RequestError, TimeoutError, type Response } from 'got';
import { BLOCK_JSON_LIMITS, blockToJson, isHash, parseBlock, type Block } from '../block.js';
import { JsonArraySplitter, JsonLimitsScan, firstArrayElement, isJsonObject, parseJsonArray, parseJsonBytes, parseUint, type JsonLimits } from '../codec.js';
import { AbortedError, ErrorCode, JbcError, describeError, isJbcError } from '../errors.js';
import { within } from '../wait.js';
import { ChainSpool, type WholeChain } from './chain-spool.js';
import { MAX_PAGE_BYTES } from '../pages.js';
import { REFUSED_LOOKUP_CODE, type PeerAddressPolicy } from './peer-address.js';
import { tryNormalizePeerUrl } from './peer-url.js';

/** Header naming the sender's base URL on every block this node posts (see README, "Decisions where the spec is silent"). */
export const PEER_HEADER = 'x-jbc-peer';

/** Most peer URLs taken from one peer's /peers answer. */
export const MAX_LEARNED_PER_PEER = 100;

/** What this node needs from a peer's /status: how long its chain is, and who it is. */
export interface PeerStatus {
  /** Number of blocks. */
  readonly length: bigint;
  /** The chain's cumulative work, when the peer reports it (jbc-ts peers do). */
  readonly work: bigint | undefined;
  readonly tipHash: string | undefined;
  /** The peer's random id, used to notice that a "peer" is this node. */
  readonly nodeId: string | undefined;
}

export interface MinedReply {
  readonly accepted: boolean | undefined;
  readonly reason: string | undefined;
}

export interface PeerClientOptions {
  /** Time limit of a request, whole answer included; for a whole chain, how long it may pause once it flows. */
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** How long a whole chain (/blockchain.json) may take to start arriving. */
  readonly chainTimeoutMs: number;
  /** Largest whole chain read. */
  readonly maxChainBytes: number;
  /** This node's base URL, sent as X-Jbc-Peer; undefined before it is known. */
  readonly selfUrl: () => string | undefined;
  readonly userAgent: string;
  /** Which addresses requests may go to; checked before each request and on each DNS lookup. */
  readonly addressPolicy: PeerAddressPolicy;
}

/** What a URL answered when asked whether it is a node. */
export type ProbeResult = { readonly kind: 'jbc-ts'; readonly status: PeerStatus } | { readonly kind: 'jbc' };

/** Small answers (status, peers) are capped lower than block downloads. */
const SMALL_ANSWER_BYTES = 1024 * 1024;
/** A POST /mined or POST /data reply is a few short fields: `{"received": true, "accepted": false, "reason": "…"}`. */
const REPLY_BYTES = 16 * 1024;
/**
 * A /status: a few dozen fields, a number per mining worker (at most 1024)
 * and a string per peer (at most 10 000).
 */
const STATUS_JSON_LIMITS: JsonLimits = { maxNumbers: 2048, maxValues: 32 * 1024, maxDepth: 8 };
/** A /peers answer: a list of URL strings, bare or as `{"peers": […]}`. */
const PEERS_JSON_LIMITS: JsonLimits = { maxNumbers: 64, maxValues: 32 * 1024, maxDepth: 8 };
/** A POST /mined reply. */
const REPLY_JSON_LIMITS: JsonLimits = { maxNumbers: 64, maxValues: 256, maxDepth: 4 };
/** How much of a block list's start is looked at while it downloads: one block of any accepted size fits. */
const MAX_HEAD_BYTES = 2 * 1024 * 1024;
/** What one block of a /blocks page may weigh on average before the page is suspect. */
export const PAGE_BYTES_PER_BLOCK = 16 * 1024;
/** Every page may weigh this much: one block of the largest size a node accepts fits, with room. */
export const MIN_PAGE_CAP_BYTES = 2 * 1024 * 1024;
/** A jbc-ts server's page budget plus one largest block: no honest page is bigger. */
export const MAX_PAGE_CAP_BYTES = MAX_PAGE_BYTES + 1024 * 1024 + 64 * 1024;

export class PeerClient {
  readonly #options: PeerClientOptions;
  readonly #abort = new AbortController();

  constructor(options: PeerClientOptions) {
    this.#options = options;
    // Every request in flight listens on this one signal (got removes its listener when done).
    setMaxListeners(0, this.#abort.signal);
  }

  /** Aborts every request in flight and refuses new ones (node shutdown). */
  close(): void {
    this.#abort.abort();
  }

  /**
   * The peer's /status, or undefined when the peer does not have that route
   * (a plain jbc node answers 404): the caller falls back to /blockchain.json.
   */
  async status(peer: string, signal?: AbortSignal): Promise<PeerStatus | undefined> {
    const answer = await this.#request(peer, 'status', { maxBytes: this.#smallCap(), limits: STATUS_JSON_LIMITS, notFoundIsUndefined: true, signal });
    if (answer === undefined) return undefined;
    if (!isJsonObject(answer)) throw badResponse(peer, 'status', '/status is not a JSON object');
    try {
      let length: bigint;
      if (answer.length !== undefined) length = parseUint(answer.length, 'length');
      else if (answer.tip === null) length = 0n;
      else length = parseUint(answer.height, 'height') + 1n;
      const tip = answer.tip;
      const tipHash = isJsonObject(tip) && typeof tip.hash === 'string' && isHash(tip.hash) ? tip.hash : undefined;
      const nodeId = typeof answer.nodeId === 'string' ? answer.nodeId.slice(0, 100) : undefined;
      const work = typeof answer.work === 'string' && /^[0-9a-f]{1,64}$/.test(answer.work) ? BigInt(`0x${answer.work}`) : undefined;
      return { length, tipHash, nodeId, work };
    } catch (err) {
      throw badResponse(peer, 'status', `/status is not usable: ${describeError(err)}`);
    }
  }

  /**
   * Blocks from .. from + limit - 1 of the peer's chain (fewer when it has
   * fewer, or when its page hit its byte budget). The answer may be at most
   * `pageBytesCap(limit)` bytes.
   */
  async blocks(peer: string, from: bigint, limit: number, signal?: AbortSignal): Promise<Block[]> {
    const blocks = await this.#page(peer, `blocks?from=${from}&limit=${limit}`, limit, signal);
    if (blocks.length > 0 && blocks[0]!.index !== from) {
      throw badResponse(peer, `blocks?from=${from}`, `the answer starts at block ${blocks[0]!.index}, not ${from}`);
    }
    return blocks;
  }

  /**
   * Up to `limit` blocks of the peer's chain that follow the first block of
   * `locator` (this node's hashes, tip first) that the peer has, in order;
   * from block 0 when it has none of them.
   */
  blocksAfter(peer: string, locator: readonly string[], limit: number, signal?: AbortSignal): Promise<Block[]> {
    return this.#page(peer, `blocks?locator=${locator.join(',')}&limit=${limit}`, limit, signal);
  }

  /** A page of consecutive blocks, at most `limit` of them and `pageBytesCap(limit)` bytes. */
  async #page(peer: string, path: string, limit: number, signal: AbortSignal | undefined): Promise<Block[]> {
    const body = await this.#fetch(peer, path, { maxBytes: this.pageBytesCap(limit), signal, checkHead: blockListHead(peer, path) });
    const blocks = await parseBlocks(peer, path, body!);
    if (blocks.length > limit) throw badResponse(peer, path, `sent ${blocks.length} blocks for a limit of ${limit}`);
    const from = blocks[0]?.index ?? 0n;
    blocks.forEach((block, i) => {
      if (block.index !== from + BigInt(i)) {
        throw badResponse(peer, path, `block ${i} of the answer has index ${block.index}, expected ${from + BigInt(i)}`);
      }
    });
    return blocks;
  }

  /**
   * The peer's whole chain (what every jbc node answers), up to
   * maxChainBytes, streamed into a spool file in `spoolDir`: each block is
   * parsed as it arrives, and the first that is not a block ends the
   * download. The caller closes what it gets (which removes the file).
   * `spoolDir` defaults to os.tmpdir(); the node passes its data dir.
   */
  async blockchain(peer: string, signal?: AbortSignal, spoolDir: string = tmpdir()): Promise<WholeChain> {
    const path = 'blockchain.json';
    const url = new URL(path, peer).href;
    const spool = ChainSpool.create(spoolDir, peer);
    try {
      const elements = new JsonArraySplitter(url, MAX_HEAD_BYTES);
      const item = blockItem(peer, path);
      await this.#stream(peer, path, { maxBytes: this.#options.maxChainBytes, signal }, (chunk) => {
        for (const element of elements.push(chunk)) {
          const i = spool.length;
          spool.add(item(parseJsonBytes(element, `${url} element ${i}`, BLOCK_JSON_LIMITS), i));
        }
      });
      elements.end();
      return spool;
    } catch (err) {
      await spool.close();
      throw isJbcError(err, ErrorCode.MALFORMED_JSON) ? blockListError(peer, path, err) : err;
    }
  }

  /** /blockchain.json's bytes; with `headOnly`, undefined once its first block is in (see #fetch). */
  #blockchainAnswer(peer: string, signal: AbortSignal | undefined, headOnly: boolean): Promise<Buffer | undefined> {
    return this.#fetch(peer, 'blockchain.json', {
      maxBytes: this.#options.maxResponseBytes,
      signal,
      checkHead: blockListHead(peer, 'blockchain.json'),
      headOnly,
      firstByteMs: this.#options.chainTimeoutMs,
    });
  }

  /**
   * Largest answer accepted for a page of `limit` blocks: what such a page
   * can honestly weigh (PAGE_BYTES_PER_BLOCK a block, at least
   * MIN_PAGE_CAP_BYTES so that one block of any accepted size fits), and
   * never more than a server's page budget allows, so a hostile peer cannot
   * make one page cost more than a few megabytes to read and parse.
   */
  pageBytesCap(limit: number): number {
    return Math.min(this.#options.maxResponseBytes, MAX_PAGE_CAP_BYTES, Math.max(MIN_PAGE_CAP_BYTES, limit * PAGE_BYTES_PER_BLOCK));
  }

  /**
   * Whether `peer` answers like a node: a jbc-ts /status, or (a plain jbc
   * node has no /status) a /blockchain.json that starts as a list of blocks:
   * the download stops once its first block is in, and the sync that
   * follows fetches the chain once. Throws the peer error when it does not.
   */
  async probe(peer: string, signal?: AbortSignal): Promise<ProbeResult> {
    const status = await this.status(peer, signal);
    if (status !== undefined) return { kind: 'jbc-ts', status };
    const body = await this.#blockchainAnswer(peer, signal, true);
    // A whole answer came before the check could stop it (a short chain): it is read as any would be.
    if (body !== undefined) await parseBlocks(peer, 'blockchain.json', body);
    return { kind: 'jbc' };
  }

  /** The peer's peer list, normalised; entries that are not peer URLs are dropped. */
  async peers(peer: string, signal?: AbortSignal): Promise<string[]> {
    const answer = await this.#request(peer, 'peers', { maxBytes: this.#smallCap(), limits: PEERS_JSON_LIMITS, signal });
    const list = Array.isArray(answer) ? answer : isJsonObject(answer) && Array.isArray(answer.peers) ? answer.peers : undefined;
    if (list === undefined) throw badResponse(peer, 'peers', '/peers is not a list');
    const urls: string[] = [];
    for (const item of list.slice(0, MAX_LEARNED_PER_PEER)) {
      const url = tryNormalizePeerUrl(item);
      if (url !== undefined) urls.push(url);
    }
    return urls;
  }

  /** POSTs a block to the peer's /mined, in output form. */
  async postMined(peer: string, block: Block): Promise<MinedReply> {
    const answer = await this.#request(peer, 'mined', { maxBytes: this.#replyCap(), limits: REPLY_JSON_LIMITS, body: blockToJson(block) });
    // A plain jbc node answers {"received": true} and nothing more.
    if (!isJsonObject(answer)) return { accepted: undefined, reason: undefined };
    return {
      accepted: typeof answer.accepted === 'boolean' ? answer.accepted : undefined,
      reason: typeof answer.reason === 'string' ? answer.reason.slice(0, 200) : undefined,
    };
  }

  /**
   * Passes a data entry on (POST /data). False when the peer has no data
   * pool (a plain jbc node answers 404), which is fine. Only the status
   * counts: the reply is not parsed.
   */
  async postData(peer: string, data: string): Promise<boolean> {
    const answer = await this.#fetch(peer, 'data', { maxBytes: this.#replyCap(), body: { data }, notFoundIsUndefined: true });
    return answer !== undefined;
  }

  /**
   * Tells the peer about this node (POST /peers); plain jbc peers answer
   * 404, which is fine. The reply (a jbc-ts peer lists its peers in it) is
   * not parsed.
   */
  async announce(peer: string, selfUrl: string): Promise<void> {
    await this.#fetch(peer, 'peers', { maxBytes: this.#smallCap(), body: { url: selfUrl }, notFoundIsUndefined: true });
  }

  #smallCap(): number {
    return Math.min(SMALL_ANSWER_BYTES, this.#options.maxResponseBytes);
  }

  #replyCap(): number {
    return Math.min(REPLY_BYTES, this.#options.maxResponseBytes);
  }

  async #request(
    peer: string,
    path: string,
    opts: { maxBytes: number; limits: JsonLimits; body?: unknown; notFoundIsUndefined?: boolean; signal?: AbortSignal | undefined },
  ): Promise<unknown> {
    const body = await this.#fetch(peer, path, opts);
    if (body === undefined) return undefined;
    const url = new URL(path, peer).href;
    try {
      return parseJsonBytes(body, url, opts.limits);
    } catch (err) {
      throw unusableAnswer(peer, url, err);
    }
  }

  /**
   * The answer's bytes (undefined for a 404 when `notFoundIsUndefined`);
   * every failure a coded peer error. `checkHead` sees the answer's first
   * bytes as they arrive, until it returns true; a throw there ends the
   * download at once. With `headOnly`, its true ends the download too, and
   * the answer is undefined (unless it was complete already). With
   * `firstByteMs`, the answer may take that long to start (its headers),
   * and then the usual limit to arrive whole. With `limits`, the answer is
   * held to them as it arrives (see JsonLimitsScan) and let go at the first
   * one passed.
   */
  async #fetch(
    peer: string,
    path: string,
    opts: {
      maxBytes: number;
      body?: unknown;
      notFoundIsUndefined?: boolean;
      signal?: AbortSignal | undefined;
      limits?: JsonLimits;
      checkHead?: (head: Buffer) => boolean;
      headOnly?: boolean;
      firstByteMs?: number;
    },
  ): Promise<Buffer | undefined> {
    const { url, headers, signal } = this.#prepare(peer, path, opts.signal);

    let tooLarge = false;
    const request = got(url, {
      method: opts.body === undefined ? 'GET' : 'POST',
      headers,
      ...(opts.body === undefined ? {} : { json: opts.body }),
      responseType: 'buffer',
      throwHttpErrors: false,
      followRedirect: false,
      retry: { limit: 0 },
      timeout: opts.firstByteMs === undefined ? { request: this.#options.timeoutMs } : this.#slowStart(opts.firstByteMs, this.#options.timeoutMs),
      // Size caps count the bytes received: a compressed answer could inflate far past them (a zip bomb).
      decompress: false,
      dnsLookup: this.#options.addressPolicy.lookup,
      signal,
    });
    let headError: unknown;
    let headAccepted = false;
    const checkHead = opts.checkHead;
    if (checkHead !== undefined) {
      // got hands the body over only once it is complete; the native response shows it as it comes.
      request.on('request', (req: ClientRequest) =>
        req.once('response', (res: IncomingMessage) => {
          let head = Buffer.alloc(0);
          const onData = (chunk: Buffer): void => {
            head = Buffer.concat([head, chunk]);
            let done: boolean;
            try {
              headAccepted = checkHead(head);
              done = headAccepted || head.length >= MAX_HEAD_BYTES;
              if (headAccepted && opts.headOnly === true) request.cancel();
            } catch (err) {
              headError = err;
              done = true;
              request.cancel();
            }
            if (done) res.off('data', onData);
          };
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode <= 299) res.on('data', onData);
        }),
      );
    }
    let limitError: unknown;
    const limits = opts.limits;
    if (limits !== undefined) {
      // Downloading an answer whole costs the event loop about as much per MiB as the parse would have: one
      // that is already past its limits (a peer's 1 MiB of [1,1,…]) is let go after the bytes that show it.
      const scan = new JsonLimitsScan(url, limits);
      request.on('request', (req: ClientRequest) =>
        req.once('response', (res: IncomingMessage) => {
          const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299 || encoding !== 'identity') return;
          const onData = (chunk: Buffer): void => {
            try {
              scan.push(chunk);
            } catch (err) {
              limitError = err;
              res.off('data', onData);
              request.cancel();
            }
          };
          res.on('data', onData);
        }),
      );
    }
    request.on('downloadProgress', (progress) => {
      if (progress.transferred > opts.maxBytes || (progress.total !== undefined && progress.total > opts.maxBytes)) {
        tooLarge = true;
        request.cancel();
      }
    });

    let status: number;
    let body: Buffer;
    let encoding: string;
    try {
      const response = await request;
      status = response.statusCode;
      body = response.body;
      encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    } catch (err) {
      if (headError !== undefined) throw headError;
      if (limitError !== undefined) throw unusableAnswer(peer, url, limitError);
      if (signal.aborted) throw aborted(url, this.#abort.signal, signal);
      if (headAccepted && opts.headOnly === true) return undefined;
      throw toPeerError(err, peer, url, tooLarge ? opts.maxBytes : undefined);
    }
    if (status === 404 && opts.notFoundIsUndefined === true) return undefined;
    if (status < 200 || status > 299) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} answered HTTP ${status}`, { peer, url, status });
    }
    if (body.length > opts.maxBytes) throw tooLargeError(peer, url, opts.maxBytes);
    if (encoding !== 'identity') {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} sent a ${JSON.stringify(encoding.slice(0, 40))}-encoded answer; only plain answers are read`, {
        peer,
        url,
      });
    }
    return body;
  }

  /** The request's URL (refused before any request when its address is), headers, and the signal that ends it (shutdown or the caller's). */
  #prepare(peer: string, path: string, callerSignal: AbortSignal | undefined): { url: string; headers: Record<string, string>; signal: AbortSignal } {
    const url = new URL(path, peer).href;
    const refusal = this.#options.addressPolicy.urlRefusal(url);
    if (refusal !== undefined) throw refused(peer, url, refusal);
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent, accept: 'application/json' };
    const self = this.#options.selfUrl();
    if (self !== undefined) headers[PEER_HEADER] = self;
    const signal = callerSignal === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, callerSignal]);
    if (signal.aborted) throw aborted(url, this.#abort.signal, signal);
    return { url, headers, signal };
  }

  /**
   * A GET whose answer goes to `onChunk` piece by piece as it arrives (a
   * throw there ends the download), under the limits of a whole chain:
   * chainTimeoutMs for the answer to start, then at most timeoutMs between
   * two pieces (so a peer that stops sending is let go, while a long answer
   * that keeps coming is read whole), and `maxBytes` in all. Every failure
   * is a coded peer error.
   */
  async #stream(peer: string, path: string, opts: { maxBytes: number; signal?: AbortSignal | undefined }, onChunk: (chunk: Buffer) => void): Promise<void> {
    const { url, headers, signal } = this.#prepare(peer, path, opts.signal);

    const stream = got.stream(url, {
      method: 'GET',
      headers,
      throwHttpErrors: false,
      followRedirect: false,
      retry: { limit: 0 },
      timeout: this.#slowStart(this.#options.chainTimeoutMs, undefined),
      decompress: false,
      dnsLookup: this.#options.addressPolicy.lookup,
      signal,
    });
    try {
      const response = await new Promise<Response>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
      const status = response.statusCode;
      if (status < 200 || status > 299) throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} answered HTTP ${status}`, { peer, url, status });
      const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity') {
        throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} sent a ${JSON.stringify(encoding.slice(0, 40))}-encoded answer; only plain answers are read`, {
          peer,
          url,
        });
      }
      if (Number(response.headers['content-length'] ?? 0) > opts.maxBytes) throw tooLargeError(peer, url, opts.maxBytes);
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      let received = 0;
      for (;;) {
        const next = await within(chunks.next(), this.#options.timeoutMs);
        if (next === undefined) {
          throw new JbcError(ErrorCode.PEER_TIMEOUT, `${url} sent nothing for ${this.#options.timeoutMs} ms (after ${received} bytes)`, { peer, url });
        }
        if (next.done === true) break;
        received += next.value.length;
        if (received > opts.maxBytes) throw tooLargeError(peer, url, opts.maxBytes);
        onChunk(next.value);
      }
    } catch (err) {
      stream.destroy();
      if (err instanceof JbcError) throw err;
      if (signal.aborted) throw aborted(url, this.#abort.signal, signal);
      throw toPeerError(err, peer, url, undefined);
    }
  }

  /** got's limits for an answer that may take `firstByteMs` to start: the usual limit for every other step. */
  #slowStart(
    firstByteMs: number,
    readMs: number | undefined,
  ): { lookup: number; connect: number; secureConnect: number; send: number; response: number; read?: number } {
    const t = this.#options.timeoutMs;
    return { lookup: t, connect: t, secureConnect: t, send: t, response: firstByteMs, ...(readMs === undefined ? {} : { read: readMs }) };
  }
}

/** Shutdown, or the caller's own signal (a sync deadline): not the peer's fault. */
function aborted(url: string, shutdown: AbortSignal, signal: AbortSignal): AbortedError {
  if (shutdown.aborted) return new AbortedError(`${url}: request dropped, node is shutting down`, { url });
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  return new AbortedError(`${url}: request dropped (${why})`, { url }, { cause: reason });
}

/** A list of blocks, parsed a block at a time (see parseJsonArray): the first bad element ends it. */
async function parseBlocks(peer: string, path: string, body: Buffer): Promise<Block[]> {
  try {
    return await parseJsonArray(body, new URL(path, peer).href, blockItem(peer, path), BLOCK_JSON_LIMITS);
  } catch (err) {
    throw blockListError(peer, path, err);
  }
}

/**
 * A check of a block list's first bytes as they arrive: once its first
 * element is in, it must be a block, so an answer of `[0,0,…]` or
 * `[{},{},…]` is dropped after a few bytes instead of after 64 MiB.
 */
function blockListHead(peer: string, path: string): (head: Buffer) => boolean {
  const url = new URL(path, peer).href;
  return (head) => {
    try {
      const first = firstArrayElement(head, url);
      if (first === undefined) return false;
      if (first !== null) blockItem(peer, path)(parseJsonBytes(first, `${url} element 0`, BLOCK_JSON_LIMITS), 0);
      return true;
    } catch (err) {
      throw blockListError(peer, path, err);
    }
  };
}

function blockItem(peer: string, path: string): (value: unknown, i: number) => Block {
  return (value, i) => {
    try {
      return parseBlock(value);
    } catch (err) {
      throw badResponse(peer, path, `block ${i} of the answer is malformed: ${describeError(err)}`);
    }
  };
}

function blockListError(peer: string, path: string, err: unknown): JbcError {
  if (err instanceof JbcError && err.code === ErrorCode.PEER_BAD_RESPONSE) return err;
  return badResponse(peer, path, `the answer is not a JSON array of blocks: ${describeError(err)}`);
}

function badResponse(peer: string, path: string, reason: string): JbcError {
  return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${new URL(path, peer).href}: ${reason}`, { peer });
}

function refused(peer: string, url: string, reason: string): JbcError {
  return new JbcError(ErrorCode.PEER_ADDRESS_REFUSED, `${url}: not contacted, ${reason}`, { peer, url });
}

/** An answer that arrived but is not JSON this node can use (malformed, or past the limits of what it stands for). */
function unusableAnswer(peer: string, url: string, err: unknown): JbcError {
  return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} sent an answer that is not usable JSON: ${describeError(err)}`, { peer, url }, { cause: err });
}

function tooLargeError(peer: string, url: string, maxBytes: number): JbcError {
  return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} sent more than ${maxBytes} bytes`, { peer, url, maxBytes, tooLarge: true });
}

/** got's error classes, mapped onto the peer codes. Nothing from got leaves this module. */
function toPeerError(err: unknown, peer: string, url: string, tooLargeLimit: number | undefined): JbcError {
  if (tooLargeLimit !== undefined) return tooLargeError(peer, url, tooLargeLimit);
  if (err instanceof TimeoutError) {
    return new JbcError(ErrorCode.PEER_TIMEOUT, `${url} did not answer in time (${err.message})`, { peer, url });
  }
  if (err instanceof CancelError) {
    return new JbcError(ErrorCode.PEER_UNREACHABLE, `${url}: request cancelled`, { peer, url });
  }
  if (err instanceof HTTPError) {
    return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url} answered HTTP ${err.response.statusCode}`, {
      peer,
      url,
      status: err.response.statusCode,
    });
  }
  if (err instanceof RequestError && err.code === REFUSED_LOOKUP_CODE) return refused(peer, url, err.message);
  if (err instanceof RequestError) {
    // Errors while reading or decoding the answer are the peer's fault; errors
    // before any answer (refused, reset, DNS, aborted) mean it is unreachable.
    if (err.name === 'ReadError' || err.name === 'ParseError' || err.code.startsWith('HPE_')) {
      return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${url}: ${err.message}`, { peer, url, cause: err.code });
    }
    return new JbcError(ErrorCode.PEER_UNREACHABLE, `${url}: ${err.code || err.message}`, { peer, url, cause: err.code });
  }
  return new JbcError(ErrorCode.PEER_UNREACHABLE, `${url}: ${describeError(err)}`, { peer, url });
}
