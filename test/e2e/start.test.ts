/**
 * `npm start` and the `jbc-ts` bin as a user and a process manager run them:
 * real npm, real child processes, real signals.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { closeAll, http, trackedTempDir, waitFor } from './helpers/nodes.js';
import { alive, collectLines, exited, freePorts, killAll, portFree, processTree, spawnTracked } from './helpers/processes.js';

afterEach(async () => {
  await killAll();
  await closeAll();
});

const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

describe('npm start', () => {
  it('stops the node, and frees its port, when a process manager sends SIGTERM to npm', async () => {
    const [port] = await freePorts(1);
    const dataDir = await trackedTempDir();
    const npm = spawnTracked('npm', ['start', '--', '--port', String(port), '--no-mine', '--peers', '', '--data-dir', dataDir], {
      cwd: packageRoot(),
      stdio: 'ignore',
    });
    const code = exited(npm);
    const status = await waitFor('the node to answer /status', async () => {
      try {
        // 503 while it opens its data directory; 200 from then on.
        const answer = await http(`http://127.0.0.1:${port}/status`);
        return answer.status === 200 ? answer : undefined;
      } catch {
        return undefined;
      }
    });
    expect(status.status).toBe(200);
    const tree = processTree(npm.pid!);
    expect(tree.length).toBeGreaterThan(1); // npm and the node under it

    npm.kill('SIGTERM');
    expect(await code).toBe(0);
    await waitFor(`port ${port} to be freed`, () => portFree(port));
    await waitFor('every process npm started to be gone', () => tree.every((pid) => !alive(pid)));
  });

  it('stops cleanly on a terminal Ctrl-C, which reaches the node both directly and through npm', async () => {
    const [port] = await freePorts(1);
    const dataDir = await trackedTempDir();
    // A mining node (at a difficulty no search reaches) takes a while to close,
    // long enough for npm's forwarded copy of the signal to arrive meanwhile.
    const npm = spawnTracked('npm', ['start', '--', '--port', String(port), '--workers', '1', '--difficulty', '64', '--peers', '', '--data-dir', dataDir], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true, // its own process group, as a shell gives a foreground job
    });
    const code = exited(npm);
    const lines = collectLines(npm.stdout!);
    await waitFor('the node to be ready and mining', () => lines.some((line) => line.includes('"node ready"') && line.includes('"mining":true')));
    processTree(npm.pid!); // for killAll, should the test fail

    process.kill(-npm.pid!, 'SIGINT'); // what the terminal does: the whole foreground group
    expect(await code).toBe(0);
    expect(lines.some((line) => line.includes('"node stopped"'))).toBe(true);
    await waitFor(`port ${port} to be freed`, () => portFree(port));
  });
});

describe('the jbc-ts bin', () => {
  it('is declared in package.json and prints the package version for --version', () => {
    expect(manifest.bin['jbc-ts']).toBeDefined();
    const result = spawnSync(process.execPath, [join(packageRoot(), manifest.bin['jbc-ts']!), '--version'], {
      cwd: packageRoot(),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${manifest.version}\n`);
  });
});
