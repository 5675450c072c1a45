/**
 * The node subsystem's public surface: start a node, and the types of its
 * options and handle. Other folders import from here only.
 */
export { startNode, createNode, type JbcNode } from './node.js';
export { formatRate } from './mining-loop.js';
export { parseCommandLine, USAGE, type CommandLine, type CommandLineEnv, type LogSettings } from './args.js';
export {
  defaultNodeOptions,
  defaultPeerList,
  resolveNodeConfig,
  MAX_BLOCKS_PER_PAGE,
  type NodeConfig,
  type NodeOptions,
} from './options.js';
export type { NodeHandle, NodeModules, NodeStatus, MiningStatus } from './interface.js';
export type { TipChange } from './chain-state.js';
export type { PeerState } from './peers.js';
export { PEER_HEADER } from './peer-client.js';
