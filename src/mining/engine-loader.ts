/**
 * The four nonce-search engines behind the Engine interface:
 *
 * - `wasm-simd`: the AssemblyScript kernel hashing four nonces per pass in
 *   i32x4 lanes (dist/workers/kernel-simd.wasm). The default where the
 *   runtime has WASM SIMD.
 * - `wasm-scalar`: the same search one nonce at a time
 *   (dist/workers/kernel-scalar.wasm). The fallback without SIMD.
 * - `hash-wasm-baseline`: hash-wasm init/update(prefix + nonce)/digest('hex')
 *   per nonce, as a straightforward miner would write it. The reference every
 *   bench figure is compared with.
 * - `node-crypto`: node:crypto createHash per nonce.
 *
 * Loading is async (WASM compilation, hash-wasm's own WASM); the engine it
 * returns searches synchronously. The kernels search a whole chunk of nonces
 * per call with no JavaScript per nonce; every engine checks the stop flag
 * before its first chunk and between chunks.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSHA256, type IHasher } from 'hash-wasm';
import { ErrorCode, JbcError } from '../errors.js';
import { distPath } from '../paths.js';
import { MAX_TARGET, targetHex, targetWords } from '../target.js';
import type { Engine, SearchRequest, SearchResult } from './engine.js';

export const ENGINE_NAMES = ['wasm-simd', 'wasm-scalar', 'hash-wasm-baseline', 'node-crypto'] as const;

export type EngineName = (typeof ENGINE_NAMES)[number];

export function isEngineName(value: string): value is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(value);
}

export interface EngineOptions {
  /**
   * Nonces per chunk: the stop flag is checked between chunks, so this bounds
   * how long a cancelled search keeps running. Default: `defaultChunkSize`
   * for the engine, 2-3 ms of work per chunk on the reference machine (Xeon,
   * 2.6 GHz), where the chunk calls and checks cost under 1% of throughput
   * (not measurable against one chunk for the whole range).
   */
  readonly chunkSize?: number;
}

/** Default chunk sizes: single-thread rate on the reference machine, and the time one chunk takes there. */
export const defaultChunkSize: Readonly<Record<EngineName, number>> = {
  'wasm-simd': 32_768, // 15.4 MH/s, 2.1 ms
  'wasm-scalar': 16_384, // 6.8 MH/s, 2.4 ms
  'hash-wasm-baseline': 2_048, // 0.78 MH/s, 2.6 ms
  'node-crypto': 4_096, // 1.3 MH/s, 3.1 ms
};

/** Largest chunk: the kernels count in i32. */
const MAX_CHUNK = 2 ** 30;

// (module (func (result v128) i32.const 0 i32x4.splat)): valid only where WASM SIMD is.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00,
  0xfd, 0x11, 0x0b,
]);

/**
 * The part of the WebAssembly JS API used here. The project compiles against
 * lib ES2022 without DOM, which does not declare it.
 */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<{ exports: unknown }>;
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };

const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let simd: boolean | undefined;

/** True when this runtime supports WASM SIMD (so `wasm-simd` can load). */
export function detectSimd(): boolean {
  simd ??= wasm.validate(SIMD_PROBE);
  return simd;
}

/**
 * The engine to mine with: `wasm-simd` when the runtime supports WASM SIMD,
 * else the scalar kernel, `wasm-scalar`.
 */
export function defaultEngineName(simd: boolean = detectSimd()): EngineName {
  return simd ? 'wasm-simd' : 'wasm-scalar';
}

/** A ready engine. Throws MINING_FAILED when its kernel is missing or cannot run here. */
export async function loadEngine(name: EngineName, options: EngineOptions = {}): Promise<Engine> {
  if (!isEngineName(name)) {
    throw new JbcError(ErrorCode.BAD_OPTION, `unknown engine ${JSON.stringify(name)}`, { option: 'engine' });
  }
  const chunkSize = options.chunkSize ?? defaultChunkSize[name];
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK) {
    throw new JbcError(ErrorCode.BAD_OPTION, `options.chunkSize must be an integer from 1 to ${MAX_CHUNK}`, {
      option: 'chunkSize',
    });
  }
  switch (name) {
    case 'wasm-simd':
      if (!detectSimd()) {
        throw new JbcError(ErrorCode.MINING_FAILED, 'engine wasm-simd needs WASM SIMD, which this runtime lacks', {
          engine: name,
        });
      }
      return new KernelEngine(name, await instantiateKernel('kernel-simd.wasm'), chunkSize);
    case 'wasm-scalar':
      return new KernelEngine(name, await instantiateKernel('kernel-scalar.wasm'), chunkSize);
    case 'hash-wasm-baseline':
      return new HashWasmEngine(await createSHA256(), chunkSize);
    case 'node-crypto':
      return new NodeCryptoEngine(chunkSize);
  }
}

/** What workers/assembly/kernel-*.ts export. */
interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  /** Makes room for a header of `bytes`; returns where to write it, 0 when memory cannot grow. */
  reserve(bytes: number): number;
  /** Sets the target (8 words, the most significant first) of the searches that follow. */
  setTarget(t0: number, t1: number, t2: number, t3: number, t4: number, t5: number, t6: number, t7: number): void;
  /** Starts a search; the prefix and the start nonce's ASCII digits are at reserve()'s address. */
  begin(prefixLength: number, digitCount: number): void;
  /** Tries the next `count` nonces; the offset of the first hit, or -1. */
  scan(count: number): number;
}

const kernels = new Map<string, Promise<WasmModule>>();

async function instantiateKernel(file: string): Promise<KernelExports> {
  const path = distPath('workers', file);
  let module = kernels.get(path);
  if (module === undefined) {
    module = readFile(path).then((bytes) => wasm.compile(bytes));
    kernels.set(path, module);
    // A failed load is not cached, so a later build can fix it.
    module.catch(() => kernels.delete(path));
  }
  let compiled: WasmModule;
  try {
    compiled = await module;
  } catch (err) {
    throw new JbcError(
      ErrorCode.MINING_FAILED,
      `cannot load kernel ${path} (run npm run build)`,
      { path },
      {
        cause: err,
      },
    );
  }
  const instance = await wasm.instantiate(compiled, {
    env: {
      abort(): never {
        throw new JbcError(ErrorCode.INTERNAL, `kernel ${file} aborted`);
      },
    },
  });
  return instance.exports as KernelExports;
}

/** Throws on a request no caller should make (a bug, not input). */
function checkRequest(request: SearchRequest): void {
  const { prefix, start, count, target } = request;
  if (!(prefix instanceof Uint8Array)) throw badRequest('prefix', 'must be a Uint8Array');
  if (typeof start !== 'bigint' || start < 0n) throw badRequest('start', 'must be a non-negative bigint');
  if (!Number.isSafeInteger(count) || count < 0) throw badRequest('count', 'must be a non-negative safe integer');
  if (typeof target !== 'bigint' || target < 0n || target > MAX_TARGET) throw badRequest('target', 'must be a bigint from 0 to 2^256 - 1');
}

function badRequest(field: string, reason: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, `request.${field} ${reason}`, { option: field });
}

function isStopped(stop: Int32Array | undefined): boolean {
  return stop !== undefined && Atomics.load(stop, 0) !== 0;
}

/**
 * The chunk loop every engine shares. `scan(n)` tries the next n nonces
 * (continuing where the previous call stopped) and returns the offset of the
 * first hit within them, or -1.
 */
function searchInChunks(request: SearchRequest, stop: Int32Array | undefined, chunkSize: number, scan: (n: number) => number): SearchResult {
  if (isStopped(stop)) return { status: 'stopped', hashes: 0 };
  let done = 0;
  while (done < request.count) {
    const n = Math.min(chunkSize, request.count - done);
    const hit = scan(n);
    if (hit >= 0) return { status: 'found', nonce: request.start + BigInt(done + hit), hashes: done + hit + 1 };
    done += n;
    if (done < request.count && isStopped(stop)) return { status: 'stopped', hashes: done };
  }
  return { status: 'exhausted', hashes: done };
}

class KernelEngine implements Engine {
  constructor(
    readonly name: EngineName,
    private readonly kernel: KernelExports,
    private readonly chunkSize: number,
  ) {}

  search(request: SearchRequest, stop?: Int32Array): SearchResult {
    checkRequest(request);
    if (isStopped(stop)) return { status: 'stopped', hashes: 0 };
    if (request.count === 0) return { status: 'exhausted', hashes: 0 };
    const { prefix } = request;
    const digits = request.start.toString(10);
    const at = this.kernel.reserve(prefix.length + digits.length);
    if (at === 0) {
      throw new JbcError(ErrorCode.MINING_FAILED, `kernel cannot allocate ${prefix.length} bytes of header`, {
        engine: this.name,
      });
    }
    // reserve() may have grown memory, detaching any earlier view.
    const memory = new Uint8Array(this.kernel.memory.buffer);
    memory.set(prefix, at);
    for (let i = 0; i < digits.length; i++) memory[at + prefix.length + i] = digits.charCodeAt(i);
    const t = targetWords(request.target);
    this.kernel.setTarget(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!, t[6]!, t[7]!);
    this.kernel.begin(prefix.length, digits.length);
    return searchInChunks(request, stop, this.chunkSize, (n) => this.kernel.scan(n));
  }
}

/**
 * A per-nonce loop over decimal nonce strings: `number` while the range stays
 * below 2^53, `bigint` beyond.
 */
function perNonce(request: SearchRequest, hashHex: (nonce: string) => string): (n: number) => number {
  // Two lowercase 64-digit hex strings compare as the numbers they encode.
  const target = targetHex(request.target);
  const end = request.start + BigInt(request.count);
  if (end <= BigInt(Number.MAX_SAFE_INTEGER)) {
    let next = Number(request.start);
    return (n) => {
      for (let i = 0; i < n; i++, next++) if (hashHex(String(next)) <= target) return i;
      return -1;
    };
  }
  let next = request.start;
  return (n) => {
    for (let i = 0; i < n; i++, next++) if (hashHex(next.toString()) <= target) return i;
    return -1;
  };
}

const utf8 = new TextDecoder();

class HashWasmEngine implements Engine {
  readonly name: EngineName = 'hash-wasm-baseline';

  constructor(
    private readonly hasher: IHasher,
    private readonly chunkSize: number,
  ) {}

  search(request: SearchRequest, stop?: Int32Array): SearchResult {
    checkRequest(request);
    const prefix = utf8.decode(request.prefix);
    const hasher = this.hasher;
    const scan = perNonce(request, (nonce) => {
      hasher.init();
      hasher.update(prefix + nonce);
      return hasher.digest('hex');
    });
    return searchInChunks(request, stop, this.chunkSize, scan);
  }
}

class NodeCryptoEngine implements Engine {
  readonly name: EngineName = 'node-crypto';

  constructor(private readonly chunkSize: number) {}

  search(request: SearchRequest, stop?: Int32Array): SearchResult {
    checkRequest(request);
    const prefix = utf8.decode(request.prefix);
    const scan = perNonce(request, (nonce) =>
      createHash('sha256')
        .update(prefix + nonce)
        .digest('hex'),
    );
    return searchInChunks(request, stop, this.chunkSize, scan);
  }
}
