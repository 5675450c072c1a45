/**
 * A node's sync as a user sees it: readiness routes, a startup bounded by its
 * deadline, downloads that go on in the background, periodic sync, and a peer
 * list that a flood of URLs cannot take over.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { createNode } from '../../src/node/index.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { hashesOf, mineChain, workFork } from '../helpers/fixtures.js';
import { apiPeer, emptyNodePeer, gatedApiPeer, hungPeer } from './helpers/fake-peers.js';
import { freePorts } from './helpers/processes.js';
import { loadFixtures, writeDataDir, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, postJson, startTestNode, testLogger, track, trackedTempDir, waitFor } from './helpers/nodes.js';

let f: ChainFixtures;
let long: Block[];
beforeAll(async () => {
  f = await loadFixtures();
  long = mineChain(40, 2, { tag: 'long' });
});
afterEach(closeAll);

describe('readiness', () => {
  it('answers /healthz at once, and /readyz 503 with status.syncing true until the startup sync is done', async () => {
    const peer = track(await gatedApiPeer([...long], 10));
    const [port] = await freePorts(1);
    const node = createNode(
      {
        port,
        difficulty: 2,
        mine: false,
        peers: [peer.url],
        dataDir: await trackedTempDir(),
        syncPageSize: 5,
        syncBatchSize: 5,
        peerTimeoutMs: 60_000,
      },
      { logger: testLogger('node') },
    );
    track(node);
    const started = node.start();
    const url = `http://127.0.0.1:${port}/`;
    await waitFor('the server to listen', async () => (await http(`${url}healthz`).catch(() => undefined))?.status === 200);
    await waitFor('the download to reach the held page', () => peer.held() > 0);
    const readyz = await http(`${url}readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.json).toMatchObject({ ready: false });
    const status = (await http(`${url}status`)).json;
    expect(status).toMatchObject({ syncing: true, sync: { peer: peer.url, height: 9, target: 39 } });

    peer.release();
    await started;
    expect((await http(`${url}readyz`)).status).toBe(200);
    expect((await http(`${url}status`)).json).toMatchObject({ syncing: false, sync: null, length: 40 });
  });

  it('is ready by the startup deadline with a slow peer, and the download goes on in the background', async () => {
    const peer = track(await gatedApiPeer([...long], 10));
    const node = await startTestNode({ peers: [peer.url], syncPageSize: 5, syncBatchSize: 5, syncTimeoutMs: 300, peerTimeoutMs: 60_000 });
    // Ready while the peer still holds pages back: startup did not wait for the whole download.
    expect(peer.held()).toBeGreaterThan(0);
    expect(node.chain().length).toBe(10);
    expect(node.status()).toMatchObject({ syncing: false });
    expect((await http(`${node.url}readyz`)).status).toBe(200);
    peer.release();
    await waitFor('the background download to finish', () => node.chain().length === 40);
    expect(hashesOf(node.chain())).toEqual(hashesOf(long));
  });
});

describe('periodic sync', () => {
  it('catches up within one interval from a peer that started after it', async () => {
    const [port] = await freePorts(1);
    const follower = await startTestNode({ peers: [`http://127.0.0.1:${port}/`], syncIntervalMs: 200 }, {}, 'follower');
    expect(follower.chain().length).toBe(0);
    const dataDir = await trackedTempDir();
    await writeDataDir(dataDir, f.main);
    await startTestNode({ port, dataDir }, {}, 'late');
    await waitFor('the follower to catch up', () => follower.chain().length === 12);
    expect(hashesOf(follower.chain())).toEqual(hashesOf(f.main));
  });

  it('syncs again from a known peer that is posted to /peers again', async () => {
    const blocks = f.main.slice(0, 5);
    const peer = track(await apiPeer(blocks));
    const node = await startTestNode({ peers: [peer.url], syncIntervalMs: 0 });
    expect(node.chain().length).toBe(5);
    blocks.push(...f.main.slice(5));
    const answer = await postJson(`${node.url}peers`, { url: peer.url });
    expect(answer.json).toMatchObject({ added: false, reason: 'known' });
    await waitFor('the re-announced peer to be synced from', () => node.chain().length === 12);
  });
});

describe('sync with a target block time', () => {
  const rule = { difficulty: 0, targetBlockTimeMs: 2000 };

  async function nodeOn(blocks: readonly Block[], peers: string[] = []) {
    const dataDir = await trackedTempDir();
    await writeDataDir(dataDir, blocks);
    return startTestNode({ dataDir, peers, ...rule });
  }

  it("adopts a peer's chain with fewer blocks and more work at startup, and asks /status for its work", async () => {
    const { prefix, heavy, light } = workFork(rule);
    const peer = await nodeOn([...prefix, ...heavy]);
    const node = await nodeOn([...prefix, ...light], [peer.url]);
    await waitFor('the node to switch to the heavier chain', () => node.chain().tip?.hash === heavy.at(-1)!.hash);
    expect(hashesOf(node.chain())).toEqual(hashesOf([...prefix, ...heavy]));
    expect((await http(`${node.url}status`)).json.work).toBe((await http(`${peer.url}status`)).json.work);
  });

  it("keeps its own chain when a peer's is longer with less work", async () => {
    const { prefix, heavy, light } = workFork(rule);
    const peer = await nodeOn([...prefix, ...light]);
    const node = await nodeOn([...prefix, ...heavy], [peer.url]);
    // The peer answered /status (it is listed reachable) and the sync is over.
    await waitFor('the peer to be asked', async () => (await http(`${node.url}peers?verbose=1`)).json.peers?.[0]?.reachable === true);
    await waitFor('the startup sync to end', async () => (await http(`${node.url}readyz`)).status === 200);
    expect(light.length).toBeGreaterThan(heavy.length);
    expect(hashesOf(node.chain())).toEqual(hashesOf([...prefix, ...heavy]));
  });
});

describe('peers with state', () => {
  it('shows each peer with its state, and removes one on DELETE /peers', async () => {
    const peer = track(await apiPeer(f.main));
    const node = await startTestNode({ peers: [peer.url] });
    const verbose = await http(`${node.url}peers?verbose=1`);
    expect(verbose.json).toEqual({
      peers: [
        {
          url: peer.url,
          source: 'config',
          reachable: true,
          lastSeen: expect.any(Number),
          height: 11,
          failures: 0,
          lastUseful: expect.any(Number),
        },
      ],
    });
    expect((await http(`${node.url}peers`)).json).toEqual({ peers: [peer.url] });
    const removed = await http(`${node.url}peers?url=${encodeURIComponent(peer.url)}`, { method: 'DELETE' });
    expect(removed.json).toEqual({ removed: true, peers: [] });
    expect((await http(`${node.url}peers?url=${encodeURIComponent(peer.url)}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('a flood of URLs that answer but never help cannot push out the command-line peer or a peer that helped', async () => {
    const configured = track(await apiPeer(f.main));
    const flood = track(await emptyNodePeer());
    const helpful = track(await apiPeer(f.fork));
    const node = await startTestNode({ peers: [configured.url], maxPeers: 4, syncIntervalMs: 0 });
    const post = (url: string) => postJson(`${node.url}peers`, { url });
    for (let i = 0; i < 10; i++) await post(`${flood.url}a${i}/`);
    await post(helpful.url);
    await waitFor('the helpful peer to be synced from', () => node.chain().length === 14);
    for (let i = 0; i < 32; i++) expect((await post(`${flood.url}b${i}/`)).json).toMatchObject({ added: true });
    const peers = (await http(`${node.url}peers`)).json.peers as string[];
    expect(peers).toHaveLength(4);
    expect(peers).toEqual(expect.arrayContaining([configured.url, helpful.url]));
  });
});

describe('stopping', () => {
  it('Ctrl-C during the startup sync stops the node cleanly: exit 0 after "node stopped"', async () => {
    const hung = track(await hungPeer());
    const dataDir = await trackedTempDir();
    const child = spawn(
      process.execPath,
      [distPath('src', 'cli.js'), '--port', '0', '--no-mine', '--peers', hung.url, '--difficulty', '2', '--data-dir', dataDir],
      { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const messages: string[] = [];
      const lines = createInterface({ input: child.stdout! });
      const starting = new Promise<void>((resolve) =>
        lines.on('line', (line) => {
          messages.push(String((JSON.parse(line) as { msg?: unknown }).msg));
          if (messages.at(-1) === 'node starting') resolve();
        }),
      );
      await starting;
      await waitFor('the sync to ask the hung peer', () => hung.requests.length > 0);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(messages).toContain('node stopped');
      expect(messages).not.toContain('node ready');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
