/**
 * One block: every field, the header that was hashed (the node's exact
 * concatenation, segment by segment), the hash recomputed in the browser when
 * it can (WebCrypto needs a secure context: localhost or HTTPS), and links to
 * the parent and the child.
 */
import { request, type BlockJson } from './api.js';
import { blockHref, byId, h } from './dom.js';
import { age, timestampMs } from './format.js';

export class BlockPage {
  readonly #title = byId('block-title');
  readonly #fields = byId('block-fields');
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
    for (const el of [this.#fields, this.#header, this.#legend, this.#check, this.#parent, this.#child]) el.replaceChildren();
    const answer = await request<BlockJson>(by === 'index' ? `/blocks/${key}` : `/blocks/hash/${key}`);
    if (show !== this.#shows) return;
    if (!answer.ok) {
      const what = by === 'index' ? `block ${key}` : `a block with hash ${key}`;
      this.#fields.replaceChildren(h('p', { class: 'muted' }, answer.status === 404 ? `This node has no ${what}.` : answer.message));
      return;
    }
    this.#render(answer.value);
  }

  /** The chain grew: the block shown may have a child now. */
  set height(height: bigint) {
    this.#height = height;
    if (this.#block !== undefined) this.#links(this.#block);
  }

  #render(block: BlockJson): void {
    this.#block = block;
    this.#title.textContent = `Block #${block.index}`;
    const ms = timestampMs(block.timestamp);
    const field = (name: string, ...value: Array<Node | string>): Node[] => [h('dt', {}, name), h('dd', { 'data-field': name }, ...value)];
    this.#fields.replaceChildren(
      ...field('index', block.index),
      ...field('hash', block.hash),
      ...field(
        'prev_hash',
        block.prev_hash === '' ? h('span', { class: 'muted' }, '(empty: the first block)') : h('a', { href: blockHref(block.prev_hash) }, block.prev_hash),
      ),
      ...field('timestamp', `${block.timestamp}${ms === null ? '' : `  (${new Date(ms).toISOString()}, ${age(ms)})`}`),
      ...field('nonce', block.nonce),
      ...field('data', block.data),
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
    void this.#verify(block);
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

  async #verify(block: BlockJson): Promise<void> {
    if (globalThis.crypto?.subtle === undefined) {
      this.#check.textContent = 'The hash is not recomputed here: the browser offers SHA-256 only on localhost or HTTPS.';
      return;
    }
    const header = block.index + block.prev_hash + block.data + block.timestamp + block.nonce;
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(header));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    if (this.#block !== block) return;
    const matches = hex === block.hash;
    this.#check.replaceChildren(
      'SHA-256 of this header, computed by your browser: ',
      h('code', {}, hex),
      ' ',
      h('span', { class: matches ? 'ok' : 'bad' }, matches ? '✓ equals the block hash' : '✗ differs from the block hash'),
    );
  }
}
