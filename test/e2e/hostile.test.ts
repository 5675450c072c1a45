/**
 * A node against a hostile network: every hostile behaviour is played by a
 * real fake peer or real sockets on 127.0.0.1, and each test fails when the
 * defence it names is removed.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, type Block } from '../../src/block.js';
import { ErrorCode } from '../../src/errors.js';
import { PeerClient } from '../../src/node/peer-client.js';
import { mineBlock } from '../helpers/fixtures.js';
import { apiPeer } from './helpers/fake-peers.js';
import { loadFixtures, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, nodeWith, postJson, startTestNode, track } from './helpers/nodes.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

function testClient(): PeerClient & { close(): void } {
  return new PeerClient({ timeoutMs: 2000, maxResponseBytes: 64 * 1024 * 1024, selfUrl: () => undefined, userAgent: 'test' });
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
  it('OPTIONS answers 204 with an Allow header naming the route\'s methods; an unknown route stays a JSON 404', async () => {
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
