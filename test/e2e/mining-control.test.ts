/**
 * Mining steered at run time: POST /mine (N blocks now, mining on or off),
 * POST /mining (on, off, resize), and who may call them. A scripted miner
 * shows exactly which searches the node ran; one test runs the real pool.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBlock, parseBlock } from '../../src/block.js';
import { ErrorCode, JbcError } from '../../src/errors.js';
import type { BlockMiner } from '../../src/mining/index.js';
import { closeAll, http, postJson, startTestNode, waitFor } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';

afterEach(closeAll);

/** A node whose miners are scripted: `built` lists each miner and the worker count it was built with. */
async function scriptedNode(options: Parameters<typeof startTestNode>[0] = {}) {
  const built: Array<{ workers: number; miner: ScriptedMiner }> = [];
  const createMiner = async ({ workers }: { workers: number }): Promise<BlockMiner> => {
    const miner = new ScriptedMiner();
    built.push({ workers, miner });
    return miner;
  };
  const node = await startTestNode({ mine: false, ...options }, { createMiner });
  return { node, built };
}

/** Solves the searches of `miner` one after another, `count` in all, from search number `first`. */
async function solve(miner: ScriptedMiner, first: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await miner.searches(first + i);
    await miner.solve();
  }
}

describe('POST /mine', () => {
  it('on a --no-mine node mines exactly the blocks asked for, answers with them once stored, then idles', async () => {
    const { node, built } = await scriptedNode();
    expect(built).toHaveLength(0); // no worker pool until someone asks
    expect(node.status().mining).toMatchObject({ enabled: false, requested: 0 });

    const answer = postJson(`${node.url}mine`, { blocks: 2 });
    await waitFor('a miner', () => built[0]);
    const miner = built[0]!.miner;
    await solve(miner, 1, 2);
    const { status, json } = await answer;
    expect(status).toBe(200);
    expect(json.blocks.map((b: { index: string }) => b.index)).toEqual(['0', '1']);
    for (const block of json.blocks) checkBlock(parseBlock(block), node.config.difficulty);
    expect(node.chain().tip?.hash).toBe(json.blocks[1].hash);
    // Served: no further search was started.
    expect(miner.templates).toHaveLength(2);
    expect(node.status().mining).toMatchObject({ enabled: false, requested: 0 });

    const next = postJson(`${node.url}mine`, { blocks: 1 });
    await solve(miner, 3, 1);
    expect((await next).json.blocks.map((b: { index: string }) => b.index)).toEqual(['2']);
    expect(built).toHaveLength(1);
  });

  it('stops mining for a client that hangs up before its blocks are found', async () => {
    const { node, built } = await scriptedNode();
    const client = new AbortController();
    const answer = fetch(`${node.url}mine`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blocks: 5 }),
      signal: client.signal,
    }).catch((err: unknown) => err);
    await waitFor('a miner', () => built[0]);
    const miner = built[0]!.miner;
    await miner.searches(1);
    await miner.solve();
    await miner.searches(2);
    expect(node.status().mining.requested).toBe(4);
    client.abort();
    await answer;
    await waitFor('the request dropped', () => node.status().mining.requested === 0);
    await waitFor('the search cancelled', () => !miner.stats().searching);
    expect(node.chain().height).toBe(0n);
  });

  it.each([[{ blocks: 0 }], [{ blocks: 1001 }], [{ blocks: -1 }], [{ blocks: 1.5 }], [{ blocks: 'many' }], [{}], [[3]]])(
    'refuses %j with 400 and mines nothing',
    async (body) => {
      const { node, built } = await scriptedNode();
      const { status, json } = await postJson(`${node.url}mine`, body);
      expect(status).toBe(400);
      expect(json.error.code).toBe('BAD_REQUEST');
      expect(built).toHaveLength(0);
      expect(node.status().mining.requested).toBe(0);
    },
  );
});

describe('POST /mining', () => {
  it('turns mining on and off at run time', async () => {
    const { node, built } = await scriptedNode();
    const on = await postJson(`${node.url}mining`, { enabled: true });
    expect(on.status).toBe(200);
    expect(on.json.mining).toMatchObject({ enabled: true });
    const miner = built[0]!.miner;
    await solve(miner, 1, 2);
    await miner.searches(3); // on its own, on the new tip
    expect(node.chain().height).toBe(1n);

    const off = await postJson(`${node.url}mining`, { enabled: false });
    expect(off.json.mining).toMatchObject({ enabled: false });
    await waitFor('the search cancelled', () => !miner.stats().searching);
    expect(node.status().mining.enabled).toBe(false);
    expect(miner.templates).toHaveLength(3);

    // Off, it still mines what it is asked for.
    const answer = postJson(`${node.url}mine`, { blocks: 1 });
    await solve(miner, 4, 1);
    expect((await answer).json.blocks[0].index).toBe('2');
  });

  it('resizes the worker pool: a new miner takes over and the old one is closed', async () => {
    const { node, built } = await scriptedNode({ mine: true, workers: 1 });
    await built[0]!.miner.searches(1);
    const resized = await postJson(`${node.url}mining`, { enabled: true, workers: 3 });
    expect(resized.status).toBe(200);
    expect(built.map((b) => b.workers)).toEqual([1, 3]);
    expect(built[0]!.miner.closed).toBe(true);
    await built[1]!.miner.searches(1);
    // Workers given while mining is off are used once it is turned on.
    await postJson(`${node.url}mining`, { enabled: false, workers: 3 });
    expect(built).toHaveLength(2);
  });

  it('a pool that cannot start leaves mining as it was, and the next request tries again', async () => {
    const built: number[] = [];
    const miners: ScriptedMiner[] = [];
    let failing = true;
    const createMiner = async ({ workers }: { workers: number }): Promise<BlockMiner> => {
      built.push(workers);
      if (workers === 7 && failing) throw new JbcError(ErrorCode.MINING_FAILED, 'cannot start 7 workers');
      miners.push(new ScriptedMiner());
      return miners.at(-1)!;
    };
    const node = await startTestNode({ mine: true, workers: 1 }, { createMiner });
    const refused = await postJson(`${node.url}mining`, { enabled: true, workers: 7 });
    expect(refused.status).toBe(500);
    expect(refused.json.error.code).toBe('MINING_FAILED');
    expect(node.status().mining.enabled).toBe(true);
    // The first miner still mines: its search goes on and it was not closed.
    expect(miners).toHaveLength(1);
    expect(miners[0]!.closed).toBe(false);
    await miners[0]!.searches(1);
    await miners[0]!.solve();
    await miners[0]!.searches(2);
    failing = false;
    expect((await postJson(`${node.url}mining`, { enabled: true, workers: 7 })).status).toBe(200);
    expect(built).toEqual([1, 7, 7]);
    expect(miners[0]!.closed).toBe(true);
    await miners[1]!.searches(1);
  });

  it.each([[{ enabled: 'yes' }], [{ workers: 2 }], [{ enabled: true, workers: 0 }], [{ enabled: true, workers: 2000 }], [{ enabled: true, speed: 9 }]])(
    'refuses %j with 400 and changes nothing',
    async (body) => {
      const { node, built } = await scriptedNode();
      const { status } = await postJson(`${node.url}mining`, body);
      expect(status).toBe(400);
      expect(built).toHaveLength(0);
      expect(node.status().mining.enabled).toBe(false);
    },
  );

  it('mines and resizes with the real worker pool', async () => {
    const node = await startTestNode({ mine: false, workers: 1 });
    const { status, json } = await postJson(`${node.url}mine`, { blocks: 3 });
    expect(status).toBe(200);
    const blocks = json.blocks.map(parseBlock);
    expect(blocks.map((b: { index: bigint }) => b.index)).toEqual([0n, 1n, 2n]);
    for (const block of blocks) checkBlock(block, node.config.difficulty);
    expect(node.chain().height).toBe(2n);
    const resized = await postJson(`${node.url}mining`, { enabled: false, workers: 2 });
    expect(resized.json.mining).toMatchObject({ enabled: false, workers: 2 });
    const more = await postJson(`${node.url}mine`, { blocks: 1 });
    expect(more.json.blocks[0].index).toBe('3');
  });
});

describe('who may call the control routes', () => {
  const token = 'a-long-admin-token-0123456789';
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;

  it('with an admin token: only requests that carry it, loopback ones included', async () => {
    const { node, built } = await scriptedNode({ adminToken: token });
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token' }, { authorization: token }]) {
      for (const [path, body] of [
        ['mine', { blocks: 1 }],
        ['mining', { enabled: true }],
      ] as const) {
        const { status, json } = await postJson(`${node.url}${path}`, body, headers);
        expect(status).toBe(403);
        expect(json.error.code).toBe('FORBIDDEN');
      }
    }
    expect(built).toHaveLength(0);
    const on = await postJson(`${node.url}mining`, { enabled: true }, { authorization: `Bearer ${token}` });
    expect(on.status).toBe(200);
    expect(on.json.mining.enabled).toBe(true);
  });

  it.skipIf(outside === undefined)('without a token: loopback clients only (403 from another address)', async () => {
    const { node, built } = await scriptedNode({ host: '0.0.0.0' });
    const remote = `http://${outside}:${node.port}/`;
    const refused = await postJson(`${remote}mining`, { enabled: true });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('FORBIDDEN');
    expect((await postJson(`${remote}mine`, { blocks: 1 })).status).toBe(403);
    // The peer routes stay open to everyone.
    expect((await http(`${remote}status`)).status).toBe(200);
    expect(built).toHaveLength(0);
    const local = await postJson(`http://127.0.0.1:${node.port}/mining`, { enabled: true });
    expect(local.status).toBe(200);
  });

  it.skipIf(outside === undefined)('with a token: requests from another address that carry it', async () => {
    const { node } = await scriptedNode({ host: '0.0.0.0', adminToken: token });
    const remote = `http://${outside}:${node.port}/`;
    expect((await postJson(`${remote}mining`, { enabled: true }, { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
