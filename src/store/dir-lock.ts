/**
 * One process per data directory. The lock is a file, `<dir>/LOCK`, holding
 * the owner's pid and created atomically (link(2) fails when it exists). It is taken before anything else
 * in the directory is read or written.
 *
 * A process killed with -9 cannot remove its lock file, so a lock whose
 * holder no longer runs is stale and taken over. Where Linux's /proc is
 * there, the file also records the machine's boot id and the process's start
 * time, so a pid handed since to another process (after a reboot, or in a
 * container that restarts its node with the same pid) is not taken for the
 * holder. Elsewhere only the pid is asked about (`process.kill(pid, 0)`),
 * and a reused pid reads as "locked" (the message names the pid and the file
 * to delete). Two processes starting at the same instant on a directory
 * whose holder died could both take over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, ErrorCode, JbcError } from '../errors.js';

export const LOCK_FILE = 'LOCK';

export class DirLock {
  readonly path: string;
  #released = false;

  private constructor(path: string) {
    this.path = path;
  }

  /** Takes the lock on `dir` (which must exist); throws DATA_DIR_LOCKED when a live process holds it. */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; ; attempt++) {
      // Written aside and hard-linked into place, so LOCK never exists without its pid.
      const temp = join(dir, `.${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await writeFile(temp, `${process.pid}\n${identity(process.pid) ?? ''}\n`, { flag: 'wx' });
        await link(temp, path);
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new JbcError(ErrorCode.STORE_IO, `cannot lock data directory ${dir}: ${describeError(err)}`, { dir }, { cause: err });
        }
      } finally {
        await unlink(temp).catch(() => {});
      }
      const { pid: holder, identity: recorded } = await readHolder(path);
      if (attempt > 0 || holder === undefined || isRunning(holder, recorded)) {
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

async function readHolder(path: string): Promise<{ pid: number | undefined; identity: string | undefined }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { pid: undefined, identity: undefined };
  }
  const [first = '', second = ''] = text.split('\n');
  const pid = Number(first.trim());
  return { pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined, identity: second.trim() || undefined };
}

/**
 * True when the process that wrote the lock still runs: a process with this
 * pid exists (EPERM: it exists but belongs to someone else) and, when both
 * are known, it is the same process (same boot, same start time).
 */
function isRunning(pid: number, recorded: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = identity(pid);
  return recorded === undefined || now === undefined || now === recorded;
}

/** The boot id and the start time of process `pid` (Linux's /proc), or undefined where they cannot be read. */
function identity(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: the start time is the 20th.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : `${boot} ${start}`;
  } catch {
    return undefined;
  }
}
