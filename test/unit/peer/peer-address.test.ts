import { describe, expect, it } from 'vitest';
import { PeerAddressPolicy, parseCidr } from '../../../src/peer/peer-address.js';

describe('peer address rules', () => {
  const open = new PeerAddressPolicy();

  it.each(['127.0.0.1', '::1', '10.1.2.3', '192.168.0.7', 'fd00::5', '203.0.113.9', '2001:db8::1', '64:ff9b::808:808', '2002:808:808::1', '::ffff:127.0.0.1'])(
    '%s may be contacted by default',
    (address) => {
      expect(open.refusal(address)).toBeUndefined();
    },
  );

  it.each([
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['fd00:ec2::254', 'cloud metadata service'],
    ['100.100.100.200', 'cloud metadata service'],
    ['64:ff9b::a9fe:a9fe', 'carries 169.254.169.254 (NAT64), a link-local'],
    ['64:ff9b::169.254.0.1', 'carries 169.254.0.1 (NAT64), a link-local'],
    ['::a9fe:a9fe', 'carries 169.254.169.254 (IPv4-compatible), a link-local'],
    ['2002:a9fe:a9fe::', 'carries 169.254.169.254 (6to4), a link-local'],
    ['2002:6464:64c8::1', 'carries 100.100.100.200 (6to4), a cloud metadata service'],
    ['64:ff9b::e000:1', 'carries 224.0.0.1 (NAT64), a multicast'],
  ])('%s is refused as %s', (address, reason) => {
    expect(open.refusal(address)).toContain(reason);
  });

  it('judges a URL by its IP literal, and leaves a host name to the lookup', () => {
    expect(open.urlRefusal('http://[fe80::1]:5000/')).toContain('link-local');
    expect(open.urlRefusal('http://169.254.169.254/')).toContain('link-local');
    expect(open.urlRefusal('http://metadata.example/')).toBeUndefined();
  });

  it('with an allow list, an address must be in one of its ranges', () => {
    const policy = new PeerAddressPolicy([parseCidr('10.0.0.0/8')!, parseCidr('fd00::/8')!, parseCidr('127.0.0.1')!]);
    expect(policy.refusal('10.9.9.9')).toBeUndefined();
    expect(policy.refusal('fd12::1')).toBeUndefined();
    expect(policy.refusal('127.0.0.1')).toBeUndefined();
    expect(policy.refusal('127.0.0.2')).toContain('--peer-allow');
    expect(policy.refusal('192.168.1.1')).toContain('--peer-allow');
    expect(policy.refusal('169.254.1.1')).toContain('link-local');
  });

  it('parses CIDR ranges and single addresses, and nothing else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com/8', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '']) expect(parseCidr(bad)).toBeUndefined();
  });
});
