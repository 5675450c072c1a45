/**
 * One block: every field, its confirmations, the data entries it carries
 * (decoded, each linking to its entry page), the header that was hashed
 * (the node's exact concatenation, segment by segment), the hash recomputed
 * in the browser, and links to the parent and the child.
 */
import { request, type BlockJson, type BlockTarget } from './api.js';
import { blockHref, byId, entryHref, h } from './dom.js';
import { decodeBlockData, ENTRIES_PREFIX } from './entries.js';
import { age, blockBytes, formatBytes, timestampMs } from './format.js';
import { sha256Hex } from './sha256.js';

export class BlockPage {
  readonly #title = byId('block-title');
  readonly #fields = byId('block-fields');
  readonly #entries = byId('block-entries');
  readonly #entryList = byId('block-entry-list');
  readonly #detail = byId('block-detail');
  readonly #header = byId('block-header');
  readonly #legend = byId('header-legend');
  readonly #check = byId('header-check');
  readonly #parent = byId('parent-link');
  readonly #child = byId('child-link');
  #block: BlockJson | undefined;
  #height = -1n;
  #shows = 0;

  /** `key` is a canonical index or a hash. */
  async show(key: string, by: 'index' | 'hash'): Promise<void> {
    const show = ++this.#shows;
    this.#block = undefined;
    this.#title.textContent = by === 'index' ? `Block #${key}` : 'Block';
    for (const el of [this.#fields, this.#entryList, this.#header, this.#legend, this.#check, this.#parent, this.#child]) el.replaceChildren();
    this.#entries.hidden = true;
    this.#detail.hidden = true;
    const answer = await request<BlockJson>(by === 'index' ? `/blocks/${key}` : `/blocks/hash/${key}`);
    if (show !== this.#shows) return;
    if (!answer.ok) {
      this.#fields.replaceChildren(h('p', { class: 'missing', id: 'block-missing' }, answer.status === 404 ? this.#missing(key, by) : answer.message));
      if (by === 'index' && this.#height >= 0n) this.#parent.replaceChildren(h('a', { href: blockHref(String(this.#height)) }, `← the tip, #${this.#height}`));
      return;
    }
    this.#render(answer.value);
    const target = await request<BlockTarget>(`/blocks/${answer.value.index}/target`);
    if (show !== this.#shows || !target.ok) return;
    const { value } = target;
    this.#fields.append(
      h('dt', {}, 'target'),
      h(
        'dd',
        { 'data-field': 'target' },
        h('code', {}, value.target),
        ` (difficulty ${value.targetDifficulty}, work ${BigInt(`0x${value.work}`).toLocaleString('en-US')} hashes)`,
      ),
    );
  }

  /** The chain grew: the block shown may have a child now, and has more confirmations. */
  set height(height: bigint) {
    this.#height = height;
    if (this.#block === undefined) return;
    this.#links(this.#block);
    const confirmations = this.#fields.querySelector('[data-field="confirmations"]');
    if (confirmations !== null) confirmations.textContent = this.#confirmations(this.#block);
  }

  #missing(key: string, by: 'index' | 'hash'): string {
    if (by === 'hash') return `This node has no block with hash ${key}.`;
    if (this.#height < 0n) return `This node has no block ${key}: its chain is empty.`;
    return `This node has no block ${key}: its chain ends at block ${this.#height}.`;
  }

  #render(block: BlockJson): void {
    this.#block = block;
    this.#detail.hidden = false;
    this.#title.textContent = `Block #${block.index}`;
    const ms = timestampMs(block.timestamp);
    const decoded = decodeBlockData(block.data);
    const field = (name: string, ...value: Array<Node | string>): Node[] => [h('dt', {}, name), h('dd', { 'data-field': name }, ...value)];
    const miner = decoded.miner === null ? h('span', { class: 'muted' }, 'not named: the data is not in a jbc-ts format') : decoded.miner;
    const data =
      decoded.format === 'entries'
        ? h(
            'span',
            { class: 'muted' },
            `${ENTRIES_PREFIX.trim()}: ${decoded.entries.length} ${decoded.entries.length === 1 ? 'entry' : 'entries'}, listed below (the raw text is in the header)`,
          )
        : block.data;
    this.#fields.replaceChildren(
      ...field('index', block.index),
      ...field('hash', block.hash),
      ...field('confirmations', this.#confirmations(block)),
      ...field(
        'prev_hash',
        block.prev_hash === '' ? h('span', { class: 'muted' }, '(empty: the first block)') : h('a', { href: blockHref(block.prev_hash) }, block.prev_hash),
      ),
      ...field('timestamp', `${block.timestamp}${ms === null ? '' : `  (${new Date(ms).toISOString()}, ${age(ms)})`}`),
      ...field('nonce', block.nonce),
      ...field('miner', miner),
      ...field('size', `${formatBytes(blockBytes(block))} (the block as the node serves it)`),
      ...field('data', data),
    );
    this.#entries.hidden = decoded.format !== 'entries';
    this.#entryList.replaceChildren(
      ...decoded.entries.map((entry) =>
        h('li', {}, h('a', { href: entryHref(entry.id), class: 'id' }, entry.id), h('div', { class: 'entry-text' }, entry.data)),
      ),
    );
    const segments: Array<[string, string]> = [
      ['index', block.index],
      ['prev', block.prev_hash],
      ['data', block.data],
      ['timestamp', block.timestamp],
      ['nonce', block.nonce],
    ];
    this.#header.replaceChildren(...segments.map(([name, text]) => h('span', { class: `seg-${name}` }, text)));
    this.#legend.replaceChildren(...segments.map(([name]) => h('span', { class: `seg-${name}` }, name === 'prev' ? 'prev_hash' : name)));
    this.#links(block);
    const hex = sha256Hex(block.index + block.prev_hash + block.data + block.timestamp + block.nonce);
    const matches = hex === block.hash;
    this.#check.replaceChildren(
      'SHA-256 of this header, computed by your browser: ',
      h('code', {}, hex),
      ' ',
      h('span', { class: matches ? 'ok' : 'bad' }, matches ? '✓ equals the block hash' : '✗ differs from the block hash'),
    );
  }

  /** Blocks on top of it, itself included, as the node counts an entry's; as long as it is on this node's chain. */
  #confirmations(block: BlockJson): string {
    const count = this.#height - BigInt(block.index) + 1n;
    return count > 0n ? String(count) : '—';
  }

  #links(block: BlockJson): void {
    const index = BigInt(block.index);
    this.#parent.replaceChildren(
      index > 0n ? h('a', { href: blockHref(String(index - 1n)), id: 'parent' }, `← parent #${index - 1n}`) : h('span', { class: 'muted' }, 'no parent'),
    );
    this.#child.replaceChildren(
      index < this.#height
        ? h('a', { href: blockHref(String(index + 1n)), id: 'child' }, `child #${index + 1n} →`)
        : h('span', { class: 'muted' }, 'the tip: no child yet'),
    );
  }
}
