/**
 * The explorer page: a node's chain, mining, network figures, peers and data
 * pool, kept current by the node's event stream (`GET /events`). Requests
 * are made on navigation, when the stream (re)connects, and (throttled)
 * after blocks arrive; on a timer only the network figures, which age.
 *
 * Views, by the address's hash: `#/` (the latest blocks), `#/from/N` (blocks
 * N…N+19), `#/blocks/N` and `#/blocks/hash/H` (a block), `#/data/ID` (a
 * data entry), `#/reorgs` (the recent reorgs).
 */
import { request, type BlockJson, type HashrateEvent, type HashrateHistory, type PeerState, type Status, type SyncEvent, type TipEvent } from './api.js';
import { BlockPage } from './block-page.js';
import { BlocksTable } from './blocks-table.js';
import { HashrateChart } from './chart.js';
import { blockHref, byId, entryHref, h, isHash, isIndex } from './dom.js';
import { EntryPage } from './entry-page.js';
import { formatRate, refreshAges, shortHash } from './format.js';
import { IDLE_REFRESH_MS, NetworkFigures } from './network.js';
import { renderPeers } from './peers.js';
import { PoolSection } from './pool.js';

/** How long to wait before opening a new stream when the node refused one (EventSource gives up on an error status). */
const REOPEN_MS = 5_000;

const views = {
  home: byId('view-home'),
  block: byId('view-block'),
  entry: byId('view-entry'),
  reorgs: byId('view-reorgs'),
};
const conn = byId('conn');
const syncBadge = byId('sync');
const message = byId('message');
const miningFacts = byId('mining-facts');
const peerBody = byId<HTMLTableElement>('peer-table').tBodies[0]!;

const table = new BlocksTable(byId<HTMLTableElement>('blocks'));
const blockPage = new BlockPage();
const entryPage = new EntryPage();
const network = new NetworkFigures();
const chart = new HashrateChart(document.getElementById('chart') as unknown as SVGElement, byId('chart-legend'), byId('chart-max'), byId('chart-span'));
const pool = new PoolSection();
let height = -1n;

function setHeight(next: bigint, hash: string | null): void {
  height = next;
  byId('height').textContent = String(next);
  const tip = byId('tip');
  tip.replaceChildren(hash === null ? '—' : h('a', { href: blockHref(hash), title: hash }, shortHash(hash)));
  table.height = next;
  blockPage.height = next;
}

function showStatus(status: Status): void {
  const url = status.url || location.origin;
  byId('node-url').textContent = url;
  table.selfUrl = status.url;
  byId('difficulty').textContent = String(status.difficulty);
  setHeight(BigInt(status.height), status.tip?.hash ?? null);
  const m = status.mining;
  const facts: Array<[string, string]> = m.enabled
    ? [
        ['state', 'mining'],
        ['workers', String(m.workers)],
        ['engine', `${m.engine ?? '—'}${m.simd === true ? ' (SIMD)' : ''}`],
        ['hash rate', formatRate(m.hashrate)],
      ]
    : [['state', 'not mining (--no-mine)']];
  miningFacts.replaceChildren(...facts.flatMap(([name, value]) => [h('dt', {}, name), h('dd', { 'data-fact': name }, value)]));
  byId('chart-box').hidden = !m.enabled;
  showSync({ syncing: status.syncing, sync: status.sync });
}

function showSync(event: SyncEvent): void {
  const { sync } = event;
  syncBadge.hidden = !event.syncing && sync === null;
  syncBadge.textContent = sync !== null ? `syncing ${sync.height}/${sync.target} from ${sync.peer}` : 'startup sync';
}

function say(text: string | null): void {
  message.hidden = text === null;
  message.textContent = text ?? '';
}

// ---- navigation ----

type View = keyof typeof views;

function showView(view: View): void {
  for (const [name, el] of Object.entries(views)) el.hidden = name !== view;
  if (view !== 'entry') entryPage.hide();
}

/** Shows the view the address names. */
async function route(): Promise<void> {
  const path = location.hash.replace(/^#/, '') || '/';
  const byIndex = /^\/blocks\/([^/]+)$/.exec(path);
  const byHash = /^\/blocks\/hash\/([^/]+)$/.exec(path);
  const key = byHash?.[1] ?? byIndex?.[1];
  if (key !== undefined && (byHash !== null ? isHash(key) : isIndex(key))) {
    showView('block');
    await blockPage.show(key, byHash !== null ? 'hash' : 'index');
    return;
  }
  const entry = /^\/data\/([^/]+)$/.exec(path);
  if (entry !== null) {
    showView('entry');
    await entryPage.show(entry[1]!.toLowerCase());
    return;
  }
  if (path === '/reorgs') {
    showView('reorgs');
    await network.showReorgs();
    return;
  }
  const from = /^\/from\/([^/]+)$/.exec(path);
  showView('home');
  await table.show(from !== null && isIndex(from[1]!) ? BigInt(from[1]!) : null);
}

byId<HTMLFormElement>('search').addEventListener('submit', (event) => {
  event.preventDefault();
  void search(byId<HTMLInputElement>('search-input').value.trim().toLowerCase());
});

/**
 * A block index, a block hash or an entry id (both 64 hex). Asks the node
 * first, so a search for what it does not have says so where the search
 * was made, instead of opening an empty page.
 */
async function search(query: string): Promise<void> {
  if (isIndex(query)) {
    const answer = await request<BlockJson>(`/blocks/${query}`);
    if (answer.ok) go(blockHref(query));
    else if (answer.status === 404) say(`No block ${query}: this node's chain ${height < 0n ? 'is empty' : `ends at block ${height}`}.`);
    else say(`The search failed: ${answer.message}`);
    return;
  }
  if (isHash(query)) {
    const [block, entry] = await Promise.all([request<BlockJson>(`/blocks/hash/${query}`), request<unknown>(`/data/${query}`)]);
    if (block.ok) go(blockHref(query));
    else if (entry.ok) go(entryHref(query));
    else if (block.status === 404 && (entry.status === 404 || entry.status === 0)) say(`Nothing on this node has the hash ${query}: no block, no data entry.`);
    else say(`The search failed: ${block.status === 404 ? entry.message : block.message}`);
    return;
  }
  say('Search for a block index (e.g. 42), a block hash or a data entry id (64 hex characters).');
}

function go(href: string): void {
  say(null);
  if (location.hash === href) void route();
  else location.hash = href;
}

window.addEventListener('hashchange', () => {
  say(null);
  void route();
});

// ---- the event stream ----

/** Everything a (re)connected page needs beyond the stream's own first events. */
async function reload(): Promise<void> {
  const [status, peers] = await Promise.all([request<Status>('/status'), request<{ peers: PeerState[] }>('/peers?verbose=1')]);
  if (status.ok) showStatus(status.value);
  if (peers.ok) renderPeers(peerBody, peers.value.peers);
  table.invalidate();
  await Promise.all([route(), pool.refresh(), network.refresh(), loadHashrates()]);
}

/** The node's samples of the last minutes, so the chart is full from the start. */
async function loadHashrates(): Promise<void> {
  const answer = await request<HashrateHistory>('/hashrate');
  if (answer.ok) chart.load(answer.value.samples);
}

function parse<T>(event: Event): T {
  return JSON.parse((event as MessageEvent<string>).data) as T;
}

function connect(): void {
  const events = new EventSource('/events');
  let wasDown = false;
  events.addEventListener('open', () => {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
    if (wasDown) void reload(); // blocks may have come and gone meanwhile
    wasDown = false;
  });
  events.addEventListener('error', () => {
    wasDown = true;
    conn.dataset.state = 'reconnecting';
    conn.textContent = 'reconnecting…';
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, REOPEN_MS);
  });
  events.addEventListener('tip', (event) => {
    const tip = parse<TipEvent>(event);
    setHeight(BigInt(tip.height), tip.hash);
  });
  events.addEventListener('block', (event) => {
    table.add(parse<BlockJson>(event));
    if (pool.available) pool.refreshSoon(); // confirmed entries leave the pool
    entryPage.refreshSoon();
    network.refreshSoon();
  });
  events.addEventListener('hashrate', (event) => {
    const rate = parse<HashrateEvent>(event);
    chart.add(rate);
    const fact = miningFacts.querySelector('[data-fact="hash rate"]');
    if (fact !== null) fact.textContent = formatRate(rate.total);
  });
  events.addEventListener('peer', (event) => renderPeers(peerBody, parse<{ peers: PeerState[] }>(event).peers));
  events.addEventListener('sync', (event) => showSync(parse<SyncEvent>(event)));
}

setInterval(() => refreshAges(document), 5_000);
setInterval(() => void network.refresh(), IDLE_REFRESH_MS);
connect();
void reload();
