/**
 * The native engine's addon (workers/native/search.c, built into
 * dist/native/ by `npm install` or the build): loading it, the kernels this
 * CPU can run, and the reason it is unavailable where it is. Loaded at most
 * once per thread; a Node-API addon keeps its search state per thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describeError } from '../errors.js';
import { distPath } from '../paths.js';

/** Every kernel the addon has, best first; `kernels()` says which this CPU can run. */
export const NATIVE_KERNELS = ['avx512', 'sha-ni', 'avx2', 'avx', 'sse2', 'generic-4'] as const;

export type NativeKernel = (typeof NATIVE_KERNELS)[number];

/** What workers/native/search.c exports. */
export interface NativeAddon {
  /** The kernels this CPU can run, best first. */
  kernels(): string[];
  /** Starts a search; `startDigits` is the start nonce in decimal, `target` its 8 words, the most significant first. */
  begin(kernel: string, prefix: Uint8Array, startDigits: string, target: Uint32Array): void;
  /** Tries the next `count` nonces; the offset of the first hit, or -1. */
  scan(count: number): number;
}

export type NativeSupport =
  | { readonly ok: true; readonly addon: NativeAddon; readonly kernels: readonly NativeKernel[] }
  | { readonly ok: false; readonly reason: string };

let support: NativeSupport | undefined;

/** The addon and its kernels, or why there is none (not built, fails to load, no kernel for this CPU). */
export function nativeSupport(): NativeSupport {
  support ??= loadAddon();
  return support;
}

function loadAddon(): NativeSupport {
  const path = distPath('native', 'jbc-native.node');
  if (!existsSync(path)) {
    const why = distPath('native', 'unavailable.txt');
    const reason = existsSync(why) ? readFileSync(why, 'utf8').trim() : 'not built (npm install or npm run build:native builds it)';
    return { ok: false, reason: `native engine unavailable: ${reason}` };
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    return { ok: false, reason: `native engine ${path} does not load: ${describeError(err)}` };
  }
  const kernels = addon.kernels().filter((k): k is NativeKernel => (NATIVE_KERNELS as readonly string[]).includes(k));
  if (kernels.length === 0) return { ok: false, reason: 'native engine has no kernel for this CPU' };
  return { ok: true, addon, kernels };
}
