/**
 * The mining subsystem's public surface. Other folders import from here only.
 */
export { MiningCoordinator } from './coordinator.js';
export type { BlockMiner, SearchRunner, MiningStats, MiningModules, MiningStatus } from './interface.js';
export type { Engine, SearchRequest, SearchResult } from './engine.js';
export { wallClockMs, type SearchTask, type SearchTaskResult } from './task.js';
export { NATIVE_RANGE_SIZE, defaultMinerOptions, resolveMinerOptions, type MinerOptions, type ResolvedMinerOptions } from './options.js';
export {
  ENGINE_CHOICES,
  ENGINE_NAMES,
  availableEngineNames,
  defaultChunkSize,
  defaultEngineName,
  detectSimd,
  loadEngine,
  type EngineChoice,
  type EngineName,
} from './engine-loader.js';
export { MiningLoop } from './mining-loop.js';
export { MiningControl, idleMiningStatus, MAX_MINING_WORKERS, MAX_REQUESTED_BLOCKS, type MiningChange } from './mining-control.js';
