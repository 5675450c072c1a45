/**
 * The latest-blocks table, newest first, a page at a time from
 * `GET /blocks?from&limit` (nothing loads the whole chain). The page shown
 * is in the address (`#/` for the newest, `#/from/N` for blocks N…N+19), so
 * the back button and links (the network figures) reach it.
 *
 * On the newest page, blocks from the event stream join at the top. At the
 * default difficulty a node makes several blocks a second, and a table
 * that moved with each would be unreadable and impossible to click: the
 * blocks that arrive are applied together, at most once every
 * `LIVE_GAP_MS`, and a block after a quiet spell shows at once. The switch
 * beside the pager pauses the table altogether (it counts what arrived) and
 * follows the tip again. A block at or below the top row's index is a
 * reorg, and replaces the rows from its index up.
 */
import { request, type BlockJson } from './api.js';
import { blockHref, byId, h } from './dom.js';
import { decodeBlockData, minerLabel } from './entries.js';
import { blockBytes, clockTime, formatBytes, formatSeconds, preview, shortHash, timestampMs } from './format.js';

export const PAGE_SIZE = 20;
/** Least time between two updates of the live table. */
export const LIVE_GAP_MS = 3_000;

export class BlocksTable {
  readonly #body: HTMLTableSectionElement;
  readonly #info = byId('page-info');
  readonly #newer = byId<HTMLButtonElement>('newer');
  readonly #newest = byId<HTMLButtonElement>('newest');
  readonly #older = byId<HTMLButtonElement>('older');
  readonly #follow = byId<HTMLButtonElement>('follow');
  /**
   * Rows, newest first: the page's blocks and, when there is one, the block
   * just below the page (its timestamp gives the bottom row's interval).
   */
  #rows: BlockJson[] = [];
  /** First index of the page shown, or null for the newest page (which follows the tip). */
  #from: bigint | null = null;
  #loaded = false;
  #height = -1n;
  /** This node's URL: blocks it mined say "this node" as their miner. */
  #self = '';
  /** Blocks that arrived while a page was loading, applied when it is in. */
  #pending: BlockJson[] | undefined;
  #loads = 0;
  /** Blocks from the stream not shown yet (throttled or paused): the last ones, enough to fill the page. */
  #queued: BlockJson[] = [];
  /** How many blocks arrived since the last render, all of them. */
  #waiting = 0;
  #paused = false;
  #lastRender = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The height changed since the last render (confirmations are due). */
  #dirty = false;

  constructor(table: HTMLTableElement) {
    this.#body = table.tBodies[0]!;
    this.#newest.addEventListener('click', () => go('#/'));
    this.#newer.addEventListener('click', () => go(this.#pageHref(this.#firstShown() + BigInt(PAGE_SIZE))));
    this.#older.addEventListener('click', () => go(this.#pageHref(this.#firstShown() - BigInt(PAGE_SIZE))));
    this.#follow.addEventListener('click', () => this.#setPaused(!this.#paused));
    this.#updatePager();
  }

  set height(height: bigint) {
    if (height === this.#height) return;
    this.#height = height;
    this.#dirty = true;
    this.#schedule();
  }

  set selfUrl(url: string) {
    this.#self = url;
  }

  /** Shows the page starting at `from` (null: the newest, following the tip); loads it unless it is the page shown. */
  show(from: bigint | null): Promise<void> {
    if (this.#loaded && from === this.#from) return Promise.resolve();
    return this.#load(from);
  }

  /** The next show() loads its page again: blocks may have come and gone while the stream was down. */
  invalidate(): void {
    this.#loaded = false;
  }

  /** A block that joined the chain (from the event stream). */
  add(block: BlockJson): void {
    const index = BigInt(block.index);
    if (index > this.#height) this.#height = index;
    if (this.#from !== null) {
      this.#dirty = true;
      this.#schedule();
      return;
    }
    if (this.#pending !== undefined) {
      this.#pending.push(block);
      return;
    }
    this.#queued.push(block);
    this.#waiting++;
    // Older ones would be pushed off the page by these anyway.
    if (this.#queued.length > PAGE_SIZE + 1) this.#queued.shift();
    this.#schedule();
  }

  /** Renders what is due now, or once `LIVE_GAP_MS` has passed since the last render; nothing while paused. */
  #schedule(): void {
    if (this.#paused) {
      this.#updatePager();
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = this.#lastRender + LIVE_GAP_MS - performance.now();
    if (wait <= 0) this.#apply();
    else this.#timer = setTimeout(() => this.#apply(), wait);
  }

  #apply(): void {
    this.#timer = undefined;
    if (this.#paused || (this.#queued.length === 0 && !this.#dirty)) return;
    this.#render(this.#merge());
  }

  /** Moves the queued blocks into the rows; returns their hashes. */
  #merge(): Set<string> {
    const fresh = new Set<string>();
    for (const block of this.#queued.splice(0)) {
      const index = BigInt(block.index);
      this.#rows = [block, ...this.#rows.filter((row) => BigInt(row.index) < index)].slice(0, PAGE_SIZE + 1);
      fresh.add(block.hash);
    }
    return fresh;
  }

  #setPaused(paused: boolean): void {
    this.#paused = paused;
    if (paused) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#updatePager();
    } else {
      this.#apply();
      this.#updatePager();
    }
  }

  #pageHref(from: bigint): string {
    const first = from < 0n ? 0n : from;
    return first + BigInt(PAGE_SIZE) > this.#height ? '#/' : `#/from/${first}`;
  }

  async #load(from: bigint | null): Promise<void> {
    const load = ++this.#loads;
    this.#from = from;
    this.#pending = [];
    this.#queued = [];
    this.#waiting = 0;
    const top = from === null ? this.#height : from + BigInt(PAGE_SIZE) - 1n;
    // One block more than the page, below it, for the bottom row's interval.
    const first = maxBig(0n, top + 1n - BigInt(PAGE_SIZE + 1));
    // Before the height is known, the first blocks.
    const limit = top < 0n ? BigInt(PAGE_SIZE + 1) : top - first + 1n;
    const answer = await request<BlockJson[]>(`/blocks?from=${first}&limit=${limit}`);
    if (load !== this.#loads) return; // a later navigation won
    const pending = this.#pending;
    this.#pending = undefined;
    this.#loaded = true;
    if (!answer.ok) {
      this.#info.textContent = `could not load blocks: ${answer.message}`;
      return;
    }
    this.#rows = [...answer.value].reverse();
    const newest = this.#rows[0];
    if (newest !== undefined && BigInt(newest.index) > this.#height) this.#height = BigInt(newest.index);
    this.#queued = pending.slice(-(PAGE_SIZE + 1));
    this.#render(this.#merge());
  }

  #render(fresh: ReadonlySet<string>): void {
    this.#lastRender = performance.now();
    this.#dirty = false;
    this.#waiting = this.#queued.length;
    const shown = this.#shown();
    this.#body.replaceChildren(...shown.map((block, i) => this.#row(block, this.#rows[i + 1], fresh.has(block.hash))));
    if (shown.length === 0) this.#body.append(h('tr', {}, h('td', { colspan: '9', class: 'muted' }, 'No blocks yet.')));
    this.#updatePager();
  }

  #row(block: BlockJson, below: BlockJson | undefined, fresh: boolean): HTMLTableRowElement {
    const ms = timestampMs(block.timestamp);
    const before = below === undefined || BigInt(below.index) !== BigInt(block.index) - 1n ? null : timestampMs(below.timestamp);
    const decoded = decodeBlockData(block.data);
    const miner = decoded.miner;
    const minerCell =
      miner === null
        ? h('td', { class: 'col-miner muted', title: 'the block’s data names no miner (it was not mined by jbc-ts)' }, '—')
        : h('td', { class: 'col-miner', title: miner }, miner === this.#self ? 'this node' : minerLabel(miner));
    const confirmations = this.#height - BigInt(block.index) + 1n;
    const attrs: Record<string, string> = { 'data-index': block.index };
    if (fresh) attrs.class = 'fresh';
    return h(
      'tr',
      attrs,
      h('td', {}, h('a', { href: blockHref(block.index) }, block.index)),
      h('td', { class: 'mono col-hash' }, h('a', { href: blockHref(block.hash), title: block.hash }, shortHash(block.hash))),
      h('td', ms === null ? { class: 'col-time' } : { class: 'col-time', title: new Date(ms).toISOString() }, ms === null ? block.timestamp : clockTime(ms)),
      h('td', { class: 'col-interval' }, ms === null || before === null ? '—' : formatSeconds((ms - before) / 1000)),
      minerCell,
      h('td', { class: 'col-entries' }, decoded.format === 'entries' ? decoded.entries.length : 0),
      h('td', { class: 'col-size' }, formatBytes(blockBytes(block))),
      h('td', { class: 'col-conf' }, confirmations > 0n ? String(confirmations) : '—'),
      h(
        'td',
        { class: 'data col-data', title: block.data },
        decoded.format === 'entries' ? decoded.entries.map((entry) => preview(entry.data, 30)).join(' · ') : preview(block.data),
      ),
    );
  }

  /** The page's rows (the block below the page is kept only for its timestamp). */
  #shown(): BlockJson[] {
    if (this.#from === null) return this.#rows.slice(0, PAGE_SIZE);
    const from = this.#from;
    return this.#rows.filter((row) => BigInt(row.index) >= from);
  }

  #firstShown(): bigint {
    const last = this.#shown().at(-1);
    return last === undefined ? 0n : BigInt(last.index);
  }

  #updatePager(): void {
    const shown = this.#shown();
    const top = shown[0];
    const newest = this.#from === null;
    this.#newest.disabled = newest;
    this.#newer.disabled = newest;
    this.#older.disabled = shown.length === 0 || this.#firstShown() === 0n;
    this.#follow.hidden = !newest;
    const waiting = this.#waiting;
    this.#follow.textContent = this.#paused ? `Follow${waiting > 0 ? ` (${waiting} new)` : ''}` : 'Pause';
    this.#follow.setAttribute('aria-pressed', String(this.#paused));
    const state = newest ? (this.#paused ? ' · paused' : ' · live') : '';
    this.#info.textContent = top === undefined ? '' : `blocks ${this.#firstShown()}–${top.index} of ${this.#height + 1n}${state}`;
  }
}

function go(href: string): void {
  if (location.hash === href || (href === '#/' && location.hash === '')) return;
  location.hash = href;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
