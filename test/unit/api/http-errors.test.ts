import { describe, expect, it } from 'vitest';
import { ErrorCode, JbcError } from '../../../src/errors.js';
import { HTTP_STATUS, errorResponse } from '../../../src/api/http-errors.js';

describe('HTTP error table', () => {
  it('maps client faults to 4xx and never to 5xx', () => {
    for (const code of ['MALFORMED_JSON', 'MALFORMED_BLOCK', 'MALFORMED_FIELD', 'INVALID_BLOCK', 'BAD_REQUEST'] as const) {
      expect(HTTP_STATUS[code]).toBe(400);
    }
    expect(HTTP_STATUS[ErrorCode.NOT_FOUND]).toBe(404);
    expect(HTTP_STATUS[ErrorCode.PAYLOAD_TOO_LARGE]).toBe(413);
    expect(HTTP_STATUS[ErrorCode.UNSUPPORTED_MEDIA_TYPE]).toBe(415);
  });

  it('answers with {error: {code, message}} and hides internal errors', () => {
    expect(errorResponse(new JbcError(ErrorCode.NOT_FOUND, 'no block 7'))).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'no block 7' } },
    });
    expect(errorResponse(new TypeError('x is undefined'))).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
    });
  });
});
