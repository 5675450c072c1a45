/** One process per data directory, with real processes: the node's store and the export command. */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateChain } from '../../bench/chain-gen.js';
import { ErrorCode } from '../../src/errors.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { DirLock, LOCK_FILE, openChainDb } from '../../src/store/index.js';
import { killAll, spawnTracked } from './helpers/processes.js';
import { startStoreChild, startUnreapedStoreChild, type StoreChild } from './helpers/store-process.js';

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
  await killAll();
  await rm(dir, { recursive: true, force: true });
  await rm(join(out, '..'), { recursive: true, force: true });
});

/** The state letter of process `pid` in /proc/<pid>/stat ("pid (name) state …"; the name may hold spaces), undefined once it is gone. */
function procState(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return line.slice(line.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/** Resolves once `test` passes, checking every few milliseconds: there is no event for another process's state. */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setTimeout(resolve, 5));
}

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

describe.skipIf(process.platform !== 'linux')('a holder that no longer runs', () => {
  it('a holder killed -9 that its parent never reaps (a zombie) holds nothing: the next open succeeds', async () => {
    const db = await openChainDb({ dir, difficulty: 1 });
    await db.commit(0n, [...generateChain(5)]);
    await db.close();

    const { parent, pid: childPid } = startUnreapedStoreChild(['hold', dir, '1']);
    const opened = parent.waitFor((line) => line === 'open');
    const pid = await childPid;
    await opened;
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED,
      message: expect.stringContaining(`pid ${pid}`),
    });

    process.kill(pid, 'SIGKILL');
    await until(() => procState(pid) === 'Z' || procState(pid) === undefined);
    expect(procState(pid)).toBe('Z');
    const again = await openChainDb({ dir, difficulty: 1 });
    expect(again.length).toBe(5);
    await again.close();
    expect(procState(pid)).toBe('Z');
  });

  it('a pid whose process runs another program than the one that took the lock holds nothing; running the same one, it holds', async () => {
    const sleeper = spawnTracked('sleep', ['infinity'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    await until(() => readlinkSync(`/proc/${pid}/exe`) !== readlinkSync('/proc/self/exe'));
    // The lock as that pid would have written it, had it been running this node: same boot, same start time, node's executable.
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const statLine = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[19];
    const path = join(dir, LOCK_FILE);

    await writeFile(path, `${pid}\n${boot} ${start}\n${readlinkSync(`/proc/${pid}/exe`)}\n`);
    await expect(DirLock.acquire(dir)).rejects.toMatchObject({ code: ErrorCode.DATA_DIR_LOCKED, message: expect.stringContaining(`pid ${pid}`) });

    await writeFile(path, `${pid}\n${boot} ${start}\n${readlinkSync('/proc/self/exe')}\n`);
    const lock = await DirLock.acquire(dir);
    expect((await readFile(path, 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await lock.release();
  });
});

describe('a LOCK that is not a lock file', () => {
  it.each([
    ['a directory', (path: string) => mkdir(path), 'is a directory'],
    ['an empty file', (path: string) => writeFile(path, ''), 'is empty'],
    ['a file without a pid', (path: string) => writeFile(path, 'hello\n'), 'holds no pid on its first line ("hello")'],
  ])('%s is refused with a message naming the file and what it is, and left in place', async (_, make, problem) => {
    const path = join(dir, LOCK_FILE);
    await make(path);
    const before = await stat(path);
    await expect(openChainDb({ dir, difficulty: 1 })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED,
      message: expect.stringContaining(`${path} ${problem}, not a jbc-ts lock`),
    });
    expect((await stat(path)).ino).toBe(before.ino);
    expect(await readdir(dir)).toEqual([LOCK_FILE]);
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
