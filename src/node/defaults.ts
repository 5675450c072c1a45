/**
 * The node's defaults and fixed limits, apart from the code that uses them
 * so the options table (flags.ts) and the config (options.ts) both read
 * them from here.
 */
import { defaultEntryLimits } from '../entries.js';
import { MAX_BLOCKS_PER_PAGE } from '../pages.js';

export const DEFAULT_PORT = 5000;
/** Above this a hash search is hopeless and the number is surely a typo. */
export const MAX_DIFFICULTY = 64;

export const defaultNodeOptions = {
  port: DEFAULT_PORT,
  host: '127.0.0.1',
  mine: true,
  engine: 'auto' as const,
  difficulty: 5,
  jbcFiles: false,
  blockTimeMs: 0,
  targetBlockTimeMs: 0,
  maxPoolEntries: 10_000,
  maxPoolBytes: 32 * 1024 * 1024,
  maxEntryBytes: defaultEntryLimits.maxEntryBytes,
  maxBlockDataBytes: defaultEntryLimits.maxBlockDataBytes,
  hashrateLogIntervalMs: 10_000,
  peerTimeoutMs: 5_000,
  chainTimeoutMs: 60_000,
  peerAllow: [],
  peerBackoffMs: 1_000,
  aheadSyncIntervalMs: 5_000,
  minedAnswerMs: 1_000,
  maxPeers: 32,
  maxBodyBytes: 1024 * 1024,
  bodyTimeoutMs: 10_000,
  maxConnections: 256,
  maxBodyBytesInFlight: 32 * 1024 * 1024,
  maxPeerResponseBytes: 64 * 1024 * 1024,
  maxPeerChainBytes: 1024 * 1024 * 1024,
  syncPageSize: MAX_BLOCKS_PER_PAGE,
  syncBatchSize: 1_000,
  syncTimeoutMs: 30_000,
  syncIntervalMs: 30_000,
  peerSyncTimeoutMs: 120_000,
  syncProgressLogIntervalMs: 5_000,
  maxEventClients: 32,
  maxEventBufferedBytes: 1024 * 1024,
  eventDrainTimeoutMs: 10_000,
} as const;
