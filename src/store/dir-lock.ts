/**
 * One process per data directory. The lock is a file, `<dir>/LOCK`, holding
 * the owner's pid and created atomically (link(2) fails when it exists). It is taken before anything else
 * in the directory is read or written.
 *
 * A process killed with -9 cannot remove its lock file, so a lock whose pid
 * is no longer running is stale and taken over. (`process.kill(pid, 0)` only
 * asks whether the pid exists.) Limits, accepted for a node one runs by hand:
 * a stale pid reused by an unrelated process reads as "locked" (the message
 * names the pid and the file to delete), and two processes starting at the
 * same instant on a directory whose holder died could both take over.
 */
import { randomBytes } from 'node:crypto';
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
        await writeFile(temp, `${process.pid}\n`, { flag: 'wx' });
        await link(temp, path);
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new JbcError(ErrorCode.STORE_IO, `cannot lock data directory ${dir}: ${describeError(err)}`, { dir }, { cause: err });
        }
      } finally {
        await unlink(temp).catch(() => {});
      }
      const holder = await readHolder(path);
      if (attempt > 0 || holder === undefined || isRunning(holder)) {
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

async function readHolder(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
