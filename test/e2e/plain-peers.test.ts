/**
 * Plain jbc peers (only /blockchain.json and /mined) as a node follows
 * them: not downloaded again by every periodic sync, a whole chain that is
 * slow to start, bigger than the answer cap, in jbc's order, or broken.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BLOCK_BYTES, sealBlock, type Block } from '../../src/block.js';
import { ErrorCode } from '../../src/errors.js';
import { PLAIN_PEER_FALLBACK_INTERVALS } from '../../src/sync/syncer.js';
import { hashesOf } from '../helpers/fixtures.js';
import { emptyNodePeer, jbcBlockText, jbcChainText, plainJbcPeer, type FakePeer } from './helpers/fake-peers.js';
import { loadFixtures, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, nodeWith, postJson, recordingLogger, startTestNode, track, waitFor } from './helpers/nodes.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

const chainRequests = (peer: FakePeer) => peer.requests.filter((r) => r === 'GET /blockchain.json').length;
const statusRequests = (peer: FakePeer) => peer.requests.filter((r) => r.endsWith('/status')).length;
const spoolFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.spool'));

describe('the periodic sync and a plain jbc peer', () => {
  /**
   * A node following a plain peer that holds f.main, and a peer with /status
   * whose requests count the periodic syncs: each asks it once at least, so
   * its /status requests, less startup's, are at least the syncs so far.
   */
  async function following(): Promise<{ plain: FakePeer; clock: FakePeer; url: string }> {
    const plain = track(await plainJbcPeer(f.main));
    const clock = track(await emptyNodePeer());
    const node = await startTestNode({ peers: [plain.url, clock.url], syncIntervalMs: 100 });
    expect(node.chain().length).toBe(12);
    expect(chainRequests(plain)).toBe(1);
    return { plain, clock, url: node.url };
  }

  it('does not download its whole chain again at every interval', async () => {
    const { plain, clock } = await following();
    await waitFor('five periodic syncs', () => statusRequests(clock) >= 6);
    expect(chainRequests(plain)).toBe(1);
  });

  it(`still asks it every ${PLAIN_PEER_FALLBACK_INTERVALS}th interval`, async () => {
    const { plain, clock } = await following();
    await waitFor('the fallback download', () => chainRequests(plain) === 2);
    expect(statusRequests(clock)).toBeGreaterThan(PLAIN_PEER_FALLBACK_INTERVALS);
  });

  it('asks it at the next interval once it posted a block that does not fit the chain', async () => {
    const { plain, clock, url } = await following();
    // Block 5 of another fork: the chain has a different block 5 (stale), so the sender's chain changed.
    const answer = await postJson(`${url}mined`, jbcBlockText(f.fork[5]!));
    expect(answer.json).toMatchObject({ accepted: false, reason: expect.stringMatching(/^stale/) });
    const syncs = await waitFor('the next download', () => chainRequests(plain) === 2 && statusRequests(clock));
    expect(syncs).toBeLessThanOrEqual(PLAIN_PEER_FALLBACK_INTERVALS);
  });
});

describe("a plain jbc peer's whole chain", () => {
  it('is synced when it starts arriving only after 6 s, with the default time limits', async () => {
    const plain = track(await plainJbcPeer(f.main, { delayMs: 6_000 }));
    // peerTimeoutMs undefined: the default (the test nodes' own is shorter).
    const node = await startTestNode({ peers: [plain.url], peerTimeoutMs: undefined });
    await waitFor('the slow chain to be adopted', () => node.chain().length === 12, 30_000);
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
  });

  it("is adopted in jbc's order and spelling when bigger than the answer cap, through a spool file that is removed", async () => {
    const text = jbcChainText(f.fork);
    const plain = track(await plainJbcPeer(f.fork, { answer: text }));
    const node = await nodeWith(f.main, { peers: [plain.url], maxPeerResponseBytes: 1024 });
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024);
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.fork));
    expect(await spoolFiles(node.dataDir)).toEqual([]);
  });

  it.each([
    ['cut off', (text: string) => text.slice(0, -40), ErrorCode.PEER_BAD_RESPONSE, 'not closed'],
    ['with a block twice', (text: string) => text.replace(/]$/, `, ${jbcBlockText(f.fork[9]!)}]`), ErrorCode.PEER_BAD_RESPONSE, 'block 9 twice'],
    [
      'with a block that is not one',
      (text: string) => text.replace(/]$/, ', {"index": "14"}]'),
      ErrorCode.PEER_BAD_RESPONSE,
      'block 14 of the answer is malformed',
    ],
    [
      'with a forged block',
      (text: string) => text.replace(jbcBlockText(f.fork[13]!), jbcBlockText({ ...f.fork[13]!, data: 'forged' })),
      ErrorCode.INVALID_CHAIN,
      'hash does not match',
    ],
  ])('changes nothing when it comes %s, is refused for that (not for its size), and leaves no spool file', async (_what, spoil, code, why) => {
    const plain = track(await plainJbcPeer(f.fork, { answer: spoil(jbcChainText(f.fork)) }));
    const { logger, lines } = recordingLogger();
    const node = await nodeWith(f.main, { peers: [plain.url], maxPeerResponseBytes: 1024 }, { logger });
    expect(chainRequests(plain)).toBe(1);
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.main));
    const refusal = lines.find((line) => line.fields.peer === plain.url && line.level === 'warn');
    expect(refusal?.fields).toMatchObject({ code, reason: expect.stringContaining(why) });
    expect(await spoolFiles(node.dataDir)).toEqual([]);
  });
});

describe('the block size limit', () => {
  /** A chain valid at difficulty 0 whose block 2 is `dataBytes` of data. */
  function chainWithBigBlock(dataBytes: number): Block[] {
    const blocks: Block[] = [];
    for (let i = 0n; i < 4n; i++) {
      const data = i === 2n ? 'x'.repeat(dataBytes) : `block ${i}`;
      blocks.push(sealBlock({ index: i, prevHash: blocks.at(-1)?.hash ?? '', data, timestamp: 1_700_000_000n + i }, 0n));
    }
    return blocks;
  }

  it('is the same for a plain jbc peer as for a post: a block over it makes the chain invalid, and nothing of it is adopted', async () => {
    const big = chainWithBigBlock(MAX_BLOCK_BYTES);
    const plain = track(await plainJbcPeer(big));
    const { logger, lines } = recordingLogger();
    const node = await startTestNode({ difficulty: 0, peers: [plain.url] }, { logger });
    expect(node.chain().length).toBe(0);
    const refused = lines.find((l) => l.msg === 'peer sent an invalid chain, skipped');
    expect(refused?.fields.reason).toContain(`block 2 is over ${MAX_BLOCK_BYTES} bytes`);
    const posted = await postJson(
      `${node.url}mined`,
      JSON.stringify({ index: '0', timestamp: '1', data: 'x'.repeat(MAX_BLOCK_BYTES), prev_hash: '', nonce: '0', hash: '0'.repeat(64) }),
    );
    expect(posted.status).toBe(413);
  });

  it('lets a block just under it through, and a follower of the same kind syncs it', async () => {
    const blocks = chainWithBigBlock(MAX_BLOCK_BYTES - 400);
    const plain = track(await plainJbcPeer(blocks));
    const node = await startTestNode({ difficulty: 0, peers: [plain.url] });
    expect(hashesOf(node.chain())).toEqual(hashesOf(blocks));
    const follower = await startTestNode({ difficulty: 0, peers: [node.url] });
    expect(hashesOf(follower.chain())).toEqual(hashesOf(blocks));
  });
});
