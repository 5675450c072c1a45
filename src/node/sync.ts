/**
 * Catch-up from one peer, as functions over a `SyncSource` (download
 * functions, no HTTP client) and a `SyncTarget` (the chain), so every case is
 * unit tested without a network.
 *
 * A peer that speaks this node's API is asked /status first; when it is not
 * longer nothing else is fetched. Otherwise pages are fetched forward from
 * this node's length, never a block it has. When the first page does not link
 * to the local tip, pages are walked backward until the peer's blocks join
 * the local chain (the fork point): the only overlap, at most one page.
 * Then the download goes on page by page, the next page in flight while the
 * current one is checked, and whenever the downloaded blocks would make the
 * chain strictly longer they are handed to the target in batches, each one
 * commit. The target re-checks each batch against the chain as it is then, so
 * blocks that arrive meanwhile (mined here, or from other peers) never make
 * an honest peer look invalid; if the chain moved under the fork point, or
 * the peer's own chain changed between two pages, the sync starts over from
 * a fresh snapshot (a few times at most).
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
import type { AdoptResult, Adoption } from './chain-state.js';
import type { WholeChain } from './chain-spool.js';
import type { PeerStatus } from './peer-client.js';

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
  /** The peer's whole chain, in the order it sent it; the sync closes it. */
  blockchain(): Promise<WholeChain>;
}

/** What a sync needs of the chain. */
export interface SyncTarget {
  snapshot(): ChainView;
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

async function attemptSync(
  source: SyncSource,
  target: SyncTarget,
  options: SyncOptions,
  totals: Totals,
): Promise<AttemptEnd | typeof RESTART> {
  const { peer } = source;
  const status = await source.status();
  // Taken after /status, so a sync that ran meanwhile is not downloaded again.
  const local = target.snapshot();
  if (status === undefined) return syncWholeChain(source, target, local, options, totals);
  if (status.length <= BigInt(local.length)) {
    return { peerLength: status.length, status, via: 'status' };
  }

  const fetchPage = async (from: number): Promise<Block[]> => {
    const page = await source.blocks(BigInt(from), options.pageSize);
    checkIndexes(peer, page, from);
    return page;
  };

  let page = await fetchPage(local.length);
  if (page.length === 0) {
    throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} claims ${status.length} blocks but sent none past ${local.length}`, { peer });
  }
  totals.downloaded += page.length;
  let forkPoint = local.length;
  let pending: Block[];
  const tip = local.tip;
  if (tip === undefined || page[0]!.prevHash === tip.hash) {
    verifySegment(tip, page, options.difficulty);
    pending = page;
  } else {
    const back = await walkBack(source, local, options, totals);
    // The peer's chain changed between pages.
    if (back === RESTART || back.segment.at(-1)?.hash !== page[0]!.prevHash) return RESTART;
    verifySegment(back.segment.at(-1), page, options.difficulty);
    forkPoint = back.forkPoint;
    pending = back.segment.concat(page);
  }

  let committedTo = forkPoint;
  let next = local.length + page.length;
  // A short page is the end of the peer's chain only once its /status length is
  // reached (pages are cut at a byte budget too); a full one may be followed by
  // blocks the peer gained since.
  const hasMore = (page: readonly Block[]): boolean => page.length === options.pageSize || (page.length > 0 && BigInt(next) < status.length);
  let more = hasMore(page);
  let last = pending.at(-1)!;
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
  async function commit(): Promise<void | typeof RESTART> {
    if (pending.length === 0 || committedTo + pending.length <= target.snapshot().length) return;
    const result = await target.adopt({ peer, forkPoint: committedTo, blocks: pending });
    if (!result.adopted) return result.reason === 'diverged' ? RESTART : undefined;
    addAdopted(totals, result);
    committedTo += pending.length;
    pending = [];
  }
}

/**
 * Pages backward from the local length until the peer's blocks join the
 * local chain. Returns the fork point and the peer's blocks from there up to
 * the local length, checked and linked onto the local chain.
 */
async function walkBack(
  source: SyncSource,
  local: ChainView,
  options: SyncOptions,
  totals: Totals,
): Promise<{ forkPoint: number; segment: Block[] } | typeof RESTART> {
  let segment: Block[] = [];
  let end = local.length;
  for (;;) {
    const start = Math.max(0, end - options.pageSize);
    const page = await fetchRange(source, start, end - start);
    totals.downloaded += page.length;
    const first = segment[0];
    if (first !== undefined && page.at(-1)!.hash !== first.prevHash) return RESTART;
    // Hashes chain the blocks, so once one matches ours every block below it does too.
    let keepFrom = 0;
    for (let j = page.length - 1; j >= 0; j--) {
      if (page[j]!.hash === local.at(BigInt(start + j))?.hash) {
        keepFrom = j + 1;
        break;
      }
    }
    const joined = keepFrom > 0 || start === 0;
    segment = page.slice(keepFrom).concat(segment);
    if (joined) {
      const forkPoint = start + keepFrom;
      verifySegment(forkPoint > 0 ? local.at(BigInt(forkPoint - 1)) : undefined, segment, options.difficulty);
      return { forkPoint, segment };
    }
    end = start;
  }
}

async function syncWholeChain(
  source: SyncSource,
  target: SyncTarget,
  local: ChainView,
  options: SyncOptions,
  totals: Totals,
): Promise<AttemptEnd> {
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
      if (full && committedTo + pending.length > target.snapshot().length) {
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

/** Blocks start .. start + count - 1, in as many pages as the peer cuts them into. */
async function fetchRange(source: SyncSource, start: number, count: number): Promise<Block[]> {
  let blocks: Block[] = [];
  while (blocks.length < count) {
    const from = start + blocks.length;
    const page = await source.blocks(BigInt(from), count - blocks.length);
    if (page.length === 0) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${source.peer} sent ${blocks.length} of blocks ${start}..${start + count - 1}`, {
        peer: source.peer,
      });
    }
    checkIndexes(source.peer, page, from);
    blocks = blocks.concat(page);
  }
  return blocks;
}

/** The blocks' indexes must run from `from` upwards; a peer that sends others is lying. */
function checkIndexes(peer: string, blocks: readonly Block[], from: number): void {
  blocks.forEach((block, i) => {
    if (block.index !== BigInt(from + i)) {
      throw new JbcError(ErrorCode.PEER_BAD_RESPONSE, `${peer} sent block ${block.index} where ${from + i} belongs`, { peer });
    }
  });
}
