/**
 * The node's mining loop. The first part drives it with a scripted miner, so
 * the order of events (cancel, restart on the new tip, persist, broadcast)
 * is checked exactly; the second part runs real nodes with the real worker
 * pool at a low difficulty (needs `npm run build` for the worker files).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, parseBlock, type Block } from '../../src/block.js';
import { verifyChain } from '../../src/chain.js';
import { blocksOf, hashesOf, mineAboveTarget, mineAtTarget, mineBlock } from '../helpers/fixtures.js';
import { distPath } from '../../src/paths.js';
import { packBlockData } from '../../src/entries.js';
import { PEER_HEADER } from '../../src/node/index.js';
import { fakeHttpPeer } from './helpers/fake-peers.js';
import { loadFixtures, writeDataDir, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, nodeWith, postJson, recordingLogger, startTestNode, track, trackedTempDir, waitFor } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';
import { zerosTarget } from '../../src/target.js';
import { MAX_OWN_AHEAD_SECONDS } from '../../src/retarget.js';
import { nativeSupport } from '../../src/mining/native.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

async function minerNode(blocks: readonly Block[], options: Parameters<typeof startTestNode>[0] = {}) {
  const miner = new ScriptedMiner();
  const dataDir = await trackedTempDir();
  await writeDataDir(dataDir, blocks);
  const node = await startTestNode({ dataDir, mine: true, ...options }, { createMiner: async () => miner, now: () => 1_700_000_123_456 });
  return { node, miner };
}

describe('mining loop (scripted miner)', () => {
  it('mines block 0 itself on an empty chain, then the next on top of it', async () => {
    const { node, miner } = await minerNode([]);
    const changes: string[] = [];
    node.onTip((change) => changes.push(`${change.source} ${change.tip?.index}`));
    const first = await miner.searches(1);
    expect(first).toEqual({ index: 0n, prevHash: '', data: packBlockData(0n, node.url, []), timestamp: 1_700_000_123n });
    expect(first.data).toBe(`jbc-ts block #0 mined by ${node.url}`);
    // With no rule of its own for targets, every block's is the node's difficulty in leading zeros.
    const { difficulty } = (await http(`${node.url}status`)).json;
    expect(miner.templates[0]!.target).toBe(zerosTarget(difficulty));
    const block0 = await miner.solve();
    const second = await miner.searches(2);
    expect(second).toMatchObject({ index: 1n, prevHash: block0.hash });
    expect(miner.templates[1]!.target).toBe(zerosTarget(difficulty));
    expect(node.chain().length).toBe(1);
    expect(changes).toEqual(['mined 0']);
    expect(JSON.parse(await readFile(join(node.dataDir, '000000.json'), 'utf8'))).toEqual(blockToJson(block0));
  });

  it('persists a mined block before broadcasting it to every peer, naming itself in X-Jbc-Peer', async () => {
    let onDiskWhenSent: boolean | undefined;
    let dataDir = '';
    const peer = track(
      await fakeHttpPeer((req, res) => {
        if (req.url === '/mined') onDiskWhenSent = existsSync(join(dataDir, '000012.json'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received": true}');
      }),
    );
    const { node, miner } = await minerNode(f.main, { peers: [peer.url] });
    dataDir = node.dataDir;
    await miner.searches(1);
    const block = await miner.solve();
    await waitFor('the broadcast', () => peer.posted.find((p) => p.path === '/mined'));
    const sent = peer.posted.find((p) => p.path === '/mined')!;
    expect(JSON.parse(sent.body)).toEqual(blockToJson(block));
    expect(sent.headers[PEER_HEADER]).toBe(node.url);
    expect(sent.headers['content-type']).toMatch(/application\/json/);
    expect(onDiskWhenSent).toBe(true);
  });

  it('cancels the search and restarts on the new tip within milliseconds when a peer block arrives', async () => {
    const { node, miner } = await minerNode(f.main.slice(0, 11));
    expect((await miner.searches(1)).index).toBe(11n);
    const before = performance.now();
    const { json } = await postJson(`${node.url}mined`, blockToJson(f.main[11]!));
    expect(json.accepted).toBe(true);
    const next = await miner.searches(2);
    expect(next).toMatchObject({ index: 12n, prevHash: f.main[11]!.hash });
    expect(miner.cancels).toBeGreaterThanOrEqual(1);
    expect(miner.templates[1]!.at - before).toBeLessThan(250);
  });

  it('restarts on the adopted tip after a sync', async () => {
    const forkNode = await startTestNode({ dataDir: await seeded(f.fork) });
    const { node, miner } = await minerNode(f.main);
    expect((await miner.searches(1)).index).toBe(12n);
    await postJson(`${node.url}mined`, blockToJson(f.fork[13]!), { [PEER_HEADER]: forkNode.url });
    const next = await miner.searches(2);
    expect(next).toMatchObject({ index: 14n, prevHash: f.fork[13]!.hash });
    expect(hashesOf(node.chain())).toEqual(hashesOf(f.fork));
  });

  it('drops its own block when a peer block took the height first', async () => {
    const { node, miner } = await minerNode(f.main.slice(0, 11));
    miner.ignoreCancel = true;
    expect((await miner.searches(1)).index).toBe(11n);
    expect((await postJson(`${node.url}mined`, blockToJson(f.main[11]!))).json.accepted).toBe(true);
    // The search on the old tip finishes anyway, with a competing block 11.
    const late = await miner.solve();
    miner.ignoreCancel = false;
    expect(late.index).toBe(11n);
    expect((await miner.searches(2)).index).toBe(12n);
    expect(node.chain().tip!.hash).toBe(f.main[11]!.hash);
    expect(node.chain().findByHash(late.hash)).toBeUndefined();
    expect(JSON.parse(await readFile(join(node.dataDir, '000011.json'), 'utf8'))).toEqual(blockToJson(f.main[11]!));
  });

  it('reports the miner in /status', async () => {
    const { node } = await minerNode(f.main);
    expect((await http(`${node.url}status`)).json.mining).toEqual({
      enabled: true,
      requested: 0,
      workers: 1,
      hashrate: 1234,
      perWorker: [1234],
      engine: 'scripted',
      kernel: 'scripted',
      simd: false,
      simdSupported: false,
      hashes: 42,
    });
  });

  it('closes its miner on close()', async () => {
    const { node, miner } = await minerNode([]);
    await miner.searches(1);
    await node.close();
    expect(miner.closed).toBe(true);
  });
});

async function seeded(blocks: readonly Block[]): Promise<string> {
  const dir = await trackedTempDir();
  await writeDataDir(dir, blocks);
  return dir;
}

describe('real mining nodes (worker pool)', () => {
  beforeAll(() => {
    if (!existsSync(distPath('workers', 'worker.js'))) throw new Error('run `npm run build` first: the worker pool loads dist/workers/worker.js');
  });

  it('logs its hash rate periodically, total and per worker, and reports it in /status', async () => {
    const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const record = (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg });
    const logger = { info: record, warn: record, error: record, debug: () => {}, child: () => logger };
    // Difficulty 10 is out of reach in this test's time, so the workers hash the whole while.
    const node = await startTestNode({ mine: true, difficulty: 10, workers: 2, hashrateLogIntervalMs: 300 }, { logger });
    const line = await waitFor('a hash-rate line with a rate', () => lines.find((l) => l.msg.startsWith('hashrate ') && Number(l.fields.hashrate) > 0));
    expect(line.msg).toMatch(/^hashrate [\d.]+ [kMG]?H\/s total \(w0 [\d.]+ [kMG]?H\/s, w1 [\d.]+ [kMG]?H\/s\)$/);
    expect(line.fields.perWorker).toHaveLength(2);
    const { mining } = (await http(`${node.url}status`)).json;
    // By default the node mines with the native engine's best kernel where it was built, else with WASM SIMD (the fallbacks are tested in pool.test.ts).
    const native = nativeSupport();
    const expected = native.ok ? { engine: 'native', kernel: native.kernels[0], simd: false } : { engine: 'wasm-simd', kernel: 'simd128', simd: true };
    expect(mining).toMatchObject({ enabled: true, workers: 2, ...expected, simdSupported: true });
    const ready = lines.find((l) => l.msg === 'mining engine ready');
    expect(ready?.fields).toMatchObject({ engine: expected.engine, kernel: expected.kernel, workers: 2 });
    expect(mining.hashrate).toBeGreaterThan(0);
    expect(mining.perWorker).toHaveLength(2);
  });

  it("the article's scenario: a main node mines 6 blocks, a second node starts empty, syncs and serves the same chain", async () => {
    const mainDir = await trackedTempDir();
    const miner = await startTestNode({ dataDir: mainDir, mine: true, difficulty: 3 }, {}, 'main');
    await waitFor('6 blocks', () => miner.chain().length >= 6);
    await miner.close();
    const main = await startTestNode({ dataDir: mainDir, mine: false, difficulty: 3 }, {}, 'main');
    const mined = main.chain();
    expect(mined.length).toBeGreaterThanOrEqual(6);
    verifyChain(blocksOf(mined), 3);

    const second = await startTestNode({ peers: [main.url], difficulty: 3 }, {}, 'second');
    expect(hashesOf(second.chain())).toEqual(hashesOf(mined));
    expect((await http(`${second.url}blockchain.json`)).json).toEqual((await http(`${main.url}blockchain.json`)).json);
    const files = (await readdir(second.dataDir)).filter((n) => n.endsWith('.json')).sort();
    expect(files).toEqual(blocksOf(mined).map((b) => `${String(b.index).padStart(6, '0')}.json`));
  });

  it('a follower (--no-mine) receives the blocks a miner broadcasts', async () => {
    const miner = await startTestNode({ mine: true, difficulty: 3 }, {}, 'miner');
    const follower = await startTestNode({ peers: [miner.url], difficulty: 3 }, {}, 'follower');
    await waitFor('the follower to hold 5 blocks', () => follower.chain().length >= 5);
    const theirs = miner.chain();
    for (const block of blocksOf(follower.chain())) expect(theirs.at(block.index)?.hash).toBe(block.hash);
    expect(follower.status().mining.enabled).toBe(false);
  });

  it('three mining nodes converge on one chain', async () => {
    const a = await startTestNode({ mine: true, difficulty: 4 }, {}, 'a');
    const b = await startTestNode({ mine: true, difficulty: 4, peers: [a.url] }, {}, 'b');
    const c = await startTestNode({ mine: true, difficulty: 4, peers: [a.url, b.url] }, {}, 'c');
    const nodes = [a, b, c];
    await waitFor(
      'a shared chain of 8 blocks',
      () => {
        const chains = nodes.map((n) => n.chain());
        if (Math.min(...chains.map((ch) => ch.length)) < 10) return false;
        const shared = 8n;
        return chains.every((ch) => ch.at(shared - 1n)?.hash === chains[0]!.at(shared - 1n)?.hash);
      },
      60_000,
    );
    for (const node of nodes) verifyChain(blocksOf(node.chain()), 4);
    // The blocks as served, checked by an independent SHA-256 of the jbc header.
    const served = (await http(`${a.url}blockchain.json`)).json as Array<Record<string, string>>;
    expect(served.length).toBeGreaterThanOrEqual(10);
    for (const b of served) {
      const header = b.index! + b.prev_hash! + b.data! + b.timestamp! + b.nonce!;
      expect(createHash('sha256').update(header, 'utf8').digest('hex')).toBe(b.hash);
      expect(b.hash).toMatch(/^0000/);
    }
    const status = (await http(`${a.url}status`)).json;
    expect(status.mining).toMatchObject({ enabled: true, workers: 1, engine: expect.any(String) });
    expect(status.peers).toEqual(expect.arrayContaining([b.url, c.url]));
  });
});

describe('block time', () => {
  it("--block-time keeps this node to one block of its own per interval, and still takes peers' blocks", async () => {
    const { node, miner } = await minerNode(f.main.slice(0, 5), { blockTimeMs: 3_600_000 });
    await miner.searches(1);
    await miner.solve();
    await waitFor('the mined block to be stored', () => node.chain().length === 6);
    // A peer's block is taken at once, while this node's own next search waits out the interval.
    const tip = node.chain().tip!;
    const peerBlock = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: 'from a peer', timestamp: 1_700_000_200n }, f.difficulty);
    expect((await postJson(`${node.url}mined`, blockToJson(peerBlock))).json.accepted).toBe(true);
    expect(node.chain().length).toBe(7);
    expect(miner.templates).toHaveLength(1);
  });

  it('without it, the next search starts as soon as a block is stored', async () => {
    const { node, miner } = await minerNode(f.main.slice(0, 5));
    await miner.searches(1);
    await miner.solve();
    await waitFor('the mined block to be stored', () => node.chain().length === 6);
    await miner.searches(2);
  });
});

describe('metrics', () => {
  it('GET /metrics speaks the Prometheus text format, and its values move with the node', async () => {
    const peer = await nodeWith(f.main);
    const { node, miner } = await minerNode([], { peers: [peer.url] });
    const scrape = async () => {
      const answer = await http(`${node.url}metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
      return (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(answer.text)?.[1]);
    };
    let metric = await scrape();
    expect(metric('jbc_chain_height')).toBe(11);
    expect(metric('jbc_sync_blocks_downloaded_total')).toBe(12);
    expect(metric('jbc_peers{state="reachable"}')).toBe(1);
    expect(metric('jbc_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metric('jbc_hashrate_hashes_per_second')).toBe(1234);
    expect(metric('jbc_worker_hashrate_hashes_per_second{worker="0"}')).toBe(1234);
    expect(metric('jbc_hashes_total')).toBe(42);
    expect(metric('jbc_mining_engine_info{engine="scripted",kernel="scripted"}')).toBe(1);
    expect((await http(`${node.url}metrics`)).text).toContain('# TYPE jbc_hashes_total counter');

    await miner.searches(1);
    await miner.solve();
    await waitFor('the mined block', () => node.chain().length === 13);
    const tip = node.chain().tip!;
    const next = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: 'peer block', timestamp: 1_700_000_300n }, f.difficulty);
    await postJson(`${node.url}mined`, blockToJson(next));
    await postJson(`${node.url}mined`, blockToJson(next));
    await http(`${node.url}status`);

    metric = await scrape();
    expect(metric('jbc_chain_height')).toBe(13);
    expect(metric('jbc_blocks_mined_total')).toBe(1);
    // Counted once however often it is scraped: the miner's running total.
    expect(metric('jbc_hashes_total')).toBe(node.status().mining.hashes);
    expect(metric('jbc_blocks_accepted_total')).toBe(1);
    expect(metric('jbc_blocks_rejected_total{reason="known"}')).toBe(1);
    expect(metric('jbc_http_requests_total{route="/status",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(metric('jbc_http_request_duration_seconds_count{route="/mined",method="POST"}')).toBe(2);
  });
});

describe('a target block time', () => {
  it("moves the target past --difficulty zeros, keeps every block valid by jbc's check, and reports the target, the work and the block times", async () => {
    const rule = { difficulty: 3, targetBlockTimeMs: 1000 };
    const miner = await startTestNode({ mine: true, ...rule }, {}, 'miner');
    const follower = await startTestNode({ peers: [miner.url], ...rule }, {}, 'follower');
    await waitFor('the follower to hold 12 blocks', () => follower.chain().length >= 12, 60_000);
    const served = (await http(`${follower.url}blockchain.json`)).json as Array<Record<string, unknown>>;
    const blocks = served.map((b) => parseBlock(b));
    // What a jbc node of that difficulty checks: links, hashes and leading zeros.
    verifyChain(blocks, rule.difficulty);
    const targets = await Promise.all(blocks.map(async (b) => (await http(`${follower.url}blocks/${b.index}/target`)).json));
    for (const [i, t] of targets.entries()) {
      expect(BigInt(`0x${blocks[i]!.hash}`)).toBeLessThanOrEqual(BigInt(`0x${t.target}`));
      expect(BigInt(`0x${t.target}`)).toBeLessThanOrEqual(zerosTarget(rule.difficulty));
    }
    // Blocks came faster than a second apart at first, so the targets got harder.
    expect(targets.at(-1)!.targetDifficulty).toBeGreaterThan(rule.difficulty);
    const status = (await http(`${follower.url}status`)).json;
    expect(status).toMatchObject({ targetBlockTime: 1, difficulty: rule.difficulty, work: expect.stringMatching(/^[0-9a-f]+$/) });
    expect(status.targetDifficulty).toBeGreaterThan(rule.difficulty);
    expect(status.networkHashrate).toBeGreaterThan(0);
    expect(status.meanBlockTime).toBeGreaterThanOrEqual(0);
    const metrics = (await http(`${follower.url}metrics`)).text;
    expect(metrics).toMatch(/^jbc_target_difficulty [0-9.]+$/m);
    expect(metrics).toMatch(/^jbc_target_block_time_seconds 1$/m);
  });

  it("stamps its own blocks at most 5 s ahead of its clock, and waits for the clock while the chain's timestamps run further ahead", async () => {
    const rule = { difficulty: 1, targetBlockTimeMs: 60_000 };
    let clock = Date.now();
    const { logger, lines } = recordingLogger();
    const node = await startTestNode(rule, { logger, now: () => clock });
    // Eleven blocks a second apart reaching 11 s ahead of the clock (peers accept 15 s): as the first blocks of a fast chain come.
    const start = BigInt(Math.floor(clock / 1000)) + 1n;
    for (let i = 0n; i < 11n; i++) {
      const { json } = await http(`${node.url}status`);
      const block = mineAtTarget({ index: i, prevHash: node.chain().tip?.hash ?? '', data: `block ${i}`, timestamp: start + i }, BigInt(`0x${json.target}`));
      expect((await postJson(`${node.url}mined`, blockToJson(block))).json.accepted).toBe(true);
    }
    // The next block must be past their median, start + 5: 7 s ahead of this clock.
    const mined = postJson(`${node.url}mine`, { blocks: 1 });
    await waitFor('the miner to wait for its clock', () => lines.some((line) => line.msg.includes('mining waits for it')));
    expect(node.chain().length).toBe(11);
    clock += 3000;
    const { json } = await mined;
    const block = parseBlock(json.blocks[0]);
    expect(block.timestamp).toBe(start + 6n);
    expect(block.timestamp).toBeLessThanOrEqual(BigInt(Math.floor(clock / 1000)) + MAX_OWN_AHEAD_SECONDS);
  });

  it('refuses a posted block that has the zeros but misses the target its ancestors imply, with the reason', async () => {
    const rule = { difficulty: 1, targetBlockTimeMs: 60_000 };
    const node = await startTestNode(rule);
    // Blocks a second apart at a one-minute target: each next target is harder.
    const start = BigInt(Math.floor(Date.now() / 1000)) - 100n;
    for (let i = 0n; i < 6n; i++) {
      const tip = node.chain().tip;
      const { json } = await http(`${node.url}status`);
      const block = mineAtTarget({ index: i, prevHash: tip?.hash ?? '', data: `block ${i}`, timestamp: start + i }, BigInt(`0x${json.target}`));
      expect((await postJson(`${node.url}mined`, blockToJson(block))).json.accepted).toBe(true);
    }
    const { json } = await http(`${node.url}status`);
    const target = BigInt(`0x${json.target}`);
    expect(target).toBeLessThan(zerosTarget(rule.difficulty));
    const tip = node.chain().tip!;
    const above = mineAboveTarget({ index: 6n, prevHash: tip.hash, data: 'too easy', timestamp: start + 6n }, target, rule.difficulty);
    const answer = await postJson(`${node.url}mined`, blockToJson(above));
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'INVALID_BLOCK', message: `block 6 hash is above its target ${json.target}` });
    expect(node.chain().length).toBe(6);
  });
});
