/**
 * The node's chain and its store, and the one queue every change goes
 * through: a block this node mined, a block a peer sent, blocks a sync
 * downloaded. Each change is checked against the chain as it is when the
 * change runs (not as it was when the work behind it began), is durable in
 * the store before the chain serves it, and is announced as a `tip` event.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { checkBlock, type Block } from '../block.js';
import { extendsTip, snapshotOf, type ChainView } from '../chain.js';
import { formatUint } from '../codec.js';
import { ErrorCode, JbcError, isJbcError } from '../errors.js';
import { type TargetTrail, nowSeconds, retargets, type ChainRule } from '../retarget.js';
import { targetWork } from '../target.js';
import type { Logger } from '../log.js';
import { SerialQueue } from '../serial-queue.js';
import { CUT_BACK_MESSAGE, damagedHeight, openChainDb, type ChainStore, type EntryStore, type PoolLimits } from '../store/index.js';

/** repair: the chain was cut back below a stored block found damaged. */
export type TipSource = 'mined' | 'peer' | 'sync' | 'repair';

export interface TipChange {
  readonly tip: Block | undefined;
  readonly source: TipSource;
  /** Blocks of the chain before the change that it replaced (a reorg's depth); 0 when the chain only grew. */
  readonly abandoned: number;
}

/** What became of a block a peer sent. */
export type BlockDecision =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'known' }
  /** The chain has another block at that height. */
  | { readonly kind: 'stale'; readonly height: bigint }
  /** The block does not link to the tip: the sender has blocks this node lacks. */
  | { readonly kind: 'ahead'; readonly height: bigint };

/** Blocks from a peer, to replace everything from `forkPoint` on. */
export interface Adoption {
  readonly peer: string;
  readonly forkPoint: number;
  /** Linked, valid blocks; the first has index `forkPoint`. */
  readonly blocks: readonly Block[];
}

export type AdoptResult =
  | {
      readonly adopted: true;
      /** Index of the first block written: the chains agree below it. */
      readonly forkPoint: number;
      readonly written: number;
      /** Blocks of the old chain replaced. */
      readonly abandoned: number;
      readonly previousLength: number;
    }
  /** not-longer: the chain has as much work or more now (at a fixed difficulty: is as long); diverged: the chain no longer holds the block the adoption links to. */
  | { readonly adopted: false; readonly reason: 'not-longer' | 'diverged' };

/** Why the last write to the data dir failed; cleared by the next write that succeeds. */
export interface StoreFault {
  readonly code: string;
  readonly message: string;
  /** When writes started failing (ms since the epoch). */
  readonly since: number;
}

/** What `verify` found. */
export interface VerifyReport {
  /** Blocks read and found sound. */
  readonly checked: number;
  /** The damaged height the chain was cut back to, if one was found. */
  readonly damaged?: bigint;
}

/** Blocks `verify` checks between two turns of the event loop (about 10 ms of work). */
const VERIFY_SLICE = 2048;

export interface ChainStateOptions {
  readonly dataDir: string;
  readonly difficulty: number;
  /** The rule's target block time, ms; 0 for jbc's fixed difficulty. Recorded in the data dir like the difficulty; undefined: the recorded one (0 for a new dir). */
  readonly targetBlockTimeMs?: number;
  /** Also keep the article's one-file-per-block layout beside the database. */
  readonly jbcFiles: boolean;
  /** The data pool's rules, for entries that come back from abandoned blocks. */
  readonly pool?: PoolLimits;
}

/** Whether blocks from a fork point would give the chain more work, and the targets they met (none under jbc's rule). */
interface Weighing {
  readonly outworks: boolean;
  readonly targets: bigint[] | undefined;
}

export class ChainState {
  readonly #store: ChainStore;
  readonly #difficulty: number;
  /** The trail of the chain at its tip, while the tip is the one it was built for. */
  #tipTrail: { tip: string; trail: TargetTrail } | undefined;
  /**
   * The last weighing, kept for the adopt() that follows `outworks` on the
   * same blocks (sync asks both of each batch): while the chain's tip, the
   * fork point and the blocks are the same, so is the answer.
   */
  #weighed: { tip: string; forkPoint: number; blocks: readonly Block[]; count: number; result: Weighing } | undefined;
  readonly #logger: Logger;
  readonly #queue = new SerialQueue();
  readonly #events = new EventEmitter();
  #fault: StoreFault | undefined;
  readonly #closing = new AbortController();
  #verifying: Promise<unknown> = Promise.resolve();

  private constructor(store: ChainStore, difficulty: number, logger: Logger) {
    this.#store = store;
    this.#difficulty = difficulty;
    this.#logger = logger;
    this.#events.setMaxListeners(0);
    store.onDamage((damage) => {
      void this.#repair(damagedHeight(damage)!).catch((err: unknown) => this.#logger.error({ err }, 'could not cut the chain back below a damaged block'));
    });
  }

  /**
   * Opens (locks) the data dir's chain database: created on first use, with
   * the jbc block files found there imported once. Throws DATA_DIR_LOCKED
   * when another process holds the dir, DIFFICULTY_MISMATCH when it holds a
   * chain of another difficulty.
   */
  static async open(options: ChainStateOptions, modules: { logger: Logger }): Promise<ChainState> {
    const store = await openChainDb(
      { dir: options.dataDir, difficulty: options.difficulty, targetBlockTimeMs: options.targetBlockTimeMs, jbcFiles: options.jbcFiles, pool: options.pool },
      modules,
    );
    return new ChainState(store, options.difficulty, modules.logger);
  }

  get difficulty(): number {
    return this.#difficulty;
  }

  /** The chain rule: difficulty and target block time. */
  get rule(): ChainRule {
    return this.#store.rule;
  }

  /** The chain's cumulative work. */
  get work(): bigint {
    return this.#store.work;
  }

  /** The target block `index` met; undefined past the tip. */
  targetAt(index: bigint): bigint | undefined {
    return this.#store.targetAt(index);
  }

  /** What the next block on the tip must meet (a copy: extend it freely). */
  nextTrail(): TargetTrail {
    const tip = this.#store.tip?.hash ?? '';
    if (this.#tipTrail?.tip !== tip) this.#tipTrail = { tip, trail: this.#store.trailAt(BigInt(this.#store.length)) };
    return this.#tipTrail.trail.clone();
  }

  /**
   * True when `blocks` (linked, starting at `forkPoint`, linked to the
   * block below it) would give the chain more work than it has now: at a
   * fixed difficulty, make it longer. Checks the blocks' targets and
   * timestamps against the rule on the way, and throws INVALID_CHAIN naming
   * the block that breaks it.
   */
  outworks(forkPoint: number, blocks: readonly Block[]): boolean {
    // A branch above the chain's end cannot be weighed here: adopt() finds it diverged.
    return forkPoint > this.#store.length || this.#weigh(forkPoint, blocks).outworks;
  }

  /** What `outworks` says, and the blocks' targets (under jbc's rule, none: the store knows them). */
  #weigh(forkPoint: number, blocks: readonly Block[]): Weighing {
    const store = this.#store;
    if (!retargets(store.rule)) return { outworks: forkPoint + blocks.length > store.length, targets: undefined };
    const tip = store.tip?.hash ?? '';
    const last = this.#weighed;
    // A batch grows in place while it waits for more blocks: its length is part of what was weighed.
    if (last !== undefined && last.tip === tip && last.forkPoint === forkPoint && last.blocks === blocks && last.count === blocks.length) {
      return last.result;
    }
    const result = this.#weighAnew(forkPoint, blocks);
    this.#weighed = { tip, forkPoint, blocks, count: blocks.length, result };
    return result;
  }

  #weighAnew(forkPoint: number, blocks: readonly Block[]): Weighing {
    const store = this.#store;
    const trail = store.trailAt(BigInt(forkPoint));
    const now = nowSeconds();
    const targets: bigint[] = [];
    let added = 0n;
    for (const block of blocks) {
      try {
        targets.push(trail.push(block, now));
      } catch (err) {
        if (isJbcError(err, ErrorCode.INVALID_BLOCK)) throw new JbcError(ErrorCode.INVALID_CHAIN, err.message, err.data, { cause: err });
        throw err;
      }
      added += targetWork(targets.at(-1)!);
    }
    let replaced = 0n;
    for (let height = BigInt(forkPoint); height < BigInt(store.length); height++) replaced += targetWork(store.targetAt(height)!);
    return { outworks: added > replaced, targets };
  }

  /** The chain now. Read it synchronously; after an await, ask again. */
  get view(): ChainView {
    return this.#store;
  }

  /** The chain at its length now: later appends do not show (see `snapshotOf`). */
  snapshot(): ChainView {
    return snapshotOf(this.#store);
  }

  /** Set while writes to the data dir fail (full or read-only disk); the node reports it and keeps retrying. */
  get fault(): StoreFault | undefined {
    return this.#fault;
  }

  /** The data pool's entries, kept in the chain's database so they move with its blocks. */
  get entries(): EntryStore {
    return this.#store;
  }

  /** The whole chain as output-form JSON texts, one per block, from one consistent read. */
  blocksJson(): Iterable<string> {
    return this.#store.iterateJson();
  }

  /** Calls `listener` after every tip change; returns a function that unsubscribes. */
  onTip(listener: (change: TipChange) => void): () => void {
    this.#events.on('tip', listener);
    return () => this.#events.off('tip', listener);
  }

  /**
   * A peer's block. Throws INVALID_BLOCK when it lacks its proof of work
   * (or, extending the tip, misses its target or carries a timestamp the
   * rule refuses); stores it when it extends the tip.
   */
  receive(block: Block): Promise<BlockDecision> {
    checkBlock(block, this.#difficulty);
    // Most posts at mining speed are blocks the chain has (every peer relays each block): answered without waiting for the queue.
    if (this.#store.findByHash(block.hash) !== undefined) return Promise.resolve({ kind: 'known' });
    return this.#queue.run(async (): Promise<BlockDecision> => {
      const chain = this.#store;
      if (extendsTip(chain, block)) {
        await this.#append(block, this.nextTrail().push(block, nowSeconds()), 'peer');
        return { kind: 'accepted' };
      }
      const ours = chain.at(block.index);
      if (ours?.hash === block.hash) return { kind: 'known' };
      if (ours !== undefined) return { kind: 'stale', height: chain.height };
      return { kind: 'ahead', height: chain.height };
    });
  }

  /** A block this node mined; false when the tip moved on meanwhile (the block is dropped). */
  appendOwn(block: Block): Promise<boolean> {
    return this.#queue.run(async () => {
      if (!extendsTip(this.#store, block)) return false;
      await this.#append(block, this.nextTrail().push(block), 'mined');
      return true;
    });
  }

  /**
   * Makes the adoption's blocks the chain from its fork point on, if that
   * still links onto the chain as it is now and makes it strictly longer.
   * Blocks the chain already holds are not written again.
   */
  adopt(adoption: Adoption): Promise<AdoptResult> {
    return this.#queue.run(async (): Promise<AdoptResult> => {
      const current = this.#store;
      const { forkPoint, blocks } = adoption;
      if (forkPoint > current.length) return { adopted: false, reason: 'diverged' };
      if (forkPoint > 0 && blocks.length > 0 && current.at(BigInt(forkPoint - 1))!.hash !== blocks[0]!.prevHash) {
        return { adopted: false, reason: 'diverged' };
      }
      const weighed = this.#weigh(forkPoint, blocks);
      // Held no longer than the adoption: a batch can be megabytes.
      this.#weighed = undefined;
      if (!weighed.outworks) return { adopted: false, reason: 'not-longer' };
      let same = 0;
      while (same < blocks.length && current.at(BigInt(forkPoint + same))?.hash === blocks[same]!.hash) same++;
      const from = forkPoint + same;
      const fresh = blocks.slice(same);
      const previousLength = current.length;
      await this.#write(() => this.#store.commit(BigInt(from), fresh, weighed.targets?.slice(same)));
      this.#emit('sync', previousLength - from);
      return { adopted: true, forkPoint: from, written: fresh.length, abandoned: previousLength - from, previousLength };
    });
  }

  /**
   * Reads the whole stored chain once, checking every block, a slice at a
   * time so the node goes on serving meanwhile. A damaged block is cut away
   * as any read that finds one has it cut (see `onDamage` of the store):
   * this resolves after that, so whoever waits for it (the miner) never
   * builds on a chain with a damaged block in it.
   */
  verify(): Promise<VerifyReport> {
    const verifying = this.#verify();
    this.#verifying = verifying.catch(() => {});
    return verifying;
  }

  async #verify(): Promise<VerifyReport> {
    const started = performance.now();
    let report: VerifyReport = { checked: 0 };
    try {
      let checked = 0;
      for (const _ of this.#store.iterate()) {
        if (++checked % VERIFY_SLICE === 0) {
          await nextTurn();
          if (this.#closing.signal.aborted) break;
        }
      }
      report = { checked };
    } catch (err) {
      const damaged = damagedHeight(err);
      if (damaged === undefined) throw err;
      await this.#queue.idle();
      report = { checked: Number(damaged), damaged };
    }
    this.#logger.info(
      { blocks: report.checked, ms: Math.round(performance.now() - started), damaged: report.damaged === undefined ? null : Number(report.damaged) },
      'stored chain checked',
    );
    return report;
  }

  /** Waits for every queued change to finish. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#verifying;
    await this.#queue.idle();
    await this.#store.close();
  }

  /**
   * Cuts the chain back to the blocks below `height`, found damaged, unless
   * a change since has replaced it. Nothing is built on it afterwards, and
   * the `repair` tip event tells the node to sync the rest again.
   */
  #repair(height: bigint): Promise<void> {
    return this.#queue.run(async () => {
      const store = this.#store;
      if (BigInt(store.length) <= height) return;
      try {
        store.at(height);
        return; // Reads sound now: a commit since replaced it.
      } catch (err) {
        const at = damagedHeight(err);
        if (at === undefined) throw err;
        if (at < height) return; // Its parent is damaged too: that cut, queued behind this one, takes this block with it.
      }
      const previousLength = store.length;
      this.#logger.warn({ dir: store.dir, kept: Number(height), abandoned: previousLength - Number(height) }, CUT_BACK_MESSAGE);
      await this.#write(() => store.commit(height, []));
      this.#emit('repair', previousLength - Number(height));
    });
  }

  async #append(block: Block, target: bigint, source: TipSource): Promise<void> {
    await this.#write(() => this.#store.append(block, target));
    this.#emit(source, 0);
  }

  /** Runs a write, keeping track of whether the data dir takes writes. */
  async #write(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (this.#fault === undefined) {
        this.#fault = { code: isJbcError(err) ? err.code : 'UNKNOWN', message: err instanceof Error ? err.message : String(err), since: Date.now() };
        this.#logger.error({ err }, 'the data directory refuses writes; retrying as blocks come');
      }
      throw err;
    }
    if (this.#fault !== undefined) {
      this.#logger.info({ since: this.#fault.since }, 'the data directory takes writes again');
      this.#fault = undefined;
    }
  }

  #emit(source: TipSource, abandoned: number): void {
    const change: TipChange = { tip: this.#store.tip, source, abandoned };
    this.#logger.debug({ height: Number(this.#store.height), source }, 'tip changed');
    this.#events.emit('tip', change);
  }
}

export function describeTip(view: ChainView): { index: string; hash: string } | null {
  const tip = view.tip;
  return tip === undefined ? null : { index: formatUint(tip.index), hash: tip.hash };
}
