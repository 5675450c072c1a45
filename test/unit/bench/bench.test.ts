import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { benchEngine, parseBenchArgs } from '../../../bench/args.js';
import { loadWarning } from '../../../bench/machine.js';
import { benchHeader } from '../../../bench/measure.js';
import { availableEngineNames, defaultEngineName } from '../../../src/mining/index.js';
import { distPath } from '../../../src/paths.js';

describe('bench options', () => {
  it('--quick measures the default engine (native as its kernel here), wasm-simd and the baseline for 1 s, with fewer rounds and no range-size row', () => {
    const quick = parseBenchArgs(['--quick']);
    expect(quick.engines).toEqual([...new Set([benchEngine(defaultEngineName()), 'wasm-simd', 'hash-wasm-baseline'])]);
    expect(quick).toMatchObject({ seconds: 1, quick: true, rangeOverhead: false, cancelRounds: 10, handoverRounds: 10 });
    const full = parseBenchArgs([]);
    expect(full).toMatchObject({ seconds: 5, quick: false, rangeOverhead: true, cancelRounds: 20, native: true });
    // Every engine this machine runs, each native kernel on its own row.
    expect(full.engines).toEqual(availableEngineNames().filter((name) => name !== 'native'));
  });

  it('--quick keeps explicit --engines and --seconds', () => {
    expect(parseBenchArgs(['--quick', '--engines', 'node-crypto', '--seconds', '2'])).toMatchObject({ engines: ['node-crypto'], seconds: 2 });
  });

  it('--no-native turns the native row off', () => {
    expect(parseBenchArgs(['--no-native']).native).toBe(false);
  });

  it('a bad option is one line naming it', () => {
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/^--frobnicate is not an option \(see --help\)$/);
    expect(() => parseBenchArgs(['--seconds'])).toThrow(/^--seconds needs a value$/);
  });
});

describe('bench load warning', () => {
  it('warns only when the load average exceeds the cores, at the start or the end', () => {
    expect(loadWarning(2, [1.9, 2])).toBeUndefined();
    expect(loadWarning(2, [0.5, 2.4])).toMatch(/load average 2.4 on 2 cores/);
  });
});

describe('bench header', () => {
  it('reports the prefix the bench really hashes, with its UTF-8 length', () => {
    const header = benchHeader();
    expect(header.prefixBytes).toBe(Buffer.byteLength(header.prefix));
    expect(header.prefix.startsWith('1000')).toBe(true);
  });
});

describe('the other bench scripts', () => {
  it.each([
    ['node-bench', 'bench:node'],
    ['chain-bench', 'bench:chain'],
    ['pool-bench', 'bench:pool'],
    ['hostile-peer', 'bench:hostile'],
    ['hung-peers', 'bench:hung'],
  ])('%s: a bad option is one line naming it, and exit status 2', (script, name) => {
    const result = spawnSync(process.execPath, [distPath('bench', `${script}.js`), '--frobnicate'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${name}: --frobnicate is not an option\n`);
    expect(result.stdout).toBe('');
  });
});
