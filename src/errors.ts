/**
 * The one error type of jbc-ts. Every failure that crosses a module boundary is
 * a JbcError with a stable `code`; callers branch on the code, never on the
 * message. `data` carries the specifics (field, path, peer) so the error can
 * be logged or serialised across a worker or HTTP boundary with `toObject()`.
 */
export const ErrorCode = {
  /** JSON text that does not parse. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** JSON text with more numbers, values or nesting than what it stands for needs (see JsonLimits); it is not parsed. */
  JSON_TOO_COMPLEX: 'JSON_TOO_COMPLEX',
  /** A block that is not an object, or lacks a field. */
  MALFORMED_BLOCK: 'MALFORMED_BLOCK',
  /** A block field with a value of the wrong type or form. */
  MALFORMED_FIELD: 'MALFORMED_FIELD',
  /** A well-formed block whose hash does not match or lacks the proof of work. */
  INVALID_BLOCK: 'INVALID_BLOCK',
  /** A list of blocks that breaks a chain rule (index, link, validity). */
  INVALID_CHAIN: 'INVALID_CHAIN',
  /** A block offered to a chain that it does not extend. */
  NOT_EXTENDING_TIP: 'NOT_EXTENDING_TIP',
  /** A block file or data-dir operation that failed. */
  STORE_IO: 'STORE_IO',
  /** A block file that cannot be read, parsed or validated. */
  STORE_BAD_FILE: 'STORE_BAD_FILE',
  /** A chain database whose contents contradict themselves or come from an unknown format version. */
  STORE_CORRUPT: 'STORE_CORRUPT',
  /** Another process (or another store in this one) holds the data directory. */
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  /** The data directory holds a chain of another difficulty than the one asked for. */
  DIFFICULTY_MISMATCH: 'DIFFICULTY_MISMATCH',
  /** A bad command-line option or options-object field. */
  BAD_OPTION: 'BAD_OPTION',
  /** A control route asked by a client that is not allowed to (not loopback, or without the admin token). */
  FORBIDDEN: 'FORBIDDEN',
  /** A request that is malformed in a way not covered by a more specific code. */
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  /** A bounded resource (e.g. event streams) is full; try again later. */
  TOO_MANY_CLIENTS: 'TOO_MANY_CLIENTS',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A request body that did not arrive within its deadline. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** A peer that did not answer within its timeout. */
  PEER_TIMEOUT: 'PEER_TIMEOUT',
  /** A peer that could not be reached at all. */
  PEER_UNREACHABLE: 'PEER_UNREACHABLE',
  /** A peer URL whose address this node does not contact (link-local, unspecified, multicast, or outside --peer-allow). */
  PEER_ADDRESS_REFUSED: 'PEER_ADDRESS_REFUSED',
  /** A peer that answered with an error status, garbage, or an oversized body. */
  PEER_BAD_RESPONSE: 'PEER_BAD_RESPONSE',
  /** The mining engine failed (kernel load, worker crash). */
  MINING_FAILED: 'MINING_FAILED',
  /** The node is still opening its data directory; ask again in a moment. */
  NOT_READY: 'NOT_READY',
  /** The data pool is at its entry or byte cap; nothing was dropped to make room. */
  POOL_FULL: 'POOL_FULL',
  /** Work given up because the node is shutting down or a deadline passed (AbortedError). */
  ABORTED: 'ABORTED',
  /** The node has as much of some work in progress as it takes (request bodies being read, peer checks); try again later. */
  BUSY: 'BUSY',
  /** Something that should not happen; a bug, never client input. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorData = Readonly<Record<string, unknown>>;

export interface JbcErrorObject {
  readonly code: ErrorCode;
  readonly message: string;
  readonly data?: ErrorData;
}

export class JbcError extends Error {
  override readonly name: string = 'JbcError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: ErrorData = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toObject(): JbcErrorObject {
    return Object.keys(this.data).length > 0 ? { code: this.code, message: this.message, data: this.data } : { code: this.code, message: this.message };
  }

  static fromObject(obj: JbcErrorObject): JbcError {
    return new JbcError(obj.code, obj.message, obj.data ?? {});
  }
}

/**
 * Work given up on purpose: the node is shutting down, or a deadline passed.
 * Callers that see it stop quietly; it is never a peer's or a user's fault.
 */
export class AbortedError extends JbcError {
  override readonly name: string = 'AbortedError';

  constructor(message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(ErrorCode.ABORTED, message, data, options);
  }
}

export function isAborted(err: unknown): err is AbortedError {
  return err instanceof AbortedError;
}

export function isJbcError(err: unknown, code?: ErrorCode): err is JbcError {
  return err instanceof JbcError && (code === undefined || err.code === code);
}

/**
 * Codes of this node's own faults (its disk, its miner, a bug): logged with
 * the error itself, whose stack says where. Every other code is a peer's or
 * a client's doing, or a state such as shutdown, which a stack says nothing
 * about.
 */
const OWN_FAULTS: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.STORE_IO,
  ErrorCode.STORE_BAD_FILE,
  ErrorCode.STORE_CORRUPT,
  ErrorCode.MINING_FAILED,
  ErrorCode.INTERNAL,
]);

/** True for a failure of this node itself (anything but a JbcError with a code of others' faults). */
export function isOwnFault(err: unknown): boolean {
  return !(err instanceof JbcError) || OWN_FAULTS.has(err.code);
}

/**
 * The fields a log line carries for `err`: others' faults (a peer down or
 * slow or lying, a client's bad request) as their code and a one-line
 * reason; this node's own as the error itself, so pino keeps its stack.
 */
export function errorFields(err: unknown): { code: ErrorCode; reason: string } | { err: unknown } {
  return isOwnFault(err) ? { err } : { code: (err as JbcError).code, reason: (err as JbcError).message };
}

/** A readable one-line description of anything thrown, for logs. */
export function describeError(err: unknown): string {
  if (err instanceof JbcError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
