import { describe, expect, it } from 'vitest';
import { parse as losslessParse } from 'lossless-json';
import {
  JsonArraySplitter,
  JsonLimitsScan,
  JsonNumber,
  checkJsonLimits,
  firstArrayElement,
  parseJson,
  parseJsonArray,
  parseJsonBytes,
  type JsonLimits,
} from '../../src/codec.js';
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
      expect(() => splitInPieces(text, size, 50)).toThrow(
        expect.objectContaining({ code: ErrorCode.MALFORMED_JSON, message: expect.stringContaining('element 1 is longer than 50 bytes') }),
      );
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

  it('holds each element to the limits given', async () => {
    const limits: JsonLimits = { maxNumbers: 2, maxValues: 100, maxDepth: 4 };
    expect(await parseJsonArray(Buffer.from('[[1,2],[3,4]]'), 'test', identity, limits)).toHaveLength(2);
    await expect(parseJsonArray(Buffer.from('[[1,2],[3,4,5]]'), 'test', identity, limits)).rejects.toMatchObject({
      code: ErrorCode.JSON_TOO_COMPLEX,
      message: 'test element 1 holds more numbers than the 2 it may',
    });
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

  it.each(['{"a":"1","a":"2"}', '{"a":"1","\\u0061":"2"}', '{"x":{"a":"1","b":"2","a":"3"}}'])('refuses a key given twice with two values: %s', (text) => {
    expect(() => parseJson(text)).toThrow(expect.objectContaining({ code: ErrorCode.MALFORMED_JSON }));
  });

  it.each(['{"a":', '{"a" "b"}', '["a",]', ''])('refuses what is not JSON, saying why: %j', (text) => {
    expect(() => parseJson(text, 'body')).toThrow(/^body is not valid JSON: ./);
  });
});

describe('limits on what a JSON text holds', () => {
  const limits: JsonLimits = { maxNumbers: 3, maxValues: 10, maxDepth: 2 };
  const refusal = (what: string) => expect.objectContaining({ code: ErrorCode.JSON_TOO_COMPLEX, data: expect.objectContaining({ limit: what }) });

  it('a text within every limit parses as without them', () => {
    expect(parseJsonBytes(Buffer.from('{"a":[1,2,3],"b":"x"}'), 'body', limits)).toEqual(parseJson('{"a":[1,2,3],"b":"x"}'));
  });

  it('refuses one number more than the limit, before decoding or parsing (so even broken text is refused for it)', () => {
    expect(() => parseJsonBytes(Buffer.from('[1,2,3,4]'), 'body', limits)).toThrow(refusal('numbers'));
    expect(() => parseJsonBytes(Buffer.from('[1,2,3,4 \xff not JSON', 'latin1'), 'body', limits)).toThrow(refusal('numbers'));
  });

  it('counts numbers outside strings only: digits in data strings are text', () => {
    expect(parseJsonBytes(Buffer.from('["1,2,3,4,5 \\" 6 7", "-8 9"]'), 'body', limits)).toEqual(['1,2,3,4,5 " 6 7', '-8 9']);
  });

  it('refuses more values than the limit, of any kind, keys included', () => {
    expect(() => parseJsonBytes(Buffer.from('[{},{},{},{},{},{},{},{},{},{}]'), 'body', limits)).toThrow(refusal('values'));
    expect(() => parseJsonBytes(Buffer.from('[true,false,null,true,false,null,true,false,null,true]'), 'body', limits)).toThrow(refusal('values'));
    expect(() => parseJsonBytes(Buffer.from('{"a":"","b":"","c":"","d":"","e":""}'), 'body', limits)).toThrow(refusal('values'));
  });

  it('refuses deeper nesting than the limit', () => {
    expect(parseJsonBytes(Buffer.from('[[]]'), 'body', limits)).toEqual([[]]);
    expect(() => parseJsonBytes(Buffer.from('[[{}]]'), 'body', limits)).toThrow(refusal('levels of nesting'));
  });

  it('counts a text pushed in pieces as the whole text, however the pieces split strings, escapes, numbers and literals', () => {
    const text = Buffer.from('{"a":[12,-3.5e+2],"b\\"":"x\\"1,2","c":[true,null]}');
    const whole = { maxNumbers: 2, maxValues: 11, maxDepth: 2 };
    expect(() => checkJsonLimits(text, 'body', whole)).not.toThrow();
    for (const tight of [
      { ...whole, maxNumbers: 1 },
      { ...whole, maxValues: 10 },
      { ...whole, maxDepth: 1 },
    ]) {
      expect(() => checkJsonLimits(text, 'body', tight)).toThrow(expect.objectContaining({ code: ErrorCode.JSON_TOO_COMPLEX }));
    }
    for (let cut = 0; cut <= text.length; cut++) {
      for (const [limits, ok] of [
        [whole, true],
        [{ ...whole, maxNumbers: 1 }, false],
        [{ ...whole, maxValues: 10 }, false],
        [{ ...whole, maxDepth: 1 }, false],
      ] as const) {
        const scan = new JsonLimitsScan('body', limits);
        const pushBoth = (): void => {
          scan.push(text.subarray(0, cut));
          scan.push(text.subarray(cut));
        };
        if (ok) expect(pushBoth, `cut at ${cut}`).not.toThrow();
        else expect(pushBoth, `cut at ${cut}`).toThrow(expect.objectContaining({ code: ErrorCode.JSON_TOO_COMPLEX }));
      }
    }
  });

  it('refuses a text pushed a byte at a time at the byte that passes the limit', () => {
    const scan = new JsonLimitsScan('answer', limits);
    const text = Buffer.from('[1,22,333,4444]');
    const at = text.indexOf('4444');
    for (let i = 0; i < at; i++) scan.push(text.subarray(i, i + 1));
    expect(() => scan.push(text.subarray(at, at + 1))).toThrow(expect.objectContaining({ message: 'answer holds more numbers than the 3 it may' }));
  });

  it('stops scanning at the first limit passed, whatever follows', () => {
    const flood = `[${'1,'.repeat(500_000)}1]`;
    expect(() => parseJsonBytes(Buffer.from(flood), 'body', limits)).toThrow(expect.objectContaining({ message: 'body holds more numbers than the 3 it may' }));
  });
});

describe('parseJson on texts that hold numbers', () => {
  const lossless = (text: string) => losslessParse(text, null, (n: string) => new JsonNumber(n));

  /** A random JSON text with numbers of every form, strings with escapes and digits, keys that sort and keys that do not. */
  function randomJson(next: () => number, depth: number): string {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const kind = depth > 3 ? pick(['number', 'string', 'literal']) : pick(['number', 'string', 'literal', 'array', 'object', 'object']);
    if (kind === 'number') return pick(['0', '7', '-3', '1.50', '2e5', '-0', '18446744073709551617', '20231105123456789012', '1E-7']);
    if (kind === 'string') return pick(['""', '"12 34"', '"a\\"b"', '"\\u00e9 , ] }"', '"-5"']);
    if (kind === 'literal') return pick(['true', 'false', 'null']);
    const count = Math.floor(next() * 4);
    const items = Array.from({ length: count }, (_, i) => {
      const value = randomJson(next, depth + 1);
      return kind === 'array' ? value : `${JSON.stringify(pick(['a', 'b', `k${i}`, `${i}`, '10', 'z']) + (kind === 'object' ? String(i) : ''))} : ${value}`;
    });
    return kind === 'array' ? `[ ${items.join(' , ')} ]` : `{${items.join(',')}}`;
  }

  it('gives exactly what the lossless parser gives, numbers in their places', () => {
    let seed = 42;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const text = randomJson(next, 0);
      expect(parseJson(text), text).toEqual(lossless(text));
    }
  });

  it('keeps a 1 MiB data string and the big integers beside it exact', () => {
    const text = `{"index":12,"timestamp":20231105123456789012,"data":${JSON.stringify('x'.repeat(1024 * 1024))},"nonce":18446744073709564663}`;
    expect(parseJson(text)).toEqual(lossless(text));
  });
});
