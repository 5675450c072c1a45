/**
 * The mining subsystem's public surface. Other folders import from here only.
 */
export { MiningCoordinator } from './coordinator.js';
export type { BlockMiner, SearchRunner, MiningStats, MiningModules, MiningStatus } from './interface.js';
export type { Engine, SearchRequest, SearchResult } from './engine.js';
export { wallClockMs, type SearchTask, type SearchTaskResult } from './task.js';
export { defaultMinerOptions, resolveMinerOptions, type MinerOptions, type ResolvedMinerOptions } from './options.js';
export { ENGINE_NAMES, defaultChunkSize, defaultEngineName, detectSimd, loadEngine, type EngineName } from './engine-loader.js';
export { MiningLoop, formatRate } from './mining-loop.js';
export { MiningControl, MAX_MINING_WORKERS, MAX_REQUESTED_BLOCKS, type MiningChange } from './mining-control.js';
