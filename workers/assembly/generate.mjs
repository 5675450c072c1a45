#!/usr/bin/env node
/**
 * Writes the unrolled SHA-256 block functions the nonce-search kernels use,
 * once for u32 (scalar kernel) and once for v128 (SIMD kernel, one nonce per
 * i32x4 lane), into workers/assembly/generated/.
 *
 * Why generated: AssemblyScript has no macros and an @inline function cannot
 * assign its caller's locals, so a fully unrolled compression (state and
 * message words in locals, round constants as immediates, no loop-carried
 * register shuffling) cannot be written with helpers. In V8 the unrolled
 * scalar kernel ran 45% faster than the same search with a round loop
 * (5.8 vs 4.0 MH/s); the per-position variants below add about 8% more
 * (figures in the README).
 *
 * Run by build.mjs (`npm run build:kernels`) before compiling; a file is
 * rewritten only when its content changes, so its mtime says when the
 * generator's output last changed.
 *
 * Generated functions (T = u32 or v128; every pointer is to 8 or 16 T-sized
 * slots, v128 slots hold one value per lane):
 *
 *   blockFrom(from, st0, stFrom, words, out)
 *       Generic compression of one block whose 16 message words are at
 *       `words`, entered at round `from` (0..15) with the state `stFrom` the
 *       first `from` rounds produced; `out` = state + st0 (feed-forward).
 *   block{J}(st0, stJ, words, tab, out), J = 0..15
 *       The same for a block whose only nonce-dependent message words are J
 *       and J+1 (when J < 15). Rounds 0..J-1 are skipped (stJ holds their
 *       result); every schedule word that does not depend on words J, J+1 is
 *       never computed: its K+W comes from `tab` (KW), and for the dependent
 *       ones the sum of their constant terms comes from `tab` (PART). The
 *       kernel's prepare step fills `tab` with the same dependency rule.
 *   blockVariant(j, ...)  switch over block{J}.
 *   blockConstant(st0, tab, out)
 *       A block whose message is entirely nonce-independent (the padding
 *       block after the nonce): rounds only, K+W from `tab` (KW).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The round constants, read from sha256.ts so the table exists in one place. */
const K = (() => {
  const source = readFileSync(join(here, 'sha256.ts'), 'utf8');
  const table = /export const K: usize = memory\.data<u32>\(\[([^\]]*)\]\)/.exec(source);
  const words = table ? (table[1].match(/0x[0-9a-f]{8}/gi) ?? []) : [];
  if (words.length !== 64) throw new Error('generate.mjs: cannot read the 64 round constants K from sha256.ts');
  return words.map(Number);
})();

const STATE = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const hex = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/**
 * The dependency rule shared with prepareTable() in search.ts: word t >= 16
 * depends on the nonce when any of W[t-2], W[t-7], W[t-15], W[t-16] does.
 */
function dynamicWords(j) {
  const dyn = new Array(64).fill(false);
  dyn[j] = true;
  if (j < 15) dyn[j + 1] = true;
  for (let t = 16; t < 64; t++) dyn[t] = dyn[t - 2] || dyn[t - 7] || dyn[t - 15] || dyn[t - 16];
  return dyn;
}

/** Emitters for one lane type. */
function flavour(kind) {
  if (kind === 'u32') {
    return {
      T: 'u32',
      slot: 4,
      add: (...xs) => xs.join(' + '),
      konst: (k) => hex(k),
      load: (p, i) => `load<u32>(${p}, ${i * 4})`,
      store: (p, i, v) => `store<u32>(${p}, ${v}, ${i * 4})`,
      helpers: `@inline function bsig0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
@inline function bsig1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
@inline function ssig0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
@inline function ssig1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }
@inline function ch(e: u32, f: u32, g: u32): u32 { return g ^ (e & (f ^ g)); }
@inline function maj(a: u32, b: u32, c: u32): u32 { return (a & b) | (c & (a | b)); }
`,
    };
  }
  // v128 has no lane rotate: shr_u | shl. Ch and Maj are one and two bitselects.
  const rot = (x, n) => `v128.or(i32x4.shr_u(${x}, ${n}), i32x4.shl(${x}, ${32 - n}))`;
  return {
    T: 'v128',
    slot: 16,
    add: (...xs) => xs.reduce((l, r) => `i32x4.add(${l}, ${r})`),
    konst: (k) => `i32x4.splat(${hex(k)})`,
    load: (p, i) => `v128.load(${p}, ${i * 16})`,
    store: (p, i, v) => `v128.store(${p}, ${v}, ${i * 16})`,
    helpers: `@inline function bsig0(x: v128): v128 { return v128.xor(v128.xor(${rot('x', 2)}, ${rot('x', 13)}), ${rot('x', 22)}); }
@inline function bsig1(x: v128): v128 { return v128.xor(v128.xor(${rot('x', 6)}, ${rot('x', 11)}), ${rot('x', 25)}); }
@inline function ssig0(x: v128): v128 { return v128.xor(v128.xor(${rot('x', 7)}, ${rot('x', 18)}), i32x4.shr_u(x, 3)); }
@inline function ssig1(x: v128): v128 { return v128.xor(v128.xor(${rot('x', 17)}, ${rot('x', 19)}), i32x4.shr_u(x, 10)); }
@inline function ch(e: v128, f: v128, g: v128): v128 { return v128.bitselect(f, g, e); }
@inline function maj(a: v128, b: v128, c: v128): v128 { return v128.bitselect(a, b, v128.xor(b, c)); }
`,
  };
}

function round(f, _t, wk) {
  return (
    `  t1 = ${f.add('h', 'bsig1(e)', 'ch(e, f, g)', wk)}; t2 = ${f.add('bsig0(a)', 'maj(a, b, c)')};\n` +
    `  h = g; g = f; f = e; e = ${f.add('d', 't1')}; d = c; c = b; b = a; a = ${f.add('t1', 't2')};\n`
  );
}

function enter(f, ptr) {
  return `  let ${STATE.map((s, i) => `${s} = ${f.load(ptr, i)}`).join(', ')};\n  let t1: ${f.T}, t2: ${f.T};\n`;
}

function feedForward(f) {
  return STATE.map((s, i) => `  ${f.store('out', i, f.add(s, f.load('st0', i)))};\n`).join('');
}

function blockFrom(f) {
  let s = `export function blockFrom(from: i32, st0: usize, stFrom: usize, words: usize, out: usize): void {\n`;
  for (let i = 0; i < 16; i++) s += `  let w${i} = ${f.load('words', i)};\n`;
  s += enter(f, 'stFrom');
  s += `  switch (from) {\n`;
  for (let t = 0; t < 64; t++) {
    const w = `w${t & 15}`;
    if (t < 16) s += `    case ${t}:\n`;
    if (t === 16) s += `  }\n`;
    if (t >= 16) s += `  ${w} = ${f.add(w, `ssig1(w${(t - 2) & 15})`, `w${(t - 7) & 15}`, `ssig0(w${(t - 15) & 15})`)};\n`;
    s += round(f, t, f.add(f.konst(K[t]), w));
  }
  return `${s + feedForward(f)}}\n`;
}

function blockVariant(f, j) {
  const dyn = dynamicWords(j);
  let s = `export function block${j}(st0: usize, stJ: usize, words: usize, tab: usize, out: usize): void {\n`;
  s += enter(f, 'stJ');
  for (let i = j; i < 16; i++) if (dyn[i]) s += `  let w${i} = ${f.load('words', i)};\n`;
  for (let t = j; t < 64; t++) {
    if (t >= 16 && dyn[t]) {
      const deps = [
        [t - 2, 'ssig1'],
        [t - 7, ''],
        [t - 15, 'ssig0'],
        [t - 16, ''],
      ];
      const terms = deps.filter(([x]) => dyn[x]).map(([x, fn]) => (fn ? `${fn}(w${x})` : `w${x}`));
      if (deps.some(([x]) => !dyn[x])) terms.unshift(f.load('tab', 64 + t));
      s += `  let w${t} = ${f.add(...terms)};\n`;
    }
    s += round(f, t, dyn[t] ? f.add(f.konst(K[t]), `w${t}`) : f.load('tab', t));
  }
  return `${s + feedForward(f)}}\n`;
}

function blockConstant(f) {
  let s = `export function blockConstant(st0: usize, tab: usize, out: usize): void {\n`;
  s += enter(f, 'st0');
  for (let t = 0; t < 64; t++) s += round(f, t, f.load('tab', t));
  return `${s + feedForward(f)}}\n`;
}

function dispatch() {
  let s = `export function blockVariant(j: i32, st0: usize, stJ: usize, words: usize, tab: usize, out: usize): void {\n  switch (j) {\n`;
  for (let j = 0; j < 16; j++) s += `    case ${j}: block${j}(st0, stJ, words, tab, out); return;\n`;
  return `${s}  }\n}\n`;
}

function generate(kind) {
  const f = flavour(kind);
  let s = `// Generated by workers/assembly/generate.mjs; do not edit.\n`;
  s += `// SHA-256 block functions over ${kind === 'u32' ? 'u32 (one message)' : 'v128 (four messages, one per i32x4 lane)'}.\n`;
  s += `// Table layout (slots of ${f.slot} bytes): KW[t] = K[t] + W[t] at slot t, PART[t] at slot 64 + t.\n\n`;
  s += `${f.helpers}\n`;
  s += `${blockFrom(f)}\n`;
  for (let j = 0; j < 16; j++) s += `${blockVariant(f, j)}\n`;
  s += `${blockConstant(f)}\n`;
  s += dispatch();
  return s;
}

function writeIfChanged(path, text) {
  let old;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    old = undefined;
  }
  if (old !== text) writeFileSync(path, text);
}

/** Writes generated/blocks-u32.ts and generated/blocks-v128.ts next to this file. */
export function writeGenerated() {
  const out = join(here, 'generated');
  mkdirSync(out, { recursive: true });
  writeIfChanged(join(out, 'blocks-u32.ts'), generate('u32'));
  writeIfChanged(join(out, 'blocks-v128.ts'), generate('v128'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeGenerated();
