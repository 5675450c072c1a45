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
import { closeAll, http, postJson, startTestNode, waitFor } from './helpers/nodes.js';
import { collectLines, exited, freePorts, killAll, spawnTracked } from './helpers/processes.js';

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
  await killAll();
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

/**
 * A node in a process of its own (the failure the pool test guards against
 * aborted the whole process), answering /status.
 */
async function startCliNode(dataDir: string) {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}/`;
  const node = spawnTracked(
    process.execPath,
    [distPath('src', 'cli.js'), '--port', String(port), '--no-mine', '--peers', '', '--difficulty', '1', '--data-dir', dataDir],
    { cwd: packageRoot(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr = collectLines(node.stderr!);
  const exit = exited(node);
  await waitFor('the node to answer /status', async () => (await http(`${url}status`).catch(() => undefined))?.status === 200);
  return { node, url, stderr, exit };
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

  it.skipIf(!canMount)(
    'a pool filling the disk through POST /data: STORE_IO answers, a node that keeps serving and loses nothing, and entries taken again once there is room',
    async () => {
      const disk = mkdtempSync(join(tmpdir(), 'jbc-full-pool-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
      mounted.push(disk);
      const { node, url, stderr, exit } = await startCliNode(join(disk, 'node'));
      const running = () => node.exitCode === null && node.signalCode === null;
      expect((await postJson(`${url}mined`, blockToJson(bigBlock(undefined, 100)))).json).toEqual({ received: true, accepted: true });
      const block0 = await http(`${url}blocks/0`);
      expect(block0.status).toBe(200);

      // Entries four at a time (so writes go in batches), of sizes that vary so that some write
      // starts right where the disk is full, until the disk has refused a good many of them.
      const accepted: string[] = [];
      const refused: string[] = [];
      for (let round = 0; refused.length < 20; round++) {
        expect(round, 'the disk never filled').toBeLessThan(1000);
        const datas = [0, 1, 2, 3].map((i) => `entry ${round}.${i} `.padEnd(500 + (((round * 4 + i) * 997) % 7000), 'x'));
        const answers = await Promise.all(datas.map((data) => postJson(`${url}data`, { data }).catch(() => undefined)));
        if (answers.includes(undefined)) expect.fail(`the node stopped answering, exit ${await exit}: ${stderr.join('\n')}`);
        answers.forEach((answer, i) => {
          if (answer!.status === 202) accepted.push(answer!.json.id);
          else {
            expect(answer!.status).toBe(500);
            expect(answer!.json.error.code).toBe('STORE_IO');
            refused.push(datas[i]!);
          }
        });
      }
      expect(accepted.length).toBeGreaterThan(0);

      // Still serving, and every entry it took is still there.
      expect(running()).toBe(true);
      expect((await http(`${url}status`)).status).toBe(200);
      expect(await http(`${url}blocks/0`)).toMatchObject({ status: 200, text: block0.text });
      expect((await http(`${url}data`)).json.pool.entries).toBe(accepted.length);
      for (const id of accepted) expect((await http(`${url}data/${id}`)).json).toMatchObject({ id, state: 'pending' });

      // Room again: what was refused is taken now.
      execFileSync('mount', ['-o', 'remount,size=64m', disk]);
      for (const data of refused) {
        const answer = await postJson(`${url}data`, { data });
        expect(answer.status).toBe(202);
        expect(answer.json).toMatchObject({ state: 'pending', added: true });
      }
      expect((await http(`${url}data`)).json.pool.entries).toBe(accepted.length + refused.length);
      expect(running()).toBe(true);

      // And the database holds them all when opened again.
      node.kill('SIGTERM');
      expect(await exit).toBe(0);
      const again = await startCliNode(join(disk, 'node'));
      expect((await http(`${again.url}data`)).json.pool.entries).toBe(accepted.length + refused.length);
      for (const id of accepted) expect((await http(`${again.url}data/${id}`)).json).toMatchObject({ id, state: 'pending' });
    },
  );

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
