/**
 * Real child processes for the command-line tests: free ports, the process
 * tree under a pid, and a registry that `killAll()` (in afterEach) empties
 * so a failed test leaves no node running.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createInterface } from 'node:readline';

const children: ChildProcess[] = [];
const adopted: number[] = [];

/** Spawns a process that killAll() SIGKILLs (with everything under it) if the test did not stop it. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.push(child);
  return child;
}

/**
 * The process tree under `pid` as it is now, registered for killAll: a
 * process orphaned later (the failure a test looks for) is no longer found
 * under its old parent.
 */
export function processTree(pid: number): number[] {
  const tree = [pid, ...descendants(pid)];
  adopted.push(...tree);
  return tree;
}

export async function killAll(): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.pid === undefined) continue;
    for (const pid of [...descendants(child.pid), child.pid]) kill(pid, 'SIGKILL');
  }
  for (const pid of adopted.splice(0)) if (alive(pid)) kill(pid, 'SIGKILL');
}

/** Resolves with the exit code (or signal name) once the process has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
}

/** Every line the stream gives, as it arrives. */
export function collectLines(stream: NodeJS.ReadableStream): string[] {
  const lines: string[] = [];
  createInterface({ input: stream }).on('line', (line) => lines.push(line));
  return lines;
}

/** `count` TCP ports that were free a moment ago (the OS hands them out, so parallel tests do not collide). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The first of `count` consecutive ports that could all be bound a moment ago. */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const bound: Array<ReturnType<typeof createServer>> = [];
    try {
      for (let port = base; port < base + count; port++) {
        bound.push(
          await new Promise((resolve, reject) => {
            const server = createServer();
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve(server));
          }),
        );
      }
      return base;
    } catch {
      // One of them is taken: try elsewhere.
    } finally {
      await Promise.all(bound.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The pids of every living process under `pid` (children, their children …). */
export function descendants(pid: number): number[] {
  const result = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  const direct = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
  return direct.flatMap((child) => [child, ...descendants(child)]);
}

/** True while the process runs; an exited one its parent has not reaped yet (a zombie) counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (name) state …"; the name may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) is all there is
  }
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
