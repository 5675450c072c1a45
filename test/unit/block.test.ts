import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BLOCK_JSON_LIMITS, blockHeader, blocksEqual, blockToJson, checkBlock, headerPrefix, isValidBlock, parseBlock, sealBlock } from '../../src/block.js';
import { parseJson, parseJsonBytes } from '../../src/codec.js';
import { ErrorCode } from '../../src/errors.js';
import { fixturePath, seed, seedRaw } from '../helpers/fixtures.js';
import { thrown } from '../helpers/thrown.js';

const [blockZero, blockOne] = seed.chain as [ReturnType<typeof parseBlock>, ReturnType<typeof parseBlock>];
const D = seed.difficulty;

describe('seed vectors (the article test.py)', () => {
  it.each(seed.chain.map((b) => [String(b.index), b]))('seed block %s is valid at difficulty 5', async (_i, block) => {
    expect(isValidBlock(block, D)).toBe(true);
  });

  it('the competing block three is valid at difficulty 5', async () => {
    expect(isValidBlock(seed.competingBlockThree, D)).toBe(true);
  });

  it.each(seed.invalid.map(({ why, block }) => [why, block]))('seed invalid block is rejected: %s', async (_why, block) => {
    expect(isValidBlock(block, D)).toBe(false);
    expect(thrown(() => checkBlock(block, D))).toMatchObject({ code: ErrorCode.INVALID_BLOCK, data: { reason: 'hash-mismatch' } });
  });

  it('two blocks parsed from the same dict are equal, and not unequal', () => {
    const another = parseBlock(seedRaw.chain[0]);
    expect(blocksEqual(blockZero, another)).toBe(true);
    expect(!blocksEqual(blockZero, another)).toBe(false);
  });

  it('different blocks are not equal', () => {
    expect(blocksEqual(blockZero, blockOne)).toBe(false);
  });
});

describe('header and hash', () => {
  it('the header is index + prev_hash + data + timestamp + nonce, in decimal text', () => {
    expect(blockHeader(blockOne, blockOne.nonce)).toBe(`1${blockZero.hash}I block #115088953861225518`);
    expect(headerPrefix(blockOne)).toBe(`1${blockZero.hash}I block #11508895386`);
  });

  it('the hash is the SHA-256 of the UTF-8 header', async () => {
    const template = { index: 7n, prevHash: blockZero.hash, data: 'héllo ✓ 🚀', timestamp: 20231231235959123456n };
    const sealed = sealBlock(template, 42n);
    const expected = createHash('sha256')
      .update(Buffer.from(blockHeader(template, 42n), 'utf8'))
      .digest('hex');
    expect(sealed.hash).toBe(expected);
  });

  it('a block whose nonce was altered is invalid', async () => {
    expect(isValidBlock({ ...blockOne, nonce: blockOne.nonce + 1n }, D)).toBe(false);
  });

  it('a block whose data was altered is invalid', async () => {
    expect(isValidBlock({ ...blockOne, data: 'I block #2' }, D)).toBe(false);
  });

  it('a block whose hash is right but lacks the leading zeros is invalid at that difficulty', async () => {
    const sealed = sealBlock({ index: 1n, prevHash: '', data: 'x', timestamp: 1n }, 1n);
    const zeros = sealed.hash.length - sealed.hash.replace(/^0+/, '').length;
    expect(isValidBlock(sealed, zeros)).toBe(true);
    expect(thrown(() => checkBlock(sealed, zeros + 1))).toMatchObject({ data: { reason: 'insufficient-work' } });
  });

  it('seed block zero is valid at difficulty 5 but not at 6', async () => {
    expect(isValidBlock(blockZero, 5)).toBe(true);
    expect(isValidBlock(blockZero, 6)).toBe(false);
  });
});

describe('parsing and output form', () => {
  it('integers given as JSON numbers parse like integers given as strings', () => {
    const asNumbers = parseJson(
      '{"index": 1, "timestamp": 1508895386, "data": "I block #1", "prev_hash": "' + blockZero.hash + '", "nonce": 1225518, "hash": "' + blockOne.hash + '"}',
    );
    expect(blocksEqual(parseBlock(asNumbers), blockOne)).toBe(true);
  });

  it('a 20+ digit integer round-trips exactly from a JSON number', () => {
    const text =
      '{"index": 123456789012345678901234567890, "timestamp": 20171025013621123456, "data": "", ' +
      '"prev_hash": "", "nonce": 98765432109876543210987, "hash": "' +
      blockOne.hash +
      '"}';
    const out = blockToJson(parseBlock(parseJson(text)));
    expect(out.index).toBe('123456789012345678901234567890');
    expect(out.timestamp).toBe('20171025013621123456');
    expect(out.nonce).toBe('98765432109876543210987');
  });

  it('a 20+ digit integer round-trips exactly from a JSON string', () => {
    const raw = { ...(seedRaw.chain[1] as object), nonce: '900719925474099312345678', timestamp: '20171025013621123456' };
    const out = blockToJson(parseBlock(raw));
    expect(out.nonce).toBe('900719925474099312345678');
    expect(out.timestamp).toBe('20171025013621123456');
  });

  it('2^53 + 1 as a JSON number keeps its last digit', () => {
    const text = JSON.stringify({ ...(seedRaw.chain[1] as object), nonce: 'X' }).replace('"X"', '9007199254740993');
    expect(parseBlock(parseJson(text)).nonce).toBe(9007199254740993n);
  });

  it('the output form has all six values as canonical strings, in jbc key names, and drops unknown keys', () => {
    const out = blockToJson(parseBlock({ ...(seedRaw.chain[1] as object), index: '0001', extra: 'dropped', nonce: 1225518 }));
    expect(out).toEqual({
      index: '1',
      timestamp: '1508895386',
      data: 'I block #1',
      prev_hash: blockZero.hash,
      nonce: '1225518',
      hash: blockOne.hash,
    });
  });

  it('parsed blocks are immutable', () => {
    expect(Object.isFrozen(blockOne)).toBe(true);
  });

  const base = seedRaw.chain[1] as Record<string, unknown>;
  const malformedInts: [string, unknown][] = [
    ['"1.5"', '1.5'],
    ['"-3"', '-3'],
    ['"abc"', 'abc'],
    ['""', ''],
    ['" 7"', ' 7'],
    ['"+7"', '+7'],
    ['true', true],
    ['null', null],
    ['an array', [1]],
    ['an object', { n: 1 }],
  ];
  for (const field of ['index', 'timestamp', 'nonce']) {
    it.each(malformedInts)(`${field} = %s is a malformed field named ${field}`, (_label, value) => {
      const err = thrown(() => parseBlock({ ...base, [field]: value }));
      expect(err.code).toBe(ErrorCode.MALFORMED_FIELD);
      expect(err.data.field).toBe(field);
      expect(err.message).toContain(field);
    });
  }

  it.each(['1e3', '1.0', '-1', '1E3', '0.5'])('the JSON number %s is a malformed nonce', (num) => {
    const text = JSON.stringify({ ...base, nonce: 'X' }).replace('"X"', num);
    expect(thrown(() => parseBlock(parseJson(text)))).toMatchObject({ code: ErrorCode.MALFORMED_FIELD, data: { field: 'nonce' } });
  });

  it('an integer with more than 1024 digits is malformed', () => {
    expect(thrown(() => parseBlock({ ...base, nonce: '9'.repeat(1025) })).code).toBe(ErrorCode.MALFORMED_FIELD);
  });

  it.each([
    ['data', 5],
    ['data', null],
    ['prev_hash', 'abc'],
    ['prev_hash', blockZero.hash.toUpperCase()],
    ['prev_hash', null],
    ['hash', ''],
    ['hash', `${blockOne.hash}0`],
    ['hash', 42],
  ])('%s = %j is a malformed field', (field, value) => {
    expect(thrown(() => parseBlock({ ...base, [field]: value }))).toMatchObject({ code: ErrorCode.MALFORMED_FIELD, data: { field } });
  });

  it.each([
    ['a lone high surrogate', '\\ud800'],
    ['a lone low surrogate', '\\udc00'],
    ['a reversed pair', '\\ude00\\ud83d'],
  ])('data holding %s (a JSON escape) is a malformed field', (_label, escaped) => {
    const text = JSON.stringify({ ...base, data: 'X' }).replace('"X"', `"x${escaped}y"`);
    expect(thrown(() => parseBlock(parseJson(text)))).toMatchObject({ code: ErrorCode.MALFORMED_FIELD, data: { field: 'data' } });
  });

  it('data holding a proper surrogate pair (an emoji) parses', () => {
    const text = JSON.stringify({ ...base, data: 'X' }).replace('"X"', '"x\\ud83d\\ude00y"');
    expect(parseBlock(parseJson(text)).data).toBe('x\u{1f600}y');
  });

  it.each(['index', 'timestamp', 'data', 'prev_hash', 'nonce', 'hash'])('a block without %s is malformed', (field) => {
    const { [field]: _dropped, ...rest } = base;
    expect(thrown(() => parseBlock(rest))).toMatchObject({ code: ErrorCode.MALFORMED_BLOCK, data: { field } });
  });

  it.each([[null], [[]], ['block'], [7]])('%j is not a block', (value) => {
    expect(thrown(() => parseBlock(value)).code).toBe(ErrorCode.MALFORMED_BLOCK);
  });

  it('a jbc block with its integers as JSON numbers beyond 2^53 is within the limits of a block text', () => {
    const bytes = readFileSync(fixturePath('mined-bigint-numbers.json'));
    expect(parseBlock(parseJsonBytes(bytes, 'block', BLOCK_JSON_LIMITS)).nonce).toBe(18446744073709564663n);
  });

  it('a block text with an extra key holding a thousand numbers is refused before it is parsed', () => {
    const text = JSON.stringify({ ...blockToJson(blockOne), extra: '' }).replace('"extra":""', `"extra":[${'1,'.repeat(999)}1]`);
    expect(thrown(() => parseJsonBytes(Buffer.from(text), 'request body', BLOCK_JSON_LIMITS))).toMatchObject({
      code: ErrorCode.JSON_TOO_COMPLEX,
      message: 'request body holds more numbers than the 64 it may',
    });
  });

  it('text that is not JSON is MALFORMED_JSON', () => {
    expect(thrown(() => parseJson('{"index": 1,', 'request body'))).toMatchObject({
      code: ErrorCode.MALFORMED_JSON,
      message: expect.stringContaining('request body'),
    });
  });
});
