import { describe, expect, it } from 'vitest';
import { parse as losslessParse } from 'lossless-json';
import { JsonArraySplitter, JsonNumber, firstArrayElement, parseJson, parseJsonArray, parseJsonBytes } from '../../src/codec.js';
import { ErrorCode } from '../../src/errors.js';

const identity = (value: unknown) => value;

/** Every element `text` splits into when it arrives in pieces of `size` bytes, parsed. */
function splitInPieces(text: string | Buffer, size: number, maxElementBytes = 1024): unknown[] {
  const bytes = Buffer.from(text);
  const splitter = new JsonArraySplitter('test', maxElementBytes);
  const values: unknown[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const element of splitter.push(bytes.subarray(i, i + size))) values.push(parseJsonBytes(element));
  }
  splitter.end();
  return values;
}

describe('splitting a JSON array that arrives in pieces', () => {
  it('gives the elements a whole parse gives, wherever the pieces are cut (in a string, an escape, a UTF-8 character)', async () => {
    const text = ' [ {"a": [1, {"b": "],{\\\\\\"x"}]}, "s,]\\"", "é,]😀", 123456789012345678901, [], {} ] ';
    const whole = await parseJsonArray(Buffer.from(text), 'test', identity);
    for (let size = 1; size <= Buffer.byteLength(text); size++) expect(splitInPieces(text, size)).toEqual(whole);
    expect(splitInPieces('[]', 1)).toEqual([]);
    expect(splitInPieces(' [ ] ', 2)).toEqual([]);
  });

  it.each([
    ['', 'empty'],
    ['{"a": 1}', 'starts with'],
    ['[1, 2', 'not closed'],
    ['[1, 2] 3', 'text follows'],
  ])('refuses %j (%s)', (text, why) => {
    expect(() => splitInPieces(text, 3)).toThrow(why);
  });

  it('refuses an element longer than its limit, whether it arrives whole or in pieces', () => {
    const text = `[1, "${'x'.repeat(100)}", 2]`;
    for (const size of [1, 7, text.length]) {
      expect(() => splitInPieces(text, size, 50)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_JSON, message: expect.stringContaining('element 1 is longer than 50 bytes') }));
    }
  });
});

describe('parsing a JSON array an element at a time', () => {
  it('gives what a whole parse gives, numbers kept exact', async () => {
    const text = ' [ {"a": [1, {"b": "],{\\\\\\"x"}]}, "s,]", 123456789012345678901, [], {} ] ';
    const values = await parseJsonArray(Buffer.from(text), 'test', identity);
    expect(values).toEqual([{ a: [new JsonNumber('1'), { b: '],{\\"x' }] }, 's,]', new JsonNumber('123456789012345678901'), [], {}]);
    expect(await parseJsonArray(Buffer.from('[]'), 'test', identity)).toEqual([]);
  });

  it.each(['', '{}', '0', '[1,]', '[,1]', '[1 2]', '[1', '[1] x', '["a]'])('%j is malformed JSON', async (text) => {
    await expect(parseJsonArray(Buffer.from(text), 'test', identity)).rejects.toMatchObject({ code: ErrorCode.MALFORMED_JSON });
  });

  it('reads UTF-8 elements, and refuses bytes that are not UTF-8', async () => {
    expect(await parseJsonArray(Buffer.from('["é,]😀", "x"]'), 'test', identity)).toEqual(['é,]😀', 'x']);
    await expect(parseJsonArray(Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), 'test', identity)).rejects.toMatchObject({ code: ErrorCode.MALFORMED_JSON });
  });

  it('stops at the first element the caller rejects: the rest is never parsed', async () => {
    const seen: unknown[] = [];
    const reject = (value: unknown) => {
      seen.push(value);
      throw new Error('not a block');
    };
    await expect(parseJsonArray(Buffer.from(`[0,${'{'.repeat(1000)} not JSON at all \xff`, 'latin1'), 'test', reject)).rejects.toThrow('not a block');
    expect(seen).toEqual([new JsonNumber('0')]);
  });

  it('lets the event loop run while it parses a long array', async () => {
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    const text = `[${Array.from({ length: 50_000 }, (_, i) => `{"index":"${i}","data":"x"}`).join(',')}]`;
    setImmediate(spin);
    const parsing = parseJsonArray(Buffer.from(text), 'test', identity);
    const values = await parsing;
    running = false;
    expect(values).toHaveLength(50_000);
    expect(turns).toBeGreaterThan(1);
  });
});

describe('the first element of an array still arriving', () => {
  const first = (text: string) => {
    const element = firstArrayElement(Buffer.from(text), 'test');
    return element === null || element === undefined ? element : Buffer.from(element).toString();
  };

  it('is there once its end is in', () => {
    expect(first(' [ {"a": "],"}, 0')).toBe('{"a": "],"}');
    expect(first('[0,')).toBe('0');
    expect(first('[ ]')).toBeNull();
  });

  it('needs more bytes until then', () => {
    for (const head of ['', '  ', '[', '[ ', '[{"a": "],', '[0']) expect(first(head)).toBeUndefined();
  });

  it('is MALFORMED_JSON when the text is not an array', () => {
    expect(() => first('{"a":')).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_JSON }));
  });
});

describe('parseJson', () => {
  const lossless = (text: string) => losslessParse(text, null, (n: string) => new JsonNumber(n));

  it.each([
    '{"index":"7","timestamp":"1700000000","data":"a \\"quoted\\" 1 - 2","prev_hash":"","nonce":"12","hash":"00ab"}',
    '[{"a":"1"},{"a":"2"},[],{}]',
    '{"nested":{"a":"x","b":[true,false,null]},"a":"y"}',
    ' {"data": "line\\nbreak, \\u00e9"} ',
  ])('gives what the lossless parser gives for %s', (text) => {
    expect(parseJson(text)).toEqual(lossless(text));
  });

  it('keeps numbers exact, in objects, arrays and negative', () => {
    expect(parseJson('{"nonce":18446744073709551617,"list":[1.50,-3]}')).toEqual({
      nonce: new JsonNumber('18446744073709551617'),
      list: [new JsonNumber('1.50'), new JsonNumber('-3')],
    });
  });

  it.each([
    '{"a":"1","a":"2"}',
    '{"a":"1","\\u0061":"2"}',
    '{"x":{"a":"1","b":"2","a":"3"}}',
  ])('refuses a key given twice with two values: %s', (text) => {
    expect(() => parseJson(text)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_JSON }));
  });

  it.each(['{"a":', '{"a" "b"}', '["a",]', ''])('refuses what is not JSON, saying why: %j', (text) => {
    expect(() => parseJson(text, 'body')).toThrow(/^body is not valid JSON: ./);
  });
});
