/**
 * Real nodes (mining off) on free ports with temp data dirs: the HTTP API and
 * its error cases, startup sync from honest, plain-jbc and hostile peers,
 * block relay, and concurrent arrivals.
 */
import { cp, readFile, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, sealBlock, type Block } from '../../src/block.js';
import { hashesOf } from '../helpers/fixtures.js';
import { PEER_HEADER } from '../../src/node/index.js';
import { apiPeer, emptyNodePeer, fakeHttpPeer, garbagePeer, hungPeer, plainJbcPeer, rawPeer } from './helpers/fake-peers.js';
import { FIXTURES, loadFixtures, tampered, toJson, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, nodeWith, postJson, startTestNode, track, trackedTempDir, waitFor } from './helpers/nodes.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

/** POSTs JSON in chunks with Transfer-Encoding: chunked (no Content-Length). */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
}

describe('HTTP API', () => {
  it('serves the chain as jbc does: an array of blocks with all six values as strings', async () => {
    const node = await nodeWith(f.main);
    const { status, json, headers } = await http(`${node.url}blockchain.json`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/application\/json/);
    expect(json).toEqual(toJson(f.main));
    for (const block of json) for (const value of Object.values(block)) expect(typeof value).toBe('string');
  });

  it('serves an empty chain as []', async () => {
    const node = await startTestNode();
    expect((await http(`${node.url}blockchain.json`)).text).toBe('[]');
  });

  it('streams a long chain correctly across batches', async () => {
    // Difficulty 0 accepts any hash, so a 600-block chain (more than two streaming batches) is quick to make.
    const long: Block[] = [];
    for (let i = 0n; i < 600n; i++) {
      long.push(sealBlock({ index: i, prevHash: long.at(-1)?.hash ?? '', data: `block ${i}`, timestamp: 1700000000n + i }, i));
    }
    const node = await nodeWith(long, { difficulty: 0 });
    const { json } = await http(`${node.url}blockchain.json`);
    expect(json).toEqual(toJson(long));
  });

  it('serves ranges with /blocks?from&limit, capped', async () => {
    const node = await nodeWith(f.main);
    expect((await http(`${node.url}blocks?from=3&limit=4`)).json).toEqual(toJson(f.main.slice(3, 7)));
    expect((await http(`${node.url}blocks?from=10&limit=1000`)).json).toEqual(toJson(f.main.slice(10)));
    expect((await http(`${node.url}blocks?from=99999999999999999999999`)).json).toEqual([]);
    expect((await http(`${node.url}blocks?limit=5000`)).json).toHaveLength(12);
    expect((await http(`${node.url}blocks`)).json).toHaveLength(12);
    for (const bad of ['from=-1', 'from=01', 'limit=abc', 'limit=1.5', 'from=1&from=2']) {
      const { status, json } = await http(`${node.url}blocks?${bad}`);
      expect(status, bad).toBe(400);
      expect(json.error.code).toBe('BAD_REQUEST');
    }
  });

  it('serves one block by index: 404 when absent, 400 when not a canonical integer', async () => {
    const node = await nodeWith(f.main);
    expect((await http(`${node.url}blocks/7`)).json).toEqual(blockToJson(f.main[7]!));
    expect((await http(`${node.url}blocks/0`)).json).toEqual(blockToJson(f.main[0]!));
    const missing = await http(`${node.url}blocks/12`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expect((await http(`${node.url}blocks/123456789012345678901234567890`)).status).toBe(404);
    for (const bad of ['007', '-1', '1.0', 'abc', '1e3', '%20']) {
      const { status, json } = await http(`${node.url}blocks/${bad}`);
      expect(status, bad).toBe(400);
      expect(json.error.code).toBe('BAD_REQUEST');
    }
  });

  it('serves one block by hash: 404 when unknown, 400 when not a hash', async () => {
    const node = await nodeWith(f.main);
    expect((await http(`${node.url}blocks/hash/${f.main[4]!.hash}`)).json).toEqual(blockToJson(f.main[4]!));
    expect((await http(`${node.url}blocks/hash/${f.fork[9]!.hash}`)).status).toBe(404);
    expect((await http(`${node.url}blocks/hash/xyz`)).status).toBe(400);
  });

  it('reports its status', async () => {
    const node = await nodeWith(f.main, { peers: ['http://127.0.0.1:1/'] });
    const { json } = await http(`${node.url}status`);
    expect(json).toMatchObject({
      height: 11,
      length: 12,
      tip: { index: '11', hash: f.main[11]!.hash },
      difficulty: 2,
      peers: ['http://127.0.0.1:1/'],
      mining: { enabled: false, workers: 0, hashrate: 0 },
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      nodeId: expect.any(String),
      url: node.url,
    });
    const empty = await startTestNode();
    expect((await http(`${empty.url}status`)).json).toMatchObject({ height: -1, length: 0, tip: null });
  });

  it('registers peers with POST /peers: validated, never itself, capped by evicting the least useful', async () => {
    const node = await startTestNode({ maxPeers: 2 });
    const peer = track(await emptyNodePeer());
    const added = await postJson(`${node.url}peers`, { url: `${peer.url}1` });
    expect(added.status).toBe(201);
    expect(added.json).toEqual({ added: true, peers: [`${peer.url}1/`] });
    expect((await postJson(`${node.url}peers`, { url: `${peer.url}1/` })).json).toMatchObject({ added: false, reason: 'known' });
    expect((await postJson(`${node.url}peers`, { url: node.url })).status).toBe(400);
    expect((await postJson(`${node.url}peers`, { url: 'ftp://x/' })).status).toBe(400);
    expect((await postJson(`${node.url}peers`, { address: 'http://x/' })).status).toBe(400);
    expect((await postJson(`${node.url}peers`, '["http://x/"]')).status).toBe(400);
    await postJson(`${node.url}peers`, { url: `${peer.url}2/` });
    expect((await postJson(`${node.url}peers`, { url: `${peer.url}3/` })).json).toMatchObject({ added: true });
    expect((await http(`${node.url}peers`)).json).toEqual({ peers: [`${peer.url}2/`, `${peer.url}3/`] });
  });

  it('answers unknown routes with 404 and wrong methods with 405, as JSON errors', async () => {
    const node = await startTestNode();
    const missing = await http(`${node.url}nope`);
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NOT_FOUND');
    const wrong = await http(`${node.url}blockchain.json`, { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(wrong.json.error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('POST /mined', () => {
  it('stores a block that extends the tip, durably, and answers accepted', async () => {
    const node = await nodeWith(f.main.slice(0, 11));
    const { status, json } = await postJson(`${node.url}mined`, blockToJson(f.main[11]!));
    expect(status).toBe(200);
    expect(json).toEqual({ received: true, accepted: true });
    expect(node.chain().length).toBe(12);
    const onDisk = JSON.parse(await readFile(join(node.dataDir, '000011.json'), 'utf8'));
    expect(onDisk).toEqual(blockToJson(f.main[11]!));
  });

  it('keeps integers beyond 2^53 exact when they arrive as JSON numbers', async () => {
    const node = await nodeWith(f.main);
    const raw = await readFile(join(FIXTURES, 'mined-bigint-numbers.json'), 'utf8');
    expect(raw).toContain('"nonce": 18446744073709564663');
    const { json } = await postJson(`${node.url}mined`, raw);
    expect(json).toEqual({ received: true, accepted: true });
    const served = (await http(`${node.url}blocks/12`)).json;
    expect(served).toEqual(blockToJson(f.bigint));
    expect(served.nonce).toBe('18446744073709564663');
    expect(served.timestamp).toBe('20231105123456789012');
    const onDisk = await readFile(join(node.dataDir, '000012.json'), 'utf8');
    expect(onDisk).toContain('"nonce":"18446744073709564663"');
  });

  it('answers accepted:false for a known block and for a stale competing block', async () => {
    const node = await nodeWith(f.main);
    const known = await postJson(`${node.url}mined`, blockToJson(f.main[5]!));
    expect(known.json).toEqual({ received: true, accepted: false, reason: expect.stringMatching(/^known/) });
    const stale = await postJson(`${node.url}mined`, blockToJson(f.fork[5]!));
    expect(stale.json).toEqual({ received: true, accepted: false, reason: expect.stringMatching(/^stale/) });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
  });

  it('syncs from the sender (named by X-Jbc-Peer) when a block is ahead of the tip', async () => {
    const sender = track(await apiPeer(f.fork));
    const node = await nodeWith(f.main);
    const { json } = await postJson(`${node.url}mined`, blockToJson(f.fork[13]!), { [PEER_HEADER]: sender.url });
    expect(json).toMatchObject({ received: true, accepted: false, reason: expect.stringMatching(/^ahead/) });
    await waitFor('the fork to be adopted', () => node.chain().length === 14);
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.fork));
    // Only the missing part was downloaded: /status, then block ranges, never the whole chain.
    expect(sender.requests).not.toContain('GET /blockchain.json');
    // The block files follow each commit, written after it: all of them come to hold the fork.
    const onDisk = async () =>
      Promise.all((await filesIn(node.dataDir)).map(async (name) => JSON.parse(await readFile(join(node.dataDir, name), 'utf8')) as unknown));
    await waitFor('the block files of the fork', async () => JSON.stringify(await onDisk().catch(() => null)) === JSON.stringify(toJson(f.fork)));
    // The sender, whose blocks were accepted, becomes a peer once the sync from it has ended.
    await waitFor('the sender to be a peer', () => node.status().peers.includes(sender.url));
  });

  it('syncs from the known peers on the sender address when the sender does not name itself (plain jbc)', async () => {
    const sender = track(await plainJbcPeer(f.fork));
    const node = await nodeWith(f.main, { peers: [sender.url] });
    const { json } = await postJson(`${node.url}mined`, blockToJson(f.fork[13]!));
    expect(json.accepted).toBe(false);
    await waitFor('the fork to be adopted', () => node.chain().length === 14);
  });

  it('rejects malformed and invalid blocks with 400', async () => {
    const node = await nodeWith(f.main.slice(0, 11));
    const cases: Array<[unknown, string]> = [
      ['{"index": ', 'MALFORMED_JSON'],
      ['[1, 2]', 'MALFORMED_BLOCK'],
      [{ ...blockToJson(f.main[11]!), nonce: undefined }, 'MALFORMED_BLOCK'],
      [{ ...blockToJson(f.main[11]!), index: '-11' }, 'MALFORMED_FIELD'],
      [{ ...blockToJson(f.main[11]!), nonce: 1.5 }, 'MALFORMED_FIELD'],
      [{ ...blockToJson(f.main[11]!), timestamp: true }, 'MALFORMED_FIELD'],
      [{ ...blockToJson(f.main[11]!), hash: 'ABC' }, 'MALFORMED_FIELD'],
      [blockToJson(tampered(f.main[11]!, { data: 'changed' })), 'INVALID_BLOCK'],
    ];
    for (const [body, code] of cases) {
      const { status, json } = await postJson(`${node.url}mined`, body);
      expect(status, code).toBe(400);
      expect(json.error.code).toBe(code);
    }
    const invalidUtf8 = await http(`${node.url}mined`, {
      method: 'POST',
      body: Buffer.from([0x7b, 0xff, 0x7d]),
      headers: { 'content-type': 'application/json' },
    });
    expect(invalidUtf8.status).toBe(400);
    expect(node.chain().length).toBe(11);
  });

  it('answers 415 for a body that is not declared JSON, and 413 for one too large', async () => {
    const node = await nodeWith(f.main.slice(0, 11), { maxBodyBytes: 4096 });
    const text = await http(`${node.url}mined`, {
      method: 'POST',
      body: JSON.stringify(blockToJson(f.main[11]!)),
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await postJson(`${node.url}mined`, { ...blockToJson(f.main[11]!), data: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    // Without a Content-Length (chunked), the cap applies while reading.
    const chunked = await postChunked(`${node.url}mined`, ['{"data": "', 'x'.repeat(3000), 'x'.repeat(3000), '"}']);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await http(`${node.url}peers`, { method: 'POST', body: '{"url": "http://x/"}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await postJson(`${node.url}peers`, { url: `http://x/${'y'.repeat(5000)}` })).status).toBe(413);
    // The node still works afterwards.
    expect((await postJson(`${node.url}mined`, blockToJson(f.main[11]!))).json.accepted).toBe(true);
  });

  it('relays an accepted block to its peers once, not back to the sender (under any loopback name)', async () => {
    const follower = await nodeWith(f.main.slice(0, 11));
    const watcher = track(await fakeHttpPeer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}')));
    // The relay lists the watcher as localhost; the watcher names itself 127.0.0.1: still the same peer.
    const relay = await nodeWith(f.main.slice(0, 11), { peers: [follower.url, watcher.url.replace('127.0.0.1', 'localhost')] });
    const { json } = await postJson(`${relay.url}mined`, blockToJson(f.main[11]!), { [PEER_HEADER]: watcher.url });
    expect(json.accepted).toBe(true);
    await waitFor('the follower to get the block', () => follower.chain().length === 12);
    // The watcher sent it, so it does not get it back; posting it again is "known" and not relayed.
    await postJson(`${relay.url}mined`, blockToJson(f.main[11]!));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(watcher.posted.filter((p) => p.path === '/mined')).toHaveLength(0);
    expect(relay.status().peers).toHaveLength(2);
  });

  it('serialises competing blocks for the same height: exactly one wins, disk matches memory', async () => {
    const node = await nodeWith(f.main.slice(0, 5));
    const answers = await Promise.all([
      postJson(`${node.url}mined`, blockToJson(f.main[5]!)),
      postJson(`${node.url}mined`, blockToJson(f.fork[5]!)),
      postJson(`${node.url}mined`, blockToJson(f.main[5]!)),
    ]);
    expect(answers.filter((a) => a.json.accepted === true)).toHaveLength(1);
    expect(node.chain().length).toBe(6);
    const tip = node.chain().tip!;
    expect(JSON.parse(await readFile(join(node.dataDir, '000005.json'), 'utf8'))).toEqual(blockToJson(tip));
  });
});

describe('startup sync', () => {
  it("downloads a peer's chain into an empty node and stores the block files in its own data dir", async () => {
    const main = await nodeWith(f.main);
    const second = await startTestNode({ peers: [main.url] });
    expect(hashesOf(second.chain())).toEqual(hashesOf(f.main));
    expect((await http(`${second.url}blockchain.json`)).json).toEqual((await http(`${main.url}blockchain.json`)).json);
    expect(await filesIn(second.dataDir)).toEqual(await filesIn(main.dataDir));
    expect(second.dataDir).not.toBe(main.dataDir);
  });

  it('moves to a longer fork, removing the abandoned block files', async () => {
    const forkNode = await nodeWith(f.fork);
    const node = await nodeWith(f.main, { peers: [forkNode.url] });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.fork));
    expect(await filesIn(node.dataDir)).toHaveLength(14);
    expect(JSON.parse(await readFile(join(node.dataDir, '000006.json'), 'utf8'))).toEqual(blockToJson(f.fork[6]!));
  });

  it('keeps its chain when peers are shorter or equal', async () => {
    const shorter = await nodeWith(f.main.slice(0, 6));
    const tie = await nodeWith(f.fork.slice(0, 12));
    const node = await nodeWith(f.main, { peers: [shorter.url, tie.url] });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
  });

  it('syncs from a plain jbc peer through /blockchain.json', async () => {
    const jbc = track(await plainJbcPeer(f.main));
    const node = await startTestNode({ peers: [jbc.url] });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
    expect(jbc.requests).toEqual(expect.arrayContaining(['GET /status', 'GET /blockchain.json']));
  });

  it('is not stalled or misled by hostile peers: hung, garbage, not HTTP, dripping, huge, forged, lying', async () => {
    const hung = track(await hungPeer());
    const garbage = track(await garbagePeer('<html>not json'));
    const junkJson = track(await garbagePeer('{"length": "lots", "tip": 7}'));
    const huge = track(await garbagePeer(Buffer.alloc(300_000, 0x5b))); // "[[[[...", over the cap below
    const forgedBlocks = [...f.fork];
    forgedBlocks[8] = tampered(forgedBlocks[8]!, { data: 'rewritten' });
    const forged = track(await apiPeer(forgedBlocks));
    const liar = track(await apiPeer(f.main.slice(0, 3), { length: 1000, height: 999 }));
    const notHttp = track(await rawPeer('SSH-2.0-OpenSSH_9.6\r\n'));
    const dripping = track(await rawPeer('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n', true));
    const honest = await nodeWith(f.main);

    // Each hostile peer costs at most its request timeout, so startup ends (long before its deadline) on the honest chain.
    const node = await startTestNode({
      peers: [hung.url, garbage.url, junkJson.url, huge.url, forged.url, liar.url, notHttp.url, dripping.url, honest.url],
      peerTimeoutMs: 1000,
      maxPeerResponseBytes: 100_000,
    });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
    expect(hung.requests.length).toBeGreaterThan(0);
    expect(dripping.requests.length).toBeGreaterThan(0);
    expect((await http(`${node.url}status`)).json.length).toBe(12);
  });

  it('is not changed by a forged longer chain', async () => {
    const forgedBlocks = [...f.fork];
    forgedBlocks[12] = tampered(forgedBlocks[12]!, { nonce: 1n });
    const forged = track(await apiPeer(forgedBlocks));
    const forgedJbc = track(await plainJbcPeer(forgedBlocks));
    const node = await nodeWith(f.main, { peers: [forged.url, forgedJbc.url] });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
    expect(await filesIn(node.dataDir)).toHaveLength(12);
  });

  it("learns peers from its peers' /peers and syncs from them too", async () => {
    const far = await nodeWith(f.main);
    const near = await startTestNode({ peers: [] });
    await postJson(`${near.url}peers`, { url: far.url });
    const node = await startTestNode({ peers: [near.url] });
    expect(node.status().peers).toEqual(expect.arrayContaining([near.url, far.url]));
    await waitFor('the chain from the learned peer', () => node.chain().length === 12);
  });

  it('announces itself to its peers, so they send it blocks', async () => {
    const main = await nodeWith(f.main.slice(0, 11));
    const follower = await startTestNode({ peers: [main.url] });
    await waitFor('main to learn the follower', () => main.status().peers.includes(follower.url));
    await postJson(`${main.url}mined`, blockToJson(f.main[11]!));
    await waitFor('the follower to receive the block', () => follower.chain().length === 12);
  });
});

describe('data directory', () => {
  it('imports a directory written by the Python jbc node, leaving its files unchanged', async () => {
    const dataDir = await trackedTempDir();
    await cp(join(FIXTURES, 'jbc-chaindata'), dataDir, { recursive: true });
    const before = await Promise.all((await filesIn(dataDir)).map((name) => readFile(join(dataDir, name), 'utf8')));
    const node = await startTestNode({ dataDir, difficulty: 5, jbcFiles: false });
    expect(node.chain().length).toBe(4);
    expect((await http(`${node.url}blockchain.json`)).json).toEqual(toJson(f.seed));
    await node.close();
    const after = await Promise.all((await filesIn(dataDir)).map((name) => readFile(join(dataDir, name), 'utf8')));
    expect(after).toEqual(before);
  });

  it('keeps the chain in its database only, unless asked for block files too', async () => {
    const dataDir = await trackedTempDir();
    const node = await startTestNode({ dataDir, jbcFiles: false });
    await postJson(`${node.url}mined`, blockToJson(f.main[0]!));
    expect(node.chain().length).toBe(1);
    expect(await filesIn(dataDir)).toEqual([]);
    expect(await readdir(dataDir)).toContain('chain.mdb');
  });
});
