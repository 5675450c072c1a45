/**
 * The data pool: entries waiting for a block, and a form to submit one
 * (`GET /data?state=pending`, `POST /data`). The form and what it answered
 * stay put while the list below is read again; each id links to its entry
 * page, which follows the entry into a block. A node without the pool
 * answers 404 and the section says so; nothing here pretends otherwise.
 */
import { request } from './api.js';
import { coalesce } from './coalesce.js';
import { byId, entryHref, h } from './dom.js';
import { preview, shortHash } from './format.js';

const REFRESH_GAP_MS = 2_000;
/** Pending entries listed; the count above the list says how many there are in all. */
const LISTED = 20;

interface PoolEntry {
  readonly id?: unknown;
  readonly data?: unknown;
}

export class PoolSection {
  readonly #list = byId('pool-body');
  readonly #form = byId<HTMLFormElement>('submit-form');
  readonly #text = byId<HTMLTextAreaElement>('submit-text');
  readonly #result = byId('submit-result');
  #available: boolean | undefined;

  constructor() {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
  }

  get available(): boolean {
    return this.#available === true;
  }

  /**
   * A refresh, at most one per `REFRESH_GAP_MS` however fast blocks come (a
   * low difficulty makes many a second).
   */
  readonly refreshSoon = coalesce(() => void this.refresh(), REFRESH_GAP_MS);

  async refresh(): Promise<void> {
    const answer = await request<unknown>(`/data?state=pending&limit=${LISTED}`);
    if (!answer.ok) {
      this.#available = answer.status === 404 ? false : this.#available;
      this.#form.hidden = this.#available === false;
      this.#list.replaceChildren(
        h(
          'p',
          { class: 'muted', id: 'pool-unavailable' },
          answer.status === 404 ? 'The data pool is not available on this node.' : `The pool could not be read: ${answer.message}`,
        ),
      );
      return;
    }
    this.#available = true;
    this.#form.hidden = false;
    const { list: entries, count } = pendingEntries(answer.value);
    this.#list.replaceChildren(
      h('p', { id: 'pool-count' }, `${count} pending ${count === 1 ? 'entry' : 'entries'}`),
      h(
        'ul',
        {},
        ...entries.slice(0, LISTED).map((entry) => {
          const id = typeof entry.id === 'string' ? entry.id : '';
          return h(
            'li',
            {},
            h('a', { href: entryHref(id), class: 'mono', title: id }, shortHash(id)),
            ' ',
            typeof entry.data === 'string' ? preview(entry.data) : '',
          );
        }),
      ),
    );
  }

  async #submit(): Promise<void> {
    const answer = await request<{ id?: unknown; state?: unknown; added?: unknown }>('/data', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: this.#text.value }),
    });
    if (!answer.ok) {
      this.#result.className = 'bad';
      this.#result.replaceChildren(`Refused: ${answer.message}`);
      return;
    }
    const { id, state, added } = answer.value;
    const text = typeof id === 'string' ? id : '';
    this.#result.className = 'ok';
    this.#result.replaceChildren(
      added === false ? `Already known (${String(state)}) as ` : 'Queued as ',
      h('a', { href: entryHref(text), class: 'id', id: 'submitted-id' }, text),
      added === false ? '' : '. Its page shows the block that takes it.',
    );
    this.#text.value = '';
    await this.refresh();
  }
}

/** `GET /data` answers `{entries: [...], pool: {entries, bytes}}`: the first page, and the pool's size. */
function pendingEntries(body: unknown): { list: PoolEntry[]; count: number } {
  const answer = (typeof body === 'object' && body !== null ? body : {}) as { entries?: unknown; pool?: { entries?: unknown } };
  const list = Array.isArray(answer.entries) ? (answer.entries as PoolEntry[]) : [];
  const count = typeof answer.pool?.entries === 'number' ? answer.pool.entries : list.length;
  return { list, count };
}
