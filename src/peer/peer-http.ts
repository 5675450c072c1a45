/**
 * HTTP to peers, with got: what every request to a peer goes through. Each
 * request has a time limit covering the whole answer, a cap on the answer's
 * size (counted as it arrives, and never inflated: compressed answers are
 * refused), no retries and no redirects, and its address is checked against
 * the address rules before it is made and on every DNS lookup. A whole
 * chain (/blockchain.json) is the exception to the time limit: a jbc node
 * builds it before it sends a byte, so it has a longer limit for its start,
 * then may pause only briefly while it flows (`stream`). got's errors stop
 * here: callers see JbcError PEER_TIMEOUT, PEER_UNREACHABLE,
 * PEER_BAD_RESPONSE or PEER_ADDRESS_REFUSED, with the peer URL in
 * `data.peer`, or an AbortedError when the node shuts down or the caller
 * gives up.
 */
import { setMaxListeners } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import got, { CancelError, HTTPError, RequestError, TimeoutError, type Response } from 'got';
import { JsonLimitsScan, parseJsonBytes, type JsonLimits } from '../codec.js';
import { AbortedError, ErrorCode, JbcError, describeError } from '../errors.js';
import { within } from '../wait.js';
import { REFUSED_LOOKUP_CODE, type PeerAddressPolicy } from './peer-address.js';

/** Header naming the sender's base URL on every request this node makes to a peer. */
export const PEER_HEADER = 'x-jbc-peer';

/** How much of an answer's start a `checkHead` sees at most: one block of any accepted size fits. */
export const MAX_HEAD_BYTES = 2 * 1024 * 1024;

export interface PeerHttpOptions {
  /** Time limit of a request, whole answer included; for a streamed answer, how long it may pause once it flows. */
  readonly timeoutMs: number;
  /** How long a streamed answer (a whole chain) may take to start arriving. */
  readonly chainTimeoutMs: number;
  /** This node's base URL, sent as X-Jbc-Peer; undefined before it is known. */
  readonly selfUrl: () => string | undefined;
  readonly userAgent: string;
  /** Which addresses requests may go to; checked before each request and on each DNS lookup. */
  readonly addressPolicy: PeerAddressPolicy;
}

export interface FetchOptions {
  readonly maxBytes: number;
  /** Sent as JSON in a POST; a GET without it. */
  readonly body?: unknown;
  readonly notFoundIsUndefined?: boolean;
  readonly signal?: AbortSignal | undefined;
  readonly limits?: JsonLimits;
  readonly checkHead?: (head: Buffer) => boolean;
  readonly headOnly?: boolean;
  readonly firstByteMs?: number;
}

export class PeerHttp {
  readonly #options: PeerHttpOptions;
  readonly #abort = new AbortController();

  constructor(options: PeerHttpOptions) {
    this.#options = options;
    // Every request in flight listens on this one signal (got removes its listener when done).
    setMaxListeners(0, this.#abort.signal);
  }

  /** Aborts every request in flight and refuses new ones (node shutdown). */
  close(): void {
    this.#abort.abort();
  }

  /** The answer as JSON within `limits` (undefined for a 404 when `notFoundIsUndefined`); see `fetch`. */
  async request(peer: string, path: string, opts: FetchOptions & { readonly limits: JsonLimits }): Promise<unknown> {
    const body = await this.fetch(peer, path, opts);
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
  async fetch(peer: string, path: string, opts: FetchOptions): Promise<Buffer | undefined> {
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
  async stream(peer: string, path: string, opts: { maxBytes: number; signal?: AbortSignal | undefined }, onChunk: (chunk: Buffer) => void): Promise<void> {
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
