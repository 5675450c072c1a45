/**
 * The latest-blocks table, newest first, a page at a time from
 * `GET /blocks?from&limit` (nothing loads the whole chain). On the newest
 * page, blocks from the event stream are added at the top as they arrive; a
 * block at or below the top row's index is a reorg, and replaces the rows
 * from its index up.
 */
import { request, type BlockJson } from './api.js';
import { blockHref, byId, h } from './dom.js';
import { age, preview, shortHash, timestampMs } from './format.js';

export const PAGE_SIZE = 20;

export class BlocksTable {
  readonly #body: HTMLTableSectionElement;
  readonly #info = byId('page-info');
  readonly #newer = byId<HTMLButtonElement>('newer');
  readonly #newest = byId<HTMLButtonElement>('newest');
  readonly #older = byId<HTMLButtonElement>('older');
  /** Rows shown, newest first. */
  #rows: BlockJson[] = [];
  /** First index of the page shown, or null for the newest page (which follows the tip). */
  #from: bigint | null = null;
  #height = -1n;
  /** Blocks that arrived while a page was loading, applied when it is in. */
  #pending: BlockJson[] | undefined;
  #loads = 0;

  constructor(table: HTMLTableElement) {
    this.#body = table.tBodies[0]!;
    this.#newest.addEventListener('click', () => void this.showNewest());
    this.#newer.addEventListener('click', () => void this.#page(this.#firstShown() + BigInt(PAGE_SIZE)));
    this.#older.addEventListener('click', () => void this.#page(this.#firstShown() - BigInt(PAGE_SIZE)));
  }

  set height(height: bigint) {
    this.#height = height;
    this.#updatePager();
  }

  /** Loads the newest page and follows the tip from then on. */
  showNewest(): Promise<void> {
    return this.#load(null);
  }

  /** A block that joined the chain (from the event stream). */
  add(block: BlockJson): void {
    const index = BigInt(block.index);
    if (index > this.#height) this.height = index;
    if (this.#from !== null) return;
    if (this.#pending !== undefined) {
      this.#pending.push(block);
      return;
    }
    this.#rows = [block, ...this.#rows.filter((row) => BigInt(row.index) < index)].slice(0, PAGE_SIZE);
    this.#render(block.hash);
  }

  #page(from: bigint): Promise<void> {
    const first = from < 0n ? 0n : from;
    return this.#load(first + BigInt(PAGE_SIZE) > this.#height ? null : first);
  }

  async #load(from: bigint | null): Promise<void> {
    const load = ++this.#loads;
    this.#from = from;
    this.#pending = [];
    const first = from ?? maxBig(0n, this.#height + 1n - BigInt(PAGE_SIZE));
    const answer = await request<BlockJson[]>(`/blocks?from=${first}&limit=${PAGE_SIZE}`);
    if (load !== this.#loads) return; // a later navigation won
    const pending = this.#pending;
    this.#pending = undefined;
    if (!answer.ok) {
      this.#info.textContent = `could not load blocks: ${answer.message}`;
      return;
    }
    this.#rows = [...answer.value].reverse();
    const top = this.#rows[0];
    if (top !== undefined && BigInt(top.index) > this.#height) this.#height = BigInt(top.index);
    this.#render(undefined);
    for (const block of pending) this.add(block);
  }

  #render(fresh: string | undefined): void {
    this.#body.replaceChildren(
      ...this.#rows.map((block) => {
        const ms = timestampMs(block.timestamp);
        return h(
          'tr',
          block.hash === fresh ? { class: 'fresh', 'data-index': block.index } : { 'data-index': block.index },
          h('td', {}, h('a', { href: blockHref(block.index) }, block.index)),
          h('td', { class: 'mono' }, h('a', { href: blockHref(block.hash), title: block.hash }, shortHash(block.hash))),
          h('td', ms === null ? {} : { 'data-ms': String(ms) }, age(ms)),
          h('td', { class: 'mono' }, block.nonce),
          h('td', { class: 'data', title: block.data }, preview(block.data)),
        );
      }),
    );
    if (this.#rows.length === 0) this.#body.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No blocks yet.')));
    this.#updatePager();
  }

  #firstShown(): bigint {
    const last = this.#rows.at(-1);
    return last === undefined ? 0n : BigInt(last.index);
  }

  #updatePager(): void {
    const top = this.#rows[0];
    const newest = this.#from === null;
    this.#newest.disabled = newest;
    this.#newer.disabled = newest;
    this.#older.disabled = this.#rows.length === 0 || this.#firstShown() === 0n;
    this.#info.textContent = top === undefined ? '' : `blocks ${this.#firstShown()}–${top.index} of ${this.#height + 1n}${newest ? ' · live' : ''}`;
  }
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
