/**
 * One process per data directory. The lock is a file, `<dir>/LOCK`, holding
 * the owner's pid and created atomically (link(2) fails when it exists). It is taken before anything else
 * in the directory is read or written.
 *
 * A process killed with -9 cannot remove its lock file, so a lock whose
 * holder no longer runs is stale and taken over. Node has no flock(2) (the
 * lock the kernel drops with its holder, as LevelDB and SQLite use), and
 * the lmdb package exposes none, so the holder is looked for instead. Where
 * Linux's /proc is there, the file also records the machine's boot id, the
 * process's start time and its executable, and the pid holds the lock only
 * while all of these hold:
 *   - a process with this pid exists and has not exited: a zombie (state Z,
 *     killed but not yet reaped by its parent, which a daemonised node's
 *     parent or a container's PID 1 may never do) or a dead one (X) does not
 *     hold it;
 *   - it is the same process: same boot, same start time (a pid handed since
 *     to another process, after a reboot or in a container that restarts its
 *     node with the same pid, is not the holder);
 *   - it still runs the executable that took the lock (one that exec'd
 *     something else keeps its pid and start time but is no node).
 * What cannot be read (another user's process hides its executable) counts
 * as holding: a lock is never taken from a process that may still run.
 * Elsewhere only the pid is asked about (`process.kill(pid, 0)`), and a
 * reused pid or a zombie reads as "locked" (the message names the pid and
 * the file to delete). Two processes starting at the same instant on a
 * directory whose holder died could both take over.
 *
 * A LOCK that is not such a file (a directory, or a file without a pid on
 * its first line) was not written by this lock, which never lets LOCK exist
 * without its pid; it may be another program's (LevelDB's LOCK is an empty
 * file), so it is refused with DATA_DIR_LOCKED naming the file and what is
 * wrong with it, never deleted.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, ErrorCode, JbcError } from '../errors.js';

export const LOCK_FILE = 'LOCK';

/** What LOCK holds: its holder, nothing any more (released since), or something this lock never writes. */
type LockContent =
  | { readonly kind: 'holder'; readonly pid: number; readonly identity: string | undefined; readonly exe: string | undefined }
  | { readonly kind: 'gone' }
  | { readonly kind: 'invalid'; readonly problem: string };

export class DirLock {
  readonly path: string;
  #released = false;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Takes the lock on `dir` (which must exist); throws DATA_DIR_LOCKED when a
   * live process holds it, or when LOCK is not a lock file (the message says
   * what it is).
   */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE);
    let tookOver = false;
    for (let attempt = 0; ; attempt++) {
      // Written aside and hard-linked into place, so LOCK never exists without its pid.
      const temp = join(dir, `.${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        const self = procInfo(process.pid);
        await writeFile(temp, `${process.pid}\n${self?.identity ?? ''}\n${self?.exe ?? ''}\n`, { flag: 'wx' });
        await link(temp, path);
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new JbcError(ErrorCode.STORE_IO, `cannot lock data directory ${dir}: ${describeError(err)}`, { dir }, { cause: err });
        }
      } finally {
        await unlink(temp).catch(() => {});
      }
      const content = await readLock(path);
      if (content.kind === 'invalid') {
        throw new JbcError(
          ErrorCode.DATA_DIR_LOCKED,
          `data directory ${dir} cannot be locked: ${path} ${content.problem}, not a jbc-ts lock; ` + `if no other program uses this directory, delete ${path}`,
          { dir, pid: null },
        );
      }
      // Released between the link and the read: try again, a few times at most (another process may be taking it).
      if (content.kind === 'gone' && attempt < 5) continue;
      const holder = content.kind === 'holder' ? content.pid : undefined;
      if (content.kind === 'gone' || tookOver || isHolding(content)) {
        throw new JbcError(
          ErrorCode.DATA_DIR_LOCKED,
          `data directory ${dir} is in use by another process${holder === undefined ? '' : ` (pid ${holder})`}; ` +
            `stop it or use another --data-dir (if no such process runs, delete ${path})`,
          { dir, pid: holder ?? null },
        );
      }
      try {
        await unlink(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new JbcError(ErrorCode.STORE_IO, `cannot remove stale lock ${path}: ${describeError(err)}`, { dir }, { cause: err });
        }
      }
      tookOver = true;
    }
  }

  /** Removes the lock file; idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      await unlink(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new JbcError(ErrorCode.STORE_IO, `cannot remove lock ${this.path}: ${describeError(err)}`, {}, { cause: err });
      }
    }
  }
}

async function readLock(path: string): Promise<LockContent> {
  let text: string;
  try {
    // stat first: reading a FIFO someone left as LOCK would never return.
    const info = await stat(path);
    if (info.isDirectory()) return { kind: 'invalid', problem: 'is a directory' };
    if (!info.isFile()) return { kind: 'invalid', problem: 'is not a regular file' };
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw new JbcError(ErrorCode.STORE_IO, `cannot read lock ${path}: ${describeError(err)}`, {}, { cause: err });
  }
  if (text === '') return { kind: 'invalid', problem: 'is empty' };
  const [first = '', second = '', third = ''] = text.split('\n');
  const pid = /^\d+$/.test(first.trim()) ? Number(first.trim()) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    return { kind: 'invalid', problem: `holds no pid on its first line (${JSON.stringify(first.slice(0, 40))})` };
  }
  return { kind: 'holder', pid, identity: second.trim() || undefined, exe: third.trim() || undefined };
}

/**
 * True when the process that wrote the lock may still run it (the rule is in
 * the comment at the top of this file). EPERM from kill(0): the process
 * exists but belongs to someone else.
 */
function isHolding(holder: { readonly pid: number; readonly identity: string | undefined; readonly exe: string | undefined }): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procInfo(holder.pid);
  if (now === undefined) return true;
  if (now.state === 'Z' || now.state === 'X') return false;
  if (holder.identity !== undefined && now.identity !== holder.identity) return false;
  return holder.exe === undefined || now.exe === undefined || now.exe === holder.exe;
}

/**
 * Process `pid` as Linux's /proc shows it: its state letter, its identity
 * (boot id and start time) and its executable (undefined where it cannot be
 * read); undefined where there is no /proc, or no such process.
 */
function procInfo(pid: number): { state: string; identity: string; exe: string | undefined } | undefined {
  let boot: string;
  let statLine: string;
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    statLine = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: the state is the 1st, the start time the 20th.
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  if (state === undefined || start === undefined) return undefined;
  let exe: string | undefined;
  try {
    // A binary replaced on disk (node upgraded under a running holder) reads "<path> (deleted)": still the same program.
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    exe = undefined;
  }
  return { state, identity: `${boot} ${start}`, exe };
}
