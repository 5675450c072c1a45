/**
 * The native engine's build (workers/native/build.mjs, what `npm install`
 * runs): where it cannot compile, it still succeeds, says why, and
 * remembers the reason so the node can log it and mine with WebAssembly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNative } from '../../workers/native/build.mjs';
import { closeAll, trackedTempDir } from './helpers/nodes.js';

afterEach(closeAll);

describe('native engine build', () => {
  it('without a C compiler it fails softly: no addon, the reason written down, and no retry while nothing changed', async () => {
    const outDir = join(await trackedTempDir(), 'native');
    const env = { PATH: join(outDir, 'no-such-dir') };
    const first = buildNative({ force: true, outDir, env });
    expect(first).toEqual({ built: true, ok: false, reason: 'no C compiler (cc, gcc or clang) found' });
    expect(existsSync(join(outDir, 'jbc-native.node'))).toBe(false);
    expect(readFileSync(join(outDir, 'unavailable.txt'), 'utf8').trim()).toBe(first.reason);
    expect(buildNative({ outDir, env })).toEqual({ built: false, ok: false, reason: first.reason });
  });
});
