/**
 * GET /events on real nodes: what a client gets on connecting, block and tip
 * events for blocks from a peer, a sync and a reorg, hash-rate events while
 * mining, the bound on clients, a client that stopped reading, and shutdown
 * with streams open.
 */
import { connect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockToJson, sealBlock, type Block } from '../../src/block.js';
import { easyChain } from '../helpers/fixtures.js';
import { apiPeer, gatedApiPeer } from './helpers/fake-peers.js';
import { openEvents, type EventClient } from './helpers/event-stream.js';
import { loadFixtures, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, postJson, nodeWith, startTestNode, track, waitFor } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

async function events(url: string): Promise<EventClient> {
  return track(await openEvents(url));
}

describe('GET /events', () => {
  it('starts with the reconnection delay and the current tip, peers and sync state', async () => {
    const node = await nodeWith(f.main.slice(0, 11));
    const stream = await events(node.url);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const tip = await stream.next('tip');
    expect(tip.data).toEqual({ height: '10', hash: f.main[10]!.hash, source: null });
    expect((await stream.next('peer')).data).toEqual({ peers: [] });
    expect((await stream.next('sync')).data).toEqual({ syncing: false, sync: null });
    expect(stream.text().startsWith('retry: 2000\n\n')).toBe(true);
    // Not mining: no hash rate.
    expect(stream.events.some((e) => e.event === 'hashrate')).toBe(false);
  });

  it('sends the block, then the tip, when a peer block joins the chain', async () => {
    const node = await nodeWith(f.main.slice(0, 11));
    const stream = await events(node.url);
    await stream.next('tip');
    const seen = stream.events.length;
    expect((await postJson(`${node.url}mined`, blockToJson(f.main[11]!))).json.accepted).toBe(true);
    const block = await stream.next('block', () => true, seen);
    expect(block.data).toEqual(blockToJson(f.main[11]!));
    const tip = await stream.next('tip', () => true, seen);
    expect(tip.data).toEqual({ height: '11', hash: f.main[11]!.hash, source: 'peer' });
    expect(stream.events.indexOf(block)).toBeLessThan(stream.events.indexOf(tip));
  });

  it('sends only the last 50 blocks of a long sync, and the tip', async () => {
    const chain = easyChain(120);
    const peer = track(await apiPeer(chain));
    const node = await startTestNode({ difficulty: 0 });
    const stream = await events(node.url);
    await stream.next('tip');
    await postJson(`${node.url}peers`, { url: peer.url });
    const tip = await stream.next('tip', (data) => data.height === '119');
    expect(tip.data.source).toBe('sync');
    const blocks = stream.events.filter((e) => e.event === 'block').map((e) => e.data.index);
    expect(blocks).toEqual(Array.from({ length: 50 }, (_, i) => String(70 + i)));
  });

  it('reports a new peer in a peer event, and a running download in sync events until it ends', async () => {
    const chain = easyChain(40);
    const peer = track(await gatedApiPeer([...chain], 20));
    const node = await startTestNode({ difficulty: 0, syncPageSize: 5, syncBatchSize: 5, peerTimeoutMs: 60_000 });
    const stream = await events(node.url);
    await stream.next('sync');
    await postJson(`${node.url}peers`, { url: peer.url });
    const added = await stream.next('peer', (data) => data.peers.length > 0);
    expect(added.data.peers[0]).toMatchObject({ url: peer.url, source: 'announced' });
    const progress = await stream.next('sync', (data) => data.sync !== null);
    expect(progress.data).toMatchObject({ syncing: false, sync: { peer: peer.url, height: 19, target: 39 } });
    peer.release();
    await stream.next('tip', (data) => data.height === '39');
    await stream.next('sync', (data) => data.sync === null, stream.events.indexOf(progress) + 1);
    const blocks = stream.events.filter((e) => e.event === 'block').map((e) => Number(e.data.index));
    expect(blocks).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('after a reorg, sends the blocks of the new branch from the fork point', async () => {
    // fork shares blocks 0-4 with main and is longer.
    const peer = track(await apiPeer(f.fork));
    const node = await nodeWith(f.main);
    const stream = await events(node.url);
    await stream.next('tip');
    await postJson(`${node.url}peers`, { url: peer.url });
    await stream.next('tip', (data) => data.hash === f.fork.at(-1)!.hash);
    const blocks = stream.events.filter((e) => e.event === 'block').map((e) => e.data);
    expect(blocks).toEqual(f.fork.slice(5).map(blockToJson));
  });

  it('sends the hash rate while mining, in the first events and then periodically', async () => {
    const miner = new ScriptedMiner();
    const node = await nodeWith(f.main, { mine: true }, { createMiner: async () => miner, now: () => 1_700_000_123_456 });
    await miner.searches(1);
    const stream = await events(node.url);
    const first = await stream.next('hashrate');
    expect(first.data).toEqual({ at: 1_700_000_123_456, total: 1234, perWorker: [1234], hashes: 42 });
    await stream.next('hashrate', () => true, stream.events.indexOf(first) + 1);
  });

  it('refuses a client over the limit with 503, and takes one again when a client leaves', async () => {
    const node = await startTestNode({ maxEventClients: 2 });
    const first = await events(node.url);
    const second = await events(node.url);
    const refused = await http(`${node.url}events`);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('TOO_MANY_CLIENTS');
    await first.close();
    // The server notices the closed socket asynchronously: ask until it has.
    let third: EventClient | undefined;
    for (;;) {
      third = await events(node.url);
      if (third.status === 200) break;
      await third.close();
    }
    expect((await third.next('tip')).data.height).toBe('-1');
    expect(second.status).toBe(200);
  });

  it('drops a client that stopped reading once its socket stays backed up, and gives its slot to a new client', async () => {
    // No byte bound to speak of: only the drain timeout can free the slot.
    const node = await startTestNode({ difficulty: 0, maxEventClients: 1, eventDrainTimeoutMs: 200, maxEventBufferedBytes: 2 ** 40 });
    const { hostname, port } = new URL(node.url);
    const stalled = connect(Number(port), hostname);
    stalled.on('error', () => {});
    let received = '';
    stalled.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    track({ close: async () => void stalled.destroy() });
    stalled.write(`GET /events HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor('the stream to start', () => received.includes('event: tip'));
    // From here on the socket is not read: the kernel buffers fill, then the node's.
    stalled.pause();
    expect((await http(`${node.url}events`)).status).toBe(503);
    // Big blocks, so the megabytes the kernel takes before Node sees a backlog come quickly.
    let prev: Block | undefined;
    let freed: EventClient | undefined;
    for (let i = 0n; i < 200n && freed === undefined; i++) {
      prev = sealBlock({ index: i, prevHash: prev?.hash ?? '', data: 'x'.repeat(600_000), timestamp: 1_700_000_000n + i }, i);
      expect((await postJson(`${node.url}mined`, blockToJson(prev))).json.accepted).toBe(true);
      const attempt = await events(node.url);
      if (attempt.status === 200) freed = attempt;
      else await attempt.close();
    }
    expect(freed).toBeDefined();
    expect((await freed!.next('tip')).data.hash).toBe(prev!.hash);
    // The stalled client, reading again, finds its stream ended.
    stalled.resume();
    await closed;
  });

  it('ends open streams when the node closes', async () => {
    const node = await startTestNode();
    const stream = await events(node.url);
    await stream.next('tip');
    await node.close();
    await stream.ended;
  });
});
