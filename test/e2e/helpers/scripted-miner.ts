/**
 * A BlockMiner whose searches end only when the test says so: `solve()` finds
 * a nonce for the current template (by trying nonces from 0 against the
 * test's easy target) and hands the block over. It records every template and
 * cancel, so a test can see exactly when the node restarted mining and on
 * which tip. The real coordinator is exercised in node-mining.test.ts.
 */
import { sealBlock, type Block, type BlockTemplate } from '../../../src/block.js';
import { meetsTarget } from '../../../src/target.js';
import type { MiningStats } from '../../../src/mining/index.js';
import type { BlockMiner } from '../../../src/mining/index.js';

export class ScriptedMiner implements BlockMiner {
  /** When set, cancel() is recorded but the search goes on (a miner that sees the stop too late). */
  ignoreCancel = false;
  readonly templates: Array<{ template: BlockTemplate; target: bigint; at: number }> = [];
  cancels = 0;
  closed = false;
  #current: { template: BlockTemplate; target: bigint; resolve: (block: Block | null) => void } | undefined;
  #waiters: Array<() => void> = [];

  mine(template: BlockTemplate, target: bigint): Promise<Block | null> {
    this.#current?.resolve(null);
    return new Promise((resolve) => {
      this.#current = { template, target, resolve };
      this.templates.push({ template, target, at: performance.now() });
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  async cancel(): Promise<void> {
    this.cancels++;
    if (this.ignoreCancel) return;
    const current = this.#current;
    this.#current = undefined;
    current?.resolve(null);
  }

  /** Resolves once mine() has been called `count` times in all. */
  async searches(count: number): Promise<BlockTemplate> {
    while (this.templates.length < count) await new Promise<void>((wake) => this.#waiters.push(wake));
    return this.templates[count - 1]!.template;
  }

  /** Finishes the running search with a valid block and returns it. */
  async solve(): Promise<Block> {
    const current = this.#current;
    if (current === undefined) throw new Error('no search is running');
    for (let nonce = 0n; ; nonce++) {
      const block = sealBlock(current.template, nonce);
      if (meetsTarget(block.hash, current.target)) {
        this.#current = undefined;
        current.resolve(block);
        return block;
      }
    }
  }

  stats(): MiningStats {
    return {
      engine: 'scripted',
      workers: 1,
      hashrate: 1234,
      perWorker: [1234],
      hashes: 42,
      searching: this.#current !== undefined,
      lastFoundToHandoverMs: null,
      simdSupported: false,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.cancel();
  }
}
