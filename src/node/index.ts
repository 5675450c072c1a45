/**
 * The node subsystem's public surface: start a node, and the types of its
 * options and handle. Other folders import from here only.
 */
export { startNode, createNode, type JbcNode } from './node.js';
export { formatRate } from '../hashrate.js';
export { parseCommandLine, USAGE, type CommandLine, type CommandLineEnv, type LogSettings } from './args.js';
export {
  defaultNodeOptions,
  defaultPeerList,
  resolveNodeConfig,
  type NodeConfig,
  type NodeOptions,
} from './options.js';
export type { NodeHandle, NodeModules } from './interface.js';
export type { NodeStatus } from '../api/index.js';
export type { MiningStatus } from '../mining/index.js';
export type { TipChange } from '../chain/index.js';
export type { PeerState } from '../peer/index.js';
export { PEER_HEADER } from '../peer/index.js';
export { NODE_FLAGS } from './flags.js';
export { DEFAULT_PORT, MAX_DIFFICULTY } from './options.js';
