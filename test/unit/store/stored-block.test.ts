/**
 * Reading a stored block's line back: `readStoredBlock` gives the checked
 * block, `storedLineHash` only its hash. Whatever the line holds, however it
 * was written or damaged, both end as the full check ends (the line decoded,
 * then `storedBlockProblem`): they accept the same lines, with the same
 * hash, and refuse the same lines, with the same error.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockToJson, sealBlock, type Block, type BlockTemplate } from '../../../src/block.js';
import { formatUint, MAX_INTEGER_DIGITS } from '../../../src/codec.js';
import { ErrorCode, JbcError } from '../../../src/errors.js';
import { initHashing } from '../../../src/hash.js';
import { decodeBlock, encodeBlock } from '../../../src/store/encoding.js';
import { damagedBlock, readStoredBlock, storedBlockProblem, storedLineHash, type StoredPlace } from '../../../src/store/stored-block.js';
import { mineBlock } from '../../helpers/fixtures.js';
import { random } from '../../helpers/random.js';

const DIR = '/data/chain';

beforeAll(async () => {
  await initHashing();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Where a block belongs: at its own index, on top of the block it names, at `difficulty`. */
const placeOf = (block: Block, difficulty = 0, parentHash: string | undefined = block.prevHash): StoredPlace => ({
  height: block.index,
  difficulty,
  parentHash,
});

/** How a read of a line ends: the hash it gives, or everything about the error it throws. */
type Outcome = { hash: string } | { code: string; message: string; data: unknown; cause: string | undefined };

function outcome(read: () => string): Outcome {
  try {
    return { hash: read() };
  } catch (err) {
    if (!(err instanceof JbcError)) throw err;
    return { code: err.code, message: err.message, data: err.data, cause: err.cause instanceof Error ? err.cause.message : undefined };
  }
}

/** The check every read must agree with: the whole line decoded, then every promise of the block's fields checked. */
function fullCheck(line: Buffer, place: StoredPlace): Outcome {
  return outcome(() => {
    let block: Block;
    try {
      block = decodeBlock(line, `block ${place.height} of ${DIR}`);
    } catch (err) {
      throw damagedBlock(DIR, place.height, 'it is not a readable block', err);
    }
    const problem = storedBlockProblem(block, place);
    if (problem !== undefined) throw damagedBlock(DIR, place.height, problem);
    return block.hash;
  });
}

/** Both reads of `line` end as the full check does; that ending. */
function sameOutcome(line: Buffer, place: StoredPlace): Outcome {
  const expected = fullCheck(line, place);
  const where = `line ${JSON.stringify(line.toString('latin1'))}`;
  expect(
    outcome(() => readStoredBlock(line, place, DIR).hash),
    where,
  ).toEqual(expected);
  expect(
    outcome(() => storedLineHash(line, place, DIR)),
    where,
  ).toEqual(expected);
  return expected;
}

/** Characters that JSON writes as they are, that it escapes, and that take one to four bytes of UTF-8. */
const CHARACTERS = [...'aZ7 ~/{},:éß中€😀👍🏽"\\\n\t\u0000\u001f\u007f\u2028'];
const LONE_SURROGATES = ['\ud800', '\udfff'];
const HEX = '0123456789abcdef';

function pick<T>(rnd: () => number, from: readonly T[]): T {
  return from[Math.floor(rnd() * from.length)]!;
}

/** Data of every kind a block carries: empty, short, or longer than any usual header. */
function randomData(rnd: () => number, loneSurrogates: boolean): string {
  const length = pick(rnd, [0, 1, 3, 20, 80, 3000]);
  let data = '';
  for (let i = 0; i < length; i++) data += loneSurrogates && rnd() < 0.05 ? pick(rnd, LONE_SURROGATES) : pick(rnd, CHARACTERS);
  return data;
}

/** An integer of every size a block may carry: 0, small, past 2^53 and 2^64, 2^80, and the most digits a field may have. */
function randomUint(rnd: () => number): bigint {
  return pick(rnd, [0n, 1n, 7n, 1700000000n, 2n ** 53n + 1n, 2n ** 64n, 2n ** 80n, 10n ** BigInt(MAX_INTEGER_DIGITS - 1)]) + BigInt(Math.floor(rnd() * 1000));
}

function randomHash(rnd: () => number): string {
  let hash = '';
  for (let i = 0; i < 64; i++) hash += pick(rnd, [...HEX]);
  return hash;
}

function randomTemplate(rnd: () => number, loneSurrogates = false): BlockTemplate {
  const index = rnd() < 0.2 ? 0n : randomUint(rnd);
  return { index, timestamp: randomUint(rnd), data: randomData(rnd, loneSurrogates), prevHash: index === 0n && rnd() < 0.5 ? '' : randomHash(rnd) };
}

describe('a line as this node writes it', () => {
  it('gives its block and its hash, for data and integers of every kind', () => {
    const rnd = random(11);
    for (let i = 0; i < 400; i++) {
      const block = sealBlock(randomTemplate(rnd), randomUint(rnd));
      const line = encodeBlock(block);
      for (const place of [placeOf(block), placeOf(block, 0, undefined)]) {
        expect(readStoredBlock(line, place, DIR)).toStrictEqual(block);
        expect(Object.isFrozen(readStoredBlock(line, place, DIR))).toBe(true);
        expect(storedLineHash(line, place, DIR)).toBe(block.hash);
      }
    }
  });

  it('gives the block a full decode of the line gives', () => {
    const rnd = random(12);
    for (let i = 0; i < 100; i++) {
      const line = encodeBlock(sealBlock(randomTemplate(rnd), randomUint(rnd)));
      const block = readStoredBlock(line, { height: decodeBlock(line, 'test').index, difficulty: 0, parentHash: undefined }, DIR);
      expect(block).toStrictEqual(decodeBlock(line, 'test'));
    }
  });

  it('holding a lone surrogate, is refused alike by both reads', () => {
    const rnd = random(13);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const block = sealBlock(randomTemplate(rnd, true), randomUint(rnd));
      const ending = sameOutcome(encodeBlock(block), placeOf(block));
      if (block.data.isWellFormed()) expect(ending).toEqual({ hash: block.hash });
      else {
        expect(ending).toMatchObject({ code: ErrorCode.STORE_CORRUPT, data: { reason: 'it is not a readable block' } });
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('is checked without being parsed as JSON, however long its data', () => {
    for (const data of ['plain data, é 😀', 'é😀'.repeat(5000)]) {
      const block = sealBlock({ index: 5n, timestamp: 1700000005n, data, prevHash: 'ab'.repeat(32) }, 42n);
      const line = encodeBlock(block);
      const parse = vi.spyOn(JSON, 'parse');
      expect(storedLineHash(line, placeOf(block), DIR)).toBe(block.hash);
      expect(readStoredBlock(line, placeOf(block), DIR)).toStrictEqual(block);
      expect(parse).not.toHaveBeenCalled();
      parse.mockRestore();
    }
  });
});

describe('a sound line written another way (by hand, or by another program)', () => {
  const block = sealBlock({ index: 3n, timestamp: 1700000003n, data: 'AB "quoted"', prevHash: 'cd'.repeat(32) }, 99n);
  const json = blockToJson(block);
  const written = {
    'integers as JSON numbers': `{"index":3,"timestamp":1700000003,"data":${JSON.stringify(json.data)},"prev_hash":"${json.prev_hash}","nonce":99,"hash":"${json.hash}"}\n`,
    'integers with leading zeros': JSON.stringify({ ...json, timestamp: `000${json.timestamp}`, nonce: '099' }),
    'keys in another order': `${JSON.stringify({ hash: json.hash, nonce: json.nonce, prev_hash: json.prev_hash, data: json.data, timestamp: json.timestamp, index: json.index })}\n`,
    'an extra key': `${JSON.stringify({ ...json, note: 'kept by another node' })}\n`,
    'spaces between values': `${JSON.stringify(json, null, 1)}\n`,
    'no newline at its end': JSON.stringify(json),
    'a character escaped that need not be': `${JSON.stringify(json).replace('AB', '\\u0041B')}\n`,
  };
  for (const [way, text] of Object.entries(written)) {
    it(`with ${way} gives its hash`, () => {
      const line = Buffer.from(text);
      expect(sameOutcome(line, placeOf(block))).toEqual({ hash: block.hash });
      expect(readStoredBlock(line, placeOf(block), DIR)).toStrictEqual(block);
    });
  }
});

describe('a line whose hash is that of its bytes, but whose bytes read as another block', () => {
  /** A line in this node's layout whose hash is the SHA-256 of the header's bytes as they stand in it, whatever JSON reads them as. */
  function forged(fields: { index?: string; timestamp?: string; data?: Buffer; prevHash?: string; nonce?: string; after?: string }): Buffer {
    const { index = '4', timestamp = '1700000004', data = Buffer.from('four'), prevHash = '44'.repeat(32), nonce = '4', after = '' } = fields;
    const hash = createHash('sha256')
      .update(Buffer.concat([Buffer.from(index + prevHash), data, Buffer.from(timestamp + nonce)]))
      .digest('hex');
    return Buffer.concat([
      Buffer.from(`{"index":"${index}","timestamp":"${timestamp}","data":"`),
      data,
      Buffer.from(`","prev_hash":"${prevHash}","nonce":"${nonce}","hash":"${hash}"}\n${after}`),
    ]);
  }
  const place: StoredPlace = { height: 4n, difficulty: 0, parentHash: undefined };

  it('is sound when its bytes are what this node writes', () => {
    expect(sameOutcome(forged({}), place)).toHaveProperty('hash');
  });

  const misread = {
    'an escape (JSON reads it as the character it names)': { data: Buffer.from('a\\u0041') },
    'a control character written raw (JSON refuses it)': { data: Buffer.from('a\u0001b') },
    'a newline written raw': { data: Buffer.from('a\nb') },
    'bytes that are not UTF-8 (read as U+FFFD)': { data: Buffer.from([0x61, 0xc3, 0x28]) },
    'a surrogate encoded as UTF-8 (read as U+FFFD)': { data: Buffer.from([0xed, 0xa0, 0x80]) },
    'a character cut short at its end': { data: Buffer.from([0xe4, 0xb8]) },
    'a timestamp with a leading zero (the header holds it without)': { timestamp: '01700000004' },
    'a nonce with a leading zero': { nonce: '04' },
    'an index with a leading zero': { index: '04' },
    'a nonce of more digits than a field may have': { nonce: `1${'0'.repeat(MAX_INTEGER_DIGITS)}` },
    'a prev_hash in upper case': { prevHash: '4A'.repeat(32) },
    'a prev_hash too short': { prevHash: '44'.repeat(31) },
    'text after its end': { after: '}' },
  };
  for (const [what, fields] of Object.entries(misread)) {
    it(`(${what}) is refused`, () => {
      expect(sameOutcome(forged(fields), place)).toMatchObject({ code: ErrorCode.STORE_CORRUPT });
    });
  }
});

describe('a line with a byte changed', () => {
  const zeros = 2;
  const templates: BlockTemplate[] = [
    { index: 0n, timestamp: 1700000000n, data: 'genesis', prevHash: '' },
    { index: 1n, timestamp: 1700000001n, data: 'hello', prevHash: 'ab'.repeat(32) },
    { index: 2n, timestamp: 1700000002n, data: 'say "hi" \\ back\n\u0001', prevHash: '0f'.repeat(32) },
    { index: 3n, timestamp: 1700000003n, data: 'é中😀 and ß', prevHash: '9e'.repeat(32) },
    { index: 2n ** 80n, timestamp: 2n ** 80n + 1n, data: '', prevHash: '12'.repeat(32) },
  ];
  const blocks = templates.map((template) => mineBlock(template, zeros));
  /** Values that make a change of every kind: a near byte, a digit, JSON syntax, a control character, stray UTF-8. */
  const VALUES = [0x30, 0x31, 0x61, 0x41, 0x22, 0x5c, 0x20, 0x0a, 0x00, 0x7b, 0x3a, 0x80, 0xc3, 0xff];

  function changes(line: Buffer, rnd: () => number): Buffer[] {
    const changed: Buffer[] = [];
    for (let at = 0; at < line.length; at++) {
      const values = [line[at]! ^ 0x01, line[at]! ^ 0x20, pick(rnd, VALUES), Math.floor(rnd() * 256)];
      for (const value of values) {
        const copy = Buffer.from(line);
        copy[at] = value;
        changed.push(copy);
      }
      changed.push(Buffer.concat([line.subarray(0, at), line.subarray(at + 1)]));
    }
    return changed;
  }

  it('is accepted by storedLineHash exactly when readStoredBlock accepts it, and refused with the same error', () => {
    const rnd = random(21);
    const endings = { accepted: 0, refused: 0 };
    for (const block of blocks) {
      for (const line of changes(encodeBlock(block), rnd)) {
        for (const place of [placeOf(block, zeros), placeOf(block, zeros, undefined)]) {
          const ending = sameOutcome(line, place);
          if ('hash' in ending) endings.accepted++;
          else endings.refused++;
        }
      }
    }
    // Some changes leave a sound line (a newline turned into a space), most do not.
    expect(endings.accepted).toBeGreaterThan(0);
    expect(endings.refused).toBeGreaterThan(endings.accepted);
  });

  it('in its data, nonce or hash is refused: the hash no longer matches', () => {
    const block = blocks[1]!;
    const line = encodeBlock(block);
    for (const field of ['"data":"h', '"nonce":"', '"hash":"00']) {
      const copy = Buffer.from(line);
      const at = line.indexOf(field) + field.length;
      copy[at] = copy[at] === 0x31 ? 0x32 : 0x31;
      expect(sameOutcome(copy, placeOf(block, zeros))).toEqual({
        code: ErrorCode.STORE_CORRUPT,
        message: `block 1 of ${DIR} is damaged: its hash does not match its contents`,
        data: { dir: DIR, height: '1', reason: 'its hash does not match its contents' },
        cause: undefined,
      });
    }
  });
});

describe('a sound block in the wrong place', () => {
  const block = mineBlock({ index: 7n, timestamp: 1700000007n, data: 'seven', prevHash: '77'.repeat(32) }, 2);
  const line = encodeBlock(block);
  const leadingZeros = block.hash.match(/^0*/)![0].length;

  function refusal(place: StoredPlace, reason: string): Outcome {
    return {
      code: ErrorCode.STORE_CORRUPT,
      message: `block ${place.height} of ${DIR} is damaged: ${reason}`,
      data: { dir: DIR, height: formatUint(place.height), reason },
      cause: undefined,
    };
  }

  it('at another height is refused: it says which block it is', () => {
    const place = { ...placeOf(block), height: 8n };
    expect(sameOutcome(line, place)).toEqual(refusal(place, 'it says it is block 7'));
  });

  it('above another parent is refused: it does not link', () => {
    const place = placeOf(block, 0, '66'.repeat(32));
    expect(sameOutcome(line, place)).toEqual(refusal(place, 'it does not link to block 6'));
  });

  it('whose parent is not known is not held to one', () => {
    expect(sameOutcome(line, placeOf(block, 0, undefined))).toEqual({ hash: block.hash });
  });

  it('in a chain that wants more leading zeros than its hash has is refused', () => {
    expect(sameOutcome(line, placeOf(block, leadingZeros))).toEqual({ hash: block.hash });
    const place = placeOf(block, leadingZeros + 1);
    expect(sameOutcome(line, place)).toEqual(refusal(place, `its hash lacks ${leadingZeros + 1} leading zeros`));
  });
});

describe('a line that holds no block', () => {
  for (const [what, text] of Object.entries({ 'an empty line': '', 'text that is not JSON': 'not a block\n', 'a cut line': '{"index":"7","timestamp":"17' })) {
    it(`(${what}) is refused as not a readable block`, () => {
      const ending = sameOutcome(Buffer.from(text), { height: 7n, difficulty: 0, parentHash: undefined });
      expect(ending).toMatchObject({ code: ErrorCode.STORE_CORRUPT, data: { height: '7', reason: 'it is not a readable block' } });
    });
  }
});
