/**
 * The one table from error codes to HTTP statuses, and the error body every
 * failed request gets: `{"error": {"code": "SOME_CODE", "message": "..."}}`.
 * Client input never maps to a 5xx; a 500 is this node's fault (disk, bug).
 */
import { ErrorCode, JbcError } from '../errors.js';

/** Every code has a status (the Record type makes a new code a compile error until it is listed). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  MALFORMED_JSON: 400,
  JSON_TOO_COMPLEX: 400,
  MALFORMED_BLOCK: 400,
  MALFORMED_FIELD: 400,
  INVALID_BLOCK: 400,
  INVALID_CHAIN: 400,
  NOT_EXTENDING_TIP: 409,
  BAD_OPTION: 400,
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TOO_MANY_CLIENTS: 503,
  PAYLOAD_TOO_LARGE: 413,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PEER_TIMEOUT: 504,
  PEER_UNREACHABLE: 502,
  PEER_ADDRESS_REFUSED: 400,
  PEER_BAD_RESPONSE: 502,
  STORE_IO: 500,
  STORE_BAD_FILE: 500,
  STORE_CORRUPT: 500,
  DATA_DIR_LOCKED: 500,
  DIFFICULTY_MISMATCH: 500,
  MINING_FAILED: 500,
  ABORTED: 503,
  POOL_FULL: 503,
  NOT_READY: 503,
  BUSY: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** Status and body for anything a route or middleware threw. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof JbcError) {
    return { status: HTTP_STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message } } };
  }
  // Koa and the router throw http-errors (e.g. 405 from allowedMethods, 400 for a bad URL encoding).
  const status = httpErrorStatus(err);
  if (status !== undefined && status < 500) {
    return { status, body: { error: { code: codeForStatus(status), message: (err as Error).message } } };
  }
  return { status: 500, body: { error: { code: ErrorCode.INTERNAL, message: 'internal error' } } };
}

/** The code for a bare status set by Koa or the router with no error object. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 403:
      return ErrorCode.FORBIDDEN;
    case 404:
      return ErrorCode.NOT_FOUND;
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return ErrorCode.REQUEST_TIMEOUT;
    case 413:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    case 415:
      return ErrorCode.UNSUPPORTED_MEDIA_TYPE;
    case 501:
      return 'NOT_IMPLEMENTED';
    default:
      return status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL;
  }
}

function httpErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && expose === true ? status : undefined;
}
