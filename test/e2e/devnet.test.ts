/**
 * `npm run devnet` as a user runs it: real npm, real node processes on
 * consecutive ports, stopped by one SIGTERM.
 */
import { cp } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { FIXTURES } from './helpers/fixtures.js';
import { closeAll, http, track, trackedTempDir, waitFor } from './helpers/nodes.js';
import { alive, collectLines, exited, freePortRange, killAll, portFree, processTree, spawnTracked } from './helpers/processes.js';

afterEach(async () => {
  await killAll();
  await closeAll();
});

describe('npm run devnet', () => {
  it('starts peered nodes that converge on one chain, prefixes their logs, and stops them all on SIGTERM', async () => {
    const nodes = 3;
    const base = await freePortRange(nodes);
    const ports = Array.from({ length: nodes }, (_, i) => base + i);
    const dataRoot = await trackedTempDir();
    // Only the first node has blocks (the article's chain, as jbc writes it); no node mines.
    await cp(join(FIXTURES, 'jbc-chaindata'), join(dataRoot, String(base)), { recursive: true });

    const npm = spawnTracked(
      'npm',
      ['run', '--silent', 'devnet', '--', '--nodes', String(nodes), '--base-port', String(base), '--data-root', dataRoot, '--no-mine'],
      {
        cwd: packageRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const code = exited(npm);
    const out = collectLines(npm.stdout!);

    const tips = await waitFor('every node to answer with the same 4-block chain', async () => {
      const answers = await Promise.all(ports.map((port) => http(`http://127.0.0.1:${port}/status`).catch(() => undefined)));
      const hashes = answers.map((a) => (a?.json?.height === 3 ? (a.json.tip.hash as string) : undefined));
      return hashes.every((h) => h !== undefined && h === hashes[0]) ? hashes : undefined;
    });
    expect(new Set(tips).size).toBe(1);
    // Each node has the others, and only the others, as peers.
    for (const port of ports) {
      const { json } = await http(`http://127.0.0.1:${port}/peers`);
      const peerPorts = (json.peers as string[]).map((url) => Number(new URL(url).port)).sort();
      expect(peerPorts).toEqual(ports.filter((p) => p !== port));
    }
    await waitFor('the "nodes up" line', () => out.some((line) => line.startsWith('[devnet]') && line.includes(`127.0.0.1:${base + 2}/`)));
    for (const port of ports) expect(out.some((line) => line.startsWith(`[${port}] `))).toBe(true);

    const tree = processTree(npm.pid!);
    expect(tree.length).toBeGreaterThan(nodes); // npm, devnet, and the nodes under it
    npm.kill('SIGTERM');
    expect(await code).toBe(0);
    for (const port of ports) await waitFor(`port ${port} to be freed`, () => portFree(port));
    await waitFor('every devnet process to be gone', () => tree.every((pid) => !alive(pid)));
  });

  it('stops the nodes it started and exits 1 when one node cannot start (its port is taken)', async () => {
    const base = await freePortRange(2);
    // Something else answers on the second port (every request: 404), so the first node's sync skips it at once.
    const squatter = track(await listenHttp(base + 1));
    const dataRoot = await trackedTempDir();
    const npm = spawnTracked('npm', ['run', '--silent', 'devnet', '--', '--nodes', '2', '--base-port', String(base), '--data-root', dataRoot, '--no-mine'], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collectLines(npm.stdout!);
    expect(await exited(npm)).toBe(1);
    expect(out.some((line) => line.startsWith('[devnet]') && line.includes(`node ${base + 1} exited (2)`))).toBe(true);
    await waitFor(`port ${base} to be freed`, () => portFree(base));
    await squatter.close();
  });
});

/** An HTTP server on 127.0.0.1:port that answers 404 to everything. */
async function listenHttp(port: number): Promise<{ close(): Promise<void> }> {
  const server = createServer((_, res) => res.writeHead(404).end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  let closed = false;
  return {
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
