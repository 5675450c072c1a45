/**
 * The node's data directory as a user meets it on the command line: one
 * process per directory, the chain's difficulty recorded, the port checked
 * before the directory is touched, port 0 never sharing `chaindata/0`, and a
 * missing or damaged database refused in one line instead of a crash.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { generateChain } from '../../bench/chain-gen.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { openChainDb } from '../../src/store/index.js';
import { halfThePagesInUse } from '../helpers/fixtures.js';
import { freePorts } from './helpers/processes.js';
import { closeAll, http, trackedTempDir } from './helpers/nodes.js';

const cli = distPath('src', 'cli.js');
const running: ChildProcess[] = [];

afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
  await closeAll();
});

function runCli(args: string[], cwd = packageRoot()) {
  return spawnSync(process.execPath, [cli, '--no-mine', '--peers', '', ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
}

/** Starts the CLI and resolves with its URL once it logs "node ready". */
async function startCli(args: string[], cwd = packageRoot()): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, '--no-mine', '--peers', '', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; url?: string };
      if (record.msg === 'node ready') resolve(String(record.url));
    });
  });
  return { child, url };
}

/** Every file below `dir` with its size and content hash: equal listings mean nothing was changed. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    // LMDB rewrites its reader table on any open, read-only ones included; it holds no chain data.
    if (path.endsWith('-lock')) continue;
    const bytes = await readFile(path);
    out.push(`${path.slice(dir.length)} ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`);
  }
  return out.sort();
}

async function chainDir(difficulty: number, blocks: number): Promise<string> {
  const dir = await trackedTempDir();
  const db = await openChainDb({ dir, difficulty });
  await db.commit(0n, [...generateChain(blocks, { difficulty })]);
  await db.close();
  return dir;
}

describe('the data directory on the command line', () => {
  it('refuses another --difficulty with exit 2, naming both, and changes nothing', async () => {
    const dir = await chainDir(1, 20);
    const before = await listing(dir);
    const result = runCli(['--port', '0', '--difficulty', '3', '--data-dir', dir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${dir} holds a difficulty-1 chain; start with --difficulty 1 or another --data-dir`);
    expect(result.stderr).toContain('--difficulty 3');
    expect(await listing(dir)).toEqual(before);
  });

  it('refuses another --target-block-time with exit 2, naming both rules, and changes nothing', async () => {
    const dir = await chainDir(1, 20);
    const before = await listing(dir);
    const result = runCli(['--port', '0', '--difficulty', '1', '--target-block-time', '2', '--data-dir', dir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `${dir} holds a chain with jbc's fixed difficulty (no target block time); start with --target-block-time 0 or another --data-dir (not --target-block-time 2)`,
    );
    expect(await listing(dir)).toEqual(before);
  });

  it('refuses a second node on a directory in use with exit 2, before reading or writing it', async () => {
    const dir = await chainDir(1, 20);
    const first = await startCli(['--port', '0', '--difficulty', '1', '--data-dir', dir]);
    const before = await listing(dir);
    const second = runCli(['--port', '0', '--difficulty', '1', '--data-dir', dir]);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/in use|locked/);
    expect(await listing(dir)).toEqual(before);
    // The first node is unharmed.
    expect((await http(`${first.url}status`)).json).toMatchObject({ length: 20 });
  });

  describe('a missing or damaged chain.mdb is refused with exit 2 and one line naming the file, never a crash', () => {
    /**
     * Runs the CLI until it exits, or until it says "node ready" (then it is
     * stopped, and `started` tells): a crash shows as its signal.
     */
    const runToEnd = (dir: string) =>
      new Promise<{ status: number | null; signal: NodeJS.Signals | null; started: boolean; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, '--no-mine', '--peers', '', '--port', '0', '--difficulty', '1', '--data-dir', dir], {
          cwd: packageRoot(),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        running.push(child);
        let started = false;
        let stdout = '';
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          stdout += `${line}\n`;
          if (line.includes('"node ready"')) {
            started = true;
            child.kill('SIGKILL');
          }
        });
        child.once('close', (status, signal) => resolve({ status, signal, started, stdout, stderr }));
      });

    const damages: Array<[string, (bytes: Buffer) => Buffer | undefined, string]> = [
      ['deleted', () => undefined, 'is missing but'],
      ['truncated to 0 bytes', () => Buffer.alloc(0), 'is empty but'],
      ['truncated to half the pages it uses', halfThePagesInUse, 'is damaged'],
      ['overwritten with random bytes', (bytes) => randomBytes(bytes.length), 'is damaged'],
    ];
    for (const [what, damage, says] of damages) {
      it(what, async () => {
        const dir = await chainDir(1, 62);
        const path = join(dir, 'chain.mdb');
        const damaged = damage(await readFile(path));
        if (damaged === undefined) await unlink(path);
        else await writeFile(path, damaged);
        const before = await listing(dir);
        const result = await runToEnd(dir);
        expect({ started: result.started, status: result.status, signal: result.signal }).toEqual({ started: false, status: 2, signal: null });
        const lines = result.stderr.split('\n').filter((line) => line !== '');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`${path} ${says}`);
        const logged = result.stdout
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as { msg?: string; code?: string });
        expect(logged.find((record) => record.msg === 'node failed to start')?.code).toBe('STORE_CORRUPT');
        expect(await listing(dir)).toEqual(before);
      });
    }
  });

  it('checks the port before touching the data directory', async () => {
    const taken = createServer();
    const [port] = await freePorts(1);
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const dir = join(await trackedTempDir(), 'never-created');
      const result = runCli(['--port', String(port), '--difficulty', '1', '--data-dir', dir]);
      expect(result.status).toBe(2);
      expect(result.stderr).toBe(`jbc-ts: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
      expect(existsSync(dir)).toBe(false);
      // One log line with the reason, and no stack: the user's port, not the node, is at fault.
      const logged = result.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const failures = logged.filter((record) => record.level === 'error');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ msg: 'node failed to start', code: 'BAD_OPTION', reason: `cannot listen on 127.0.0.1:${port}: EADDRINUSE` });
      expect(failures[0]).not.toHaveProperty('err');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('with --port 0, keeps its chain in chaindata/<the port it got>, never in a shared chaindata/0', async () => {
    const cwd = await trackedTempDir();
    const { url } = await startCli(['--port', '0', '--difficulty', '1'], cwd);
    const port = new URL(url).port;
    expect((await stat(join(cwd, 'chaindata', port))).isDirectory()).toBe(true);
    expect(existsSync(join(cwd, 'chaindata', '0'))).toBe(false);
  });
});
