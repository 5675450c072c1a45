/**
 * The data pool: entries waiting for a block, and a form to submit one
 * (`GET /data?state=pending`, `POST /data`). A node without the pool answers
 * 404 and the section says so; nothing here pretends otherwise.
 */
import { request } from './api.js';
import { h } from './dom.js';
import { preview } from './format.js';

const REFRESH_GAP_MS = 2_000;

interface PoolEntry {
  readonly id?: unknown;
  readonly data?: unknown;
}

export class PoolSection {
  readonly #root: HTMLElement;
  #available: boolean | undefined;
  #scheduled = false;

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  get available(): boolean {
    return this.#available === true;
  }

  /**
   * A refresh, at most one per `REFRESH_GAP_MS` however fast blocks come (a
   * low difficulty makes many a second).
   */
  refreshSoon(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      void this.refresh();
    }, REFRESH_GAP_MS);
  }

  async refresh(): Promise<void> {
    const answer = await request<unknown>('/data?state=pending');
    if (!answer.ok) {
      this.#available = answer.status === 404 ? false : this.#available;
      this.#root.replaceChildren(
        h(
          'p',
          { class: 'muted', id: 'pool-unavailable' },
          answer.status === 404 ? 'The data pool is not available on this node.' : `The pool could not be read: ${answer.message}`,
        ),
      );
      return;
    }
    this.#available = true;
    const { list: entries, count } = pendingEntries(answer.value);
    this.#root.replaceChildren(
      h('p', {}, `${count} pending ${count === 1 ? 'entry' : 'entries'}`),
      h(
        'ul',
        {},
        ...entries
          .slice(0, 20)
          .map((entry) => h('li', {}, h('code', {}, String(entry.id ?? '')), ' ', typeof entry.data === 'string' ? preview(entry.data) : '')),
      ),
      this.#form(),
    );
  }

  #form(): HTMLFormElement {
    const text = h('textarea', { name: 'data', placeholder: 'data for a future block', required: '' });
    const result = h('p', { class: 'muted' });
    const form = h('form', {}, text, h('button', { type: 'submit' }, 'Submit'), result);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void (async () => {
        const answer = await request<{ id?: unknown }>('/data', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ data: text.value }),
        });
        result.textContent = answer.ok ? `Queued${answer.value.id === undefined ? '' : ` as ${String(answer.value.id)}`}.` : `Refused: ${answer.message}`;
        if (answer.ok) await this.refresh();
      })();
    });
    return form;
  }
}

/** The entries of a pool answer: a bare array, or the first array among its fields. */
/** `GET /data` answers `{entries: [...], pool: {entries, bytes}}`: the first page, and the pool's size. */
function pendingEntries(body: unknown): { list: PoolEntry[]; count: number } {
  const answer = (typeof body === 'object' && body !== null ? body : {}) as { entries?: unknown; pool?: { entries?: unknown } };
  const list = Array.isArray(answer.entries) ? (answer.entries as PoolEntry[]) : [];
  const count = typeof answer.pool?.entries === 'number' ? answer.pool.entries : list.length;
  return { list, count };
}
