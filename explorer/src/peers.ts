/** The peer table, from `GET /peers?verbose=1` and then the stream's `peer` events. */
import type { PeerState } from './api.js';
import { h } from './dom.js';
import { age } from './format.js';

export function renderPeers(body: HTMLTableSectionElement, peers: readonly PeerState[]): void {
  if (peers.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: '6', class: 'muted' }, 'No peers.')));
    return;
  }
  body.replaceChildren(
    ...peers.map((peer) =>
      h(
        'tr',
        {},
        h('td', { class: 'url', title: peer.url }, peer.url),
        h('td', {}, peer.source),
        h(
          'td',
          peer.reachable === null ? { class: 'muted' } : { class: peer.reachable ? 'ok' : 'bad' },
          peer.reachable === null ? '?' : peer.reachable ? 'yes' : 'no',
        ),
        h('td', {}, peer.height ?? '—'),
        h('td', peer.lastSeen === null ? {} : { 'data-ms': String(peer.lastSeen) }, age(peer.lastSeen)),
        h('td', {}, peer.failures),
      ),
    ),
  );
}
