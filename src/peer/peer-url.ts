/**
 * Peer URLs: the one normal form every peer is stored, compared and
 * requested under, and the names this node itself may appear under.
 */
import { ErrorCode, JbcError } from '../errors.js';

export const MAX_PEER_URL_LENGTH = 2048;

/**
 * The normal form of a peer base URL: http or https, no credentials, query or
 * fragment, the path ending in '/' (so `new URL('status', base)` stays under a
 * path prefix). Throws BAD_REQUEST naming what is wrong.
 */
export function normalizePeerUrl(input: unknown): string {
  if (typeof input !== 'string') throw badUrl('must be a string');
  if (input.length > MAX_PEER_URL_LENGTH) throw badUrl(`is longer than ${MAX_PEER_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw badUrl(`is not a URL: ${JSON.stringify(input.slice(0, 80))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badUrl(`must be http or https, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw badUrl('must not carry credentials');
  if (url.hostname === '') throw badUrl('has no host');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** Same as normalizePeerUrl, but undefined instead of a throw. */
export function tryNormalizePeerUrl(input: unknown): string | undefined {
  try {
    return normalizePeerUrl(input);
  } catch {
    return undefined;
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * What makes two peer URLs the same peer: the normal form, with the loopback
 * names (localhost, 127.0.0.1, [::1]) taken as one host. Local nodes listen on
 * 127.0.0.1 and announce that, while the default peer list says localhost;
 * without this each local node would be on the list twice.
 */
export function peerKey(url: string): string {
  const parsed = new URL(url);
  if (LOOPBACK.has(parsed.hostname)) parsed.hostname = 'localhost';
  return parsed.href;
}
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** How to write a host in a URL (IPv6 literals in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The base URL this node announces: `publicUrl` when set, else
 * `http://<host>:<port>/`, with `localhost` for a wildcard listen address
 * (which is not an address anyone can connect to).
 */
export function defaultSelfUrl(host: string, port: number): string {
  const name = WILDCARD.has(host) ? 'localhost' : urlHost(host);
  return normalizePeerUrl(`http://${name}:${port}/`);
}

/**
 * True when `peerUrl` names this node: same port, and the same host, or a
 * loopback name while this node listens on loopback or on every interface.
 * (A peer that is this node under some other name is caught later by the
 * node id it reports in /status.)
 */
export function isSelfUrl(peerUrl: string, self: { host: string; port: number; publicUrl?: string | undefined }): boolean {
  if (self.publicUrl !== undefined && peerUrl === self.publicUrl) return true;
  const url = new URL(peerUrl);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port !== self.port) return false;
  const host = urlHost(self.host);
  if (url.hostname === host) return true;
  return LOOPBACK.has(url.hostname) && (LOOPBACK.has(self.host) || WILDCARD.has(self.host));
}

function badUrl(reason: string): JbcError {
  return new JbcError(ErrorCode.BAD_REQUEST, `peer URL ${reason}`, { field: 'url' });
}
