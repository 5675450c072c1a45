/**
 * The storage layer: the chain in an embedded database (ChainDb), the data
 * directory's lock, and the jbc block-file layout (import, mirror, export).
 * Other modules import from
 * here, never from the files beside it.
 */
export type { ChainView, ChainStore, CutBack, OpenReport } from './interface.js';
export type { EntryRecord, EntryStore, PendingEntry } from './entry-index.js';
export { ChainDb, openChainDb, CUT_BACK_MESSAGE, type ChainDbModules } from './chain-db.js';
export { DB_FILE, STORE_FORMAT } from './database.js';
export { damagedHeight } from './stored-block.js';
export { defaultChainDbOptions, defaultPoolLimits, type ChainDbOptions, type PoolLimits } from './options.js';
export { exportJbcDir } from './export.js';
export { DirLock, LOCK_FILE } from './dir-lock.js';
export { blockFileName, serializeBlock, type QuarantinedFile } from './jbc-files.js';
