/**
 * Catch-up from one peer, as functions over a `SyncSource` (download
 * functions, no HTTP client) and a `SyncTarget` (the chain), so every case is
 * unit tested without a network.
 *
 * A peer that speaks this node's API is asked /status first; when it is not
 * longer nothing else is fetched. Otherwise the first page is asked for with
 * this node's block locator (see locator.ts): the peer answers with its
 * blocks after the last block the two chains share, so the fork point costs
 * no request of its own and a reorg of k blocks downloads those k blocks
 * (a fork deeper than the locator's dense part repeats at most as many
 * shared blocks as it is deep). Then the download goes on page by page, the next page in flight while the
 * current one is checked, and whenever the downloaded blocks would make the
 * chain strictly longer they are handed to the target in batches, each one
 * commit. The target re-checks each batch against the chain as it is then, so
 * blocks that arrive meanwhile (mined here, or from other peers) never make
 * an honest peer look invalid; if the chain moved under the fork point, or
 * the peer's own chain changed between two pages, the sync starts over from
 * a fresh snapshot (a few times at most).
 *
 * `fetchAncestors` is the small version for one relayed block whose parent
 * is missing: one locator request to its sender, adopted with the block.
 *
 * A plain jbc peer (no /status) is asked for /blockchain.json, which arrives
 * in a spool file (see chain-spool.ts), is read back by index (jbc lists its
 * files in directory order), checked whole, and adopted only when strictly
 * longer (the fork-choice rule): in batches, like pages, once all of it was
 * found valid.
 */
import type { Block } from '../block.js';
import { verifySegment, type ChainView } from '../chain.js';
import { ErrorCode, JbcError } from '../errors.js';
import { blockLocator } from '../locator.js';
import type { AdoptResult, Adoption } from '../chain/index.js';
import type { WholeChain } from '../peer/index.js';
import type { PeerStatus } from '../peer/index.js';

/** How to download from one peer. */
export interface SyncSource {
  readonly peer: string;
  /** The peer's status, or undefined when it has no /status (plain jbc). */
  status(): Promise<PeerStatus | undefined>;
  /**
   * Blocks from .. from + limit - 1 that the peer has, in order. May be fewer
   * than the peer has (a page cut at a byte budget): only an empty page, or
   * a short page once the peer's /status length is reached, ends a download.
   */
  blocks(from: bigint, limit: number): Promise<Block[]>;
  /**
   * Up to `limit` blocks that follow the first block of `locator` (hashes
   * of this node's chain, tip first; see locator.ts) on the peer's chain, in
   * order; from block 0 when the peer has none of them.
   */
  blocksAfter(locator: readonly string[], limit: number): Promise<Block[]>;
  /** The peer's whole chain, in the order it sent it; the sync closes it. */
  blockchain(): Promise<WholeChain>;
}

/** What a sync needs of the chain. */
export interface SyncTarget {
  snapshot(): ChainView;
  /** The chain's cumulative work now. */
  readonly work: bigint;
  /**
   * True when `blocks`, from `forkPoint` on, would give the chain more work
   * than it has now (at a fixed difficulty: make it longer); throws
   * INVALID_CHAIN for blocks that break the rule in context.
   */
  outworks(forkPoint: number, blocks: readonly Block[]): boolean;
  adopt(adoption: Adoption): Promise<AdoptResult>;
}

export interface SyncProgress {
  readonly peer: string;
  /** Blocks downloaded so far in this sync. */
  readonly downloaded: number;
  /** Index of the last block downloaded. */
  readonly height: number;
  /** The peer's tip index from its /status (it may grow while the sync runs). */
  readonly target: number;
}

/** Block data (characters) a sync batch holds at most before it is committed: 16 Mi. */
export const BATCH_DATA_CHARS = 16 * 1024 * 1024;

function dataChars(blocks: readonly Block[]): number {
  let chars = 0;
  for (const block of blocks) chars += block.data.length;
  return chars;
}

export interface SyncOptions {
  readonly difficulty: number;
  /** Blocks asked for per `blocks` call. */
  readonly pageSize: number;
  /** Blocks handed to the target per commit (at least; a commit waits for whole pages). */
  readonly batchSize: number;
  /**
   * Characters of block data that make a batch full before `batchSize`
   * blocks, so a peer's big blocks never pile up in memory. Default
   * BATCH_DATA_CHARS.
   */
  readonly batchDataChars?: number;
  /** Times a sync starts over when the local or the peer's chain changed under it. Default 3. */
  readonly attempts?: number;
  /** Called after each page. */
  readonly onProgress?: (progress: SyncProgress) => void;
}

export type SyncOutcome =
  | {
      readonly kind: 'adopted';
      readonly peer: string;
      /** Where the peer's chain left ours. */
      readonly forkPoint: number;
      /** Blocks downloaded. */
      readonly downloaded: number;
      /** Blocks written to the store (downloaded blocks the chain already had are not). */
      readonly written: number;
      /** Local blocks replaced by the peer's. */
      readonly abandoned: number;
      readonly length: number;
      readonly via: 'blocks' | 'blockchain.json';
    }
  | {
      readonly kind: 'not-longer';
      readonly peer: string;
      readonly peerLength: bigint;
      readonly status: PeerStatus | undefined;
      readonly downloaded: number;
      readonly via: 'status' | 'blocks' | 'blockchain.json';
    };

const RESTART = Symbol('restart');

/** How an attempt that did not start over ended. */
interface AttemptEnd {
  readonly peerLength: bigint;
  readonly status: PeerStatus | undefined;
  readonly via: 'status' | 'blocks' | 'blockchain.json';
}

/** What the attempts of one sync did, added up. */
interface Totals {
  downloaded: number;
  written: number;
  abandoned: number;
  /** Lowest fork point of a committed batch. */
  forkPoint: number;
  adopted: boolean;
}

/**
 * Catches up from `source` into `target`. Throws INVALID_CHAIN for a peer
 * chain that breaks the rules, PEER_BAD_RESPONSE for answers that contradict
 * each other, and whatever the source throws (PEER_TIMEOUT, AbortedError…);
 * batches committed before a throw stay committed.
 */
export async function syncFrom(source: SyncSource, target: SyncTarget, options: SyncOptions): Promise<SyncOutcome> {
  const attempts = options.attempts ?? 3;
  const totals: Totals = { downloaded: 0, written: 0, abandoned: 0, forkPoint: Number.MAX_SAFE_INTEGER, adopted: false };
  for (let attempt = 0; attempt < attempts; attempt++) {
    const result = await attemptSync(source, target, options, totals);
    if (result === RESTART) continue;
    const { peer } = source;
    const { downloaded, written, abandoned, forkPoint } = totals;
    if (!totals.adopted) return { kind: 'not-longer', peer, peerLength: result.peerLength, status: result.status, downloaded, via: result.via };
    const via = result.via === 'blockchain.json' ? 'blockchain.json' : 'blocks';
    return { kind: 'adopted', peer, forkPoint, downloaded, written, abandoned, length: target.snapshot().length, via };
  }
  throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${source.peer}: its chain or ours kept changing during ${attempts} tries`, {
    peer: source.peer,
  });
}

async function attemptSync(source: SyncSource, target: SyncTarget, options: SyncOptions, totals: Totals): Promise<AttemptEnd | typeof RESTART> {
  const { peer } = source;
  const status = await source.status();
  // Taken after /status, so a sync that ran meanwhile is not downloaded again.
  const local = target.snapshot();
  if (status === undefined) return syncWholeChain(source, target, local, options, totals);
  // A peer that reports its work is ahead when it has more; one that does not, when it is longer.
  if (status.work !== undefined ? status.work <= target.work : status.length <= BigInt(local.length)) {
    return { peerLength: status.length, status, via: 'status' };
  }

  const fetchPage = async (from: number): Promise<Block[]> => {
    const page = await source.blocks(BigInt(from), options.pageSize);
    checkIndexes(peer, page, from);
    return page;
  };

  const first = await pageAfterFork(source, local, options);
  let page = first.page;
  if (page.length === 0) {
    throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} claims ${status.length} blocks but sent none past the blocks it shares with us`, {
      peer,
    });
  }
  totals.downloaded += page.length;
  const forkPoint = first.forkPoint;
  let pending = first.fresh;
  let committedTo = forkPoint;
  let next = Number(page[0]!.index) + page.length;
  // A short page is the end of the peer's chain only once its /status length is
  // reached (pages are cut at a byte budget too); a full one may be followed by
  // blocks the peer gained since.
  const hasMore = (page: readonly Block[]): boolean => page.length === options.pageSize || (page.length > 0 && BigInt(next) < status.length);
  let more = hasMore(page);
  let last = page.at(-1)!;
  const report = (): void =>
    options.onProgress?.({ peer, downloaded: totals.downloaded, height: Number(last.index), target: Math.max(Number(status.length) - 1, Number(last.index)) });
  report();

  for (;;) {
    const live = target.snapshot();
    if (live.length > next && live.at(BigInt(next - 1))?.hash === last.hash) {
      // Another sync (or a peer's blocks) got the chain past this point
      // meanwhile: hash links mean it holds all that is pending; go on from its tip.
      pending = [];
      committedTo = next = live.length;
      last = live.tip!;
    }
    // The next page downloads while this batch is committed.
    const prefetch = more ? fetchPage(next) : undefined;
    prefetch?.catch(() => {}); // awaited below, or dropped on a restart
    if (pending.length >= options.batchSize || dataChars(pending) >= (options.batchDataChars ?? BATCH_DATA_CHARS) || !more) {
      const result = await commit();
      if (result === RESTART) return RESTART;
    }
    if (prefetch === undefined) break;
    page = await prefetch;
    if (page.length === 0) break;
    if (page[0]!.prevHash !== last.hash) {
      // Not a lie within one answer: the peer moved to another fork between two pages.
      await commit();
      return RESTART;
    }
    verifySegment(last, page, options.difficulty);
    pending.push(...page);
    totals.downloaded += page.length;
    next += page.length;
    more = hasMore(page);
    last = page.at(-1)!;
    report();
  }
  if ((await commit()) === RESTART) return RESTART;

  return { peerLength: BigInt(committedTo + pending.length), status, via: 'blocks' };

  /** Hands `pending` to the target when it would make the chain longer. */
  async function commit(): Promise<undefined | typeof RESTART> {
    if (pending.length === 0 || !target.outworks(committedTo, pending)) return undefined;
    const result = await target.adopt({ peer, forkPoint: committedTo, blocks: pending });
    if (!result.adopted) return result.reason === 'diverged' ? RESTART : undefined;
    addAdopted(totals, result);
    committedTo += pending.length;
    pending = [];
    return undefined;
  }
}

/**
 * The peer's first page past the fork point, found in one request: the
 * blocks that follow the first block of this node's locator that the peer
 * has. Checked to link onto the local chain; `forkPoint` is the first of
 * them that the local chain does not hold, and `fresh` the page from there
 * (a fork deeper than the locator's dense part repeats a few blocks the
 * chains share).
 */
async function pageAfterFork(
  source: SyncSource,
  local: ChainView,
  options: Pick<SyncOptions, 'difficulty' | 'pageSize'>,
): Promise<{ forkPoint: number; page: Block[]; fresh: Block[] }> {
  const { peer } = source;
  const page = local.length === 0 ? await source.blocks(0n, options.pageSize) : await source.blocksAfter(blockLocator(local), options.pageSize);
  const first = page[0];
  if (first === undefined) return { forkPoint: local.length, page, fresh: page };
  const start = Number(first.index);
  checkIndexes(peer, page, start);
  if (start > local.length) {
    throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} answered a locator with blocks from ${start}, past this node's ${local.length}`, { peer });
  }
  const base = start > 0 ? local.at(BigInt(start - 1)) : undefined;
  if (base !== undefined && base.hash !== first.prevHash) {
    throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} answered a locator with block ${start}, which follows none of the blocks named`, { peer });
  }
  verifySegment(base, page, options.difficulty);
  // Hashes chain the blocks, so the shared ones come first.
  let shared = 0;
  while (shared < page.length && local.at(BigInt(start + shared))?.hash === page[shared]!.hash) shared++;
  return { forkPoint: start + shared, page, fresh: page.slice(shared) };
}

export type AncestorOutcome =
  | {
      readonly kind: 'adopted';
      readonly forkPoint: number;
      readonly downloaded: number;
      readonly written: number;
      readonly abandoned: number;
      /** The chain's new blocks, from the fork point on. */
      readonly blocks: readonly Block[];
    }
  /** The peer's blocks and the branch do not make the chain longer (now). */
  | { readonly kind: 'not-longer'; readonly downloaded: number }
  /** The answer ended before the branch's parent: the fork is deeper, or the peer further ahead, than one request covers. */
  | { readonly kind: 'short'; readonly downloaded: number };

/**
 * The missing ancestors of `branch` (linked blocks whose first one's parent
 * this node lacks, as its sender posted them), fetched from the sender in
 * one request: its blocks after the fork point, up to `limit`. Adopted with
 * the branch when that makes the chain strictly longer. Throws like
 * `syncFrom` for a peer that answers wrongly.
 */
export async function fetchAncestors(
  source: SyncSource,
  target: SyncTarget,
  branch: readonly Block[],
  options: { readonly difficulty: number; readonly limit: number },
): Promise<AncestorOutcome> {
  const local = target.snapshot();
  const { forkPoint, page, fresh } = await pageAfterFork(source, local, { difficulty: options.difficulty, pageSize: options.limit });
  const downloaded = page.length;
  const bottom = branch[0]!;
  let blocks: readonly Block[];
  const at = fresh.findIndex((block) => block.hash === bottom.hash);
  if (at >= 0) {
    // The sender's chain holds the branch; the answer may end inside it.
    const overlap = fresh.length - at;
    const rest = overlap < branch.length && fresh.at(-1)!.hash === branch[overlap - 1]!.hash ? branch.slice(overlap) : [];
    verifySegment(fresh.at(-1), rest, options.difficulty);
    blocks = fresh.concat(rest);
  } else {
    const join = fresh.findIndex((block) => block.hash === bottom.prevHash);
    const base = join >= 0 ? fresh[join] : forkPoint > 0 ? local.at(BigInt(forkPoint - 1)) : undefined;
    if (base?.hash !== bottom.prevHash) return { kind: page.length >= options.limit ? 'short' : 'not-longer', downloaded };
    verifySegment(base, branch, options.difficulty);
    blocks = fresh.slice(0, join + 1).concat(branch);
  }
  if (!target.outworks(forkPoint, blocks)) return { kind: 'not-longer', downloaded };
  const result = await target.adopt({ peer: source.peer, forkPoint, blocks });
  if (!result.adopted) return { kind: 'not-longer', downloaded };
  return {
    kind: 'adopted',
    forkPoint: result.forkPoint,
    downloaded,
    written: result.written,
    abandoned: result.abandoned,
    blocks: blocks.slice(result.forkPoint - forkPoint),
  };
}

async function syncWholeChain(source: SyncSource, target: SyncTarget, local: ChainView, options: SyncOptions, totals: Totals): Promise<AttemptEnd> {
  const chain = await source.blockchain();
  try {
    totals.downloaded += chain.length;
    const end: AttemptEnd = { peerLength: BigInt(chain.length), status: undefined, via: 'blockchain.json' };
    if (chain.length <= local.length) return end;
    chain.sort();
    await verifyWholeChain(chain, options.difficulty);
    await commitWholeChain(source.peer, chain, target, options, totals);
    return end;
  } finally {
    await chain.close();
  }
}

/** Throws INVALID_CHAIN unless the whole chain is valid from block 0: nothing of it is adopted before this is known. */
async function verifyWholeChain(chain: WholeChain, difficulty: number): Promise<void> {
  let last: Block | undefined;
  for (let next = 0; next < chain.length; ) {
    const blocks = chain.read(next, chain.length - next);
    verifySegment(last, blocks, difficulty);
    last = blocks.at(-1);
    next += blocks.length;
    await yieldToEventLoop();
  }
}

/**
 * Hands a verified whole chain to the target from where it leaves the chain
 * as it is now, in batches (blocks and data as for pages), each committed
 * only when it makes the chain strictly longer at that moment; a batch that
 * would not waits for more blocks. When the chain moved under the fork point
 * meanwhile, the fork point is found again from the spool: nothing is
 * downloaded twice.
 */
async function commitWholeChain(peer: string, chain: WholeChain, target: SyncTarget, options: SyncOptions, totals: Totals): Promise<void> {
  const attempts = options.attempts ?? 3;
  const maxChars = options.batchDataChars ?? BATCH_DATA_CHARS;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (chain.length <= target.snapshot().length) return;
    let committedTo = forkPointOf(chain, target.snapshot());
    let pending: Block[] = [];
    let chars = 0;
    let diverged = false;
    for (let next = committedTo; next < chain.length && !diverged; ) {
      const blocks = chain.read(next, Math.max(1, options.batchSize - pending.length));
      for (const block of blocks) pending.push(block);
      chars += dataChars(blocks);
      next += blocks.length;
      const full = pending.length >= options.batchSize || chars >= maxChars || next === chain.length;
      if (full && target.outworks(committedTo, pending)) {
        const result = await target.adopt({ peer, forkPoint: committedTo, blocks: pending });
        if (result.adopted) {
          addAdopted(totals, result);
          committedTo += pending.length;
          pending = [];
          chars = 0;
        } else diverged = result.reason === 'diverged';
      } else await yieldToEventLoop();
    }
    if (!diverged) return;
  }
  throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer}: our chain kept changing during ${attempts} tries to adopt its /blockchain.json`, { peer });
}

/**
 * The length of the prefix the peer's chain shares with `view`. Hash links
 * make "block i is the same" true for every i below one where it is true,
 * so a binary search finds the end of the prefix in a few reads.
 */
function forkPointOf(chain: WholeChain, view: ChainView): number {
  let low = 0;
  let high = Math.min(chain.length, view.length);
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (chain.read(mid, 1)[0]!.hash === view.at(BigInt(mid))?.hash) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Lets the event loop run between the slices of a long local job (reading a spool). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function addAdopted(totals: Totals, result: Extract<AdoptResult, { adopted: true }>): void {
  totals.adopted = true;
  totals.written += result.written;
  totals.abandoned += result.abandoned;
  totals.forkPoint = Math.min(totals.forkPoint, result.forkPoint);
}

/** The blocks' indexes must run from `from` upwards; a peer that sends others is lying. */
function checkIndexes(peer: string, blocks: readonly Block[], from: number): void {
  blocks.forEach((block, i) => {
    if (block.index !== BigInt(from + i)) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} sent block ${block.index} where ${from + i} belongs`, { peer });
    }
  });
}
