/**
 * The nonce-search engines against an independent node:crypto reference.
 * The WASM engines load the compiled kernels from dist/workers/ (npm run
 * build:kernels), the very files the node mines with.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { headerPrefix, parseBlock } from '../../../src/block.js';
import { ErrorCode } from '../../../src/errors.js';
import type { Engine, SearchRequest, SearchResult } from '../../../src/mining/engine.js';
import { targetWords, zerosTarget } from '../../../src/target.js';
import {
  ENGINE_NAMES,
  availableEngineNames,
  defaultChunkSize,
  defaultEngineName,
  detectSimd,
  loadEngine,
  wasmEngineName,
  type EngineName,
} from '../../../src/mining/engine-loader.js';
import { nativeSupport } from '../../../src/mining/native.js';
import { random } from '../../helpers/random.js';

const seed = JSON.parse(readFileSync(new URL('../../fixtures/seed-blocks.json', import.meta.url), 'utf8')) as {
  chain: unknown[];
};

const difficulty8 = JSON.parse(readFileSync(new URL('../../fixtures/difficulty-8.json', import.meta.url), 'utf8')) as {
  prefix: string;
  nonce: string;
  hash: string;
};

const utf8 = new TextEncoder();

function asciiPrefix(rnd: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = 0x20 + Math.floor(rnd() * 95);
  return bytes;
}

/** A start nonce of a random size: small, near 10^k, near 2^53, near 2^64, or 30 digits. */
function randomStart(rnd: () => number): bigint {
  const pick = Math.floor(rnd() * 7);
  const jitter = BigInt(Math.floor(rnd() * 1000));
  switch (pick) {
    case 0:
      return BigInt(Math.floor(rnd() * 20));
    case 1: {
      const power = 10n ** BigInt(1 + Math.floor(rnd() * 8));
      return power - 1n - (jitter % power);
    }
    case 2:
      return BigInt(Math.floor(rnd() * 1e9));
    case 3:
      return 2n ** 53n - jitter;
    case 4:
      return 2n ** 64n + jitter;
    case 5:
      return 10n ** 20n - jitter;
    default:
      return 10n ** 29n + BigInt(Math.floor(rnd() * 1e15));
  }
}

function digest(prefix: Uint8Array, nonce: bigint): bigint {
  return BigInt(`0x${createHash('sha256').update(prefix).update(nonce.toString()).digest('hex')}`);
}

function referenceMeets(prefix: Uint8Array, nonce: bigint, target: bigint): boolean {
  return digest(prefix, nonce) <= target;
}

/** What a correct engine returns, computed nonce by nonce with node:crypto. */
function referenceSearch({ prefix, start, count, target }: SearchRequest): SearchResult {
  for (let i = 0; i < count; i++) {
    const nonce = start + BigInt(i);
    if (referenceMeets(prefix, nonce, target)) return { status: 'found', nonce, hashes: i + 1 };
  }
  return { status: 'exhausted', hashes: count };
}

/** Every nonce in the range that meets the target, found by searching on from each hit. */
function allHits(engine: Engine, prefix: Uint8Array, start: bigint, count: number, target: bigint): bigint[] {
  const hits: bigint[] = [];
  const end = start + BigInt(count);
  let from = start;
  while (from < end) {
    const left = Number(end - from);
    const result = engine.search({ prefix, start: from, count: left, target });
    if (result.status !== 'found') {
      expect(result).toEqual({ status: 'exhausted', hashes: left });
      break;
    }
    expect(result.hashes).toBe(Number(result.nonce - from) + 1);
    hits.push(result.nonce);
    from = result.nonce + 1n;
  }
  return hits;
}

function referenceHits(prefix: Uint8Array, start: bigint, count: number, target: bigint): bigint[] {
  const hits: bigint[] = [];
  for (let i = 0n; i < BigInt(count); i++) if (referenceMeets(prefix, start + i, target)) hits.push(start + i);
  return hits;
}

/** Prefix lengths around the 64-byte block boundaries, where the nonce and padding move between blocks. */
const BOUNDARY_LENGTHS = [0, 1, 9, 46, 50, 52, 53, 54, 55, 56, 57, 59, 60, 61, 62, 63, 64, 65, 110, 116, 117, 118, 119, 120, 121, 124, 127, 128, 183, 184];

/** Where the nonce gains a digit, so the tail gets longer and the padding shifts. */
const DIGIT_BOUNDARIES = [10n, 100n, 1000n, 10_000n, 10n ** 16n, 10n ** 20n];

/** Every engine this machine runs: each native kernel its CPU has, forced one by one, and the WebAssembly and reference engines. */
const RUNNABLE = availableEngineNames();

const engines = new Map<EngineName, Engine>();
/** The same engines with a 7-nonce chunk: many chunk calls, none a multiple of the SIMD group. */
const smallChunkEngines = new Map<EngineName, Engine>();

beforeAll(async () => {
  for (const name of RUNNABLE) {
    engines.set(name, await loadEngine(name));
    smallChunkEngines.set(name, await loadEngine(name, { chunkSize: 7 }));
  }
});

function engine(name: EngineName, small = false): Engine {
  const found = (small ? smallChunkEngines : engines).get(name);
  if (found === undefined) throw new Error(`engine ${name} not loaded`);
  return found;
}

describe.each(RUNNABLE)('engine %s', (name) => {
  it('finds the first nonce of the range whose hash has D leading zeros, for prefixes of 0-200 bytes', () => {
    const rnd = random(1);
    for (let length = 0; length <= 200; length++) {
      const request: SearchRequest = {
        prefix: asciiPrefix(rnd, length),
        start: randomStart(rnd),
        count: 150,
        target: zerosTarget(1 + (length % 2)),
      };
      expect(engine(name).search(request), `prefix length ${length}, start ${request.start}`).toEqual(referenceSearch(request));
    }
  });

  it('hashes every nonce right where the digit count grows (9->10 ... 10^20), at block-boundary prefix lengths', () => {
    const rnd = random(2);
    for (const length of BOUNDARY_LENGTHS) {
      const prefix = asciiPrefix(rnd, length);
      for (const boundary of DIGIT_BOUNDARIES) {
        const start = boundary > 40n ? boundary - 40n : 0n;
        const want = referenceHits(prefix, start, 80, zerosTarget(1));
        const where = `length ${length} across ${boundary}`;
        expect(allHits(engine(name), prefix, start, 80, zerosTarget(1)), where).toEqual(want);
        expect(allHits(engine(name, true), prefix, start, 80, zerosTarget(1)), `${where}, chunks of 7`).toEqual(want);
      }
    }
  });

  it('keeps hashing correctly through long scans that cross many carries and chunk boundaries', () => {
    const rnd = random(3);
    for (const length of [85, 119, 126]) {
      const prefix = asciiPrefix(rnd, length);
      const start = 998_003n;
      const want = referenceHits(prefix, start, 4000, zerosTarget(2));
      expect(allHits(engine(name), prefix, start, 4000, zerosTarget(2))).toEqual(want);
      expect(allHits(engine(name, true), prefix, start, 4000, zerosTarget(2))).toEqual(want);
    }
  });

  it('searches nonces beyond 2^53 and 2^64 exactly', () => {
    const prefix = utf8.encode(`7${'ab'.repeat(32)}big nonces1700000000`);
    for (const start of [2n ** 53n - 60n, 2n ** 64n - 60n, 2n ** 64n + 123_456_789n, 10n ** 40n + 7n]) {
      const want = referenceHits(prefix, start, 120, zerosTarget(1));
      expect(allHits(engine(name), prefix, start, 120, zerosTarget(1)), `from ${start}`).toEqual(want);
    }
  });

  it('hashes the UTF-8 bytes of multi-byte data', () => {
    const rnd = random(4);
    for (let repeat = 0; repeat < 12; repeat++) {
      const data = 'héllo wörld € 𝄞 '.repeat(repeat) + 'ñ'.repeat(repeat % 3);
      const template = { index: 7n, prevHash: 'ab'.repeat(32), data, timestamp: 1_700_000_000n };
      const prefix = utf8.encode(headerPrefix(template));
      const request: SearchRequest = { prefix, start: randomStart(rnd), count: 300, target: zerosTarget(2) };
      expect(engine(name).search(request), `data ${JSON.stringify(data)}`).toEqual(referenceSearch(request));
    }
  });

  it('mines seed block 1: from nonce 1225000 at difficulty 5 the first hit is 1225518', () => {
    const block = parseBlock(seed.chain[1]);
    const prefix = utf8.encode(headerPrefix(block));
    expect(engine(name).search({ prefix, start: 1_225_000n, count: 1000, target: zerosTarget(5) })).toEqual({
      status: 'found',
      nonce: 1_225_518n,
      hashes: 519,
    });
  });

  it('compares the whole 256-bit digest with the target when word 0 ties: the later words decide', () => {
    const rnd = random(6);
    for (const length of [0, 33, 55, 56, 63, 64, 119, 120, 150]) {
      const prefix = asciiPrefix(rnd, length);
      const start = randomStart(rnd);
      const count = 200;
      // The smallest digest of the range is the one hit of a target equal to it.
      let best = 0;
      let least = digest(prefix, start);
      for (let i = 1; i < count; i++) {
        const d = digest(prefix, start + BigInt(i));
        if (d < least) [best, least] = [i, d];
      }
      const word0 = least >> 224n;
      const rest = least & ((1n << 224n) - 1n);
      const targets = [
        least,
        least - 1n, // differs only from word 7 on down: a word-0 test alone would take it
        least + 1n,
        least - (1n << 192n), // word 1 one lower
        word0 << 224n, // word 0 equal, the rest zero
        (word0 << 224n) | ((1n << 224n) - 1n), // word 0 equal, the rest all ones
        ((word0 + 1n) << 224n) - 1n - rest, // word 0 equal, the rest mirrored
        (zerosTarget(2) * 3n) / 2n, // not a power of 16
      ];
      for (const target of targets) {
        const request: SearchRequest = { prefix, start, count, target };
        const where = `length ${length}, start ${start}, target ${targetWords(target).join(',')}`;
        expect(engine(name).search(request), where).toEqual(referenceSearch(request));
        expect(allHits(engine(name, true), prefix, start, count, target), `${where}, chunks of 7`).toEqual(referenceHits(prefix, start, count, target));
      }
      expect(engine(name).search({ prefix, start, count, target: least })).toEqual({ status: 'found', nonce: start + BigInt(best), hashes: best + 1 });
    }
  });

  it('finds the first nonce in order at difficulties 1-8, an 8-zero hash after 3000 misses included', () => {
    const rnd = random(7);
    for (let difficulty = 1; difficulty <= 8; difficulty++) {
      for (let i = 0; i < 6; i++) {
        const request: SearchRequest = {
          prefix: asciiPrefix(rnd, 40 + Math.floor(rnd() * 100)),
          start: randomStart(rnd),
          count: 400,
          target: zerosTarget(difficulty),
        };
        expect(engine(name).search(request), `difficulty ${difficulty}, start ${request.start}`).toEqual(referenceSearch(request));
      }
    }
    const prefix = utf8.encode(difficulty8.prefix);
    const nonce = BigInt(difficulty8.nonce);
    expect(engine(name).search({ prefix, start: nonce - 3000n, count: 3100, target: zerosTarget(8) })).toEqual({
      status: 'found',
      nonce,
      hashes: 3001,
    });
    expect(engine(name).search({ prefix, start: nonce + 1n, count: 3000, target: zerosTarget(8) })).toEqual({ status: 'exhausted', hashes: 3000 });
  });

  it('reports an exhausted range with hashes equal to its count', () => {
    const prefix = utf8.encode('no hit here');
    expect(engine(name).search({ prefix, start: 5n, count: 1000, target: 0n })).toEqual({
      status: 'exhausted',
      hashes: 1000,
    });
    expect(engine(name).search({ prefix, start: 5n, count: 0, target: zerosTarget(1) })).toEqual({
      status: 'exhausted',
      hashes: 0,
    });
  });

  it('returns stopped without hashing when the stop flag is already set', () => {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(stop, 0, 1);
    const prefix = utf8.encode('stopped');
    expect(engine(name).search({ prefix, start: 0n, count: 1000, target: zerosTarget(0) }, stop)).toEqual({
      status: 'stopped',
      hashes: 0,
    });
  });

  it('returns stopped within a chunk of the stop flag being set by another thread mid-search', async () => {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    // The other thread sets the flag 100 ms after it starts; by then this thread is inside search().
    const setter = new Worker(
      `const { workerData } = require('node:worker_threads');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       Atomics.store(workerData, 0, 1);`,
      { eval: true, workerData: stop },
    );
    await new Promise((resolve) => setter.once('online', resolve));
    const result = engine(name).search({ prefix: utf8.encode('cancel me'), start: 0n, count: Number.MAX_SAFE_INTEGER, target: 0n }, stop);
    await setter.terminate();
    expect(result.status).toBe('stopped');
    expect(result.hashes).toBeGreaterThan(0);
    const kernel = engine(name).kernel;
    expect(result.hashes % defaultChunkSize[name === 'native' ? (`native-${kernel}` as EngineName) : name]).toBe(0);
  });
});

describe('the SIMD kernel', () => {
  it('finds exactly the same first nonce as the scalar kernel over 10^4 short ranges', () => {
    const rnd = random(5);
    const simd = engine('wasm-simd');
    const scalar = engine('wasm-scalar');
    for (let i = 0; i < 10_000; i++) {
      const request: SearchRequest = {
        prefix: asciiPrefix(rnd, Math.floor(rnd() * 201)),
        start: randomStart(rnd),
        count: 64,
        target: zerosTarget(1 + (i % 2)),
      };
      const where = `range ${i}: prefix length ${request.prefix.length}, start ${request.start}`;
      expect(simd.search(request), where).toEqual(scalar.search(request));
    }
  });
});

describe('engine selection', () => {
  it('defaults to native where its addon loads with a kernel for this CPU, else wasm-simd where the runtime has WASM SIMD, else wasm-scalar', async () => {
    expect(defaultEngineName()).toBe(nativeSupport().ok ? 'native' : wasmEngineName());
    expect(wasmEngineName()).toBe(detectSimd() ? 'wasm-simd' : 'wasm-scalar');
    expect(wasmEngineName(false)).toBe('wasm-scalar');
    // Node 20 (V8 11) has WASM SIMD on x64 and arm64.
    expect(detectSimd()).toBe(true);
  });

  it('the native engine hashes with the best kernel this CPU has; every native kernel it lacks is refused', async () => {
    const native = nativeSupport();
    if (!native.ok) {
      await expect(loadEngine('native')).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
      return;
    }
    expect((await loadEngine('native')).kernel).toBe(native.kernels[0]);
    for (const name of ENGINE_NAMES.filter((n) => n.startsWith('native-') && !RUNNABLE.includes(n))) {
      await expect(loadEngine(name)).rejects.toMatchObject({ code: ErrorCode.MINING_FAILED });
    }
  });

  it('rejects an unknown engine name', async () => {
    await expect(loadEngine('wasm-gpu' as EngineName)).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
  });

  it('rejects a chunk size that is not a positive integer, naming the option', async () => {
    await expect(loadEngine('wasm-scalar', { chunkSize: 0 })).rejects.toMatchObject({
      code: ErrorCode.BAD_OPTION,
      message: expect.stringContaining('chunkSize'),
    });
    await expect(loadEngine('node-crypto', { chunkSize: 1.5 })).rejects.toMatchObject({ code: ErrorCode.BAD_OPTION });
  });

  it('rejects a malformed request, naming the field', () => {
    const prefix = utf8.encode('x');
    const search = (name: EngineName, request: Omit<SearchRequest, 'prefix'>) => () => engine(name).search({ prefix, ...request });
    expect(search('wasm-simd', { start: -1n, count: 1, target: 1n })).toThrow(/request\.start/);
    expect(search('wasm-scalar', { start: 0n, count: -1, target: 1n })).toThrow(/request\.count/);
    expect(search('node-crypto', { start: 0n, count: 1, target: 2n ** 256n })).toThrow(/request\.target/);
    expect(search('wasm-simd', { start: 0n, count: 1, target: -1n })).toThrow(/request\.target/);
    expect(search('hash-wasm-baseline', { start: 0n, count: 1, target: 1 as unknown as bigint })).toThrow(/request\.target/);
  });
});
