/**
 * A data directory that does not take writes — a real full disk and a real
 * read-only file system (small tmpfs mounts the test makes) — and one that
 * takes them again. Skipped, saying why, where the test cannot mount one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blockToJson, type Block } from '../../src/block.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { openChainDb } from '../../src/store/index.js';
import { mineBlock } from '../helpers/fixtures.js';
import { closeAll, http, postJson, startTestNode } from './helpers/nodes.js';

const mounted: string[] = [];

/** Whether this machine lets the test mount a tmpfs (root in a sandbox that allows it). */
function tmpfsMountable(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'jbc-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const canMount = tmpfsMountable();

afterEach(async () => {
  await closeAll();
  for (const dir of mounted.splice(0)) {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A valid block after `prev` with about `bytes` of data. */
function bigBlock(prev: Block | undefined, bytes: number): Block {
  const index = prev === undefined ? 0n : prev.index + 1n;
  return mineBlock({ index, prevHash: prev?.hash ?? '', data: `block ${index} `.padEnd(bytes, 'x'), timestamp: 1_700_000_000n + index }, 1);
}

describe('a data directory that does not take writes', () => {
  it.skipIf(!canMount)('reports the fault in /status and /readyz, leaves no temp files, and resumes by itself when the disk does', async () => {
    const disk = mkdtempSync(join(tmpdir(), 'jbc-full-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]);
    mounted.push(disk);
    const dataDir = join(disk, 'node');
    const node = await startTestNode({ dataDir, difficulty: 1 });

    // Fill the disk with big blocks until one cannot be stored.
    let prev: Block | undefined;
    let refused: Block | undefined;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      const block = bigBlock(prev, 200_000);
      const answer = await postJson(`${node.url}mined`, blockToJson(block));
      if (answer.status === 200) prev = block;
      else {
        expect(answer.status).toBe(500);
        refused = block;
      }
    }
    expect(refused).toBeDefined();
    const status = (await http(`${node.url}status`)).json;
    expect(status.storeFault).toMatchObject({ code: 'STORE_IO', message: expect.any(String), since: expect.any(Number) });
    const readyz = await http(`${node.url}readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.json.reason).toMatch(/refuses writes/);
    // Its own failed writes leave nothing behind to quarantine later.
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    // The disk gets room again: the next block is stored and the fault clears.
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    expect((await postJson(`${node.url}mined`, blockToJson(refused!))).json).toEqual({ received: true, accepted: true });
    expect((await http(`${node.url}status`)).json.storeFault).toBeNull();
    expect((await http(`${node.url}readyz`)).status).toBe(200);
  });

  it.skipIf(!canMount)('on a read-only file system, the node stops at start with one clear line and exit 1, touching nothing', async () => {
    const disk = mkdtempSync(join(tmpdir(), 'jbc-ro-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    mounted.push(disk);
    const dataDir = join(disk, 'node');
    const db = await openChainDb({ dir: dataDir, difficulty: 1 });
    await db.commit(0n, [bigBlock(undefined, 100)]);
    await db.close();
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const before = (await readdir(dataDir)).sort();
    const result = spawnSync(
      process.execPath,
      [distPath('src', 'cli.js'), '--port', '0', '--no-mine', '--peers', '', '--difficulty', '1', '--data-dir', dataDir],
      { cwd: packageRoot(), encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^jbc-ts: .*(read-only|EROFS)/i);
    expect((await readdir(dataDir)).sort()).toEqual(before);
  });
});
