/**
 * What this node asks of a peer, and what it makes of the answers: a
 * peer's status, pages of blocks, its whole chain (streamed to a spool
 * file, chain-spool.ts, under a cap of its own), its peers, and the posts
 * of blocks, entries and this node's address. Requests go through
 * peer-http.ts (time limits, size caps, address rules, coded errors).
 * Answers are parsed losslessly (parseJsonBytes), within the limits of what
 * each kind of answer holds (an answer past them is a bad response, and is
 * not parsed), and validated before they leave this module; answers whose
 * content is not used are not parsed at all.
 */
import { tmpdir } from 'node:os';
import { BLOCK_JSON_LIMITS, blockToJson, isHash, parseBlock, type Block } from '../block.js';
import { JsonArraySplitter, firstArrayElement, isJsonObject, parseJsonArray, parseJsonBytes, parseUint, type JsonLimits } from '../codec.js';
import { ErrorCode, JbcError, describeError, isJbcError } from '../errors.js';
import { ChainSpool, type WholeChain } from './chain-spool.js';
import { MAX_PAGE_BYTES } from '../pages.js';
import { MAX_HEAD_BYTES, PeerHttp, type PeerHttpOptions } from './peer-http.js';
import { tryNormalizePeerUrl } from './peer-url.js';

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

export interface PeerClientOptions extends PeerHttpOptions {
  /** Largest answer read, but for a whole chain. */
  readonly maxResponseBytes: number;
  /** Largest whole chain (/blockchain.json) read. */
  readonly maxChainBytes: number;
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
/** What one block of a /blocks page may weigh on average before the page is suspect. */
export const PAGE_BYTES_PER_BLOCK = 16 * 1024;
/** Every page may weigh this much: one block of the largest size a node accepts fits, with room. */
export const MIN_PAGE_CAP_BYTES = 2 * 1024 * 1024;
/** A jbc-ts server's page budget plus one largest block: no honest page is bigger. */
export const MAX_PAGE_CAP_BYTES = MAX_PAGE_BYTES + 1024 * 1024 + 64 * 1024;

export class PeerClient {
  readonly #options: PeerClientOptions;
  readonly #http: PeerHttp;

  constructor(options: PeerClientOptions) {
    this.#options = options;
    this.#http = new PeerHttp(options);
  }

  /** Aborts every request in flight and refuses new ones (node shutdown). */
  close(): void {
    this.#http.close();
  }

  /**
   * The peer's /status, or undefined when the peer does not have that route
   * (a plain jbc node answers 404): the caller falls back to /blockchain.json.
   */
  async status(peer: string, signal?: AbortSignal): Promise<PeerStatus | undefined> {
    const answer = await this.#http.request(peer, 'status', { maxBytes: this.#smallCap(), limits: STATUS_JSON_LIMITS, notFoundIsUndefined: true, signal });
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
    const body = await this.#http.fetch(peer, path, { maxBytes: this.pageBytesCap(limit), signal, checkHead: blockListHead(peer, path) });
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
      await this.#http.stream(peer, path, { maxBytes: this.#options.maxChainBytes, signal }, (chunk) => {
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
    return this.#http.fetch(peer, 'blockchain.json', {
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
    const answer = await this.#http.request(peer, 'peers', { maxBytes: this.#smallCap(), limits: PEERS_JSON_LIMITS, signal });
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
    const answer = await this.#http.request(peer, 'mined', { maxBytes: this.#replyCap(), limits: REPLY_JSON_LIMITS, body: blockToJson(block) });
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
    const answer = await this.#http.fetch(peer, 'data', { maxBytes: this.#replyCap(), body: { data }, notFoundIsUndefined: true });
    return answer !== undefined;
  }

  /**
   * Tells the peer about this node (POST /peers); plain jbc peers answer
   * 404, which is fine. The reply (a jbc-ts peer lists its peers in it) is
   * not parsed.
   */
  async announce(peer: string, selfUrl: string): Promise<void> {
    await this.#http.fetch(peer, 'peers', { maxBytes: this.#smallCap(), body: { url: selfUrl }, notFoundIsUndefined: true });
  }

  #smallCap(): number {
    return Math.min(SMALL_ANSWER_BYTES, this.#options.maxResponseBytes);
  }

  #replyCap(): number {
    return Math.min(REPLY_BYTES, this.#options.maxResponseBytes);
  }
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
