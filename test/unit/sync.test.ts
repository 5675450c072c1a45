import { beforeAll, describe, expect, it } from 'vitest';
import type { Block } from '../../src/block.js';
import { Chain } from '../../src/chain.js';
import { ErrorCode, JbcError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { PeerStatus } from '../../src/node/peer-client.js';
import { bestCandidate, catchUp, type SyncSource } from '../../src/node/sync.js';
import { loadFixtures, tampered, type ChainFixtures } from '../e2e/helpers/fixtures.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});

/** A peer holding `blocks`, counting what it is asked for. */
function peer(blocks: readonly Block[], opts: { plainJbc?: boolean; claimLength?: bigint; name?: string } = {}) {
  const log = { status: 0, blockchain: 0, blocksServed: 0, calls: [] as string[] };
  const source: SyncSource = {
    peer: opts.name ?? 'http://peer/',
    async status(): Promise<PeerStatus | undefined> {
      log.status++;
      if (opts.plainJbc) return undefined;
      return { length: opts.claimLength ?? BigInt(blocks.length), tipHash: blocks.at(-1)?.hash, nodeId: 'peer' };
    },
    async blocks(from, limit) {
      log.calls.push(`${from}+${limit}`);
      const page = blocks.slice(Number(from), Number(from) + limit);
      log.blocksServed += page.length;
      return page;
    },
    async blockchain() {
      log.blockchain++;
      log.blocksServed += blocks.length;
      return [...blocks];
    },
  };
  return { source, log };
}

const options = (pageSize = 1000) => ({ difficulty: 2, pageSize });

describe('catchUp', () => {
  it('fetches nothing past /status from a peer that is not longer', async () => {
    const { source, log } = peer(f.main.slice(0, 8));
    const outcome = await catchUp(new Chain(f.main), source, options());
    expect(outcome.kind).toBe('not-longer');
    expect(log.blocksServed).toBe(0);
  });

  it('keeps the local chain on a tie (equal length, different blocks)', async () => {
    const { source, log } = peer(f.fork.slice(0, 12));
    const outcome = await catchUp(new Chain(f.main), source, options());
    expect(outcome.kind).toBe('not-longer');
    expect(log.blocksServed).toBe(0);
  });

  it('downloads only the missing blocks when the peer extends our chain', async () => {
    const { source, log } = peer(f.main);
    const outcome = await catchUp(new Chain(f.main.slice(0, 6)), source, options());
    expect(outcome).toMatchObject({ kind: 'candidate', forkPoint: 6, downloaded: 6, via: 'blocks' });
    expect(log.calls).toEqual(['6+6']);
    expect(log.blocksServed).toBe(6);
    if (outcome.kind === 'candidate') expect(new Chain(outcome.blocks).equals(new Chain(f.main))).toBe(true);
  });

  it('downloads the whole chain into an empty node', async () => {
    const { source } = peer(f.main);
    const outcome = await catchUp(new Chain(), source, options(5));
    expect(outcome).toMatchObject({ kind: 'candidate', forkPoint: 0, downloaded: 12 });
  });

  it('finds the fork point by walking back, fetching little beyond the fork', async () => {
    const { source, log } = peer(f.fork);
    const outcome = await catchUp(new Chain(f.main), source, options(3));
    expect(outcome).toMatchObject({ kind: 'candidate', forkPoint: 5, downloaded: 9 });
    // Blocks 12-13 forward, then 9-11, 6-8, 3-5 backward: 11 served for 9 needed.
    expect(log.blocksServed).toBeLessThanOrEqual(9 + 3);
    if (outcome.kind === 'candidate') {
      expect(outcome.blocks.map((b) => b.hash)).toEqual(f.fork.map((b) => b.hash));
    }
  });

  it('replaces a chain that differs from block 0', async () => {
    const { source } = peer(f.main);
    const outcome = await catchUp(new Chain(f.seed), source, options(2));
    expect(outcome).toMatchObject({ kind: 'candidate', forkPoint: 0, downloaded: 12 });
  });

  it('falls back to /blockchain.json for a plain jbc peer', async () => {
    const { source, log } = peer(f.fork, { plainJbc: true });
    const outcome = await catchUp(new Chain(f.main), source, options());
    expect(outcome).toMatchObject({ kind: 'candidate', forkPoint: 5, via: 'blockchain.json' });
    expect(log.blockchain).toBe(1);
    expect(log.calls).toEqual([]);
  });

  it('reports a plain jbc peer that is not longer as such', async () => {
    const { source } = peer(f.main.slice(0, 3), { plainJbc: true });
    const outcome = await catchUp(new Chain(f.main), source, options());
    expect(outcome).toMatchObject({ kind: 'not-longer', via: 'blockchain.json', peerLength: 3n });
  });

  it('rejects a longer chain with a block whose proof of work is forged', async () => {
    const forged = [...f.main];
    forged[9] = tampered(forged[9]!, { data: 'rewritten history' });
    const { source } = peer(forged);
    await expect(catchUp(new Chain(f.main.slice(0, 4)), source, options())).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
  });

  it('rejects a longer chain whose blocks do not link to ours', async () => {
    const broken = [...f.main.slice(0, 6), ...f.fork.slice(6)];
    const { source } = peer(broken, { plainJbc: true });
    await expect(catchUp(new Chain(f.main.slice(0, 2)), source, options())).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
    const api = peer(broken);
    await expect(catchUp(new Chain(f.main.slice(0, 2)), api.source, options(3))).rejects.toMatchObject({ code: ErrorCode.INVALID_CHAIN });
  });

  it('treats a peer that claims blocks it does not send as a bad peer', async () => {
    const { source } = peer(f.main, { claimLength: 40n });
    await expect(catchUp(new Chain(f.main), source, options())).rejects.toMatchObject({ code: ErrorCode.PEER_BAD_RESPONSE });
  });

  it('takes what a peer that overstates its length does have, when that is longer', async () => {
    const { source } = peer(f.main, { claimLength: 40n });
    const outcome = await catchUp(new Chain(f.main.slice(0, 3)), source, options(4));
    expect(outcome).toMatchObject({ kind: 'candidate', downloaded: 9 });
  });

  it('rejects pages whose block indexes are not the ones asked for', async () => {
    const { source } = peer(f.main);
    const shifted: SyncSource = { ...source, blocks: async (from, limit) => f.main.slice(Number(from) + 1, Number(from) + 1 + limit) };
    await expect(catchUp(new Chain(f.main.slice(0, 3)), shifted, options())).rejects.toMatchObject({
      code: ErrorCode.PEER_BAD_RESPONSE,
    });
  });
});

describe('bestCandidate', () => {
  it('adopts the longest valid chain among peers and skips failing ones', async () => {
    const failing: SyncSource = {
      peer: 'http://down/',
      status: async () => {
        throw new JbcError(ErrorCode.PEER_UNREACHABLE, 'refused');
      },
      blocks: async () => [],
      blockchain: async () => [],
    };
    const forged = [...f.fork, ...f.main].slice(0, 20).map((b, i) => tampered(b, { index: BigInt(i) }));
    const sources = [
      peer(f.main, { name: 'http://main/' }).source,
      failing,
      peer(forged, { name: 'http://liar/' }).source,
      peer(f.fork, { name: 'http://fork/' }).source,
    ];
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_: unknown, msg: string) => warnings.push(msg), child: () => logger };
    const { best, results } = await bestCandidate(new Chain(f.main.slice(0, 7)), sources, options(), logger);
    expect(best?.peer).toBe('http://fork/');
    expect(best?.blocks.length).toBe(14);
    expect(results.filter((r) => r.error !== undefined).map((r) => r.peer)).toEqual(['http://down/', 'http://liar/']);
    expect(warnings).toContain('peer sent an invalid chain, skipped');
  });

  it('returns no candidate when nobody is longer', async () => {
    const { best } = await bestCandidate(new Chain(f.fork), [peer(f.main).source], options(), silentLogger);
    expect(best).toBeUndefined();
  });
});
