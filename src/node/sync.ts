/**
 * Catch-up and fork choice against peers, as functions over a `SyncSource`
 * (download functions, no HTTP client), so every case is unit tested
 * without a network.
 *
 * A peer that speaks this node's API is asked /status first; when it is not
 * longer nothing else is fetched. When it is, only the missing blocks are
 * downloaded: forward from our length, then backward page by page until the
 * peer's blocks join ours (the fork point). A plain jbc peer (no /status) is
 * asked for /blockchain.json. Either way the result is adopted only when it
 * is strictly longer than our chain and valid (SPEC §2).
 */
import { checkBlock, type Block } from '../block.js';
import { Chain, shouldAdopt, verifySegment } from '../chain.js';
import { ErrorCode, JbcError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PeerStatus } from './peer-client.js';

/** How to download from one peer. */
export interface SyncSource {
  readonly peer: string;
  /** The peer's status, or undefined when it has no /status (plain jbc). */
  status(): Promise<PeerStatus | undefined>;
  /** Blocks from .. from + limit - 1 that the peer has, in order. */
  blocks(from: bigint, limit: number): Promise<Block[]>;
  /** The peer's whole chain. */
  blockchain(): Promise<Block[]>;
}

export interface SyncOptions {
  readonly difficulty: number;
  /** Blocks asked for per `blocks` call. */
  readonly pageSize: number;
}

export type SyncOutcome =
  | {
      readonly kind: 'candidate';
      readonly peer: string;
      /** The peer's whole chain, valid and longer than the local chain it was compared with. */
      readonly blocks: readonly Block[];
      /** How many leading blocks the candidate shares with that local chain. */
      readonly forkPoint: number;
      /** Blocks actually downloaded. */
      readonly downloaded: number;
      readonly via: 'blocks' | 'blockchain.json';
    }
  | {
      readonly kind: 'not-longer';
      readonly peer: string;
      readonly peerLength: bigint;
      readonly status: PeerStatus | undefined;
      readonly via: 'status' | 'blockchain.json';
    };

/**
 * What `source` has that `local` lacks. Throws INVALID_CHAIN for a longer
 * but invalid chain, PEER_BAD_RESPONSE for answers that contradict each
 * other, and whatever the source throws (PEER_TIMEOUT, ...).
 */
export async function catchUp(local: Chain, source: SyncSource, options: SyncOptions): Promise<SyncOutcome> {
  const status = await source.status();
  if (status === undefined) return catchUpWholeChain(local, source, options);
  const localLength = BigInt(local.length);
  if (status.length <= localLength) {
    return { kind: 'not-longer', peer: source.peer, peerLength: status.length, status, via: 'status' };
  }

  // Forward: everything from our length to the peer's claimed length.
  let fetched: Block[] = [];
  for (let from = localLength; from < status.length; ) {
    const want = Number(min(BigInt(options.pageSize), status.length - from));
    const page = await source.blocks(from, want);
    if (page.length === 0) break;
    checkIndexes(source.peer, page, from);
    await verifyDetached(fetched.at(-1), page, options.difficulty);
    fetched = fetched.concat(page);
    from += BigInt(page.length);
  }
  if (fetched.length === 0) {
    throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${source.peer} claims ${status.length} blocks but sent none past ${localLength}`, {
      peer: source.peer,
    });
  }

  // Backward: until the peer's blocks join ours.
  let forkPoint = local.length;
  while (forkPoint > 0 && fetched[0]!.prevHash !== local.at(BigInt(forkPoint - 1))!.hash) {
    const pageStart = Math.max(0, forkPoint - options.pageSize);
    const want = forkPoint - pageStart;
    const page = await source.blocks(BigInt(pageStart), want);
    if (page.length !== want) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${source.peer} sent ${page.length} of blocks ${pageStart}..${forkPoint - 1}`, {
        peer: source.peer,
      });
    }
    checkIndexes(source.peer, page, BigInt(pageStart));
    // Hashes chain the blocks, so once one matches ours every block below it does too.
    let keepFrom = 0;
    let joined = false;
    for (let j = page.length - 1; j >= 0; j--) {
      if (page[j]!.hash === local.at(BigInt(pageStart + j))?.hash) {
        keepFrom = j + 1;
        joined = true;
        break;
      }
    }
    if (!joined && pageStart === 0) joined = true; // the chains differ from block 0
    const segment = page.slice(keepFrom);
    forkPoint = pageStart + keepFrom;
    if (joined) await verifySegment(forkPoint > 0 ? local.at(BigInt(forkPoint - 1)) : undefined, segment, options.difficulty);
    else await verifyDetached(undefined, segment, options.difficulty);
    await verifySegment(segment.at(-1) ?? local.at(BigInt(forkPoint - 1)), fetched.slice(0, 1), options.difficulty);
    fetched = segment.concat(fetched);
    if (joined) break;
  }
  // The forward pages were checked among themselves; this checks where they join our chain.
  await verifySegment(forkPoint > 0 ? local.at(BigInt(forkPoint - 1)) : undefined, fetched.slice(0, 1), options.difficulty);

  const blocks = local.prefix(forkPoint).toArray().concat(fetched);
  if (blocks.length <= local.length) {
    return { kind: 'not-longer', peer: source.peer, peerLength: BigInt(blocks.length), status, via: 'status' };
  }
  return { kind: 'candidate', peer: source.peer, blocks, forkPoint, downloaded: fetched.length, via: 'blocks' };
}

async function catchUpWholeChain(local: Chain, source: SyncSource, options: SyncOptions): Promise<SyncOutcome> {
  const blocks = await source.blockchain();
  if (!(await shouldAdopt(local, blocks, options.difficulty))) {
    return { kind: 'not-longer', peer: source.peer, peerLength: BigInt(blocks.length), status: undefined, via: 'blockchain.json' };
  }
  let forkPoint = 0;
  while (forkPoint < local.length && local.at(BigInt(forkPoint))!.hash === blocks[forkPoint]!.hash) forkPoint++;
  return { kind: 'candidate', peer: source.peer, blocks, forkPoint, downloaded: blocks.length, via: 'blockchain.json' };
}

export interface PeerSyncResult {
  readonly peer: string;
  readonly outcome?: SyncOutcome;
  readonly error?: unknown;
}

/**
 * Asks every source in parallel and returns the longest candidate (the first
 * such source on a tie), plus each source's result. A source that fails is
 * logged and skipped; this never throws for a peer's fault.
 */
export async function bestCandidate(
  local: Chain,
  sources: readonly SyncSource[],
  options: SyncOptions,
  logger: Logger,
): Promise<{ best: Extract<SyncOutcome, { kind: 'candidate' }> | undefined; results: PeerSyncResult[] }> {
  const results = await Promise.all(
    sources.map(async (source): Promise<PeerSyncResult> => {
      try {
        const outcome = await catchUp(local, source, options);
        return { peer: source.peer, outcome };
      } catch (error) {
        logPeerFailure(logger, source.peer, error);
        return { peer: source.peer, error };
      }
    }),
  );
  let best: Extract<SyncOutcome, { kind: 'candidate' }> | undefined;
  for (const { outcome } of results) {
    if (outcome?.kind === 'candidate' && (best === undefined || outcome.blocks.length > best.blocks.length)) best = outcome;
  }
  return { best, results };
}

/** One log line per failed peer: a forged chain is a warning, an absent peer only worth info. */
export function logPeerFailure(logger: Logger, peer: string, error: unknown): void {
  const code = error instanceof JbcError ? error.code : 'UNKNOWN';
  const fields = { peer, code, err: error instanceof Error ? error.message : describeError(error) };
  if (error instanceof JbcError && error.data.shutdown === true) logger.debug(fields, 'peer request dropped at shutdown');
  else if (code === ErrorCode.PEER_UNREACHABLE) logger.info(fields, 'peer unreachable, skipped');
  else if (code === ErrorCode.PEER_TIMEOUT) logger.warn(fields, 'peer timed out, skipped');
  else if (code === ErrorCode.INVALID_CHAIN) logger.warn(fields, 'peer sent an invalid chain, skipped');
  else logger.warn(fields, 'peer sent a bad answer, skipped');
}

/** The blocks' indexes must run from `from` upwards; a peer that sends others is lying. */
function checkIndexes(peer: string, blocks: readonly Block[], from: bigint): void {
  blocks.forEach((block, i) => {
    if (block.index !== from + BigInt(i)) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} sent block ${block.index} where ${from + BigInt(i)} belongs`, { peer });
    }
  });
}

/**
 * Checks `blocks` as a run that continues `base` when given, or as a run whose
 * first block's parent is not known yet (its proof of work is still checked).
 */
async function verifyDetached(base: Block | undefined, blocks: readonly Block[], difficulty: number): Promise<void> {
  if (blocks.length === 0) return;
  if (base !== undefined) return verifySegment(base, blocks, difficulty);
  const first = blocks[0]!;
  try {
    await checkBlock(first, difficulty);
  } catch (err) {
    if (err instanceof JbcError && err.code === ErrorCode.INVALID_BLOCK) {
      throw new JbcError(ErrorCode.INVALID_CHAIN, err.message, err.data, { cause: err });
    }
    throw err;
  }
  await verifySegment(first, blocks.slice(1), difficulty);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
