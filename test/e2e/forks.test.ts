/**
 * Forks and relay between nodes at mining speed: a competing block is held
 * and wins without a download once its branch grows, a gap is filled from
 * the sender in one request, an orphan waits for its parent, a plain jbc
 * peer gets every block in order, and a network of four nodes that fork at
 * every height agrees on one chain round after round.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blockToJson, type Block } from '../../src/block.js';
import type { NodeHandle } from '../../src/node/index.js';
import { PEER_HEADER } from '../../src/peer/index.js';
import { hashesOf, mineChain } from '../helpers/fixtures.js';
import { apiPeer, fakeHttpPeer } from './helpers/fake-peers.js';
import { closeAll, http, nodeWith, postJson, startTestNode, track, trackedTempDir, waitFor } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';
import { toJson, writeDataDir } from './helpers/fixtures.js';

afterEach(closeAll);

const base = mineChain(6, 2, { tag: 'base' });

/** A node metric's value from GET /metrics. */
async function metric(url: string, name: string): Promise<number> {
  const { text } = await http(`${url}metrics`);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('GET /blocks with a locator', () => {
  it("answers with the blocks after the newest of the asker's hashes it holds, and refuses a malformed locator", async () => {
    const ours = mineChain(2, 2, { after: base.at(-1), tag: 'ours' });
    const node = await nodeWith([...base, ...ours]);
    const theirs = mineChain(3, 2, { after: base.at(-1), tag: 'theirs' });
    const locator = [...theirs]
      .reverse()
      .concat([...base].reverse())
      .map((b) => b.hash);
    const { json } = await http(`${node.url}blocks?locator=${locator.join(',')}&limit=10`);
    expect(json.map((b: { hash: string }) => b.hash)).toEqual(hashesOf(ours));
    for (const query of ['locator=', 'locator=abc', `locator=${locator[0]}&from=3`, `locator=${Array(102).fill(locator[0]).join(',')}`]) {
      expect((await http(`${node.url}blocks?${query}`)).status).toBe(400);
    }
  });
});

describe('a block that does not extend the tip', () => {
  it('is held when it competes with the tip, and its branch wins without a download once it is longer', async () => {
    const ours = mineChain(1, 2, { after: base.at(-1), tag: 'ours' });
    const theirs = mineChain(2, 2, { after: base.at(-1), tag: 'theirs' });
    const sender = track(await apiPeer([...base, ...theirs]));
    const node = await nodeWith([...base, ...ours], { syncIntervalMs: 0 });
    const post = (block: Block) => postJson(`${node.url}mined`, blockToJson(block), { [PEER_HEADER]: sender.url });
    expect((await post(theirs[0]!)).json).toMatchObject({ accepted: false, reason: expect.stringContaining('kept as a side branch') });
    expect((await post(theirs[1]!)).json).toMatchObject({ accepted: true });
    expect(hashesOf(node.chain())).toEqual(hashesOf([...base, ...theirs]));
    expect(sender.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
  });

  it('whose parent is missing has the gap filled from its sender in one request, without a sync', async () => {
    const chain = mineChain(12, 2, { tag: 'gap' });
    const sender = track(await apiPeer(chain));
    const node = await nodeWith(chain.slice(0, 6), { syncIntervalMs: 0 });
    const { json } = await postJson(`${node.url}mined`, blockToJson(chain[8]!), { [PEER_HEADER]: sender.url });
    expect(json).toMatchObject({ accepted: false, reason: expect.stringMatching(/^ahead: .*ancestors are fetched/) });
    await waitFor('the gap to be filled', () => node.chain().length === 12);
    const asked = sender.requests.filter((r) => r.startsWith('GET'));
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/^GET \/blocks\?locator=/);
    expect(hashesOf(node.chain())).toEqual(hashesOf(chain));
  });

  it('of a fork 3 blocks deep costs the 4 blocks of the longer fork, on a chain of any length', async () => {
    const common = mineChain(150, 2, { tag: 'common' });
    const ours = mineChain(3, 2, { after: common.at(-1), tag: 'ours' });
    const theirs = mineChain(4, 2, { after: common.at(-1), tag: 'theirs' });
    const sender = track(await apiPeer([...common, ...theirs]));
    const node = await nodeWith([...common, ...ours], { syncIntervalMs: 0 });
    await postJson(`${node.url}mined`, blockToJson(theirs[3]!), { [PEER_HEADER]: sender.url });
    await waitFor('the longer fork', () => node.chain().tip?.hash === theirs[3]!.hash);
    // The metrics are recorded just after the chain changes.
    await waitFor('the fetch counted', async () => (await metric(node.url, 'jbc_sync_blocks_written_total')) >= 4);
    expect(await metric(node.url, 'jbc_sync_blocks_downloaded_total')).toBe(4);
    expect(await metric(node.url, 'jbc_sync_blocks_written_total')).toBe(4);
  });

  it('from a sender that does not name itself waits for its parent, and joins the chain when the parent comes', async () => {
    const chain = mineChain(8, 2, { tag: 'orphan' });
    const node = await nodeWith(chain.slice(0, 6), { syncIntervalMs: 0 });
    expect((await postJson(`${node.url}mined`, blockToJson(chain[7]!))).json.accepted).toBe(false);
    expect((await postJson(`${node.url}mined`, blockToJson(chain[6]!))).json.accepted).toBe(true);
    await waitFor('the held block to join', () => node.chain().length === 8);
    expect(hashesOf(node.chain())).toEqual(hashesOf(chain));
  });
});

/**
 * A plain jbc node's /mined as it behaves: a post that comes while another
 * is being handled fails with HTTP 500 (its scheduler refuses a second job
 * of the same id), and now and then one fails anyway. Keeps the indexes it
 * took, in the order it took them.
 */
async function busyJbcPeer(blocks: readonly Block[]) {
  const took: string[] = [];
  let busy = false;
  let posts = 0;
  const peer = await fakeHttpPeer((req, res, body) => {
    if (req.method === 'GET' && req.url === '/blockchain.json') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(JSON.stringify(toJson(blocks)));
    } else if (req.method === 'POST' && req.url === '/mined') {
      posts++;
      if (busy || posts % 4 === 0) {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<h1>Internal Server Error</h1>');
        return;
      }
      busy = true;
      // The answer comes once the block is handled, a moment later.
      setImmediate(() => {
        busy = false;
        took.push((JSON.parse(body) as { index: string }).index);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"received": true}');
      });
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    }
  });
  return { ...peer, took };
}

describe('relay to a plain jbc peer', () => {
  it('delivers a burst of blocks complete and in order, though the peer refuses posts that overlap and fails some', async () => {
    const chain = mineChain(40, 2, { tag: 'burst' });
    const jbc = track(await busyJbcPeer(chain.slice(0, 2)));
    const node = await nodeWith(chain.slice(0, 2), { peers: [jbc.url], peerBackoffMs: 5, syncIntervalMs: 0 });
    await Promise.all(chain.slice(2).map((block) => postJson(`${node.url}mined`, blockToJson(block))));
    await waitFor('every block at the jbc peer', () => jbc.took.length === 38);
    expect(jbc.took).toEqual(chain.slice(2).map((block) => String(block.index)));
  });
});

describe('a network of four mining nodes', () => {
  it('that forks at every height agrees on one chain after each round, downloading nothing', async () => {
    const genesis = mineChain(1, 2, { tag: 'genesis' });
    const miners = Array.from({ length: 4 }, () => new ScriptedMiner());
    const nodes: NodeHandle[] = [];
    for (const miner of miners) {
      const dataDir = await trackedTempDir();
      await writeDataDir(dataDir, genesis);
      const peers = nodes.map((node) => node.url);
      nodes.push(
        await startTestNode(
          { dataDir, mine: true, peers, syncIntervalMs: 0, aheadSyncIntervalMs: 60_000 },
          { createMiner: async () => miner, now: () => 1_700_000_123_456 },
        ),
      );
    }
    // Every node knows every other.
    for (const node of nodes) for (const other of nodes) if (other !== node) await postJson(`${node.url}peers`, { url: other.url });
    const onTip = (hash: string) => miners.every((miner) => miner.templates.at(-1)?.template.prevHash === hash);
    let tip = genesis[0]!.hash;
    for (let round = 0; round < 8; round++) {
      await waitFor(`round ${round}: every miner on the agreed tip`, () => onTip(tip));
      // All four find a block at once: four branches of one block each.
      await Promise.all(miners.map((miner) => miner.solve()));
      const winner = miners[round % 4]!;
      await waitFor(`round ${round}: the winner mining on its own block`, () => winner.templates.at(-1)!.template.prevHash !== tip);
      const next = await winner.solve();
      tip = next.hash;
      await waitFor(`round ${round}: every node on the winner's branch`, () => nodes.every((node) => node.chain().tip?.hash === tip));
    }
    const chains = nodes.map((node) => hashesOf(node.chain()));
    for (const chain of chains) expect(chain).toEqual(chains[0]);
    expect(chains[0]).toHaveLength(1 + 8 * 2);
    for (const node of nodes) expect(await metric(node.url, 'jbc_sync_blocks_downloaded_total')).toBe(0);
    // Each round, the three nodes that lost gave up their one block (counted just after each chain changed).
    const counted = async () => (await Promise.all(nodes.map((node) => metric(node.url, 'jbc_reorg_depth_blocks_count')))).reduce((a, b) => a + b);
    await waitFor('every reorg counted', async () => (await counted()) >= 8 * 3);
    const reorgs = await Promise.all(nodes.map((node) => metric(node.url, 'jbc_reorg_depth_blocks_count')));
    const abandoned = await Promise.all(nodes.map((node) => metric(node.url, 'jbc_reorg_depth_blocks_sum')));
    expect(reorgs.reduce((a, b) => a + b)).toBe(8 * 3);
    expect(abandoned.reduce((a, b) => a + b)).toBe(8 * 3);
  });
});
