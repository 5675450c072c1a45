/** Runs test/e2e/helpers/store-child.mjs and follows its stdout line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTracked } from './processes.js';

const CHILD = fileURLToPath(new URL('./store-child.mjs', import.meta.url));

export interface StoreChild {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line that passes `test`; rejects if the child exits first. */
  waitFor(test: (line: string) => boolean): Promise<string>;
  /** kill -9, resolved once the process is gone. */
  kill9(): Promise<void>;
  /** Everything the child wrote to stderr. */
  stderr(): string;
}

export function startStoreChild(args: readonly string[]): StoreChild {
  return follow(spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * The store child under a parent that never reaps it, so once killed it stays
 * a zombie: sh starts it in the background, prints its pid, and execs sleep,
 * which never waits. `parent` is that sh (killAll ends it and the child);
 * the child's pid is the parent's first stdout line.
 */
export function startUnreapedStoreChild(args: readonly string[]): { parent: StoreChild; pid: Promise<number> } {
  const command = `${quote(process.execPath)} ${[CHILD, ...args].map(quote).join(' ')} & echo "pid $!"; exec sleep infinity`;
  const parent = follow(spawnTracked('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return { parent, pid: parent.waitFor((l) => l.startsWith('pid ')).then((l) => Number(l.slice(4))) };
}

const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

function follow(child: ChildProcess): StoreChild {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    for (const waiter of waiters) {
      if (waiter.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  return {
    process: child,
    waitFor: (test) =>
      new Promise((resolve, reject) => {
        waiters.add({ test, resolve });
        void exited.then(() => reject(new Error(`store child exited (code ${child.exitCode}) before the line; stderr: ${stderr}`)));
      }),
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => stderr,
  };
}
