/**
 * The explorer page: a node's chain, mining and peers, kept current by the
 * node's event stream (`GET /events`). Requests are made only on
 * navigation and when the stream (re)connects, never on a timer.
 */
import { request, type BlockJson, type HashrateEvent, type PeerState, type Status, type SyncEvent, type TipEvent } from './api.js';
import { BlockPage } from './block-page.js';
import { BlocksTable } from './blocks-table.js';
import { HashrateChart } from './chart.js';
import { blockHref, byId, h, isHash, isIndex } from './dom.js';
import { formatRate, refreshAges, shortHash } from './format.js';
import { renderPeers } from './peers.js';
import { PoolSection } from './pool.js';

/** How long to wait before opening a new stream when the node refused one (EventSource gives up on an error status). */
const REOPEN_MS = 5_000;

const home = byId('view-home');
const blockView = byId('view-block');
const conn = byId('conn');
const syncBadge = byId('sync');
const message = byId('message');
const miningFacts = byId('mining-facts');
const peerBody = byId<HTMLTableElement>('peer-table').tBodies[0]!;

const table = new BlocksTable(byId<HTMLTableElement>('blocks'));
const blockPage = new BlockPage();
const chart = new HashrateChart(document.getElementById('chart') as unknown as SVGElement, byId('chart-legend'), byId('chart-max'), byId('chart-span'));
const pool = new PoolSection(byId('pool-body'));
function setHeight(next: bigint, hash: string | null): void {
  byId('height').textContent = String(next);
  const tip = byId('tip');
  tip.replaceChildren(hash === null ? '—' : h('a', { href: blockHref(hash), title: hash }, shortHash(hash)));
  table.height = next;
  blockPage.height = next;
}

function showStatus(status: Status): void {
  byId('node-url').textContent = status.url || location.origin;
  byId('difficulty').textContent = String(status.difficulty);
  setHeight(BigInt(status.height), status.tip?.hash ?? null);
  const m = status.mining;
  const facts: Array<[string, string]> = m.enabled
    ? [
        ['state', 'mining'],
        ['workers', String(m.workers)],
        ['engine', `${m.engine ?? '—'}${m.kernel ? ` (${m.kernel})` : ''}`],
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

async function route(): Promise<void> {
  const path = location.hash.replace(/^#/, '') || '/';
  const byIndex = /^\/blocks\/([^/]+)$/.exec(path);
  const byHash = /^\/blocks\/hash\/([^/]+)$/.exec(path);
  const key = byHash?.[1] ?? byIndex?.[1];
  const isBlock = key !== undefined && (byHash !== null ? isHash(key) : isIndex(key));
  home.hidden = isBlock;
  blockView.hidden = !isBlock;
  if (isBlock) await blockPage.show(key, byHash !== null ? 'hash' : 'index');
}

byId<HTMLFormElement>('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('search-input');
  const query = input.value.trim().toLowerCase();
  if (isIndex(query) || isHash(query)) {
    say(null);
    location.hash = blockHref(query);
  } else {
    say('Search for a block index (e.g. 42) or a block hash (64 hex characters).');
  }
});

window.addEventListener('hashchange', () => void route());

// ---- the event stream ----

/** Everything a (re)connected page needs beyond the stream's own first events. */
async function reload(): Promise<void> {
  const [status, peers] = await Promise.all([request<Status>('/status'), request<{ peers: PeerState[] }>('/peers?verbose=1')]);
  if (status.ok) showStatus(status.value);
  if (peers.ok) renderPeers(peerBody, peers.value.peers);
  await Promise.all([table.showNewest(), route(), pool.refresh()]);
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
connect();
void reload();
