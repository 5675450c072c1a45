/**
 * One peer and the set of them: URLs, the address rules, the peer
 * registry, the client that talks to a peer (over peer-http.ts), and the spool a plain jbc
 * peer's whole chain is read into. Other folders import from here only.
 */
export { removeStaleSpools, type WholeChain } from './chain-spool.js';
export { PeerAddressPolicy, parseCidr, type Cidr } from './peer-address.js';
export { PeerClient, type MinedReply, type PeerStatus } from './peer-client.js';
export { PEER_HEADER } from './peer-http.js';
export { defaultSelfUrl, isSelfUrl, normalizePeerUrl, peerKey, tryNormalizePeerUrl } from './peer-url.js';
export { PeerSet, type AddPeerResult, type PeerState } from './peers.js';
