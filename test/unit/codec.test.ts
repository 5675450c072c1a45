import { describe, expect, it } from 'vitest';
import { JsonNumber, firstArrayElement, parseJsonArray } from '../../src/codec.js';
import { ErrorCode } from '../../src/errors.js';

const identity = (value: unknown) => value;

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
