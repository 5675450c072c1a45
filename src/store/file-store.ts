/**
 * The file-only store: the data directory as nothing but jbc block files.
 * This is what the node runs on until it is moved onto ChainDb; it keeps the
 * whole chain in memory (a Chain) and writes one file per block.
 *
 * A reorg first writes the new fork into `pending/`, then renames each file
 * into place, then removes the abandoned files. A crash at any instant leaves
 * either the old chain or, with `pending/` laid over it, the new one;
 * `open` finishes or abandons the reorg, whichever is the longer valid chain.
 * All writes go through one queue, so concurrent callers never interleave.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block } from '../block.js';
import { Chain } from '../chain.js';
import { formatUint } from '../codec.js';
import { ErrorCode, JbcError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import {
  blockFileName,
  fsyncDir,
  io,
  loadJbcDir,
  PENDING,
  QUARANTINE,
  removeEmptyDir,
  serializeBlock,
  writeAtomic,
  type QuarantinedFile,
} from './jbc-files.js';

export interface StoreOptions {
  /** The data directory; created when missing. */
  readonly dir: string;
  /** Difficulty the loaded chain is validated at. */
  readonly difficulty: number;
}

export interface OpenedStore {
  readonly store: BlockStore;
  readonly chain: Chain;
  readonly quarantined: readonly QuarantinedFile[];
}

export class BlockStore {
  readonly dir: string;
  readonly #logger: Logger;
  /** Hash of the block each on-disk index holds, in index order. */
  readonly #onDisk: string[];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, onDisk: string[], logger: Logger) {
    this.dir = dir;
    this.#onDisk = onDisk;
    this.#logger = logger;
  }

  /**
   * Loads the directory (see `loadJbcDir`). Never throws for bad files;
   * throws STORE_IO only when the directory itself cannot be used.
   */
  static async open(options: StoreOptions, modules: { logger?: Logger } = {}): Promise<OpenedStore> {
    const logger = modules.logger ?? silentLogger;
    const { dir, difficulty } = options;
    await io(`create data directory ${dir}`, () => mkdir(join(dir, QUARANTINE), { recursive: true }));
    const { blocks, quarantined } = await loadJbcDir(dir, difficulty, logger);
    const chain = new Chain(blocks);
    logger.info({ dir, height: formatUint(chain.height), quarantined: quarantined.length }, 'chain loaded');
    return { store: new BlockStore(dir, blocks.map((b) => b.hash), logger), chain, quarantined };
  }

  /** Number of blocks on disk. */
  get length(): number {
    return this.#onDisk.length;
  }

  /** Writes the block that extends the stored chain; resolves once it is durable. */
  append(block: Block): Promise<void> {
    return this.#exclusive(async () => {
      if (block.index !== BigInt(this.#onDisk.length)) {
        throw new JbcError(
          ErrorCode.NOT_EXTENDING_TIP,
          `cannot store block ${block.index}: the stored chain has ${this.#onDisk.length} blocks`,
          { index: formatUint(block.index) },
        );
      }
      await writeAtomic(this.dir, blockFileName(block.index), serializeBlock(block));
      this.#onDisk.push(block.hash);
    });
  }

  /**
   * Makes the directory hold exactly `blocks` (a reorg to another fork, or a
   * sync that adopted a peer's chain). The new blocks are durable before any
   * abandoned file is overwritten or removed.
   */
  replace(blocks: readonly Block[]): Promise<void> {
    return this.#exclusive(async () => {
      let fork = 0;
      while (fork < blocks.length && fork < this.#onDisk.length && blocks[fork]!.hash === this.#onDisk[fork]) fork++;
      const fresh = blocks.slice(fork);
      const pendingDir = join(this.dir, PENDING);
      if (fresh.length > 0) {
        await io(`create ${pendingDir}`, () => mkdir(pendingDir, { recursive: true }));
        for (const block of fresh) await writeAtomic(pendingDir, blockFileName(block.index), serializeBlock(block), false);
        await fsyncDir(pendingDir);
        for (const block of fresh) {
          const name = blockFileName(block.index);
          await io(`move ${name} into place`, () => rename(join(pendingDir, name), join(this.dir, name)));
        }
        await fsyncDir(this.dir);
      }
      for (let index = blocks.length; index < this.#onDisk.length; index++) {
        const path = join(this.dir, blockFileName(BigInt(index)));
        await io(`remove abandoned block file ${path}`, () => rm(path, { force: true }));
      }
      await fsyncDir(this.dir);
      await removeEmptyDir(pendingDir, this.#logger);
      this.#onDisk.length = 0;
      for (const block of blocks) this.#onDisk.push(block.hash);
      this.#logger.info({ fork, length: blocks.length, written: fresh.length }, 'stored chain replaced');
    });
  }

  /** Waits for every queued write to settle. */
  async flush(): Promise<void> {
    await this.#queue.catch(() => {});
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }
}
