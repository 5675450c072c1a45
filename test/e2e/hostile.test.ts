/**
 * A node against a hostile network: every hostile behaviour is played by a
 * real fake peer or real sockets on 127.0.0.1, and each test fails when the
 * defence it names is removed.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, sealBlock, type Block } from '../../src/block.js';
import { ErrorCode } from '../../src/errors.js';
import { PeerAddressPolicy } from '../../src/peer/peer-address.js';
import { PeerClient } from '../../src/peer/peer-client.js';
import { mineBlock } from '../helpers/fixtures.js';
import { PEER_HEADER } from '../../src/node/index.js';
import { MAX_PAGE_BYTES } from '../../src/pages.js';
import { apiPeer, fakeHttpPeer, garbagePeer, heldMinedPeer, hungPeer, plainJbcPeer, rawPeer, type FakePeer } from './helpers/fake-peers.js';
import { loadFixtures, toJson, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, nodeWith, postJson, recordingLogger, startTestNode, track, waitFor } from './helpers/nodes.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

function testClient(): PeerClient & { close(): void } {
  return new PeerClient({
    timeoutMs: 2000,
    maxResponseBytes: 64 * 1024 * 1024,
    chainTimeoutMs: 2000,
    maxChainBytes: 1024 * 1024 * 1024,
    selfUrl: () => undefined,
    userAgent: 'test',
    addressPolicy: new PeerAddressPolicy(),
  });
}

/** A block on `after` whose data, as sent, is the JSON text `dataJson` (escapes kept as written). */
function blockText(block: Block, dataJson: string): string {
  return JSON.stringify({ ...blockToJson(block), data: 'X' }).replace('"X"', dataJson);
}

describe('strings that are not well-formed Unicode', () => {
  it('a posted block whose data holds a lone surrogate is refused, and its U+FFFD twin is then accepted', async () => {
    const node = await nodeWith(f.main);
    const tip = f.main.at(-1)!;
    // The twin's hash is also the hash of the lone-surrogate form (both encode as U+FFFD).
    const twin = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: 'x\ufffdy', timestamp: tip.timestamp + 1n }, f.difficulty);
    const lone = await postJson(`${node.url}mined`, blockText(twin, '"x\\ud800y"'));
    expect(lone.status).toBe(400);
    expect(lone.json.error).toMatchObject({ code: ErrorCode.MALFORMED_FIELD, message: expect.stringContaining('data') });
    expect(node.chain().length).toBe(f.main.length);
    const real = await postJson(`${node.url}mined`, blockToJson(twin));
    expect(real.json).toEqual({ received: true, accepted: true });
  });

  it('a peer answer holding such a block is a bad response', async () => {
    const tip = f.main.at(-1)!;
    const twin = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: '\ud800', timestamp: tip.timestamp + 1n }, f.difficulty);
    // JSON.stringify writes the lone surrogate as the escape \ud800.
    const peer = track(await apiPeer([...f.main, twin]));
    const client = testClient();
    try {
      await expect(client.blocks(peer.url, 0n, 100)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining('Unicode'),
      });
    } finally {
      client.close();
    }
  });
});

describe('requests outside the JSON protocol', () => {
  it("OPTIONS answers 204 with an Allow header naming the route's methods; an unknown route stays a JSON 404", async () => {
    const node = await startTestNode();
    const known = await http(`${node.url}peers`, { method: 'OPTIONS' });
    expect(known.status).toBe(204);
    expect(known.text).toBe('');
    expect(known.headers.get('allow')?.split(/,\s*/).sort()).toEqual(expect.arrayContaining(['DELETE', 'GET', 'POST']));
    const unknown = await http(`${node.url}nowhere`, { method: 'OPTIONS' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe(ErrorCode.NOT_FOUND);
  });

  it.each(['gzip', 'deflate', 'br'])('a body with Content-Encoding: %s is refused with a JSON 415, not parsed', async (encoding) => {
    const node = await nodeWith(f.main.slice(0, -1));
    const body = encoding === 'gzip' ? gzipSync(JSON.stringify(blockToJson(f.main.at(-1)!))) : Buffer.from('{}');
    const answer = await http(`${node.url}mined`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    });
    expect(answer.status).toBe(415);
    expect(answer.json.error).toMatchObject({ code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: expect.stringContaining(encoding) });
    expect(node.chain().length).toBe(f.main.length - 1);
  });

  it('Content-Encoding: identity is a plain body', async () => {
    const node = await nodeWith(f.main.slice(0, -1));
    const answer = await postJson(`${node.url}mined`, blockToJson(f.main.at(-1)!), { 'content-encoding': 'identity' });
    expect(answer.json).toEqual({ received: true, accepted: true });
  });
});

describe('URLs the node is told to fetch', () => {
  const refused: Array<[string, string]> = [
    ['http://169.254.169.254/', 'link-local'],
    ['http://[fe80::1]:5000/', 'link-local'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://0.0.0.0:5000/', 'unspecified'],
    ['http://[::]:5000/', 'unspecified'],
    ['http://224.0.0.1:5000/', 'multicast'],
    ['http://[ff02::1]:5000/', 'multicast'],
  ];

  it.each(refused)('POST /peers %s is refused with 400 naming it %s, before any request', async (url, reason) => {
    const node = await startTestNode();
    const answer = await postJson(`${node.url}peers`, { url });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: ErrorCode.PEER_ADDRESS_REFUSED, message: expect.stringContaining(reason) });
    expect(node.status().peers).toEqual([]);
  });

  it('a block whose X-Jbc-Peer names a refused address is refused with 400, and no sync starts', async () => {
    const node = await nodeWith(f.main.slice(0, 5));
    const answer = await postJson(`${node.url}mined`, blockToJson(f.main[8]!), { [PEER_HEADER]: 'http://169.254.169.254/' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: ErrorCode.PEER_ADDRESS_REFUSED, message: expect.stringContaining('link-local') });
    expect(node.status().peers).toEqual([]);
    expect(node.status().sync).toBeNull();
  });

  it('a posted URL becomes a peer only once it answers like a node (jbc-ts /status or plain jbc /blockchain.json)', async () => {
    const node = await startTestNode({ syncIntervalMs: 0 });
    const notANode = track(await fakeHttpPeer((_req, res) => res.writeHead(404).end('<h1>Not Found</h1>')));
    const refusedAnswer = await postJson(`${node.url}peers`, { url: notANode.url });
    expect(refusedAnswer.status).toBe(502);
    expect(refusedAnswer.json.error.code).toBe(ErrorCode.PEER_BAD_RESPONSE);
    expect(notANode.requests).toEqual(['GET /status', 'GET /blockchain.json']);
    expect(node.status().peers).toEqual([]);

    const api = track(await apiPeer(f.main.slice(0, 3)));
    const jbc = track(await plainJbcPeer(f.main.slice(0, 3)));
    expect((await postJson(`${node.url}peers`, { url: api.url })).status).toBe(201);
    expect((await postJson(`${node.url}peers`, { url: jbc.url })).status).toBe(201);
    expect(node.status().peers).toEqual([api.url, jbc.url]);
  });

  it('a plain jbc URL is admitted once the first block of its /blockchain.json is in; the chain is downloaded once, by the sync', async () => {
    const chain = toJson(f.main.slice(0, 6));
    let release!: () => void;
    const rest = new Promise<void>((resolve) => (release = resolve));
    let answers = 0;
    let finished = 0;
    // Sends the first block at once and the rest only when released.
    const jbc = track(
      await fakeHttpPeer((req, res) => {
        if (req.url !== '/blockchain.json') {
          res.writeHead(404).end();
          return;
        }
        answers++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`[${JSON.stringify(chain[0])},`);
        res.on('finish', () => finished++);
        void rest.then(() =>
          res.end(
            `${chain
              .slice(1)
              .map((b) => JSON.stringify(b))
              .join(',')}]`,
          ),
        );
      }),
    );
    const node = await startTestNode({ peers: [], syncIntervalMs: 0 });
    const added = await postJson(`${node.url}peers`, { url: jbc.url });
    expect(added.status).toBe(201);
    expect(node.status().peers).toEqual([jbc.url]);
    release();
    await waitFor('the chain to be synced', () => node.chain().length === 6);
    // Two answers were started (the check and the sync); only the sync's was read to the end.
    expect(answers).toBe(2);
    await waitFor('the sync answer to finish', () => finished >= 1);
    expect(finished).toBe(1);
  });

  it('a posted URL that does not answer at once gets 202, and is not a peer while it does not answer', async () => {
    const node = await startTestNode();
    const hung = track(await hungPeer());
    const answer = await postJson(`${node.url}peers`, { url: hung.url });
    expect(answer.status).toBe(202);
    expect(answer.json).toMatchObject({ added: false, reason: expect.stringMatching(/^checking/) });
    expect(hung.requests).toEqual(['connection']);
    expect(node.status().peers).toEqual([]);
  });

  it('checks at most 16 posted URLs at once; more get a JSON 503 meanwhile', async () => {
    const node = await startTestNode({ peerTimeoutMs: 30_000 });
    const hung = track(await hungPeer());
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => postJson(`${node.url}peers`, { url: `${hung.url}p${i}/` })));
    expect(answers.map((a) => a.status)).toEqual(Array(16).fill(202));
    const more = await postJson(`${node.url}peers`, { url: `${hung.url}more/` });
    expect(more.status).toBe(503);
    expect(more.json.error.code).toBe(ErrorCode.BUSY);
  });

  it('--peer-allow limits peers to its ranges: an IP literal outside is refused at once, a name as it resolves', async () => {
    const node = await startTestNode({ peerAllow: ['10.0.0.0/8'] });
    const api = track(await apiPeer(f.main.slice(0, 3)));
    const literal = await postJson(`${node.url}peers`, { url: api.url });
    expect(literal.status).toBe(400);
    expect(literal.json.error.message).toContain('--peer-allow');
    const named = await postJson(`${node.url}peers`, { url: api.url.replace('127.0.0.1', 'localhost') });
    expect(named.status).toBe(400);
    expect(named.json.error).toMatchObject({ code: ErrorCode.PEER_ADDRESS_REFUSED, message: expect.stringContaining('--peer-allow') });
    expect(api.requests).toEqual([]);
    expect(node.status().peers).toEqual([]);
  });
});

describe('broadcast to peers that do not answer', () => {
  it('holds one post per peer; blocks sent meanwhile wait, and follow in order once it ends', async () => {
    const node = await nodeWith(f.main.slice(0, 2), { peerTimeoutMs: 30_000 });
    const held = [track(await heldMinedPeer()), track(await heldMinedPeer())];
    for (const peer of held) expect((await postJson(`${node.url}peers`, { url: peer.url })).status).toBe(201);
    for (const block of f.main.slice(2)) expect((await postJson(`${node.url}mined`, blockToJson(block))).json.accepted).toBe(true);
    for (const peer of held) await waitFor('a post in flight', () => peer.minedIndexes().length >= 1);
    held[0]!.release();
    await waitFor('the waiting blocks to follow', () => held[0]!.minedIndexes().length === 10);
    expect(held[0]!.minedIndexes()).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(held[1]!.minedIndexes()).toEqual(['2']);
  });

  it('holds at most two data entries in flight per peer; the rest wait in order and follow once posts end', async () => {
    const node = await nodeWith(f.main.slice(0, 2), { peerTimeoutMs: 30_000 });
    const held = track(await heldMinedPeer());
    const answering = track(await apiPeer(f.main.slice(0, 2)));
    for (const peer of [held, answering]) expect((await postJson(`${node.url}peers`, { url: peer.url })).status).toBe(201);
    const entries = Array.from({ length: 10 }, (_, i) => `entry ${i}`);
    for (const data of entries) expect((await postJson(`${node.url}data`, { data })).status).toBe(202);
    const sent = (peer: FakePeer) => peer.posted.filter((p) => p.path === '/data').map((p) => (JSON.parse(p.body) as { data: string }).data);
    // Each entry goes to both peers as it is submitted: once the answering peer has all ten, the held one would too if nothing held them back.
    await waitFor('the answering peer to get every entry', () => sent(answering).length === 10);
    expect(sent(held).sort()).toEqual(['entry 0', 'entry 1']);
    held.release();
    await waitFor('the waiting entries to follow', () => sent(held).length === 10);
    expect(sent(held).sort()).toEqual([...entries].sort());
  });

  it('skips a peer whose post failed until its back-off has passed', async () => {
    // Accepts each connection and hangs up at once: every post to it fails.
    const failing = track(await rawPeer(''));
    const healthy = track(await heldMinedPeer());
    healthy.release();
    const { logger, lines } = recordingLogger();
    const options = { peers: [failing.url, healthy.url], peerBackoffMs: 60_000, syncIntervalMs: 0 };
    const node = await nodeWith(f.main.slice(0, 2), options, { logger });
    await postJson(`${node.url}mined`, blockToJson(f.main[2]!));
    await waitFor('the post of block 2 to fail', () => lines.some((l) => l.msg === 'could not send block to peer' && l.fields.index === 2));
    const connections = failing.requests.length;
    for (const block of f.main.slice(3, 7)) await postJson(`${node.url}mined`, blockToJson(block));
    await waitFor('the healthy peer to get block 6', () => healthy.minedIndexes().includes('6'));
    expect(failing.requests.length).toBe(connections);
  });
});

/** A raw TCP connection to a node, with everything it received and whether it was closed. */
async function rawConnection(nodeUrl: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void>; close(): Promise<void> }> {
  const { hostname, port } = new URL(nodeUrl);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => text, closed, close: async () => void socket.destroy() };
}

describe('connections', () => {
  it('at --max-connections with every connection busy, closes a new one at once, while those already in are still served', async () => {
    const node = await nodeWith(f.main.slice(0, 11), { maxConnections: 4 });
    // Event streams: a request in progress for as long as they are open, so none is closed for room.
    const streams: Awaited<ReturnType<typeof rawConnection>>[] = [];
    for (let i = 0; i < 4; i++) {
      const stream = track(await rawConnection(node.url));
      stream.socket.write(`GET /events HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor('the stream to start', () => stream.received().includes('event: tip'));
      streams.push(stream);
    }
    const extra = track(await rawConnection(node.url));
    extra.socket.write(`GET /status HTTP/1.1\r\nHost: x\r\n\r\n`);
    await extra.closed;
    expect(extra.received()).toBe('');
    // A stream that leaves makes room; the streams still open get the next block.
    await streams[3]!.close();
    // Raw sockets: fetch does not give up on a connection closed as it arrives.
    const body = JSON.stringify(blockToJson(f.main[11]!));
    const posted = await waitFor('room for a post', async () => {
      const post = await rawConnection(node.url);
      post.socket.write(
        `POST /mined HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      await post.closed;
      return post.received().includes('"accepted":true');
    });
    expect(posted).toBe(true);
    for (const stream of streams.slice(0, 3)) await waitFor('the stream to get the block', () => stream.received().includes('event: block'));
  });

  it('at --max-connections with idle keep-alive connections, closes the one idle longest so a new client is answered', async () => {
    const node = await startTestNode({ maxConnections: 2 });
    const idle: Awaited<ReturnType<typeof rawConnection>>[] = [];
    for (let i = 0; i < 2; i++) {
      const connection = track(await rawConnection(node.url));
      connection.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor('the keep-alive request to be answered', () => connection.received().includes('{"ok":true}'));
      idle.push(connection);
    }
    const client = track(await rawConnection(node.url));
    client.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    // Answered, or (without room made) closed as it arrived.
    await Promise.race([client.closed, waitFor('the new client to be answered', () => client.received().includes('{"ok":true}'))]);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200[\s\S]*\{"ok":true\}/);
    // The first idle connection made room; the other is still open.
    await idle[0]!.closed;
    idle[1]!.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor('the remaining keep-alive connection to be answered again', () => idle[1]!.received().split('{"ok":true}').length === 3);
  });

  it('closes connections that send nothing, so idle sockets cannot hold every slot', async () => {
    const node = await startTestNode({ maxConnections: 2, bodyTimeoutMs: 300 });
    const idle = [await rawConnection(node.url), await rawConnection(node.url)];
    await Promise.all(idle.map((connection) => connection.closed));
    const client = track(await rawConnection(node.url));
    client.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor('the client to be answered', () => client.received().includes('{"ok":true}'));
  });

  it('turns a body away with a JSON 503 while other bodies being received hold the shared budget, and takes it once they are gone', async () => {
    const node = await startTestNode({ maxBodyBytesInFlight: 1000 });
    const hog = await rawConnection(node.url);
    hog.socket.write(`POST /mined HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n${' '.repeat(800)}\r\n`);
    const post = () => postJson(`${node.url}mined`, `{"pad": "${'x'.repeat(400)}"}`);
    const refused = await waitFor('a body to find no room', async () => {
      const answer = await post();
      return answer.status === 503 && answer;
    });
    expect(refused.json.error.code).toBe(ErrorCode.BUSY);
    await hog.close();
    await waitFor('the budget to be free again', async () => (await post()).status === 400);
  });

  it('answers a request body that trickles past its deadline with a JSON 408 and closes the connection', async () => {
    const node = await startTestNode({ bodyTimeoutMs: 300 });
    const slow = track(await rawConnection(node.url));
    slow.socket.write('POST /mined HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n');
    await slow.closed;
    const [head = '', body = ''] = slow.received().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(body).error.code).toBe(ErrorCode.REQUEST_TIMEOUT);
  });
});

describe('answers that cost too much', () => {
  it('caps a /blocks answer by the page asked for, and rejects a list at its first element that is not a block', async () => {
    // A block, then 3 MiB of empty objects: under the 64 MiB whole-chain cap, over what a page of 10 blocks may weigh.
    const peer = track(await garbagePeer(`[${JSON.stringify(blockToJson(f.main[0]!))},${'{},'.repeat(1024 * 1024)}{}]`));
    const client = testClient();
    try {
      expect(client.pageBytesCap(10)).toBeLessThan(3 * 1024 * 1024);
      await expect(client.blocks(peer.url, 0n, 10)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining(`more than ${client.pageBytesCap(10)} bytes`),
      });
      await expect(client.blockchain(peer.url)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining('block 1 of the answer is malformed'),
      });
    } finally {
      client.close();
    }
  });

  it('drops a block list as soon as its first element is in and is not a block, while the rest still arrives', async () => {
    // Starts like a list of zeros and never ends (a byte every 100 ms): without the early check, a timeout.
    const endless = track(await rawPeer('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 67108864\r\n\r\n[0,', true));
    const client = testClient();
    try {
      await expect(client.blockchain(endless.url)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining('block 0 of the answer is malformed'),
      });
    } finally {
      client.close();
    }
  });

  it('does not inflate a compressed answer (its size cap counts what is received)', async () => {
    const status = JSON.stringify({ height: 0, length: 1, tip: null, nodeId: 'zip', pad: ' '.repeat(4 * 1024 * 1024) });
    const zipped = gzipSync(status);
    const peer = track(
      await fakeHttpPeer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(zipped);
      }),
    );
    const client = testClient();
    try {
      await expect(client.status(peer.url)).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE, message: expect.stringContaining('gzip') });
    } finally {
      client.close();
    }
  });

  it('fetches the ancestors of blocks ahead of the tip from a sender at most once per interval when that gains nothing', async () => {
    // Claims a longer chain but sends no blocks past ours: every fetch from it gains nothing, so the node stays behind.
    const liar = track(await apiPeer(f.main.slice(0, 3), { length: 12, height: 11 }));
    const node = await nodeWith(f.main.slice(0, 3), { aheadSyncIntervalMs: 60_000, syncIntervalMs: 0 });
    const post = (block: Block) => postJson(`${node.url}mined`, blockToJson(block), { [PEER_HEADER]: liar.url });
    expect((await post(f.main[8]!)).json.reason).toMatch(/ancestors are fetched/);
    const fetches = () => liar.requests.filter((r) => r.startsWith('GET /blocks'));
    await waitFor('the fetch to ask for blocks', () => fetches().length === 1);
    await waitFor('the fetch to end', async () => (await post(f.main[9]!)).json.reason.includes('less than 60000 ms ago'));
    expect((await post(f.main[10]!)).json).toMatchObject({ accepted: false, reason: expect.stringContaining('less than 60000 ms ago') });
    expect(fetches()).toHaveLength(1);
    expect(node.chain().length).toBe(3);
  });
});

describe('JSON that costs far more to parse than it weighs', () => {
  /** `[1,1,…,1]` of about `bytes` bytes: the most numbers a byte cap lets through. */
  const numberFlood = (bytes: number) => `[${'1,'.repeat(Math.floor(bytes / 2) - 2)}1]`;
  /** A peer that answers /status like an empty node and every POST /mined with `reply`. */
  const minedAnswering = (reply: string) =>
    fakeHttpPeer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(path === '/status' ? '{"height":-1,"length":0,"tip":null,"nodeId":"flood"}' : path === '/peers' ? '{"peers":[]}' : reply);
    });

  it('a client body of 1 MiB of numbers is refused with 400 JSON_TOO_COMPLEX, unparsed, and the node goes on taking entries and blocks', async () => {
    const node = await nodeWith(f.main.slice(0, -1));
    const flood = await postJson(`${node.url}data`, numberFlood(1024 * 1024 - 64));
    expect(flood.status).toBe(400);
    expect(flood.json.error).toMatchObject({ code: ErrorCode.JSON_TOO_COMPLEX, message: 'request body holds more numbers than the 16 it may' });
    const padded = JSON.stringify({ ...blockToJson(f.main.at(-1)!), extra: '' }).replace('"extra":""', `"extra":${numberFlood(512 * 1024)}`);
    const block = await postJson(`${node.url}mined`, padded);
    expect(block.status).toBe(400);
    expect(block.json.error.code).toBe(ErrorCode.JSON_TOO_COMPLEX);
    expect(node.chain().length).toBe(f.main.length - 1);
    expect((await postJson(`${node.url}data`, { data: 'still taken' })).status).toBe(202);
    expect((await postJson(`${node.url}mined`, blockToJson(f.main.at(-1)!))).json).toEqual({ received: true, accepted: true });
  });

  it('a client body past its limits is refused at the chunk that shows it, before the rest has come', async () => {
    const node = await nodeWith(f.main.slice(0, 1));
    // 64 KiB of a 1 MiB body, and the rest never comes: only a check of the bytes as they arrive can answer before the body deadline.
    const answer = await new Promise<{ status: number; json: any }>((resolve, reject) => {
      const req = request(
        `${node.url}data`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(numberFlood(64 * 1024).slice(0, -2));
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: ErrorCode.JSON_TOO_COMPLEX, message: 'request body holds more numbers than the 16 it may' });
    expect((await postJson(`${node.url}data`, { data: 'still taken' })).status).toBe(202);
  });

  it('a peer answering POST /mined with 1 MiB of numbers, fewer numbers than its reply cap, or a string past that cap is a bad response; the other peer gets every block', async () => {
    const big = track(await minedAnswering(numberFlood(1024 * 1024 - 64)));
    const dense = track(await minedAnswering(numberFlood(12 * 1024)));
    const long = track(await minedAnswering(JSON.stringify({ received: true, reason: 'x'.repeat(1024 * 1024) })));
    const healthy = track(await heldMinedPeer());
    healthy.release();
    const { logger, lines } = recordingLogger();
    const node = await nodeWith(f.main.slice(0, 2), { peers: [big.url, dense.url, long.url, healthy.url], syncIntervalMs: 0 }, { logger });
    for (const block of f.main.slice(2, 5)) await postJson(`${node.url}mined`, blockToJson(block));
    const failure = (peer: FakePeer) =>
      waitFor(`the post to ${peer.url} to fail`, () => lines.find((l) => l.msg === 'could not send block to peer' && l.fields.peer === peer.url));
    // Refused for its numbers as they arrive, long before its size passes the reply cap.
    expect((await failure(big)).fields).toMatchObject({
      code: ErrorCode.PEER_BAD_RESPONSE,
      reason: expect.stringContaining('holds more numbers than the 64 it may'),
    });
    expect((await failure(dense)).fields).toMatchObject({
      code: ErrorCode.PEER_BAD_RESPONSE,
      reason: expect.stringContaining('holds more numbers than the 64 it may'),
    });
    expect((await failure(long)).fields).toMatchObject({
      code: ErrorCode.PEER_BAD_RESPONSE,
      reason: expect.stringContaining('sent more than 16384 bytes'),
    });
    await waitFor('the healthy peer to get block 4', () => healthy.minedIndexes().includes('4'));
    expect((await http(`${node.url}status`)).json.height).toBe(4);
  });

  it('a /status answer of 1 MiB of numbers is a bad response, refused before it is parsed', async () => {
    const peer = track(await garbagePeer(numberFlood(1024 * 1024 - 64)));
    const client = testClient();
    try {
      await expect(client.status(peer.url)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining('holds more numbers than the 2048 it may'),
      });
    } finally {
      client.close();
    }
  });
  it('a /status answer past its limits is let go as it arrives, not once it is whole', async () => {
    // 64 KiB of numbers, and the rest never comes: only a check of the bytes as they arrive can refuse it before the timeout.
    let closed!: () => void;
    const hungUp = new Promise<void>((resolve) => (closed = resolve));
    const peer = track(
      await fakeHttpPeer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(numberFlood(64 * 1024).slice(0, -2));
        res.on('close', closed);
      }),
    );
    const client = testClient();
    try {
      await expect(client.status(peer.url)).rejects.toMatchObject({
        code: ErrorCode.PEER_BAD_RESPONSE,
        message: expect.stringContaining('holds more numbers than the 2048 it may'),
      });
      await hungUp;
    } finally {
      client.close();
    }
  });
});

describe('one block ahead of the tip under many sender names', () => {
  it('asks one of them: the block is held, and the same block posted again under another name is answered at once', async () => {
    // One server behind 100 names (path prefixes), answering like a node that has nothing past ours.
    const names = track(await apiPeer(f.main.slice(0, 3)));
    const node = await nodeWith(f.main.slice(0, 3), { syncIntervalMs: 0 });
    const answers = [];
    for (let i = 0; i < 100; i++) {
      answers.push((await postJson(`${node.url}mined`, blockToJson(f.main[8]!), { [PEER_HEADER]: `${names.url}name-${i}/` })).json.reason as string);
    }
    expect(answers[0]).toMatch(/ancestors are fetched/);
    expect(answers.slice(1).every((reason) => reason.startsWith('held:'))).toBe(true);
    await waitFor('the one fetch', () => names.requests.some((r) => r.includes('/blocks?')));
    expect(names.requests.filter((r) => r.startsWith('GET'))).toHaveLength(1);
  });
});

/** A chain valid at difficulty 0 whose blocks carry `dataBytes` of data each. */
function bigChain(length: number, dataBytes: number): Block[] {
  const blocks: Block[] = [];
  for (let i = 0n; i < BigInt(length); i++) {
    const data = `${i}:`.padEnd(dataBytes, 'x');
    blocks.push(sealBlock({ index: i, prevHash: blocks.at(-1)?.hash ?? '', data, timestamp: 1_700_000_000n + i }, i));
  }
  return blocks;
}

describe('big blocks', () => {
  it('cuts a /blocks page at its byte budget (one block at least), and a node syncs such pages whole', async () => {
    const big = bigChain(9, 1_000_000);
    const server = await nodeWith(big, { difficulty: 0 });
    const first = await http(`${server.url}blocks?from=0&limit=1000`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/application\/json/);
    expect(Buffer.byteLength(first.text)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    expect(first.json.length).toBeGreaterThan(0);
    expect(first.json.length).toBeLessThan(9);
    const follower = await startTestNode({ difficulty: 0, peers: [server.url] });
    expect(follower.chain().length).toBe(9);
  });

  it('asks a peer that does not cut its pages for fewer blocks when a page is over the cap', async () => {
    const big = bigChain(50, 200_000);
    // apiPeer answers every block asked for: 10 MB for the first page.
    const peer = track(await apiPeer(big));
    const node = await startTestNode({ difficulty: 0, peers: [peer.url], maxPeerResponseBytes: 4 * 1024 * 1024 });
    expect(node.chain().length).toBe(50);
    expect(peer.requests.filter((r) => r.startsWith('GET /blocks')).length).toBeGreaterThan(1);
  });

  it("refuses with 413 a block whose output form would not fit a peer's body limit, though its body did", async () => {
    const node = await startTestNode({ difficulty: 0 });
    const limit = node.config.maxBodyBytes;
    const [zero] = bigChain(1, 1);
    const numeric = (block: Block) =>
      JSON.stringify({ ...blockToJson(block), index: 'I', timestamp: 'T', nonce: 'N' })
        .replace('"I"', String(block.index))
        .replace('"T"', String(block.timestamp))
        .replace('"N"', String(block.nonce));
    const overhead = Buffer.byteLength(numeric(zero!)) - 1;
    const block = bigChain(1, limit - overhead)[0]!;
    expect(Buffer.byteLength(numeric(block))).toBeLessThanOrEqual(limit);
    const answer = await postJson(`${node.url}mined`, numeric(block));
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE, message: expect.stringContaining('output form') });
    expect(node.chain().length).toBe(0);
  });
});

describe('POST /mined while the chain is busy', () => {
  it('answers "queued" while a long sync is being written, and processes the block when its turn comes', async () => {
    const long = bigChain(2000, 10);
    const next = sealBlock({ index: 2000n, prevHash: long.at(-1)!.hash, data: 'after the sync', timestamp: 1_800_000_000n }, 0n);
    const peer = track(await apiPeer(long));
    // 0: the answer does not wait at all for a decision that has to queue. One
    // batch: the whole sync is one commit, so the block's turn comes after it.
    const node = await startTestNode({ difficulty: 0, minedAnswerMs: 0, syncIntervalMs: 0, syncTimeoutMs: 0, syncBatchSize: 2000 });
    await postJson(`${node.url}peers`, { url: peer.url });
    // The sync's commit writes the block files (one fsync each) before it lets go of the chain's queue.
    await waitFor('the sync to start writing its block files', () => existsSync(join(node.dataDir, '000000.json')));
    const answer = await postJson(`${node.url}mined`, blockToJson(next));
    expect(node.chain().tip?.hash).not.toBe(next.hash);
    expect(answer.json).toMatchObject({ received: true, accepted: false, reason: expect.stringMatching(/^queued/) });
    await waitFor('the queued block to be stored after the sync', () => node.chain().length === 2001);
    expect(node.chain().tip?.hash).toBe(next.hash);
  });
});
