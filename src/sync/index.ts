/**
 * Catching up from peers: the fork point, page downloads and ancestor
 * fetches (sync.ts), and the startup and periodic syncs (syncer.ts). Other
 * folders import from here only.
 */
export type { AncestorOutcome } from './sync.js';
export { Syncer, type SyncStatus } from './syncer.js';
