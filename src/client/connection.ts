/**
 * The client's requests to a node: one request per call, each with a
 * deadline for the whole answer and a cap on its size, and every answer
 * parsed with the node's own lossless JSON codec. Failures become the
 * client's errors, each with the exit code a script can branch on.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseJsonBytes } from '../codec.js';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';

/** What the client's exit status says: documented in `jbc-ts help` and the README. */
export const ExitCode = {
  OK: 0,
  /** The node answered with an error (no such block, a refused request, 403 …). */
  REFUSED: 1,
  /** The command line is wrong (unknown command or option, bad value, unreadable --file). */
  USAGE: 2,
  /** The node could not be reached, or did not answer within --timeout. */
  UNREACHABLE: 3,
  /** The node's answer failed the checks: not JSON, a block whose hash is wrong, a chain that does not link. */
  BAD_ANSWER: 4,
} as const;

/** The node's own error answer, `{"error": {"code", "message"}}`, with its HTTP status. */
export class NodeRefusedError extends JbcError {
  override readonly name: string = 'NodeRefusedError';

  constructor(
    readonly status: number,
    readonly nodeCode: string,
    message: string,
  ) {
    super(ErrorCode.BAD_REQUEST, message, { status, code: nodeCode });
  }
}

/** The exit status for anything a command threw. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof NodeRefusedError) return ExitCode.REFUSED;
  if (isJbcError(err, ErrorCode.BAD_OPTION)) return ExitCode.USAGE;
  if (isJbcError(err, ErrorCode.PEER_UNREACHABLE) || isJbcError(err, ErrorCode.PEER_TIMEOUT)) return ExitCode.UNREACHABLE;
  return ExitCode.BAD_ANSWER;
}

export interface ConnectionOptions {
  /** The node's base URL, e.g. http://localhost:5000/. */
  readonly node: string;
  /** Longest a request may take, answer included. */
  readonly timeoutMs: number;
  /** Largest answer read. */
  readonly maxBytes: number;
  /** Sent as `Authorization: Bearer …` to the control routes. */
  readonly adminToken?: string | undefined;
}

export class NodeConnection {
  readonly base: URL;
  readonly #options: ConnectionOptions;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.base = nodeUrl(options.node);
  }

  get(path: string): Promise<unknown> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.request('POST', path, body);
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.base);
    const what = `${method} ${url.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.#options.adminToken !== undefined) headers.authorization = `Bearer ${this.#options.adminToken}`;
    let answer: { status: number; type: string; bytes: Buffer };
    try {
      answer = await exchange(url, method, headers, payload, this.#options.timeoutMs, this.#options.maxBytes, what);
    } catch (err) {
      throw this.#failure(err, what);
    }
    if (!/^application\/(.+\+)?json\b/i.test(answer.type)) {
      throw new JbcError(
        ErrorCode.PEER_BAD_RESPONSE,
        `${what}: the answer is not JSON (status ${answer.status}, ${answer.type || 'no content type'}); is ${this.base.href} a jbc-ts node?`,
      );
    }
    const parsed = parseJsonBytes(answer.bytes, `the answer to ${what}`);
    if (answer.status >= 400) throw refusal(parsed, answer.status, what);
    return parsed;
  }

  #failure(err: unknown, what: string): JbcError {
    if (isJbcError(err)) return err;
    const name = (err as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new JbcError(ErrorCode.PEER_TIMEOUT, `${what}: no answer from ${this.base.href} within ${this.#options.timeoutMs / 1000} s (see --timeout)`);
    }
    const code = (err as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
    return new JbcError(ErrorCode.PEER_UNREACHABLE, `cannot reach ${this.base.href} (${reason}); is a node running there? (see --node)`);
  }
}

/** `localhost:5001`, `http://host:5001` and `http://host:5001/` all name http://host:5001/. */
export function nodeUrl(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new JbcError(ErrorCode.BAD_OPTION, `--node must be a URL such as http://localhost:5000/, got ${JSON.stringify(text.slice(0, 80))}`, {
      option: '--node',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new JbcError(ErrorCode.BAD_OPTION, `--node must be an http or https URL, got ${JSON.stringify(text.slice(0, 80))}`, { option: '--node' });
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

function refusal(parsed: unknown, status: number, what: string): JbcError {
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code === 'string' && typeof error.message === 'string') return new NodeRefusedError(status, error.code, error.message);
  return new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${what}: status ${status} without an error object`);
}

/**
 * One request with node:http (fetch refuses ports such as 6000 that a node
 * may well listen on): the whole exchange within `timeoutMs`, the answer
 * at most `maxBytes`; redirects are not followed.
 */
function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  timeoutMs: number,
  maxBytes: number,
  what: string,
): Promise<{ status: number; type: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      const chunks: Buffer[] = [];
      let size = 0;
      const tooLarge = (): void => {
        req.destroy();
        reject(new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${what}: the answer is larger than ${maxBytes} bytes`));
      };
      if (declared > maxBytes) return tooLarge();
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
