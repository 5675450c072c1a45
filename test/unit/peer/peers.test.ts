import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { defaultSelfUrl, isSelfUrl, normalizePeerUrl } from '../../../src/peer/peer-url.js';
import { PeerAddressPolicy } from '../../../src/peer/peer-address.js';
import { FAILING_AFTER, PeerSet } from '../../../src/peer/peers.js';

describe('peer URLs', () => {
  it('have one normal form', () => {
    expect(normalizePeerUrl('http://localhost:5001')).toBe('http://localhost:5001/');
    expect(normalizePeerUrl('HTTP://LocalHost:5001/?x=1#y')).toBe('http://localhost:5001/');
    expect(normalizePeerUrl('https://node.example/jbc')).toBe('https://node.example/jbc/');
    expect(normalizePeerUrl('http://node.example:80/')).toBe('http://node.example/');
  });

  it.each(['ftp://x/', 'localhost:5000', 'http://user:pw@x/', '', 'http://', 42, null])('refuse %j', (url) => {
    expect(() => normalizePeerUrl(url)).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
  });

  it('recognise this node under its loopback names', () => {
    const self = { host: '127.0.0.1', port: 5000 };
    expect(isSelfUrl('http://localhost:5000/', self)).toBe(true);
    expect(isSelfUrl('http://127.0.0.1:5000/', self)).toBe(true);
    expect(isSelfUrl('http://localhost:5001/', self)).toBe(false);
    expect(isSelfUrl('http://other.example:5000/', self)).toBe(false);
    expect(isSelfUrl('http://node.example/', { host: '10.0.0.1', port: 5000, publicUrl: 'http://node.example/' })).toBe(true);
  });

  it('announce a connectable URL for a wildcard listen address', () => {
    expect(defaultSelfUrl('0.0.0.0', 5000)).toBe('http://localhost:5000/');
    expect(defaultSelfUrl('::1', 5000)).toBe('http://[::1]:5000/');
  });
});

describe('PeerSet', () => {
  const notSelf = { max: 3, isSelf: (url: string) => url === 'http://localhost:5000/' };

  it('never holds this node', () => {
    const peers = new PeerSet(notSelf, ['http://localhost:5000/', 'http://localhost:5001/']);
    expect(peers.list()).toEqual(['http://localhost:5001/']);
    expect(peers.add('http://localhost:5000', 'announced')).toBe('self');
  });

  it('refuses URLs whose address the rules refuse, whatever their source', () => {
    const policy = new PeerAddressPolicy();
    const peers = new PeerSet({ ...notSelf, refusal: (url) => policy.urlRefusal(url) });
    expect(peers.add('http://169.254.169.254/', 'learned')).toBe('refused');
    expect(peers.add('http://[ff02::1]:5000/', 'sender')).toBe('refused');
    expect(peers.add('http://10.0.0.7:5000/', 'learned')).toBe('added');
    expect(peers.list()).toEqual(['http://10.0.0.7:5000/']);
  });

  it('keeps each peer once, in normal form', () => {
    const peers = new PeerSet(notSelf);
    expect(peers.add('http://a:1', 'announced')).toBe('added');
    expect(peers.add('http://a:1/', 'learned')).toBe('known');
    expect(peers.list()).toEqual(['http://a:1/']);
  });

  it('takes localhost, 127.0.0.1 and [::1] as one host, keeping the first name', () => {
    const peers = new PeerSet(notSelf, ['http://localhost:5001/']);
    expect(peers.add('http://127.0.0.1:5001/', 'sender')).toBe('known');
    expect(peers.add('http://[::1]:5001', 'learned')).toBe('known');
    expect(peers.add('http://127.0.0.1:5002/', 'sender')).toBe('added');
    expect(peers.resolve('http://127.0.0.1:5001/')).toBe('http://localhost:5001/');
    expect(peers.list()).toEqual(['http://localhost:5001/', 'http://127.0.0.1:5002/']);
  });

  it('is capped; a new peer takes the place of the least useful one, never a command-line peer', () => {
    let now = 1_000;
    const peers = new PeerSet({ ...notSelf, now: () => now }, ['http://configured/']);
    peers.add('http://helpful/', 'learned');
    peers.markUseful('http://helpful/');
    peers.add('http://idle/', 'announced');
    now += 1_000;
    // A flood of URLs that answer but never help churns among themselves.
    for (let i = 0; i < 40; i++) expect(peers.add(`http://flood-${i}/`, 'announced')).toBe('added');
    expect(peers.list()).toEqual(['http://configured/', 'http://helpful/', 'http://flood-39/']);
  });

  it('evicts a peer that keeps failing before one that answers', () => {
    const peers = new PeerSet(notSelf, ['http://configured/']);
    peers.add('http://a/', 'learned');
    peers.add('http://b/', 'learned');
    for (let i = 0; i < FAILING_AFTER; i++) {
      peers.markFailed('http://b/');
      peers.markFailed('http://configured/');
    }
    expect(peers.add('http://c/', 'announced')).toBe('added');
    expect(peers.list()).toEqual(['http://configured/', 'http://a/', 'http://c/']);
  });

  it('is full only when every place is a command-line peer', () => {
    const peers = new PeerSet(notSelf, ['http://a/', 'http://b/', 'http://c/']);
    expect(peers.add('http://d/', 'announced')).toBe('full');
  });

  it("keeps each peer's state: source, reachability, height, last seen, failures", () => {
    let now = 5_000;
    const peers = new PeerSet({ ...notSelf, now: () => now }, ['http://a/']);
    peers.add('http://b/', 'sender');
    expect(peers.states()[0]).toEqual({ url: 'http://a/', source: 'config', reachable: null, lastSeen: null, height: null, failures: 0, lastUseful: null });
    peers.markOk('http://a/', 42n);
    now = 6_000;
    peers.markFailed('http://b/');
    expect(peers.states()).toEqual([
      { url: 'http://a/', source: 'config', reachable: true, lastSeen: 5_000, height: 41, failures: 0, lastUseful: null },
      { url: 'http://b/', source: 'sender', reachable: false, lastSeen: null, height: null, failures: 1, lastUseful: null },
    ]);
    expect(peers.remove('http://a')).toBe(true);
    expect(peers.remove('http://a/')).toBe(false);
    expect(peers.list()).toEqual(['http://b/']);
  });

  it('reports the first failure and the recovery of a peer', () => {
    const peers = new PeerSet(notSelf, ['http://a/']);
    expect(peers.markFailed('http://a/')).toBe(true);
    expect(peers.markFailed('http://a/')).toBe(false);
    expect(peers.markOk('http://a/')).toBe(true);
    expect(peers.markOk('http://a/')).toBe(false);
  });

  it('drops a peer found to be this node and refuses it afterwards', () => {
    const peers = new PeerSet(notSelf, ['http://me.example/']);
    peers.markSelf('http://me.example/');
    expect(peers.list()).toEqual([]);
    expect(peers.add('http://me.example/', 'learned')).toBe('self');
  });
});
