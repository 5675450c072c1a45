/**
 * The data pool as users and peers meet it: submit, duplicate, full pool,
 * bad bodies, the round trip into a block mined by another node, the
 * entries of a peer's block that is abandoned, and an acknowledged entry
 * surviving kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, type Block } from '../../src/block.js';
import { ENTRIES_PREFIX, packBlockData, unpackBlockData } from '../../src/entries.js';
import { PEER_HEADER } from '../../src/node/index.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { mineBlock, mineChain } from '../helpers/fixtures.js';
import { apiPeer, plainJbcPeer } from './helpers/fake-peers.js';
import { loadFixtures, writeDataDir, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, postJson, recordingLogger, startTestNode, track, trackedTempDir, waitFor } from './helpers/nodes.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

describe('POST /data', () => {
  it('answers 202 with the content-hash id; the same data again is the same entry', async () => {
    const node = await startTestNode();
    const first = await postJson(`${node.url}data`, { data: 'hello, chain' });
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ id: sha256('hello, chain'), state: 'pending', added: true });
    const again = await postJson(`${node.url}data`, { data: 'hello, chain' });
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ id: sha256('hello, chain'), state: 'pending', added: false });
    const entry = await http(`${node.url}data/${first.json.id}`);
    expect(entry.json).toEqual({ id: first.json.id, data: 'hello, chain', state: 'pending', submittedAt: expect.any(Number) });
    expect((await http(`${node.url}data?state=pending`)).json).toEqual({
      entries: [{ id: first.json.id, data: 'hello, chain', submittedAt: expect.any(Number) }],
      pool: { entries: 1, bytes: 12 },
    });
  });

  it('refuses bad bodies with the usual error object and changes nothing', async () => {
    const node = await startTestNode({ maxEntryBytes: 8 });
    const cases: Array<[string | object, number, Record<string, string>?]> = [
      ['{"data": ', 400],
      [{ text: 'x' }, 400],
      [{ data: 42 }, 400],
      [{ data: '' }, 400],
      ['{"data": "x\\ud800y"}', 400],
      [{ data: 'longer than eight' }, 413],
      ['data=x', 415, { 'content-type': 'application/x-www-form-urlencoded' }],
    ];
    for (const [body, status, headers] of cases) {
      const answer = await postJson(`${node.url}data`, body, headers);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.json).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect((await http(`${node.url}data`)).json.pool).toEqual({ entries: 0, bytes: 0 });
    expect((await http(`${node.url}data/${'z'.repeat(64)}`)).status).toBe(400);
    expect((await http(`${node.url}data/${sha256('nothing')}`)).status).toBe(404);
  });

  it('refuses new entries with 503 when the pool is full, dropping none', async () => {
    const node = await startTestNode({ maxPoolEntries: 2 });
    for (const data of ['one', 'two']) expect((await postJson(`${node.url}data`, { data })).status).toBe(202);
    const full = await postJson(`${node.url}data`, { data: 'three' });
    expect(full.status).toBe(503);
    expect(full.json.error.code).toBe('POOL_FULL');
    expect((await http(`${node.url}data`)).json.entries.map((e: { data: string }) => e.data)).toEqual(['one', 'two']);
  });
});

describe('entries on the network', () => {
  it('an entry submitted to a follower is mined by another node and shows confirmed on both', async () => {
    const miner = await startTestNode({ mine: true, difficulty: 3 }, {}, 'miner');
    const follower = await startTestNode({ peers: [miner.url], difficulty: 3 }, {}, 'follower');
    const { json } = await postJson(`${follower.url}data`, { data: 'pay bob 5' });
    const confirmed = await waitFor('the entry to be confirmed on the follower', async () => {
      const entry = (await http(`${follower.url}data/${json.id}`)).json;
      return entry.state === 'confirmed' ? entry : undefined;
    });
    const block = follower.chain().at(BigInt(confirmed.block.index))!;
    expect(confirmed).toMatchObject({ id: json.id, data: 'pay bob 5', block: { hash: block.hash }, confirmations: expect.any(Number) });
    expect(block.data.startsWith(ENTRIES_PREFIX)).toBe(true);
    expect(unpackBlockData(block.data).map((e) => e.data)).toEqual(['pay bob 5']);
    expect((await http(`${miner.url}data/${json.id}`)).json).toMatchObject({ state: 'confirmed', block: { hash: block.hash } });
    expect((await http(`${follower.url}data`)).json.pool.entries).toBe(0);
  });

  it('passes new entries on once, and skips a plain jbc peer quietly', async () => {
    const jbc = track(await plainJbcPeer(f.main));
    const b = await startTestNode({}, {}, 'b');
    const a = await startTestNode({ peers: [b.url, jbc.url] }, {}, 'a');
    const { json } = await postJson(`${a.url}data`, { data: 'gossip me' });
    await waitFor('b to hold the entry', async () => (await http(`${b.url}data/${json.id}`)).json?.state === 'pending');
    expect(jbc.requests).toContain('POST /data');
    const states = (await http(`${a.url}peers?verbose=1`)).json.peers as Array<{ url: string; failures: number }>;
    expect(states.find((p) => p.url === jbc.url)?.failures).toBe(0);
    // b got it from a (named in the header) and does not send it back.
    expect((await postJson(`${b.url}data`, { data: 'gossip me' }, { [PEER_HEADER]: a.url })).json.added).toBe(false);
  });

  it('a block with free-text data, as jbc mines them, is still accepted and holds no entries', async () => {
    const node = await startTestNode({ difficulty: 1 });
    const block = mineBlock({ index: 0n, prevHash: '', data: 'I block #0', timestamp: 1_700_000_000n }, 1);
    expect((await postJson(`${node.url}mined`, blockToJson(block))).json).toEqual({ received: true, accepted: true });
    expect(node.chain().length).toBe(1);
    expect((await http(`${node.url}data`)).json.pool.entries).toBe(0);
  });
});

describe("entries of a peer's block that is abandoned", () => {
  it('an oversized one is dropped, not pending again, the others come back in block order first, and later blocks still pack entries', async () => {
    const dataDir = await trackedTempDir();
    const base = mineChain(2, 2, { tag: 'base' });
    await writeDataDir(dataDir, base);
    // 70,000 bytes: past the entry size limit (16 KiB) and any block this node mines (64 KiB).
    const huge = 'h'.repeat(70_000);
    const carried = [huge, 'peer one', 'peer two'].map((data) => ({ id: sha256(data), data }));
    const peerBlock = mineBlock({ index: 2n, prevHash: base[1]!.hash, data: packBlockData(2n, 'http://peer.example/', carried), timestamp: 1_700_000_002n }, 2);
    const theirs = mineChain(2, 2, { after: base[1], tag: 'theirs' });
    const sender = track(await apiPeer([...base, ...theirs]));
    const { logger, lines } = recordingLogger();
    const node = await startTestNode({ dataDir, syncIntervalMs: 0 }, { logger });
    const post = (block: Block) => postJson(`${node.url}mined`, blockToJson(block), { [PEER_HEADER]: sender.url });
    expect((await post(peerBlock)).json).toMatchObject({ accepted: true });
    expect((await postJson(`${node.url}data`, { data: 'user entry' })).status).toBe(202);
    expect((await http(`${node.url}data/${carried[0]!.id}`)).json).toMatchObject({ state: 'confirmed' });
    await post(theirs[0]!);
    expect((await post(theirs[1]!)).json).toMatchObject({ accepted: true });

    expect((await http(`${node.url}data/${carried[0]!.id}`)).status).toBe(404);
    const pool = (await http(`${node.url}data`)).json;
    expect(pool.entries.map((e: { data: string }) => e.data)).toEqual(['peer one', 'peer two', 'user entry']);
    expect(lines.some((line) => line.level === 'warn' && line.msg.includes('past the entry size limit'))).toBe(true);
    await node.close();

    const miner = await startTestNode({ dataDir, mine: true, syncIntervalMs: 0 });
    const confirmed = await waitFor('the user entry to be mined', async () => {
      const entry = (await http(`${miner.url}data/${sha256('user entry')}`)).json;
      return entry.state === 'confirmed' ? entry : undefined;
    });
    const block = miner.chain().at(BigInt(confirmed.block.index))!;
    expect(unpackBlockData(block.data).map((e) => e.data)).toEqual(['peer one', 'peer two', 'user entry']);
  });
});

describe('durability', () => {
  it('an acknowledged entry survives kill -9 before any block holds it', async () => {
    const dataDir = await trackedTempDir();
    const start = async (): Promise<{ child: ChildProcess; url: string }> => {
      const child = spawn(
        process.execPath,
        [distPath('src', 'cli.js'), '--port', '0', '--no-mine', '--peers', '', '--difficulty', '2', '--data-dir', dataDir],
        { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const record = JSON.parse(line) as { msg?: string; url?: string };
          if (record.msg === 'node ready') resolve(String(record.url));
        });
      });
      return { child, url };
    };
    const kill9 = async (child: ChildProcess) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };

    const first = await start();
    const ids: string[] = [];
    try {
      for (const data of ['alpha', 'beta', 'gamma']) {
        const answer = await postJson(`${first.url}data`, { data });
        expect(answer.status).toBe(202);
        ids.push(answer.json.id);
      }
    } finally {
      await kill9(first.child);
    }
    const second = await start();
    try {
      for (const id of ids) expect((await http(`${second.url}data/${id}`)).json).toMatchObject({ id, state: 'pending' });
      expect((await http(`${second.url}data`)).json.entries.map((e: { data: string }) => e.data)).toEqual(['alpha', 'beta', 'gamma']);
    } finally {
      await kill9(second.child);
    }
  });
});
