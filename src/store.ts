/**
 * The node imports its store from this path; the storage layer itself lives
 * in `store/`. Kept until the node is moved onto ChainDb.
 */
export { BlockStore, blockFileName, serializeBlock, type OpenedStore, type QuarantinedFile, type StoreOptions } from './store/index.js';
