/**
 * The network figures under the header, from `GET /stats`: the mean block
 * time of the last blocks, the blocks of the last minute and the reorgs of
 * the last hour, each a link to what it counts (the blocks in the table,
 * the reorgs on `#/reorgs`); the next block's target as a difficulty (with
 * the target block time when the chain has one) and the network's hash
 * rate. Read on opening, after blocks arrive (at most
 * once per `REFRESH_GAP_MS`), and every `IDLE_REFRESH_MS` besides, since
 * "the last minute" moves on when no block comes.
 */
import { request, type ChainStats } from './api.js';
import { coalesce } from './coalesce.js';
import { blockHref, byId, h } from './dom.js';
import { clockTime, formatRate, formatSeconds } from './format.js';

const REFRESH_GAP_MS = 5_000;
export const IDLE_REFRESH_MS = 30_000;

export class NetworkFigures {
  readonly #strip = byId('network');
  readonly #reorgBody = byId<HTMLTableElement>('reorg-table').tBodies[0]!;
  readonly #reorgNote = byId('reorg-note');
  #stats: ChainStats | undefined;

  async refresh(): Promise<void> {
    const answer = await request<ChainStats>('/stats');
    if (!answer.ok) {
      this.#strip.replaceChildren(h('span', { class: 'muted' }, `network figures unavailable: ${answer.message}`));
      return;
    }
    this.#stats = answer.value;
    this.#render(answer.value);
  }

  /** A refresh, at most one per `REFRESH_GAP_MS`. */
  readonly refreshSoon = coalesce(() => void this.refresh(), REFRESH_GAP_MS);

  #render(stats: ChainStats): void {
    const figure = (name: string, value: string, href: string | null, title: string): HTMLElement =>
      h(
        'span',
        { class: 'figure', 'data-figure': name, title },
        h('span', { class: 'figure-name' }, name),
        ' ',
        href === null ? h('span', { class: 'figure-value' }, value) : h('a', { href, class: 'figure-value' }, value),
      );
    const { blockTime, lastMinute, reorgs, chain } = stats;
    const count = BigInt(blockTime?.to ?? '0') - BigInt(blockTime?.from ?? '0') + 1n;
    this.#strip.replaceChildren(
      figure(
        'mean block time',
        blockTime === null ? '—' : formatSeconds(blockTime.meanSeconds),
        blockTime === null ? null : `#/from/${blockTime.from}`,
        blockTime === null ? 'fewer than two blocks' : `from the timestamps of the last ${count} blocks, #${blockTime.from}–#${blockTime.to}`,
      ),
      figure(
        'blocks a minute',
        `${lastMinute.capped ? '≥ ' : ''}${lastMinute.blocks}`,
        lastMinute.from === null ? null : `#/from/${lastMinute.from}`,
        'blocks whose timestamps are within the last minute, by the node’s clock',
      ),
      figure(
        'difficulty',
        `${chain.targetDifficulty}${chain.targetBlockTime === null ? '' : ` (target ${formatSeconds(chain.targetBlockTime)} a block)`}`,
        null,
        `the next block's target, ${chain.target}, as leading hex zeros: log16(2^256 / (target + 1))${chain.targetBlockTime === null ? "; fixed by jbc's rule" : '; it follows the hash rate of the last 60 blocks'}`,
      ),
      figure(
        'network hash rate',
        chain.networkHashrate === null ? '—' : formatRate(chain.networkHashrate),
        null,
        'the work of the last 100 blocks over the time their timestamps span',
      ),
      figure(
        'reorgs (last hour)',
        String(reorgs.count),
        '#/reorgs',
        'times this node switched to another fork in the last hour (since it started, if that is less)',
      ),
    );
    this.#renderReorgs(stats);
  }

  /** The reorg list on `#/reorgs`, from the last figures read. */
  showReorgs(): Promise<void> {
    if (this.#stats !== undefined) this.#renderReorgs(this.#stats);
    return this.refresh();
  }

  #renderReorgs(stats: ChainStats): void {
    const { recent } = stats.reorgs;
    this.#reorgNote.textContent =
      recent.length === 0
        ? 'No reorgs in the last hour (the node keeps them since it started).'
        : `${recent.length} in the last hour, newest first (the node keeps them since it started).`;
    this.#reorgBody.replaceChildren(
      ...recent.map((reorg) =>
        h(
          'tr',
          {},
          h('td', { title: new Date(reorg.at).toISOString() }, clockTime(reorg.at)),
          h('td', {}, reorg.forkPoint === '-1' ? 'none' : h('a', { href: blockHref(reorg.forkPoint) }, `#${reorg.forkPoint}`)),
          h('td', {}, reorg.abandoned),
          h('td', {}, reorg.added),
          h('td', {}, h('a', { href: blockHref(reorg.height) }, `#${reorg.height}`)),
          h('td', {}, reorg.source),
        ),
      ),
    );
  }
}
