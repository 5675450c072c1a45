/**
 * Blocks between nodes: gossip (receive, hold side branches and orphans,
 * relay), the per-peer outbox, and admission of new peers. Other folders
 * import from here only.
 */
export { Gossip, type ReceiveResult, type Sender } from './gossip.js';
export { Outbox, firstComeUpTo } from './outbox.js';
export { PeerAdmission, type AddPeerAnswer } from './peer-admission.js';
