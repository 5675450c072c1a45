/**
 * Exact JSON in and out. jbc peers send integers as JSON numbers as well as
 * strings, and nonces or 20-digit timestamps exceed 2^53, so a plain
 * JSON.parse would round them. Every JSON text from outside (block files,
 * request bodies, peer responses) goes through `parseJson`, which keeps each
 * number's source text in a JsonNumber; `parseUint` turns that (or a string)
 * into a bigint. Text from the network arrives as bytes (`parseJsonBytes`)
 * and is first held to the JsonLimits of what it is meant to be.
 */
import { parse as losslessParse } from 'lossless-json';
import { ErrorCode, JbcError } from './errors.js';

/** A JSON number kept as the exact text it was written as. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** Longest integer text accepted, so hostile input cannot make bigint work unbounded. */
export const MAX_INTEGER_DIGITS = 1024;

const DIGITS = /^[0-9]+$/;

/**
 * How much structure a JSON text may hold, for the kind of text it is meant
 * to be. Parsing costs far more per number, value and level than per byte
 * (a MiB of `[1,1,…]` takes some 100 ms of main thread, a MiB of string a
 * few), so a byte cap alone does not bound it. Counting them is a linear
 * scan of the bytes that stops at the first limit passed, before the text
 * is decoded or parsed.
 */
export interface JsonLimits {
  /** Most numbers, outside strings. */
  readonly maxNumbers: number;
  /** Most values of every kind: numbers, strings (keys included), true, false, null, arrays and objects. */
  readonly maxValues: number;
  /** Deepest nesting of arrays and objects (a flat object is depth 1). */
  readonly maxDepth: number;
}

/** For texts this node wrote itself or an operator gave it (block files): no limit. */
export const NO_JSON_LIMITS: JsonLimits = { maxNumbers: Infinity, maxValues: Infinity, maxDepth: Infinity };

/**
 * Parses JSON text; numbers come back as JsonNumber, everything else as
 * JSON.parse would give it. Throws MALFORMED_JSON.
 *
 * The lossless parser is about 16 times slower than JSON.parse, on strings
 * as on numbers. So, unless a key stands twice in one object (which the
 * lossless parser refuses, and JSON.parse would quietly take the last of)
 * or a key could reorder its object (see scanJson), the text goes to
 * JSON.parse, and each number it gives is swapped for its source text,
 * which the scan collected in order.
 */
export function parseJson(text: string, source = 'input'): unknown {
  const scan = scanJson(text);
  if (scan.plain) {
    try {
      if (scan.numbers.length === 0) return JSON.parse(text) as unknown;
      let next = 0;
      // The reviver sees values in source order: depth first, each object's keys as written (scanJson made sure).
      return JSON.parse(text, (_key, value: unknown) => (typeof value === 'number' ? new JsonNumber(scan.numbers[next++]!) : value)) as unknown;
    } catch {
      // Not valid JSON: the lossless parser below says why, as it always has.
    }
  }
  try {
    return losslessParse(text, null, (numberText: string) => new JsonNumber(numberText));
  } catch (err) {
    throw new JbcError(
      ErrorCode.MALFORMED_JSON,
      `${source} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      { source },
      { cause: err },
    );
  }
}

/**
 * One pass over `text` (valid JSON or not), strings skipped: the source text
 * of each number outside a string, in order, and whether JSON.parse gives
 * the lossless parser's value for it (`plain`): no key twice in one object,
 * no key with an escape (two spellings can make keys equal), and, when
 * there are numbers, no key that starts with a digit (JSON.parse puts
 * array-index keys first in their object, which would put its numbers out
 * of source order).
 */
function scanJson(text: string): { numbers: string[]; plain: boolean } {
  const numbers: string[] = [];
  let plain = true;
  let digitKey = false;
  // One entry per open array (undefined) or object (its keys so far).
  const open: Array<Set<string> | undefined> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const inObject = open.at(-1);
      if (!plain || inObject === undefined) continue;
      let j = i + 1;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 0x3a) continue;
      const key = text.slice(start, i);
      if (escaped || inObject.has(key)) plain = false;
      else inObject.add(key);
      if (isDigit(text.charCodeAt(start))) digitKey = true;
    } else if (c === 0x7b) open.push(new Set());
    else if (c === 0x5b) open.push(undefined);
    else if (c === 0x7d || c === 0x5d) open.pop();
    else if (c === 0x2d || isDigit(c)) {
      let j = i + 1;
      while (j < text.length && isNumberChar(text.charCodeAt(j))) j++;
      numbers.push(text.slice(i, j));
      i = j - 1;
    }
  }
  return { numbers, plain: plain && !(digitKey && numbers.length > 0) };
}

/**
 * Throws JSON_TOO_COMPLEX at the first of `limits` that the JSON text in
 * `bytes` passes. Strings are skipped, so digits in them are text; every
 * JSON delimiter is ASCII, and UTF-8 never uses ASCII bytes inside a
 * multi-byte character, so the bytes need no decoding first.
 */
export function checkJsonLimits(bytes: Uint8Array, source: string, limits: JsonLimits): void {
  new JsonLimitsScan(source, limits).push(bytes);
}

/** Where a JsonLimitsScan stopped between two pieces of text: between values, or inside a string, an escape, a number, a literal. */
const ScanState = { BETWEEN: 0, STRING: 1, STRING_ESCAPE: 2, NUMBER: 3, LITERAL: 4 } as const;

/**
 * checkJsonLimits on a text that arrives in pieces: `push` each piece as it
 * comes, and it throws at the first limit passed, so an answer that holds
 * too much is refused after the bytes that prove it rather than once it is
 * all in (a peer's 1 MiB of `[1,1,…]` costs a few KiB of download, not a
 * MiB of them). The pieces may split a string, an escape or a number
 * anywhere; the counts come out as for the whole text.
 */
export class JsonLimitsScan {
  #numbers = 0;
  #values = 0;
  #depth = 0;
  #state: number = ScanState.BETWEEN;

  constructor(
    readonly source: string,
    readonly limits: JsonLimits,
  ) {}

  push(bytes: Uint8Array): void {
    const { limits } = this;
    let state = this.#state;
    try {
      for (let i = 0; i < bytes.length; i++) {
        const c = bytes[i]!;
        if (state === ScanState.STRING) {
          if (c === 0x5c) state = ScanState.STRING_ESCAPE;
          else if (c === 0x22) state = ScanState.BETWEEN;
          continue;
        }
        if (state === ScanState.STRING_ESCAPE) {
          state = ScanState.STRING;
          continue;
        }
        if (state === ScanState.NUMBER) {
          if (isNumberChar(c)) continue;
          state = ScanState.BETWEEN;
        } else if (state === ScanState.LITERAL) {
          if (isLetter(c)) continue;
          state = ScanState.BETWEEN;
        }
        if (isSpace(c) || c === 0x2c || c === 0x3a) continue;
        if (c === 0x7d || c === 0x5d) {
          this.#depth--;
          continue;
        }
        if (++this.#values > limits.maxValues) throw this.#tooMany('values', limits.maxValues);
        if (c === 0x22) state = ScanState.STRING;
        else if (c === 0x7b || c === 0x5b) {
          if (++this.#depth > limits.maxDepth) throw this.#tooMany('levels of nesting', limits.maxDepth);
        } else if (c === 0x2d || isDigit(c)) {
          if (++this.#numbers > limits.maxNumbers) throw this.#tooMany('numbers', limits.maxNumbers);
          state = ScanState.NUMBER;
        } else {
          // true, false, null (or garbage, which the parse refuses): one value, however many letters.
          state = ScanState.LITERAL;
        }
      }
    } finally {
      this.#state = state;
    }
  }

  #tooMany(what: string, max: number): JbcError {
    return new JbcError(ErrorCode.JSON_TOO_COMPLEX, `${this.source} holds more ${what} than the ${max} it may`, { source: this.source, limit: what, max });
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Characters of a JSON number after its first: digits, '.', 'e', 'E', '+', '-'. */
function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/**
 * Checks `limits` on the bytes (see checkJsonLimits), then decodes UTF-8
 * strictly (invalid byte sequences are MALFORMED_JSON) and parses.
 */
export function parseJsonBytes(bytes: Uint8Array, source = 'input', limits: JsonLimits = NO_JSON_LIMITS): unknown {
  checkJsonLimits(bytes, source, limits);
  return parseJson(decodeUtf8(bytes, source), source);
}

/** Holds no state between calls (no streaming), so one serves every decode. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Text from UTF-8 bytes; invalid byte sequences are MALFORMED_JSON. */
export function decodeUtf8(bytes: Uint8Array, source = 'input'): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new JbcError(ErrorCode.MALFORMED_JSON, `${source} is not valid UTF-8`, { source }, { cause: err });
  }
}

/** Work done between two yields to the event loop while parsing a long array. */
const PARSE_SLICE_MS = 10;

/**
 * A JSON array, from its UTF-8 bytes, parsed one element at a time: each
 * element goes to `item` as soon as it is parsed (a throw there stops the
 * parse, so an answer whose first element is wrong costs nothing more: the
 * rest is neither decoded nor parsed), and the event loop gets a turn every
 * few milliseconds, so a peer's 64 MiB answer never freezes the node. The
 * scan works on bytes: every JSON delimiter is ASCII, and UTF-8 never uses
 * ASCII bytes inside a multi-byte character. Each element is held to
 * `elementLimits`. Throws MALFORMED_JSON for anything that is not an array
 * of valid UTF-8 JSON values.
 */
export async function parseJsonArray<T>(
  bytes: Uint8Array,
  source: string,
  item: (value: unknown, index: number) => T,
  elementLimits: JsonLimits = NO_JSON_LIMITS,
): Promise<T[]> {
  const results: T[] = [];
  let i = arrayStart(bytes, source);
  let closed = bytes[i] === 0x5d;
  if (closed) i++;
  let slice = performance.now();
  while (!closed) {
    const start = i;
    i = elementEnd(bytes, start);
    if (i < 0) throw notArray(source, 'it is not closed');
    const where = `${source} element ${results.length}`;
    results.push(item(parseJsonBytes(bytes.subarray(start, i), where, elementLimits), results.length));
    closed = bytes[i] === 0x5d;
    i++;
    if (performance.now() - slice > PARSE_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  if (skipSpace(bytes, i) !== bytes.length) throw notArray(source, 'text follows the closing ]');
  return results;
}

/**
 * The first element of a JSON array, from the first bytes of its text (an
 * answer still arriving): its bytes, null for an empty array, or undefined
 * when more bytes are needed to tell. Throws MALFORMED_JSON when the text is
 * not an array.
 */
export function firstArrayElement(head: Uint8Array, source: string): Uint8Array | null | undefined {
  if (skipSpace(head, 0) === head.length) return undefined;
  const start = arrayStart(head, source);
  if (start === head.length) return undefined;
  if (head[start] === 0x5d) return null;
  const end = elementEnd(head, start);
  return end < 0 ? undefined : head.subarray(start, end);
}

/**
 * The elements of a JSON array whose text arrives in pieces (a download):
 * `push` takes the next bytes and returns the bytes of every element they
 * complete, `end` checks that the array was closed. Only the element still
 * arriving is held, so memory stays at one element however long the array;
 * one longer than `maxElementBytes` throws. The scan is the one
 * `parseJsonArray` does (elements are split, not parsed), and it resumes
 * where the last piece ended instead of scanning an element again. Throws
 * MALFORMED_JSON for text that is not an array.
 */
export class JsonArraySplitter {
  readonly #source: string;
  readonly #maxElementBytes: number;
  #state: 'before' | 'first' | 'element' | 'after' = 'before';
  /** Bytes of the element still arriving. */
  #carry: Buffer = Buffer.alloc(0);
  /** Where the scan of the carried element goes on (past its bytes so far, or one more after a backslash). */
  #scanned = 0;
  #depth = 0;
  #inString = false;
  #elements = 0;

  constructor(source: string, maxElementBytes: number) {
    this.#source = source;
    this.#maxElementBytes = maxElementBytes;
  }

  /** Elements completed so far. */
  get count(): number {
    return this.#elements;
  }

  push(chunk: Uint8Array): Buffer[] {
    const bytes = this.#carry.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#carry, chunk]);
    const out: Buffer[] = [];
    let start = 0;
    let i = this.#state === 'element' ? this.#scanned : 0;
    this.#carry = Buffer.alloc(0);
    while (i < bytes.length) {
      const c = bytes[i]!;
      if (this.#state === 'element') {
        if (this.#inString) {
          if (c === 0x5c) i++;
          else if (c === 0x22) this.#inString = false;
        } else if (c === 0x22) this.#inString = true;
        else if (c === 0x7b || c === 0x5b) this.#depth++;
        else if ((c === 0x7d || c === 0x5d) && this.#depth > 0) this.#depth--;
        else if ((c === 0x2c || c === 0x5d) && this.#depth === 0) {
          if (i - start > this.#maxElementBytes) throw this.#tooLong();
          out.push(bytes.subarray(start, i));
          this.#elements++;
          // Leading spaces belong to the next element, as in parseJsonArray.
          this.#state = c === 0x2c ? 'element' : 'after';
          start = i + 1;
        }
        i++;
        continue;
      }
      if (isSpace(c)) {
        i++;
        continue;
      }
      if (this.#state === 'before') {
        if (c !== 0x5b) throw this.#notArray(`it starts with ${JSON.stringify(Buffer.from(bytes.subarray(i, i + 20)).toString('latin1'))}`);
        this.#state = 'first';
        i++;
      } else if (this.#state === 'first') {
        if (c === 0x5d) {
          this.#state = 'after';
          i++;
        } else {
          this.#state = 'element';
          start = i;
        }
      } else {
        throw this.#notArray('text follows the closing ]');
      }
    }
    if (this.#state === 'element') {
      if (bytes.length - start > this.#maxElementBytes) throw this.#tooLong();
      // A copy: the element's first bytes must not keep the whole piece they came in alive.
      this.#carry = Buffer.from(bytes.subarray(start));
      this.#scanned = i - start;
    }
    return out;
  }

  /** Throws unless the text so far was a whole array. */
  end(): void {
    if (this.#state !== 'after') throw this.#notArray(this.#state === 'before' ? 'it is empty' : 'it is not closed');
  }

  #notArray(why: string): JbcError {
    return notArray(this.#source, why);
  }

  #tooLong(): JbcError {
    return new JbcError(ErrorCode.MALFORMED_JSON, `${this.#source} element ${this.#elements} is longer than ${this.#maxElementBytes} bytes`, {
      source: this.#source,
    });
  }
}

/** Where the first element of the array in `bytes` starts (past '[' and spaces). */
function arrayStart(bytes: Uint8Array, source: string): number {
  const i = skipSpace(bytes, 0);
  if (bytes[i] !== 0x5b) throw notArray(source, `it starts with ${JSON.stringify(Buffer.from(bytes.subarray(i, i + 20)).toString('latin1'))}`);
  return skipSpace(bytes, i + 1);
}

/** Index of the ',' or ']' that ends the array element starting at `start`, or -1 when the bytes end first. */
function elementEnd(bytes: Uint8Array, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i;
      depth--;
    } else if (c === 0x2c && depth === 0) return i;
  }
  return -1;
}

function notArray(source: string, why: string): JbcError {
  return new JbcError(ErrorCode.MALFORMED_JSON, `${source} is not a JSON array: ${why}`, { source });
}

function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from;
  while (i < bytes.length && isSpace(bytes[i]!)) i++;
  return i;
}

/**
 * A non-negative integer from a JSON string ("7") or JSON number (7), exact at
 * any size. Leading zeros are accepted and dropped, as jbc's int() does; signs,
 * fractions, exponents, whitespace and every other type are MALFORMED_FIELD.
 */
export function parseUint(value: unknown, field: string): bigint {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value instanceof JsonNumber) text = value.text;
  else if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else throw malformed(field, `must be a non-negative integer, got ${describeType(value)}`);
  if (!DIGITS.test(text)) throw malformed(field, `must be a non-negative integer, got ${JSON.stringify(text.slice(0, 40))}`);
  if (text.length > MAX_INTEGER_DIGITS) throw malformed(field, `has more than ${MAX_INTEGER_DIGITS} digits`);
  return BigInt(text);
}

/** Canonical text form of a block integer: decimal, no sign, no leading zeros. */
export function formatUint(value: bigint): string {
  return value.toString(10);
}

/** True when `text` is exactly the canonical decimal form of some integer >= 0. */
export function isCanonicalUint(text: string): boolean {
  return DIGITS.test(text) && (text === '0' || text[0] !== '0') && text.length <= MAX_INTEGER_DIGITS;
}

export function malformed(field: string, reason: string): JbcError {
  return new JbcError(ErrorCode.MALFORMED_FIELD, `${field} ${reason}`, { field });
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof JsonNumber) return `number ${value.text}`;
  return typeof value;
}

/** A plain (non-array, non-null) JSON object, as parsed. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}
