/** One process per data directory, with real processes: the node's store and the export command. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateChain } from '../../bench/chain-gen.js';
import { ErrorCode } from '../../src/errors.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { openChainDb } from '../../src/store/index.js';
import { startStoreChild, type StoreChild } from './helpers/store-process.js';

let dir: string;
let out: string;
let holder: StoreChild | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-lock-'));
  out = join(await mkdtemp(join(tmpdir(), 'jbc-lock-out-')), 'export');
});
afterEach(async () => {
  await holder?.kill9();
  holder = undefined;
  await rm(dir, { recursive: true, force: true });
  await rm(join(out, '..'), { recursive: true, force: true });
});

function runExport(args: string[]) {
  return spawnSync(process.execPath, [distPath('src', 'export.js'), ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: 20_000 });
}

describe('the data directory lock across processes', () => {
  it('while a process holds the directory, a second one is refused; once it is killed -9, the next open succeeds', async () => {
    const db = await openChainDb({ dir, difficulty: 1 });
    await db.commit(0n, [...generateChain(5)]);
    await db.close();

    holder = startStoreChild(['hold', dir, '1']);
    await holder.waitFor((line) => line === 'open');
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED,
      message: expect.stringMatching(new RegExp(`${dir}.*pid ${holder.process.pid}`)),
    });
    const refused = runExport(['--data-dir', dir, '--out', out]);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(dir);
    await expect(readdir(out)).resolves.toEqual([]);

    await holder.kill9();
    const again = await openChainDb({ dir, difficulty: 1 });
    expect(again.length).toBe(5);
    await again.close();
  });
});

describe('the export command', () => {
  it('writes the chain of a data directory as jbc files and exits 0', async () => {
    const blocks = [...generateChain(12)];
    const db = await openChainDb({ dir, difficulty: 1 });
    await db.commit(0n, blocks);
    await db.close();
    const result = runExport(['--data-dir', dir, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect((await readdir(out)).filter((n) => n.endsWith('.json'))).toHaveLength(12);
  });

  it.each([
    [['--out', 'x'], '--data-dir is required'],
    [['--data-dir', 'x'], '--out is required'],
    [['--data-dir', 'x', '--out', 'y', '--frobnicate'], '--frobnicate is not an option (see --help)'],
    [['--data-dir'], '--data-dir needs a value'],
  ])('exits 2 with one line for %j', (args, line) => {
    const result = runExport(args);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(line);
    expect(result.stdout).toBe('');
  });
});
