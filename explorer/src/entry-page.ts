/**
 * One data entry, `#/data/ID`: its text and state from `GET /data/:id`;
 * once a block holds it, that block (a link) and its confirmations. While
 * the page is open it asks again after blocks arrive, at most once per
 * `REFRESH_GAP_MS`, so a pending entry turns confirmed by itself (and a
 * reorg that takes its block away turns it pending again).
 */
import { request, type EntryView } from './api.js';
import { coalesce } from './coalesce.js';
import { blockHref, byId, h, isHash } from './dom.js';
import { age, clockTime, formatBytes, shortHash } from './format.js';

const REFRESH_GAP_MS = 2_000;

export class EntryPage {
  readonly #title = byId('entry-title');
  readonly #fields = byId('entry-fields');
  #id: string | undefined;
  #shows = 0;
  readonly #reload = coalesce(() => {
    if (this.#id !== undefined) void this.#load(this.#shows);
  }, REFRESH_GAP_MS);

  get showing(): boolean {
    return this.#id !== undefined;
  }

  async show(id: string): Promise<void> {
    const show = ++this.#shows;
    this.#id = isHash(id) ? id : undefined;
    this.#title.textContent = 'Data entry';
    if (this.#id === undefined) {
      this.#fields.replaceChildren(h('p', { class: 'missing' }, 'An entry id is 64 hex characters: the SHA-256 of the entry’s text.'));
      return;
    }
    this.#fields.replaceChildren(h('p', { class: 'muted' }, '…'));
    await this.#load(show);
  }

  /** The page is left: no more requests for it. */
  hide(): void {
    this.#id = undefined;
    this.#shows++;
  }

  /** A block arrived: the entry's state or confirmations may have changed. */
  refreshSoon(): void {
    if (this.#id !== undefined) this.#reload();
  }

  async #load(show: number): Promise<void> {
    const id = this.#id!;
    const answer = await request<EntryView>(`/data/${id}`);
    if (show !== this.#shows) return;
    if (!answer.ok) {
      const text =
        answer.status === 404
          ? `This node knows no entry with id ${id}: it is neither in its pool nor in its chain.`
          : `The entry could not be read: ${answer.message}`;
      this.#fields.replaceChildren(h('p', { class: 'missing', id: 'entry-missing' }, text));
      return;
    }
    this.#render(answer.value);
  }

  #render(entry: EntryView): void {
    this.#title.textContent = `Data entry ${shortHash(entry.id)}`;
    const field = (name: string, ...value: Array<Node | string>): Node[] => [h('dt', {}, name), h('dd', { 'data-field': name }, ...value)];
    const bytes = new TextEncoder().encode(entry.data).length;
    const state =
      entry.state === 'confirmed'
        ? [
            ...field('state', h('span', { class: 'ok' }, 'confirmed')),
            ...field(
              'block',
              h('a', { href: blockHref(entry.block.hash), id: 'entry-block' }, `#${entry.block.index}`),
              ' ',
              h('span', { class: 'mono muted' }, entry.block.hash),
            ),
            ...field('confirmations', String(entry.confirmations)),
          ]
        : [
            ...field('state', h('span', { class: 'pending' }, 'pending: waiting for a block')),
            ...field('submitted', `${clockTime(entry.submittedAt)} (${age(entry.submittedAt)})`),
          ];
    this.#fields.replaceChildren(...field('id', entry.id), ...state, ...field('size', formatBytes(bytes)), ...field('data', entry.data));
  }
}
