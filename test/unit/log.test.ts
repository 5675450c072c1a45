import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ErrorCode, JbcError } from '../../src/errors.js';
import { colorWanted, createLogger, type LogDestination } from '../../src/log.js';

/** A destination that records lines, and can fail like a pipe whose reader went away. */
class FakeStream extends EventEmitter implements LogDestination {
  readonly lines: string[] = [];
  isTTY = false;
  broken = false;
  write(line: string): boolean {
    if (this.broken) {
      const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      process.nextTick(() => this.emit('error', err));
      return false;
    }
    this.lines.push(line);
    return true;
  }
}

const HASH = '0000a4e95de636baec1d2840d738681ea981dfdb124cb9e2f55c08620498ca03';

describe('log colour', () => {
  it('is on for a terminal and off for a pipe', () => {
    expect(colorWanted(true, {})).toBe(true);
    expect(colorWanted(false, {})).toBe(false);
  });
  it('is off with NO_COLOR, even on a terminal', () => {
    expect(colorWanted(true, { NO_COLOR: '1' })).toBe(false);
  });
  it('is forced on by FORCE_COLOR, and off by FORCE_COLOR=0', () => {
    expect(colorWanted(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted(true, { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('pretty logs', () => {
  it('colour the level only when colour is on', () => {
    const plain = new FakeStream();
    createLogger({ pretty: true, color: false, destination: plain }).warn({}, 'careful');
    const coloured = new FakeStream();
    createLogger({ pretty: true, color: true, destination: coloured }).warn({}, 'careful');
    expect(plain.lines[0]).not.toContain('\x1b[');
    expect(plain.lines[0]).toMatch(/ WARN {2}careful\n$/);
    expect(coloured.lines[0]).toContain('\x1b[33mWARN \x1b[0m careful');
  });

  it('shorten 64-hex hashes, in fields and inside arrays, and keep other values whole', () => {
    const out = new FakeStream();
    createLogger({ pretty: true, color: false, destination: out }).info({ hash: HASH, seen: [HASH], peer: 'http://x/', height: 7 }, 'block');
    expect(out.lines[0]).toContain('hash=0000a4e95de6… ');
    expect(out.lines[0]).toContain('seen=["0000a4e95de6…"]');
    expect(out.lines[0]).toContain('peer=http://x/ height=7');
    expect(out.lines[0]).not.toContain(HASH);
  });

  it('print an error as its message and code, without its stack', () => {
    const out = new FakeStream();
    const err = new JbcError(ErrorCode.PEER_UNREACHABLE, 'http://x/status: ECONNREFUSED');
    createLogger({ pretty: true, color: false, destination: out }).error({ err }, 'peer down');
    expect(out.lines[0]).toMatch(/ ERROR peer down err=http:\/\/x\/status: ECONNREFUSED code=PEER_UNREACHABLE\n$/);
    expect(out.lines).toHaveLength(1);
  });

  it('leave JSON lines unshortened', () => {
    const out = new FakeStream();
    createLogger({ destination: out }).info({ hash: HASH, height: 7 }, 'block');
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ hash: HASH, height: 7, msg: 'block', level: 'info' });
  });
});

describe('a failing log destination', () => {
  it('is reported once, and later lines are dropped instead of written or thrown', async () => {
    const out = new FakeStream();
    const errors: Error[] = [];
    const logger = createLogger({ destination: out, onDestinationError: (err) => errors.push(err) });
    logger.info({}, 'one');
    out.broken = true;
    logger.info({}, 'two');
    await new Promise((resolve) => process.nextTick(resolve));
    out.broken = false;
    logger.info({}, 'three');
    logger.info({}, 'four');
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['EPIPE']);
    expect(out.lines.map((l) => JSON.parse(l).msg)).toEqual(['one']);
  });
});
