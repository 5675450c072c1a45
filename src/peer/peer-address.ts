/**
 * Which addresses this node sends requests to. Anyone can make the node
 * fetch a URL (POST /peers, the X-Jbc-Peer header of a posted block, a
 * peer's /peers list), so without rules it would fetch cloud metadata
 * services (169.254.169.254), "every interface" addresses that reach local
 * services, or multicast groups on anyone's behalf. Refused always:
 * link-local, unspecified and multicast addresses (IPv4 and IPv6, IPv4-mapped
 * IPv6 included, by Node's BlockList), the cloud metadata services that live
 * elsewhere (AWS's IPv6 fd00:ec2::254, Alibaba's 100.100.100.200), and IPv6
 * addresses that carry a refused IPv4 address inside them (NAT64
 * 64:ff9b::/96, IPv4-compatible ::/96, 6to4 2002::/16), which a NAT64
 * gateway or a 6to4 relay would deliver to that IPv4 address. With an allow
 * list (`--peer-allow`), an address must also fall in one of its ranges.
 *
 * A URL with an IP literal is checked before any request; a host name is
 * checked on every connection, through the `lookup` function handed to the
 * HTTP client, so a name that resolves (or later re-resolves) to a refused
 * address is never connected to.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

const ALWAYS_REFUSED: ReadonlyArray<{ readonly reason: string; readonly ranges: readonly string[] }> = [
  { reason: 'link-local', ranges: ['169.254.0.0/16', 'fe80::/10'] },
  { reason: 'unspecified', ranges: ['0.0.0.0/8', '::/128'] },
  { reason: 'multicast', ranges: ['224.0.0.0/4', 'ff00::/8'] },
  { reason: 'broadcast', ranges: ['255.255.255.255/32'] },
  { reason: 'cloud metadata service', ranges: ['fd00:ec2::254/128', '100.100.100.200/32'] },
];

/** IPv6 ranges whose addresses carry an IPv4 address: where its 32 bits start. */
const IPV4_EMBEDDINGS: ReadonlyArray<{ readonly name: string; readonly range: string; readonly bitOffset: number }> = [
  { name: 'NAT64', range: '64:ff9b::/96', bitOffset: 96 },
  { name: 'IPv4-compatible', range: '::/96', bitOffset: 96 },
  { name: '6to4', range: '2002::/16', bitOffset: 16 },
];

/** Error code the lookup reports for a host name that resolves only to refused addresses. */
export const REFUSED_LOOKUP_CODE = 'EJBCREFUSED';

/** `address/prefix` (or a bare address, a range of one) as a Cidr; undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockList(ranges: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) list.addSubnet(range.address, range.prefix, range.family);
  return list;
}

/** The 16 bytes of an IPv6 address (as isIP accepts it: `::` and a dotted IPv4 tail allowed). */
function ipv6Bytes(address: string): Uint8Array {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = groups(head);
  const back = groups(tail);
  const all = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** The IPv4 address inside the 32 bits of `bytes` from `bitOffset` (a multiple of 8). */
function ipv4At(bytes: Uint8Array, bitOffset: number): string {
  const at = bitOffset / 8;
  return [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]].join('.');
}

export class PeerAddressPolicy {
  readonly #refused = ALWAYS_REFUSED.map(({ reason, ranges }) => ({ reason, list: blockList(ranges.map((r) => parseCidr(r)!)) }));
  readonly #embeddings = IPV4_EMBEDDINGS.map(({ name, range, bitOffset }) => ({ name, bitOffset, list: blockList([parseCidr(range)!]) }));
  readonly #allow: BlockList | undefined;
  readonly #allowText: string;

  /** `allow`: the ranges peers must be in; empty for "any address not refused". */
  constructor(allow: readonly Cidr[] = []) {
    this.#allow = allow.length > 0 ? blockList(allow) : undefined;
    this.#allowText = allow.map((c) => `${c.address}/${c.prefix}`).join(',');
  }

  /** Why this node will not contact the IP address `address`, or undefined when it will. */
  refusal(address: string): string | undefined {
    const version = isIP(address);
    if (version === 0) return `${address} is not an IP address`;
    const family = version === 4 ? 'ipv4' : 'ipv6';
    for (const { reason, list } of this.#refused) if (list.check(address, family)) return `${address} is a ${reason} address`;
    if (family === 'ipv6') {
      const embedded = this.#embeddedRefusal(address);
      if (embedded !== undefined) return embedded;
    }
    if (this.#allow !== undefined && !this.#allow.check(address, family)) return `${address} is outside --peer-allow ${this.#allowText}`;
    return undefined;
  }

  /** Why an IPv6 address that carries an IPv4 address is refused: for the IPv4 address it carries. */
  #embeddedRefusal(address: string): string | undefined {
    // ::1 (loopback) and :: lie in the IPv4-compatible range but are IPv6's own.
    if (this.#refused.some(({ list }) => list.check(address, 'ipv6')) || ['::1', '::'].includes(address)) return undefined;
    for (const { name, bitOffset, list } of this.#embeddings) {
      if (!list.check(address, 'ipv6')) continue;
      const ipv4 = ipv4At(ipv6Bytes(address), bitOffset);
      for (const { reason, list: refused } of this.#refused) {
        if (refused.check(ipv4, 'ipv4')) return `${address} carries ${ipv4} (${name}), a ${reason} address`;
      }
    }
    return undefined;
  }

  /**
   * Why this node will not contact the URL's host, or undefined: an IP
   * literal is judged here; a host name is judged when it is resolved.
   */
  urlRefusal(url: string): string | undefined {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return isIP(host) === 0 ? undefined : this.refusal(host);
  }

  /** A `lookup` for node:net that keeps only the addresses this node will contact. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      const done = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
      if (err !== null) return done(err, '', 0);
      const usable = addresses.filter((a) => this.refusal(a.address) === undefined);
      if (usable.length === 0) {
        const reasons = addresses.map((a) => this.refusal(a.address)).join('; ');
        const refused: NodeJS.ErrnoException = new Error(`${hostname}: refused (${reasons || 'no address'})`);
        refused.code = REFUSED_LOOKUP_CODE;
        return done(refused, '', 0);
      }
      if (options.all === true) return done(null, usable);
      return done(null, usable[0]!.address, usable[0]!.family);
    });
  };
}
