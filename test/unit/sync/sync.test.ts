import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Block } from '../../../src/block.js';
import { ErrorCode } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { ChainState, type Adoption } from '../../../src/chain/chain-state.js';
import { ChainSpool } from '../../../src/peer/chain-spool.js';
import type { PeerStatus } from '../../../src/peer/peer-client.js';
import type { ChainView } from '../../../src/chain.js';
import { locateFork } from '../../../src/locator.js';
import { fetchAncestors, syncFrom, type SyncOptions, type SyncSource, type SyncTarget } from '../../../src/sync/sync.js';
import { loadFixtures, removeDir, tampered, tempDir, type ChainFixtures } from '../../e2e/helpers/fixtures.js';
import { hashesOf, mineChain } from '../../helpers/fixtures.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});

const states: ChainState[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(states.splice(0).map((state) => state.close()));
  await Promise.all(dirs.splice(0).map(removeDir));
});

/** A real chain state on a temporary data dir, holding `blocks`. */
async function localChain(blocks: readonly Block[]): Promise<ChainState> {
  const dir = await tempDir('jbc-sync-');
  dirs.push(dir);
  const state = await ChainState.open({ dataDir: dir, difficulty: 2, jbcFiles: false }, { logger: silentLogger });
  states.push(state);
  if (blocks.length > 0) await state.adopt({ peer: 'setup', forkPoint: 0, blocks });
  return state;
}

/** A peer's blocks as a chain view, unchecked: a lying peer's blocks need not form a chain. */
function unchecked(blocks: readonly Block[]): ChainView {
  const at = (index: bigint) => blocks[Number(index)];
  return {
    length: blocks.length,
    height: BigInt(blocks.length) - 1n,
    tip: blocks.at(-1),
    at,
    findByHash: (hash) => blocks.find((block) => block.hash === hash),
    range: (from, limit) => blocks.slice(Number(from), Number(from) + limit),
  };
}

interface PeerLog {
  status: number;
  blockchain: number;
  blocksServed: number;
  calls: string[];
  /** Paths of the spool files its whole chains went to. */
  spools: string[];
}

/** `blocks` in a spool file, in the order given, as the peer client leaves a downloaded /blockchain.json. */
async function spooled(blocks: readonly Block[], peer: string): Promise<ChainSpool> {
  const dir = await tempDir('jbc-spool-');
  dirs.push(dir);
  const spool = ChainSpool.create(dir, peer);
  for (const block of blocks) spool.add(block);
  return spool;
}

/**
 * A peer holding `chain` (which the test may change between calls), counting
 * what it is asked for. `beforePage` runs before each page is served.
 */
function peer(
  chain: Block[],
  opts: {
    plainJbc?: boolean;
    claimLength?: bigint;
    name?: string;
    beforePage?: (from: bigint) => Promise<void> | void;
    /** Most blocks per page whatever was asked (a page cut at a byte budget). */
    maxPage?: number;
  } = {},
): { source: SyncSource; log: PeerLog } {
  const log: PeerLog = { status: 0, blockchain: 0, blocksServed: 0, calls: [], spools: [] };
  const source: SyncSource = {
    peer: opts.name ?? 'http://peer/',
    async status(): Promise<PeerStatus | undefined> {
      log.status++;
      if (opts.plainJbc) return undefined;
      return { length: opts.claimLength ?? BigInt(chain.length), tipHash: chain.at(-1)?.hash, nodeId: 'peer', work: undefined };
    },
    async blocks(from, limit) {
      await opts.beforePage?.(from);
      log.calls.push(`${from}+${limit}`);
      const page = chain.slice(Number(from), Number(from) + Math.min(limit, opts.maxPage ?? limit));
      log.blocksServed += page.length;
      return page;
    },
    async blocksAfter(locator, limit) {
      const from = locateFork(unchecked(chain), locator);
      await opts.beforePage?.(from);
      log.calls.push(`L${from}+${limit}`);
      const page = chain.slice(Number(from), Number(from) + Math.min(limit, opts.maxPage ?? limit));
      log.blocksServed += page.length;
      return page;
    },
    async blockchain() {
      log.blockchain++;
      log.blocksServed += chain.length;
      const spool = await spooled(chain, source.peer);
      log.spools.push(spool.path);
      return spool;
    },
  };
  return { source, log };
}

const options = (pageSize = 1000, batchSize = 1000): SyncOptions => ({ difficulty: 2, pageSize, batchSize });

describe('syncing from a peer', () => {
  it('fetches nothing past /status from a peer that is not longer', async () => {
    const local = await localChain(f.main);
    const { source, log } = peer(f.main.slice(0, 8));
    const outcome = await syncFrom(source, local, options());
    expect(outcome.kind).toBe('not-longer');
    expect(log.blocksServed).toBe(0);
  });

  it('keeps the local chain on a tie (equal length, different blocks)', async () => {
    const local = await localChain(f.main);
    const { source, log } = peer(f.fork.slice(0, 12));
    expect((await syncFrom(source, local, options())).kind).toBe('not-longer');
    expect(log.blocksServed).toBe(0);
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });

  it('downloads only the missing blocks when the peer extends our chain', async () => {
    const local = await localChain(f.main.slice(0, 6));
    const { source, log } = peer([...f.main]);
    const outcome = await syncFrom(source, local, options());
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 6, downloaded: 6, written: 6, abandoned: 0, via: 'blocks' });
    expect(log.calls).toEqual(['L6+1000']);
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });

  it('downloads the whole chain into an empty node, committing in batches', async () => {
    const local = await localChain([]);
    const lengths: number[] = [];
    local.onTip(() => lengths.push(local.view.length));
    const { source } = peer([...f.main]);
    const outcome = await syncFrom(source, local, options(2, 4));
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 0, downloaded: 12 });
    expect(lengths).toEqual([4, 8, 12]);
  });

  it('commits a batch early once its blocks hold batchDataChars of data, however few they are', async () => {
    const local = await localChain([]);
    const lengths: number[] = [];
    local.onTip(() => lengths.push(local.view.length));
    const { source } = peer([...f.main]);
    const perBlock = f.main[0]!.data.length;
    const outcome = await syncFrom(source, local, { ...options(2, 1000), batchDataChars: 4 * perBlock });
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 0, downloaded: 12 });
    expect(lengths).toEqual([4, 8, 12]);
  });

  it('finds the fork point in one request and downloads only the blocks it lacks', async () => {
    const local = await localChain(f.main);
    const { source, log } = peer([...f.fork]);
    const outcome = await syncFrom(source, local, options(3));
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 5, abandoned: 7, downloaded: 9, written: 9 });
    expect(log.calls).toEqual(['L5+3', '8+3', '11+3', '14+3']);
    expect(log.blocksServed).toBe(9);
    expect(hashesOf(local.view)).toEqual(hashesOf(f.fork));
  });

  it('a 3-block reorg downloads the 4 blocks of the longer fork, at any chain length', async () => {
    const common = mineChain(300, 2, { tag: 'long' });
    const ours = mineChain(3, 2, { after: common.at(-1), tag: 'ours' });
    const theirs = mineChain(4, 2, { after: common.at(-1), tag: 'theirs' });
    const local = await localChain([...common, ...ours]);
    const { source, log } = peer([...common, ...theirs]);
    const outcome = await syncFrom(source, local, options());
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 300, abandoned: 3, downloaded: 4, written: 4 });
    expect(log.calls).toEqual(['L300+1000']);
  });

  it('a fork deeper than the locator names block by block repeats at most as many blocks as it is deep', async () => {
    const common = mineChain(40, 2, { tag: 'deep' });
    const ours = mineChain(30, 2, { after: common.at(-1), tag: 'ours' });
    const theirs = mineChain(32, 2, { after: common.at(-1), tag: 'theirs' });
    const local = await localChain([...common, ...ours]);
    const { source } = peer([...common, ...theirs]);
    const outcome = await syncFrom(source, local, options());
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 40, abandoned: 30, written: 32 });
    expect(outcome.downloaded).toBeLessThanOrEqual(32 + 30);
  });

  it("goes on past short pages while the peer's /status says it has more", async () => {
    const local = await localChain(f.main.slice(0, 2));
    const { source, log } = peer([...f.main], { maxPage: 3 });
    const outcome = await syncFrom(source, local, options(1000));
    expect(outcome).toMatchObject({ kind: 'adopted', downloaded: 10 });
    expect(log.calls).toEqual(['L2+1000', '5+1000', '8+1000', '11+1000']);
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });

  it('finds the fork point through short pages', async () => {
    const local = await localChain(f.main);
    const { source } = peer([...f.fork], { maxPage: 2 });
    const outcome = await syncFrom(source, local, options(5));
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 5, abandoned: 7 });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.fork));
  });

  it('replaces a chain that differs from block 0', async () => {
    const local = await localChain(f.seed);
    const { source } = peer([...f.main]);
    const outcome = await syncFrom(source, local, options(2));
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 0, abandoned: 4 });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });

  it('falls back to /blockchain.json for a plain jbc peer', async () => {
    const local = await localChain(f.main);
    const { source, log } = peer([...f.fork], { plainJbc: true });
    const outcome = await syncFrom(source, local, options());
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 5, via: 'blockchain.json' });
    expect(log.blockchain).toBe(1);
    expect(log.calls).toEqual([]);
  });

  it("sorts a plain jbc peer's chain by index (jbc lists its files in directory order)", async () => {
    const local = await localChain([]);
    const shuffled = [...f.main].sort((a, b) => (a.hash < b.hash ? -1 : 1));
    expect(hashesOf(shuffled)).not.toEqual(hashesOf(f.main));
    const { source } = peer(shuffled, { plainJbc: true });
    expect(await syncFrom(source, local, options())).toMatchObject({ kind: 'adopted', via: 'blockchain.json' });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });

  it('reports a plain jbc peer that is not longer as such', async () => {
    const local = await localChain(f.main);
    const { source } = peer(f.main.slice(0, 3), { plainJbc: true });
    expect(await syncFrom(source, local, options())).toMatchObject({ kind: 'not-longer', via: 'blockchain.json', peerLength: 3n });
  });

  it('rejects a longer chain with a block whose proof of work is forged', async () => {
    const local = await localChain(f.main.slice(0, 4));
    const forged = [...f.main];
    forged[9] = tampered(forged[9]!, { data: 'rewritten history' });
    const { source } = peer(forged);
    await expect(syncFrom(source, local, options())).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
    expect(local.view.length).toBe(4);
  });

  it('rejects a longer chain whose blocks do not link within one answer', async () => {
    const local = await localChain(f.main.slice(0, 2));
    const broken = [...f.main.slice(0, 6), ...f.fork.slice(6)];
    await expect(syncFrom(peer(broken, { plainJbc: true }).source, local, options())).rejects.toMatchObject({
      code: ErrorCode.INVALID_CHAIN,
    });
    await expect(syncFrom(peer(broken).source, local, options(100))).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
    expect(local.view.length).toBe(2);
  });

  it('treats a peer that claims blocks it does not send as a bad peer', async () => {
    const local = await localChain(f.main);
    const { source } = peer([...f.main], { claimLength: 40n });
    await expect(syncFrom(source, local, options())).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE });
  });

  it('takes what a peer that overstates its length does have, when that is longer', async () => {
    const local = await localChain(f.main.slice(0, 3));
    const { source } = peer([...f.main], { claimLength: 40n });
    expect(await syncFrom(source, local, options(4))).toMatchObject({ kind: 'adopted', downloaded: 9 });
  });

  it('rejects pages whose block indexes are not the ones asked for', async () => {
    const local = await localChain(f.main.slice(0, 3));
    const { source } = peer([...f.main]);
    const shifted: SyncSource = { ...source, blocks: async (from, limit) => f.main.slice(Number(from) + 1, Number(from) + 1 + limit) };
    await expect(syncFrom(shifted, local, options(4))).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE });
  });

  it('rejects an answer to its locator that follows none of the blocks it named', async () => {
    const local = await localChain(f.main.slice(0, 6));
    const { source } = peer([...f.fork]);
    const unlinked: SyncSource = { ...source, blocksAfter: async () => f.fork.slice(6) };
    await expect(syncFrom(unlinked, local, options())).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE });
    const pastTheEnd: SyncSource = { ...source, blocksAfter: async () => f.fork.slice(8) };
    await expect(syncFrom(pastTheEnd, local, options())).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main.slice(0, 6)));
  });
});

describe("a plain jbc peer's whole chain, read back from its spool file", () => {
  /** `local` as a sync target that records the size of each batch handed to it. */
  function recording(local: ChainState): { target: SyncTarget; batches: number[] } {
    const batches: number[] = [];
    return {
      batches,
      target: {
        snapshot: () => local.snapshot(),
        get work() {
          return local.work;
        },
        outworks: (forkPoint, blocks) => local.outworks(forkPoint, blocks),
        adopt: (adoption: Adoption) => {
          batches.push(adoption.blocks.length);
          return local.adopt(adoption);
        },
      },
    };
  }
  const shuffle = (blocks: readonly Block[]) => [...blocks].sort((a, b) => (a.hash < b.hash ? -1 : 1));

  it('adopts a shuffled chain from where it leaves ours, each batch only once it makes the chain longer, and removes the file', async () => {
    const local = await localChain(f.main);
    const { source, log } = peer(shuffle(f.fork), { plainJbc: true });
    const { target, batches } = recording(local);
    expect(await syncFrom(source, target, options(1000, 2))).toMatchObject({ kind: 'adopted', forkPoint: 5, via: 'blockchain.json', written: 9 });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.fork));
    // Blocks 5..12 wait until they outgrow our 12 blocks; block 13 is a batch of its own.
    expect(batches).toEqual([8, 1]);
    expect(log.spools).toHaveLength(1);
    expect(existsSync(log.spools[0]!)).toBe(false);
  });

  it('adopts nothing of a longer chain with an invalid block, however late it comes', async () => {
    const local = await localChain([]);
    const forged = [...f.main];
    forged[10] = tampered(forged[10]!, { data: 'rewritten history' });
    const { source, log } = peer(shuffle(forged), { plainJbc: true });
    const { target, batches } = recording(local);
    await expect(syncFrom(source, target, options(1000, 2))).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
    expect(batches).toEqual([]);
    expect(local.view.length).toBe(0);
    expect(existsSync(log.spools[0]!)).toBe(false);
  });

  it('turns down a chain that holds an index twice (a bad answer) or misses one (an invalid chain), and removes the file', async () => {
    const local = await localChain(f.main.slice(0, 2));
    const twice = peer([...f.main, f.main[7]!], { plainJbc: true });
    await expect(syncFrom(twice.source, local, options())).rejects.toMatchObject({
      code: ErrorCode.PEER_BAD_RESPONSE,
      message: expect.stringContaining('block 7 twice'),
    });
    const gap = peer([...f.main.slice(0, 6), ...f.main.slice(7)], { plainJbc: true });
    await expect(syncFrom(gap.source, local, options())).rejects.toMatchObject({
      code: ErrorCode.INVALID_CHAIN,
      message: expect.stringContaining('no block 6'),
    });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main.slice(0, 2)));
    for (const path of [...twice.log.spools, ...gap.log.spools]) expect(existsSync(path)).toBe(false);
  });

  it('finds the fork point again from the file when our chain moved under it, downloading nothing twice', async () => {
    const local = await localChain(f.main.slice(0, 3));
    const { source, log } = peer(shuffle(f.fork), { plainJbc: true });
    let moved = false;
    const target: SyncTarget = {
      snapshot: () => local.snapshot(),
      get work() {
        return local.work;
      },
      outworks: (forkPoint, blocks) => local.outworks(forkPoint, blocks),
      adopt: async (adoption: Adoption) => {
        if (!moved) {
          // Another peer's reorg lands first: our block 2 is now another one.
          moved = true;
          await local.adopt({ peer: 'other', forkPoint: 0, blocks: f.seed });
        }
        return local.adopt(adoption);
      },
    };
    expect(await syncFrom(source, target, options())).toMatchObject({ kind: 'adopted', forkPoint: 0 });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.fork));
    expect(log.blockchain).toBe(1);
  });
});

describe('syncing while the chains move', () => {
  it('never flags an honest peer that keeps mining while it is paged, while this node mines too', async () => {
    const common = mineChain(4, 2, { tag: 'common' });
    const theirs = [...common, ...mineChain(12, 2, { after: common[3], tag: 'theirs' })];
    const ours = mineChain(6, 2, { after: common[3], tag: 'ours' });
    const local = await localChain([...common, ours[0]!]);
    let mined = 1;
    const { source } = peer(theirs, {
      beforePage: async () => {
        // Both sides move on between pages: the peer mines a block, and so does this node.
        theirs.push(...mineChain(1, 2, { after: theirs.at(-1), tag: `theirs-${theirs.length}` }));
        if (mined < ours.length) await local.appendOwn(ours[mined++]!);
      },
    });
    const outcome = await syncFrom(source, local, options(3, 3));
    expect(outcome.kind).toBe('adopted');
    const view = local.view;
    expect(view.length).toBeGreaterThanOrEqual(16);
    expect(hashesOf(view)).toEqual(hashesOf(theirs.slice(0, view.length)));
  });

  it('starts over, without flagging the peer, when the peer switches forks between pages', async () => {
    const local = await localChain(f.main.slice(0, 5));
    const chain = [...f.main];
    let switched = false;
    const { source } = peer(chain, {
      beforePage: (from) => {
        if (from === 8n && !switched) {
          switched = true;
          chain.splice(0, chain.length, ...f.fork);
        }
      },
    });
    const outcome = await syncFrom(source, local, options(3, 100));
    expect(outcome.kind).toBe('adopted');
    expect(hashesOf(local.view)).toEqual(hashesOf(f.fork));
  });

  it('downloads only what is still missing when another sync filled the chain meanwhile', async () => {
    const local = await localChain(f.main.slice(0, 2));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = peer([...f.main], { name: 'http://slow/', beforePage: () => gate });
    const fast = peer([...f.main], { name: 'http://fast/' });
    const slowSync = syncFrom(slow.source, local, options(3, 3));
    await syncFrom(fast.source, local, options(3, 3));
    expect(local.view.length).toBe(12);
    release();
    await slowSync;
    // The page already asked for when the chain moved on, and nothing after it.
    expect(slow.log.blocksServed).toBeLessThanOrEqual(3);
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });
});

describe("fetching a relayed block's missing ancestors from its sender", () => {
  const ancestors = { difficulty: 2, limit: 16 };

  it('fills a gap in relayed blocks with one request for the blocks between', async () => {
    const chain = mineChain(12, 2, { tag: 'gap' });
    const local = await localChain(chain.slice(0, 6));
    const { source, log } = peer([...chain]);
    const outcome = await fetchAncestors(source, local, [chain[8]!], ancestors);
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 6, downloaded: 6, written: 6, abandoned: 0 });
    expect(log.calls).toEqual(['L6+16']);
    expect(hashesOf(local.view)).toEqual(hashesOf(chain));
  });

  it('switches to a fork 3 blocks deep by downloading its blocks, and only those', async () => {
    const common = mineChain(200, 2, { tag: 'common' });
    const ours = mineChain(3, 2, { after: common.at(-1), tag: 'ours' });
    const theirs = mineChain(4, 2, { after: common.at(-1), tag: 'theirs' });
    const local = await localChain([...common, ...ours]);
    const { source, log } = peer([...common, ...theirs.slice(0, 3)]);
    // The sender relayed its 4th block before it held it in its chain answer: the branch completes the answer.
    const outcome = await fetchAncestors(source, local, [theirs[3]!], ancestors);
    expect(outcome).toMatchObject({ kind: 'adopted', forkPoint: 200, downloaded: 3, written: 4, abandoned: 3 });
    expect(log.blocksServed).toBe(3);
    expect(hashesOf(local.view)).toEqual(hashesOf([...common, ...theirs]));
  });

  it('says "short" when the answer ends before the branch, and changes nothing', async () => {
    const chain = mineChain(40, 2, { tag: 'far' });
    const local = await localChain(chain.slice(0, 4));
    const { source } = peer([...chain]);
    expect(await fetchAncestors(source, local, [chain[30]!], ancestors)).toMatchObject({ kind: 'short', downloaded: 16 });
    expect(local.view.length).toBe(4);
  });

  it('adopts nothing when the branch and the answer do not make the chain longer', async () => {
    const local = await localChain(f.main);
    const { source } = peer(f.fork.slice(0, 8));
    expect(await fetchAncestors(source, local, [f.fork[8]!], ancestors)).toMatchObject({ kind: 'not-longer' });
    expect(hashesOf(local.view)).toEqual(hashesOf(f.main));
  });
});
